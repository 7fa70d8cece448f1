"""Gradient descent on the latent, for continuous latent spaces."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..energy import Energy
from .base import InferenceResult, check_observations

__all__ = ["GradientDescent"]


class GradientDescent:
    """ž by gradient descent on z, per sample, until every step moves z by less than ``tol``.

    .. math:: z_{t+1} = z_t - \\eta \\nabla_z E(y, z_t[, x])

    A local method: it finds the minimum of the basin ``init`` lies in. On a non-smooth energy
    (an ℓ₁ term) it ends near the minimum but need not stop; use :class:`ProximalGradient` there.

    Args:
        step_size: η > 0.
        max_iter: iteration budget.
        tol: stop when ``max |z_{t+1} - z_t| < tol``.

    Call:
        ``GradientDescent(...)(energy, y, x=None, *, init=None)``; ``init`` is z₀ ``(B, d)``, zeros by default.

    Raises:
        FloatingPointError: a step is not finite (η too large for the energy's curvature).

    Shape:
        y ``(B, D)``, x ``(B, D_x)`` or None, init ``(B, d)`` → latent ``(B, d)``, energy ``(B,)``.

    Example:
        >>> import torch
        >>> from ebmlab.models.ellipse import EllipseEnergy
        >>> energy = EllipseEnergy(w=(2.0, 1.5), latent="real")
        >>> result = GradientDescent(step_size=0.1)(energy, torch.tensor([[0.0, 1.5]]), init=torch.tensor([[1.0]]))
        >>> round(result.latent.item(), 3), result.converged
        (1.571, True)
    """

    def __init__(self, step_size: float = 0.1, max_iter: int = 1000, tol: float = 1e-6) -> None:
        if not step_size > 0:
            raise ValueError(f"step_size must be > 0, got step_size={step_size}")
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got max_iter={max_iter}")
        if not tol > 0:
            raise ValueError(f"tol must be > 0, got tol={tol}")
        self.step_size, self.max_iter, self.tol = float(step_size), int(max_iter), float(tol)

    def __call__(
        self, energy: Energy, y: Tensor, x: Tensor | None = None, *, init: Tensor | None = None
    ) -> InferenceResult:
        check_observations("GradientDescent", energy, y, x)
        dim = energy.latent.dim
        if init is None:
            init = torch.zeros(y.shape[0], dim, device=y.device, dtype=y.dtype)
        elif tuple(init.shape) != (y.shape[0], dim):
            raise ValueError(f"init must have shape (B, d) = {(y.shape[0], dim)}, got {tuple(init.shape)}")
        z = init.detach().clone()  # (B, d)
        converged = False
        iterations = 0
        with torch.enable_grad():
            for iterations in range(1, self.max_iter + 1):
                z.requires_grad_(True)
                (grad,) = torch.autograd.grad(energy(y, z, x).sum(), z)
                step = self.step_size * grad  # (B, d)
                z = (z - step).detach()
                largest = float(step.abs().max()) if step.numel() else 0.0
                if not math.isfinite(largest):
                    raise FloatingPointError(
                        f"gradient descent diverged at iteration {iterations} with step_size={self.step_size}"
                    )
                if largest < self.tol:
                    converged = True
                    break
        with torch.no_grad():
            final = energy(y, z, x)  # (B,)
        converged = converged and bool(torch.isfinite(final).all())
        return InferenceResult(z, final, iterations=iterations, converged=converged)

    def __repr__(self) -> str:
        return f"GradientDescent(step_size={self.step_size}, max_iter={self.max_iter}, tol={self.tol})"
