"""Exhaustive search: ž = argmin over a finite latent space, streamed in blocks.

:class:`ExhaustiveSearch` is the inference object on the blocked kernel
:func:`ebmlab.kernels.argmin.exhaustive_argmin`. For an energy that is a squared distance to a
codebook (it states ``codebook``, as :class:`~ebmlab.models.kmeans.KMeansEnergy` does) the search is
the nearest-codeword kernel :func:`~ebmlab.kernels.argmin.assign_clusters`, exact also where the
squares overflow; K-means' Lloyd iterations use the same kernel, and its accelerated mode
(:mod:`ebmlab.kernels.argmin_bounds`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..energy import Energy, FiniteLatent
from ..kernels.argmin import ArgminResult, assign_clusters, exhaustive_argmin
from .base import InferenceResult, check_observations

__all__ = ["ArgminResult", "ExhaustiveSearch", "exhaustive_argmin"]


class ExhaustiveSearch:
    """ž by enumerating a finite latent space with :func:`exhaustive_argmin`.

    .. math:: \\check z = \\arg\\min_{z \\in Z} E(y, z[, x]), \\qquad Z = \\{z_1, \\dots, z_K\\}

    Ties go to the first latent value. The energy must have a :class:`~ebmlab.energy.FiniteLatent`
    (an energy without latent has one, :class:`~ebmlab.energy.EmptyLatent`, so it is its own F_∞).
    An energy that states a ``codebook`` ``(K, D)`` promises E(y, z_k) = ‖y − c_k‖²; it is searched in
    the matrix form ‖y‖² − 2y·c + ‖c‖² by :func:`~ebmlab.kernels.argmin.assign_clusters`.

    Args:
        block_size: latent values evaluated at once (bounds memory); about 4 Mi energies by default
            (a codebook energy's search chooses its own blocks).

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
        codebook = getattr(energy, "codebook", None)
        if codebook is not None and x is None:  # E(y, z_k) = ‖y − c_k‖²: the nearest-codeword kernel
            with torch.no_grad():
                found = assign_clusters(y, codebook.to(y.dtype))
            return InferenceResult(z_values[found.index], found.energy, iterations=1, converged=True)

        def pairwise(rows: slice, latents: slice) -> Tensor:
            return energy.pairwise(y[rows], z_values[latents], None if x is None else x[rows])  # (b, k)

        with torch.no_grad():
            found = exhaustive_argmin(pairwise, y.shape[0], latent.size, latent_block=self.block_size)
        return InferenceResult(z_values[found.index], found.energy, iterations=1, converged=True)

    def __repr__(self) -> str:
        return f"ExhaustiveSearch(block_size={self.block_size})"
