"""Latent inference: ž = argmin_z E(y, z[, x]).

Two pieces:

* :func:`exhaustive_argmin`, the blocked minimum kernel over a finite set. It streams blocks of
  rows and of candidate latents so memory stays bounded; the ellipse's grid search and K-means'
  assignment step are this one function with different ``pairwise`` callbacks.
* small inference objects, each returning an :class:`InferenceResult`:
  :class:`ExhaustiveSearch` (finite latent spaces) and :class:`GradientDescent` (continuous ones).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from .energy import Energy, FiniteLatent

__all__ = [
    "ArgminResult",
    "ExhaustiveSearch",
    "GradientDescent",
    "InferenceResult",
    "exhaustive_argmin",
]

_BLOCK_ELEMENTS = 1 << 22  # 4 Mi energies (16 MiB in float32) per block by default


@dataclass(frozen=True)
class InferenceResult:
    """The outcome of latent inference.

    Attributes:
        latent: ž, shape ``(B, d)``, detached.
        energy: E(y, ž), shape ``(B,)``, detached.
        iterations: iterations used (1 for exhaustive search).
        converged: whether the stopping rule was met (always True for exhaustive search).
    """

    latent: Tensor
    energy: Tensor
    iterations: int
    converged: bool


class ArgminResult(NamedTuple):
    """Minimum and (first) argmin of each row. Shapes ``(B,)`` and ``(B,)`` (int64)."""

    energy: Tensor
    index: Tensor


def exhaustive_argmin(
    pairwise: Callable[[slice, slice], Tensor],
    num_rows: int,
    num_latents: int,
    *,
    row_block: int | None = None,
    latent_block: int | None = None,
) -> ArgminResult:
    """Row-wise minimum of an implicit ``(B, K)`` energy matrix, computed block by block.

    .. math:: \\check z_b = \\arg\\min_k E_{b k}, \\qquad F_\\infty(y_b) = E_{b \\check z_b}

    Args:
        pairwise: ``pairwise(rows, latents)`` returns the energies of the observations ``rows``
            against the latent values ``latents`` as a ``(b, k)`` tensor.
        num_rows: ``B``.
        num_latents: ``K``.
        row_block, latent_block: block sizes; by default blocks of about 4 Mi energies.

    Returns:
        :class:`ArgminResult` with the minimum energies ``(B,)`` and indices ``(B,)``; ties go to
        the lowest index.

    Example:
        >>> import torch
        >>> E = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 0.0]])
        >>> exhaustive_argmin(lambda r, k: E[r, k], 2, 3, row_block=1, latent_block=2)
        ArgminResult(energy=tensor([1., 0.]), index=tensor([1, 0]))
    """
    if num_rows < 0 or num_latents < 1:
        raise ValueError(f"need num_rows >= 0 and num_latents >= 1, got {num_rows} and {num_latents}")
    if latent_block is None:
        latent_block = min(num_latents, max(1, _BLOCK_ELEMENTS // max(1, min(num_rows, 4096))))
    if row_block is None:
        row_block = max(1, _BLOCK_ELEMENTS // latent_block)
    energies: list[Tensor] = []
    indices: list[Tensor] = []
    for start in range(0, num_rows, row_block):
        rows = slice(start, min(start + row_block, num_rows))
        best = best_index = None
        for k0 in range(0, num_latents, latent_block):
            block = pairwise(rows, slice(k0, min(k0 + latent_block, num_latents)))  # (b, k)
            value, index = block.min(dim=1)  # (b,), (b,)
            if best is None:
                best, best_index = value, index
            else:
                better = value < best  # strict: earlier blocks win ties
                best = torch.where(better, value, best)
                best_index = torch.where(better, index + k0, best_index)
        energies.append(best)
        indices.append(best_index)
    if not energies:
        raise ValueError("num_rows must be >= 1 to search for a minimum")
    return ArgminResult(torch.cat(energies), torch.cat(indices))


class ExhaustiveSearch:
    """ž by enumerating a finite latent space with :func:`exhaustive_argmin`.

    Example:
        >>> import math, torch
        >>> from ebmlab.models.ellipse import EllipseEnergy
        >>> energy = EllipseEnergy(w=(2.0, 1.5))
        >>> result = ExhaustiveSearch()(energy, torch.tensor([[0.0, 1.5]]))
        >>> round(result.latent.item(), 4), round(result.energy.item(), 4)  # z = π/2 lies on the grid
        (1.5708, 0.0)
    """

    def __init__(self, block_size: int | None = None) -> None:
        self.block_size = block_size

    def __call__(self, energy: Energy, y: Tensor, x: Tensor | None = None) -> InferenceResult:
        latent = energy.latent
        if not isinstance(latent, FiniteLatent):
            raise TypeError(f"ExhaustiveSearch needs a finite latent space, the energy has {latent!r}")
        z_values = latent.values(device=y.device, dtype=y.dtype)  # (K, d)

        def pairwise(rows: slice, latents: slice) -> Tensor:
            return energy.pairwise(y[rows], z_values[latents], None if x is None else x[rows])

        with torch.no_grad():
            found = exhaustive_argmin(pairwise, y.shape[0], latent.size, latent_block=self.block_size)
        return InferenceResult(z_values[found.index], found.energy, iterations=1, converged=True)


class GradientDescent:
    """ž by gradient descent on z, per sample, until every step moves z by less than ``tol``.

    .. math:: z_{t+1} = z_t - \\eta \\nabla_z E(y, z_t[, x])

    Args:
        step_size: η > 0.
        max_iter: iteration budget.
        tol: stop when ``max |z_{t+1} - z_t| < tol``.

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
        self, energy: Energy, y: Tensor, x: Tensor | None = None, init: Tensor | None = None
    ) -> InferenceResult:
        dim = energy.latent.dim
        if init is None:
            init = torch.zeros(y.shape[0], dim, device=y.device, dtype=y.dtype)
        elif init.shape != (y.shape[0], dim):
            raise ValueError(f"init must have shape (B, d) = {(y.shape[0], dim)}, got {tuple(init.shape)}")
        z = init.detach().clone()
        converged = False
        iterations = 0
        with torch.enable_grad():
            for iterations in range(1, self.max_iter + 1):
                z.requires_grad_(True)
                (grad,) = torch.autograd.grad(energy(y, z, x).sum(), z)
                step = self.step_size * grad
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
            final = energy(y, z, x)
        return InferenceResult(z, final, iterations=iterations, converged=converged)
