"""The latent-inference contract: one call signature, one result type.

.. math:: \\check z = \\arg\\min_z E(y, z[, x]), \\qquad F_\\infty(y) = E(y, \\check z)

Every inference method is an object called as ``inference(energy, y, x=None)`` that returns an
:class:`InferenceResult`; its settings (step sizes, budgets, warm starts) are constructor or
keyword-only arguments, never extra positional ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from torch import Tensor

from ..energy import Energy

__all__ = ["Inference", "InferenceExtras", "InferenceResult"]


@dataclass(frozen=True)
class InferenceExtras:
    """What some inference methods know beyond ž and E(y, ž); ``None`` where a method has nothing to say.

    Attributes:
        duality_gap: a certified upper bound on :math:`E(y, \\check z) - F_\\infty(y) \\ge 0`, shape ``(B,)``
            (:class:`~ebmlab.inference.ProximalGradient`: the Fenchel dual gap of the sparse energy).

    Example:
        >>> import torch
        >>> InferenceExtras().duality_gap is None, InferenceExtras(duality_gap=torch.zeros(3)).duality_gap.shape
        (True, torch.Size([3]))
    """

    duality_gap: Tensor | None = None


@dataclass(frozen=True)
class InferenceResult:
    """The outcome of latent inference, the same for every method.

    Attributes:
        latent: ž, shape ``(B, d)`` (``(B, 0)`` for an energy without latent), detached.
        energy: E(y, ž[, x]), shape ``(B,)``, detached; always the energy of ``latent``.
        iterations: iterations used (1 for exhaustive search and amortised inference).
        converged: whether the method's stopping rule was met (always True for exhaustive search);
            never True when ``energy`` or a duality gap is not finite.
        extras: :class:`InferenceExtras` (empty by default).

    Example:
        >>> import torch
        >>> result = InferenceResult(torch.zeros(2, 1), torch.ones(2), 1, True)
        >>> result.extras.duality_gap is None
        True
    """

    latent: Tensor
    energy: Tensor
    iterations: int
    converged: bool
    extras: InferenceExtras = field(default_factory=InferenceExtras)


class Inference(Protocol):
    """The contract of every inference method: ``inference(energy, y, x=None) -> InferenceResult``.

    Implementations: :class:`~ebmlab.inference.ExhaustiveSearch` (finite latents),
    :class:`~ebmlab.inference.GradientDescent` (real latents),
    :class:`~ebmlab.inference.ProximalGradient` (ISTA/FISTA on smooth + α‖z‖₁),
    :class:`~ebmlab.inference.Amortized` (an encoder y ↦ z), and the VAE's ``GaussianEncoder``.

    Shape:
        y ``(B, D)``, x ``(B, D_x)`` or None → latent ``(B, d)``, energy ``(B,)``.

    Example:
        >>> import torch
        >>> from ebmlab.inference import ExhaustiveSearch
        >>> from ebmlab.models.kmeans import KMeansEnergy
        >>> def zero_temperature_free_energy(method: Inference, energy: Energy, y: torch.Tensor) -> torch.Tensor:
        ...     return method(energy, y).energy
        >>> zero_temperature_free_energy(ExhaustiveSearch(), KMeansEnergy(torch.eye(2)), torch.tensor([[1.0, 0.5]]))
        tensor([0.2500])
    """

    def __call__(self, energy: Energy, y: Tensor, x: Tensor | None = None) -> InferenceResult: ...


def check_observations(method: str, energy: Energy, y: object, x: object | None) -> None:
    """Validate y ``(B, D)`` and x ``(B, D_x)`` for ``method`` against ``energy``; raise ValueError or TypeError."""
    if not isinstance(energy, Energy):
        raise TypeError(f"{method} needs an ebmlab Energy, got {type(energy).__name__}")
    if not isinstance(y, Tensor):
        raise TypeError(f"{method}: y must be a torch tensor of shape (B, D), got {type(y).__name__}")
    name = type(energy).__name__
    if y.ndim != 2:
        raise ValueError(
            f"{method}: y must be 2-D of shape (B, D) (one observation per row), got shape {tuple(y.shape)}"
        )
    if y.shape[0] < 1:
        raise ValueError(f"{method}: y must hold at least one observation, got shape {tuple(y.shape)}")
    if energy.data_dim is not None and y.shape[1] != energy.data_dim:
        raise ValueError(
            f"{method}: {name} expects y of shape (B, D) with D={energy.data_dim}, got y of shape {tuple(y.shape)}"
        )
    if x is None:
        return
    if not isinstance(x, Tensor):
        raise TypeError(f"{method}: x must be a torch tensor of shape (B, D_x) or None, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{method}: x must be 2-D of shape (B, D_x) with B={y.shape[0]} rows like y, got shape {tuple(x.shape)}"
        )
