"""Exhaustive search: ž = argmin over a finite latent space, streamed in blocks.

:func:`exhaustive_argmin` is the blocked minimum kernel over a finite set. It streams blocks of rows
and of candidate latents so memory stays bounded; the ellipse's grid search and K-means' assignment
step are this one function with different ``pairwise`` callbacks. :class:`ExhaustiveSearch` is the
inference object built on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from ..energy import Energy, FiniteLatent
from .base import InferenceResult, check_observations

__all__ = ["ArgminResult", "ExhaustiveSearch", "exhaustive_argmin"]

_BLOCK_ELEMENTS = 1 << 22  # 4 Mi energies (16 MiB in float32) per block by default


class ArgminResult(NamedTuple):
    """Minimum and (first) argmin of each row. Shapes ``(B,)`` and ``(B,)`` (int64).

    Example:
        >>> import torch
        >>> ArgminResult(torch.tensor([0.5]), torch.tensor([2])).index
        tensor([2])
    """

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

    .. math:: \\check z = \\arg\\min_{z \\in Z} E(y, z[, x]), \\qquad Z = \\{z_1, \\dots, z_K\\}

    Ties go to the first latent value. The energy must have a :class:`~ebmlab.energy.FiniteLatent`
    (an energy without latent has one, :class:`~ebmlab.energy.EmptyLatent`, so it is its own F_∞).

    Args:
        block_size: latent values evaluated at once (bounds memory); about 4 Mi energies by default.

    Shape:
        y ``(B, D)``, x ``(B, D_x)`` or None → latent ``(B, d)``, energy ``(B,)``.

    Example:
        >>> import math, torch
        >>> from ebmlab.models.ellipse import EllipseEnergy
        >>> energy = EllipseEnergy(w=(2.0, 1.5))
        >>> result = ExhaustiveSearch()(energy, torch.tensor([[0.0, 1.5]]))
        >>> round(result.latent.item(), 4), round(result.energy.item(), 4)  # z = π/2 lies on the grid
        (1.5708, 0.0)
    """

    def __init__(self, block_size: int | None = None) -> None:
        if block_size is not None and (isinstance(block_size, bool) or not isinstance(block_size, int)):
            raise TypeError(f"block_size must be an int or None, got {type(block_size).__name__} {block_size!r}")
        if block_size is not None and block_size < 1:
            raise ValueError(f"block_size must be >= 1, got block_size={block_size}")
        self.block_size = block_size

    def __call__(self, energy: Energy, y: Tensor, x: Tensor | None = None) -> InferenceResult:
        check_observations("ExhaustiveSearch", energy, y, x)
        latent = energy.latent
        if not isinstance(latent, FiniteLatent):
            raise TypeError(f"ExhaustiveSearch needs a finite latent space, the energy has {latent!r}")
        z_values = latent.values(device=y.device, dtype=y.dtype)  # (K, d)

        def pairwise(rows: slice, latents: slice) -> Tensor:
            return energy.pairwise(y[rows], z_values[latents], None if x is None else x[rows])  # (b, k)

        with torch.no_grad():
            found = exhaustive_argmin(pairwise, y.shape[0], latent.size, latent_block=self.block_size)
        return InferenceResult(z_values[found.index], found.energy, iterations=1, converged=True)

    def __repr__(self) -> str:
        return f"ExhaustiveSearch(block_size={self.block_size})"
