"""Amortised inference: an encoder trained to predict ž in one pass."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..energy import Energy
from .base import InferenceResult, check_observations

__all__ = ["Amortized"]


class Amortized:
    """ž = Enc(y): one forward pass of an encoder instead of a search (LISTA, a VAE's posterior mean,
    a closed-form argmin).

    .. math:: \\check z = \\mathrm{Enc}(y), \\qquad \\text{energy} = E(y, \\mathrm{Enc}(y)[, x]) \\ge F_\\infty(y)

    The energy reported is always the energy of the encoder's latent; how close it is to F_∞ depends
    on how well the encoder was trained. ``iterations`` is 1; ``converged`` is True when the energy
    is finite (there is no stopping rule to meet).

    Args:
        encoder: any callable y ``(B, D)`` → z ``(B, d)``, e.g. a :class:`~ebmlab.models.lista.LISTA`
            network, ``lambda y: vae.encoder.posterior(y).mean`` or ``energy.best_latent``. It sees
            y only, not x.

    Shape:
        y ``(B, D)``, x ``(B, D_x)`` or None → latent ``(B, d)``, energy ``(B,)``.

    Example:
        >>> import torch
        >>> from ebmlab.models.lista import LISTA
        >>> from ebmlab.models.sparse_coding import SparseCodingEnergy
        >>> W = torch.eye(2)
        >>> result = Amortized(LISTA(W, alpha=0.5, n_layers=3))(SparseCodingEnergy(W, 0.5), torch.tensor([[1.0, -2.0]]))
        >>> result.latent, result.energy  # three ISTA steps with W = I: soft(y, α/2)
        (tensor([[ 0.7500, -1.7500]]), tensor([1.3750]))
    """

    def __init__(self, encoder: Callable[[Tensor], Tensor]) -> None:
        if not callable(encoder):
            raise TypeError(f"encoder must be a callable y -> z, got {type(encoder).__name__}")
        self.encoder = encoder

    def __call__(self, energy: Energy, y: Tensor, x: Tensor | None = None) -> InferenceResult:
        check_observations("Amortized", energy, y, x)
        expected = (y.shape[0], energy.latent.dim)
        with torch.no_grad():
            latent = self.encoder(y)  # (B, d)
            if not isinstance(latent, Tensor) or tuple(latent.shape) != expected:
                shape = tuple(latent.shape) if isinstance(latent, Tensor) else type(latent).__name__
                raise ValueError(f"Amortized: the encoder must return z of shape (B, d) = {expected}, got {shape}")
            value = energy(y, latent, x)  # (B,)
        return InferenceResult(latent, value, iterations=1, converged=bool(torch.isfinite(value).all()))

    def __repr__(self) -> str:
        return f"Amortized(encoder={self.encoder!r})"
