"""Samplers: MCMC chains that draw negatives from an energy (Langevin dynamics, Gibbs sampling).

Every sampler returns a :class:`SampleResult`. This module holds the continuous-state pieces:

* :func:`langevin` / :class:`Langevin`: (unadjusted) Langevin dynamics
  :math:`y_{t+1} = y_t - \\eta\\, \\mathrm{clip}(\\nabla_y E(y_t)) + \\sigma \\epsilon_t`;
* :class:`ReplayBuffer`: the persistent chains of PCD, restarted from fresh noise with a small
  probability (5 % noise, 95 % buffer, as in Du & Mordatch 2019 and Grathwohl et al. 2020);
* :class:`DivergedChainError`: raised when a chain's energy becomes NaN or infinite, naming the
  step and the step size, so a divergent chain never trains a silent NaN model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

import torch
from torch import Tensor

from ._validation import check_int, check_positive

__all__ = [
    "BufferDraw",
    "DivergedChainError",
    "GradientEnergy",
    "Langevin",
    "ReplayBuffer",
    "SampleResult",
    "autograd_energy_and_grad",
    "langevin",
]


@dataclass(frozen=True)
class SampleResult:
    """The end of a batch of MCMC chains.

    Attributes:
        samples: final states, shape ``(S, D)``, detached.
        energy: their energies (or free energies), shape ``(S,)``, detached.
        steps: MCMC steps taken.

    Example:
        >>> import torch
        >>> result = langevin(lambda y: y.pow(2).sum(1), torch.ones(3, 2), steps=4, step_size=0.1, noise_scale=0.0)
        >>> tuple(result.samples.shape), tuple(result.energy.shape), result.steps
        ((3, 2), (3,), 4)
    """

    samples: Tensor
    energy: Tensor
    steps: int


class DivergedChainError(FloatingPointError, ValueError):
    """An MCMC chain produced NaN or infinite energies (a ``ValueError`` too, so the CLI reports it).

    Example:
        >>> import torch
        >>> try:  # E(y) = -y⁴ sends every chain off to infinity
        ...     langevin(lambda y: -y.pow(4).sum(1), torch.full((2, 1), 3.0), steps=50, step_size=1.0)
        ... except DivergedChainError as error:
        ...     print(str(error).split(":")[0])
        Langevin chain diverged
    """


@runtime_checkable
class GradientEnergy(Protocol):
    """An energy that returns its value and its input gradient in one call (e.g. an analytic MLP).

    ``energy_and_grad(y)``: y ``(S, D)`` → (E ``(S,)``, ∇_y E ``(S, D)``), both detached.

    Example:
        >>> import torch
        >>> class Quadratic:  # E(y) = ½‖y‖², ∇E = y
        ...     def energy_and_grad(self, y):
        ...         return 0.5 * y.pow(2).sum(1), y.clone()
        >>> isinstance(Quadratic(), GradientEnergy)
        True
        >>> langevin(Quadratic(), torch.ones(2, 1), steps=1, step_size=0.5, noise_scale=0.0).samples
        tensor([[0.5000],
                [0.5000]])
    """

    def energy_and_grad(self, y: Tensor) -> tuple[Tensor, Tensor]: ...


def autograd_energy_and_grad(energy: Callable[[Tensor], Tensor], y: Tensor) -> tuple[Tensor, Tensor]:
    """E(y) and ∇_y E(y) by one ``torch.autograd.grad`` call (no parameter gradients are accumulated).

    Shape:
        y ``(S, D)`` → ``(S,)``, ``(S, D)``.

    Example:
        >>> import torch
        >>> e, g = autograd_energy_and_grad(lambda y: 0.5 * y.pow(2).sum(1), torch.tensor([[1.0, -2.0]]))
        >>> e, g
        (tensor([2.5000]), tensor([[ 1., -2.]]))
    """
    with torch.enable_grad():
        y = y.detach().requires_grad_(True)
        value = energy(y)  # (S,)
        (grad,) = torch.autograd.grad(value.sum(), y)
    return value.detach(), grad


def _energy_and_grad_fn(energy: Callable[[Tensor], Tensor] | GradientEnergy) -> Callable[[Tensor], tuple]:
    if isinstance(energy, GradientEnergy):
        return energy.energy_and_grad
    if not callable(energy):
        raise TypeError(f"energy must be callable (y (S, D) -> (S,)) or have energy_and_grad, got {type(energy)}")
    return lambda y: autograd_energy_and_grad(energy, y)


def langevin(
    energy: Callable[[Tensor], Tensor] | GradientEnergy,
    init: Tensor,
    *,
    steps: int,
    step_size: float,
    noise_scale: float | None = None,
    grad_clip: float | None = None,
    bounds: tuple[float, float] | None = None,
    generator: torch.Generator | None = None,
) -> SampleResult:
    """Run ``steps`` of Langevin dynamics from ``init``.

    .. math::

        y_{t+1} = y_t - \\eta\\, \\mathrm{clip}_c\\big(\\nabla_y E(y_t)\\big) + \\sigma\\, \\epsilon_t,
        \\qquad \\epsilon_t \\sim \\mathcal{N}(0, I)

    With ``noise_scale=None``, :math:`\\sigma = \\sqrt{2\\eta}`: the discretised Langevin diffusion whose
    stationary law is :math:`p(y) \\propto e^{-E(y)}` as :math:`\\eta \\to 0`. EBM training often uses a
    smaller σ (Du & Mordatch 2019: η = 10, σ = 0.005 on images).

    If ``energy`` has ``energy_and_grad`` (:class:`GradientEnergy`) it is used; otherwise the gradient
    comes from autograd. The noise is drawn in one call up front and the loop works in place, with
    no host synchronisation until the final finiteness check.

    Args:
        energy: ``E`` mapping ``(S, D)`` to ``(S,)``, or a :class:`GradientEnergy`.
        init: starting states ``(S, D)`` (not modified).
        steps: number of updates ≥ 1.
        step_size: η > 0.
        noise_scale: σ ≥ 0; default :math:`\\sqrt{2\\eta}`.
        grad_clip: clamp each gradient entry to ``[-c, c]`` (None: no clipping).
        bounds: clamp the states to ``[low, high]`` after each step (None: unbounded).
        generator: the noise's random generator.

    Returns:
        :class:`SampleResult` with the final states ``(S, D)`` and their energies ``(S,)``.

    Raises:
        DivergedChainError: an energy became NaN or infinite; the message names the first such
            step and the step size.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> result = langevin(lambda y: 0.5 * y.pow(2).sum(1), torch.zeros(4000, 1), steps=200, step_size=0.05,
        ...                   generator=g)
        >>> round(result.samples.var().item(), 1)  # N(0, 1) up to the O(η) bias of the discretisation
        1.0
    """
    steps = check_int(steps, "steps")
    step_size = check_positive(step_size, "step_size")
    if math.isinf(step_size):
        raise ValueError(f"step_size must be finite, got step_size={step_size}")
    noise_scale = (
        math.sqrt(2.0 * step_size) if noise_scale is None else check_positive(noise_scale, "noise_scale", strict=False)
    )
    if grad_clip is not None:
        grad_clip = check_positive(grad_clip, "grad_clip")
    if not isinstance(init, Tensor) or init.ndim != 2 or not init.is_floating_point():
        shape = tuple(init.shape) if isinstance(init, Tensor) else type(init).__name__
        raise ValueError(f"init must be a floating tensor of shape (S, D), got {shape}")
    if bounds is not None and not bounds[0] < bounds[1]:
        raise ValueError(f"bounds must be (low, high) with low < high, got bounds={bounds}")
    value_only = None if hasattr(energy, "energy_and_grad") else energy
    return _langevin(
        _energy_and_grad_fn(energy), init, steps, step_size, noise_scale, grad_clip, bounds, generator, value_only
    )


def _langevin(
    energy_and_grad: Callable[[Tensor], tuple[Tensor, Tensor]],
    init: Tensor,
    steps: int,
    step_size: float,
    noise_scale: float,
    grad_clip: float | None,
    bounds: tuple[float, float] | None,
    generator: torch.Generator | None,
    energy: Callable[[Tensor], Tensor] | None = None,
) -> SampleResult:
    """The loop of :func:`langevin` on checked arguments; ``energy`` (optional) gives E alone for the final states."""
    y = init.detach().clone()  # (S, D)
    noise = torch.randn((steps, *y.shape), generator=generator, device=y.device, dtype=y.dtype)  # (T, S, D)
    if noise_scale != 1.0:
        noise.mul_(noise_scale)
    energies = torch.empty((steps, y.shape[0]), device=y.device, dtype=y.dtype)  # (T, S)
    with torch.no_grad():
        for t in range(steps):
            value, grad = energy_and_grad(y)  # (S,), (S, D)
            energies[t] = value
            if grad_clip is not None:
                grad = grad.clamp(-grad_clip, grad_clip)
            y.sub_(grad, alpha=step_size).add_(noise[t])
            if bounds is not None:
                y.clamp_(bounds[0], bounds[1])
        final = energy(y).detach() if energy is not None else energy_and_grad(y)[0]  # (S,)
    bad_rows = ~torch.isfinite(energies).all(dim=1)  # (T,)
    if bool(bad_rows.any()) or not bool(torch.isfinite(final).all()):
        first = int(bad_rows.nonzero()[0, 0]) if bool(bad_rows.any()) else steps
        raise DivergedChainError(
            f"Langevin chain diverged: NaN or infinite energy at step {first} of {steps} with "
            f"step_size={step_size}, noise_scale={noise_scale}, grad_clip={grad_clip}; "
            "lower step_size, set grad_clip, or set bounds"
        )
    return SampleResult(y, final, steps)


class Langevin:
    """A Langevin sampler holding its settings; ``sampler(energy, init, generator)`` calls :func:`langevin`.

    Example:
        >>> import torch
        >>> sampler = Langevin(steps=5, step_size=0.01)
        >>> sampler(lambda y: y.pow(2).sum(1), torch.ones(3, 2)).samples.shape
        torch.Size([3, 2])
    """

    def __init__(
        self,
        steps: int = 20,
        step_size: float = 0.01,
        noise_scale: float | None = None,
        grad_clip: float | None = None,
        bounds: tuple[float, float] | None = None,
    ) -> None:
        self.steps = check_int(steps, "steps")
        self.step_size = check_positive(step_size, "step_size")
        self.noise_scale = noise_scale
        self.grad_clip = grad_clip
        self.bounds = bounds

    def __call__(
        self,
        energy: Callable[[Tensor], Tensor] | GradientEnergy,
        init: Tensor,
        generator: torch.Generator | None = None,
    ) -> SampleResult:
        return langevin(
            energy,
            init,
            steps=self.steps,
            step_size=self.step_size,
            noise_scale=self.noise_scale,
            grad_clip=self.grad_clip,
            bounds=self.bounds,
            generator=generator,
        )

    def __repr__(self) -> str:
        return (
            f"Langevin(steps={self.steps}, step_size={self.step_size}, noise_scale={self.noise_scale}, "
            f"grad_clip={self.grad_clip}, bounds={self.bounds})"
        )


class BufferDraw(NamedTuple):
    """Chain starts drawn from a :class:`ReplayBuffer`: ``samples`` ``(S, D)`` and their slots ``index`` ``(S,)``.

    Example:
        >>> draw = ReplayBuffer(100, 2, seed=0).draw(8)
        >>> tuple(draw.samples.shape), tuple(draw.index.shape)
        ((8, 2), (8,))
    """

    samples: Tensor
    index: Tensor


class ReplayBuffer:
    """Persistent chains for PCD: a fixed bank of states, restarted from noise with probability ``reinit_prob``.

    ``draw(S)`` picks ``S`` random slots; each start is the stored state with probability
    ``1 − reinit_prob`` and fresh uniform noise on ``[low, high]^D`` otherwise. After the MCMC steps,
    ``update(samples, index)`` writes the chains back into their slots. The bank starts as uniform
    noise.

    Args:
        capacity: number of stored states (e.g. 10,000).
        dim: ``D``.
        reinit_prob: probability of a fresh start (default 0.05).
        low, high: the noise box.
        seed: seeds the buffer's own generator (initial noise, slots, restarts).

    Example:
        >>> buffer = ReplayBuffer(100, 2, seed=0)
        >>> draw = buffer.draw(8)
        >>> buffer.update(draw.samples * 0, draw.index)
        >>> float(buffer.states[draw.index].abs().sum())
        0.0
    """

    def __init__(
        self,
        capacity: int,
        dim: int,
        *,
        reinit_prob: float = 0.05,
        low: float = -1.0,
        high: float = 1.0,
        seed: int = 0,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.capacity = check_int(capacity, "capacity")
        self.dim = check_int(dim, "dim")
        if isinstance(reinit_prob, bool) or not isinstance(reinit_prob, (int, float)) or not 0 <= reinit_prob <= 1:
            raise ValueError(f"reinit_prob must be a probability in [0, 1], got reinit_prob={reinit_prob!r}")
        if not low < high:
            raise ValueError(f"need low < high for the noise box, got low={low}, high={high}")
        self.reinit_prob, self.low, self.high = float(reinit_prob), float(low), float(high)
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.states = self._noise(self.capacity, dtype)  # (capacity, D)

    def _noise(self, count: int, dtype: torch.dtype) -> Tensor:
        unit = torch.rand((count, self.dim), generator=self.generator, device=self.device, dtype=dtype)
        return unit.mul_(self.high - self.low).add_(self.low)

    def draw(self, count: int) -> BufferDraw:
        """``count`` chain starts and the slots they came from. Shape: ``(S, D)``, ``(S,)``."""
        count = check_int(count, "count")
        index = torch.randint(self.capacity, (count,), generator=self.generator, device=self.device)  # (S,)
        samples = self.states[index]  # (S, D)
        if self.reinit_prob > 0:
            fresh = torch.rand(count, generator=self.generator, device=self.device) < self.reinit_prob  # (S,)
            samples = torch.where(fresh.unsqueeze(1), self._noise(count, samples.dtype), samples)
        return BufferDraw(samples, index)

    def update(self, samples: Tensor, index: Tensor) -> None:
        """Store the chains' new states in their slots. Shape: samples ``(S, D)``, index ``(S,)``."""
        if samples.shape != (index.shape[0], self.dim):
            raise ValueError(f"samples must have shape ({index.shape[0]}, {self.dim}), got {tuple(samples.shape)}")
        self.states[index] = samples.detach().to(self.states.dtype)

    def __len__(self) -> int:
        return self.capacity
