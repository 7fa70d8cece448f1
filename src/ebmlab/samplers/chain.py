"""The one driver of every MCMC sampler: :func:`run_chain` runs a :class:`TransitionKernel` for n steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from .._validation import check_int

__all__ = ["DivergedChainError", "SampleResult", "TransitionKernel", "run_chain"]


@dataclass(frozen=True)
class SampleResult:
    """The end of a batch of MCMC chains: the states y_T after T steps and their energies E(y_T).

    Attributes:
        samples: final states y_T, shape ``(S, D)``, detached.
        energy: their energies (or free energies) E(y_T), shape ``(S,)``, detached.
        steps: MCMC steps taken, T.

    Example:
        >>> import torch
        >>> from ebmlab.samplers import langevin
        >>> result = langevin(lambda y: y.pow(2).sum(1), torch.ones(3, 2), steps=4, step_size=0.1, noise_scale=0.0)
        >>> tuple(result.samples.shape), tuple(result.energy.shape), result.steps
        ((3, 2), (3,), 4)
    """

    samples: Tensor
    energy: Tensor
    steps: int


class DivergedChainError(FloatingPointError, ValueError):
    """An MCMC chain met a NaN or infinite energy, E(y_t) ∉ ℝ at some step t (a ``ValueError`` too, so the CLI
    reports it); the message names the first such t and the kernel's settings.

    Example:
        >>> import torch
        >>> from ebmlab.samplers import langevin
        >>> try:  # E(y) = -y⁴ sends every chain off to infinity
        ...     langevin(lambda y: -y.pow(4).sum(1), torch.full((2, 1), 3.0), steps=50, step_size=1.0)
        ... except DivergedChainError as error:
        ...     print(str(error).split(":")[0])
        Langevin chain diverged
    """


@runtime_checkable
class TransitionKernel(Protocol):
    """One move of a Markov chain, :math:`y_{t+1} \\sim K(\\cdot \\mid y_t)`, leaving its target
    :math:`p(y) \\propto e^{-E(y)}` invariant (or nearly: unadjusted Langevin), run by :func:`run_chain`.

    * ``step(y, generator)``: y_t ``(S, D)`` → (y_{t+1} ``(S, D)``, a check ``(S,)``: a value per chain that is
      finite exactly while the chain is sound, E(y_t) where the step evaluates it). The step may update y_t in place
      (the driver hands it its own copy) and draws its randomness from ``generator``.
    * ``energy(y)``: E ``(S,)`` of final states.
    * ``diverged(step, steps)``: the :class:`DivergedChainError`'s message when step ``step`` of ``steps`` failed.

    Example:
        >>> from ebmlab.samplers import BlockGibbsKernel, LangevinKernel
        >>> quadratic = lambda y: 0.5 * y.pow(2).sum(1)
        >>> gibbs = BlockGibbsKernel(lambda y, g: y, lambda z, g: z, quadratic)  # z = y, y' = z: stays put
        >>> [isinstance(kernel, TransitionKernel) for kernel in (LangevinKernel(quadratic, step_size=0.1), gibbs)]
        [True, True]
    """

    def step(self, y: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]: ...

    def energy(self, y: Tensor) -> Tensor: ...

    def diverged(self, step: int, steps: int) -> str: ...


def run_chain(
    kernel: TransitionKernel,
    init: Tensor,
    steps: int,
    *,
    generator: torch.Generator | None = None,
    energy: Callable[[Tensor], Tensor] | None = None,
) -> SampleResult:
    """Run ``steps`` transitions of ``kernel`` from ``init`` and check that no chain diverged:

    .. math:: y_0 = \\mathrm{init}, \\qquad y_{t+1} \\sim K(\\cdot \\mid y_t), \\quad t = 0, \\dots, T - 1

    Each step's check ``(S,)`` is recorded on the device and read once at the end (one host synchronisation),
    with the final energies: a NaN or infinite value raises :class:`DivergedChainError` naming the first bad step
    (0: the init; T: the final states).

    Args:
        kernel: a :class:`TransitionKernel` (e.g. :class:`~ebmlab.samplers.LangevinKernel`,
            :class:`~ebmlab.samplers.BlockGibbsKernel`).
        init: starting states ``(S, D)``, floating (not modified).
        steps: T ≥ 0.
        generator: the kernel's random generator (None: torch's default generator).
        energy: the energy reported at the final states ``(S, D)`` → ``(S,)`` (default ``kernel.energy``).

    Returns:
        :class:`SampleResult`: y_T ``(S, D)``, its energies ``(S,)`` and T.

    Example:
        >>> import torch
        >>> from ebmlab.samplers import LangevinKernel
        >>> kernel = LangevinKernel(lambda y: 0.5 * y.pow(2).sum(1), step_size=0.05)  # p = N(0, 1)
        >>> result = run_chain(kernel, torch.zeros(4000, 1), 200, generator=torch.Generator().manual_seed(0))
        >>> round(result.samples.var().item(), 1), result.steps
        (1.0, 200)
    """
    if not isinstance(init, Tensor) or init.ndim != 2 or not init.is_floating_point():
        shape = tuple(init.shape) if isinstance(init, Tensor) else type(init).__name__
        raise ValueError(f"init must be a floating tensor of shape (S, D), got {shape}")
    steps = check_int(steps, "steps", minimum=0)
    if not isinstance(kernel, TransitionKernel):
        raise TypeError(f"kernel must have step(y, generator), energy(y) and diverged(step, steps), got {kernel!r}")
    return _run_chain(kernel, init, steps, generator, energy)


def _run_chain(
    kernel: TransitionKernel,
    init: Tensor,
    steps: int,
    generator: torch.Generator | None,
    energy: Callable[[Tensor], Tensor] | None = None,
) -> SampleResult:
    """:func:`run_chain` on checked arguments."""
    y, checks = init.detach().clone(), None  # (S, D), the (T, S) record
    with torch.no_grad():
        for t in range(steps):
            y, check = kernel.step(y, generator)  # (S, D), (S,)
            if checks is None:
                checks = check.new_empty((steps, *check.shape))
            checks[t] = check
        final = (kernel.energy if energy is None else energy)(y).detach()  # (S,)
    sound = torch.isfinite(final).all()
    if checks is not None:
        bad_steps = ~torch.isfinite(checks).all(dim=1)  # (T,)
        sound = sound & ~bad_steps.any()
    if not bool(sound):
        first = int(bad_steps.nonzero()[0, 0]) if checks is not None and bool(bad_steps.any()) else steps
        raise DivergedChainError(kernel.diverged(first, steps))
    return SampleResult(y, final, steps)
