"""Langevin dynamics: the transition kernel (:class:`LangevinKernel`) and its chain (:func:`langevin`,
:class:`Langevin`), :math:`y_{t+1} = y_t - \\eta\\, \\mathrm{clip}(\\nabla_y E(y_t)) + \\sigma \\epsilon_t`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from .._validation import check_int, check_positive
from .chain import SampleResult, run_chain

__all__ = ["GradientEnergy", "Langevin", "LangevinKernel", "autograd_energy_and_grad", "langevin"]


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


class LangevinKernel:
    """One step of (unadjusted) Langevin dynamics, a :class:`~ebmlab.samplers.TransitionKernel`:

    .. math::

        y_{t+1} = y_t - \\eta\\, \\mathrm{clip}_c\\big(\\nabla_y E(y_t)\\big) + \\sigma\\, \\epsilon_t,
        \\qquad \\epsilon_t \\sim \\mathcal{N}(0, I)

    With ``noise_scale=None``, :math:`\\sigma = \\sqrt{2\\eta}`: the discretised Langevin diffusion whose
    stationary law is :math:`p(y) \\propto e^{-E(y)}` as :math:`\\eta \\to 0`. EBM training often uses a
    smaller σ (Du & Mordatch 2019: η = 10, σ = 0.005 on images). If ``energy`` has ``energy_and_grad``
    (:class:`GradientEnergy`) it is used; otherwise the gradient comes from autograd. ``step`` updates y in place
    and reports E(y_t) as its check.

    Args:
        energy: ``E`` mapping ``(S, D)`` to ``(S,)``, or a :class:`GradientEnergy`.
        step_size: η > 0, finite.
        noise_scale: σ ≥ 0; default :math:`\\sqrt{2\\eta}`.
        grad_clip: clamp each gradient entry to ``[-c, c]`` (None: no clipping).
        bounds: clamp the states to ``[low, high]`` after each step (None: unbounded).

    Example:
        >>> import torch
        >>> kernel = LangevinKernel(lambda y: 0.5 * y.pow(2).sum(1), step_size=0.1, noise_scale=0.0)
        >>> y, energy = kernel.step(torch.ones(2, 1), None)  # y − η y
        >>> y.flatten().tolist(), energy.tolist()
        ([0.8999999761581421, 0.8999999761581421], [0.5, 0.5])
    """

    def __init__(
        self,
        energy: Callable[[Tensor], Tensor] | GradientEnergy,
        *,
        step_size: float,
        noise_scale: float | None = None,
        grad_clip: float | None = None,
        bounds: tuple[float, float] | None = None,
    ) -> None:
        self.step_size = check_positive(step_size, "step_size")
        if math.isinf(self.step_size):
            raise ValueError(f"step_size must be finite, got step_size={step_size}")
        self.noise_scale = (
            math.sqrt(2.0 * self.step_size)
            if noise_scale is None
            else check_positive(noise_scale, "noise_scale", strict=False)
        )
        self.grad_clip = None if grad_clip is None else check_positive(grad_clip, "grad_clip")
        if bounds is not None and not bounds[0] < bounds[1]:
            raise ValueError(f"bounds must be (low, high) with low < high, got bounds={bounds}")
        self.bounds = bounds
        if isinstance(energy, GradientEnergy):
            self._energy_and_grad, self._value = energy.energy_and_grad, None
        elif callable(energy):
            self._energy_and_grad, self._value = (lambda y: autograd_energy_and_grad(energy, y)), energy
        else:
            raise TypeError(f"energy must be callable (y (S, D) -> (S,)) or have energy_and_grad, got {type(energy)}")

    def step(self, y: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        value, grad = self._energy_and_grad(y)  # (S,), (S, D)
        if self.grad_clip is not None:
            grad = grad.clamp(-self.grad_clip, self.grad_clip)
        noise = torch.empty_like(y).normal_(0.0, self.noise_scale, generator=generator)  # (S, D)
        y.sub_(grad, alpha=self.step_size).add_(noise)
        if self.bounds is not None:
            y.clamp_(self.bounds[0], self.bounds[1])
        return y, value

    def energy(self, y: Tensor) -> Tensor:
        return self._energy_and_grad(y)[0] if self._value is None else self._value(y).detach()

    def diverged(self, step: int, steps: int) -> str:
        return (
            f"Langevin chain diverged: NaN or infinite energy at step {step} of {steps} with "
            f"step_size={self.step_size}, noise_scale={self.noise_scale}, grad_clip={self.grad_clip}; "
            "lower step_size, set grad_clip, or set bounds"
        )

    def __repr__(self) -> str:
        return (
            f"LangevinKernel(step_size={self.step_size}, noise_scale={self.noise_scale}, "
            f"grad_clip={self.grad_clip}, bounds={self.bounds})"
        )


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
    """Run ``steps`` of Langevin dynamics from ``init``: :func:`~ebmlab.samplers.run_chain` of a
    :class:`LangevinKernel` (its docstring has the update and the arguments),

    .. math:: y_{t+1} = y_t - \\eta\\, \\mathrm{clip}_c\\big(\\nabla_y E(y_t)\\big) + \\sigma\\, \\epsilon_t.

    Args:
        energy, step_size, noise_scale, grad_clip, bounds: the kernel's.
        init: starting states ``(S, D)`` (not modified).
        steps: number of updates ≥ 1.
        generator: the noise's random generator.

    Returns:
        :class:`~ebmlab.samplers.SampleResult` with the final states ``(S, D)`` and their energies ``(S,)``.

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
    kernel = LangevinKernel(energy, step_size=step_size, noise_scale=noise_scale, grad_clip=grad_clip, bounds=bounds)
    return run_chain(kernel, init, steps, generator=generator)


class Langevin:
    """A Langevin sampler holding its settings; ``sampler(energy, init, generator)`` calls :func:`langevin`,
    :math:`y_{t+1} = y_t - \\eta\\, \\mathrm{clip}_c(\\nabla_y E(y_t)) + \\sigma \\epsilon_t`, ``steps`` times.

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
