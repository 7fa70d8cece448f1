"""Collapse, shown: pushing down only the positives flattens the energy; contrast or regularisation stop it.

The latent model is the lecture's linear decoder with a ridge penalty on the latent,

.. math:: E(y, z) = \\|y - W z - b\\|^2 + \\lambda \\|z\\|^2, \\qquad z \\in \\mathbb{R}^K,

whose zero-temperature free energy has a closed form (ridge regression):

.. math:: F_\\infty(y) = \\min_z E(y, z) = \\lambda\\, (y - b)^\\top (W W^\\top + \\lambda I)^{-1} (y - b).

The data lie near a line segment in the plane (a 1-D manifold). Three ways to train it
(:data:`SHAPINGS`; :func:`shaping_loss` gives each one's loss, and ``ebmlab train collapse``,
:class:`ebmlab.recipes.collapse.CollapseRecipe`, trains all three side by side):

* ``"energy"``: the energy loss :math:`\\mathrm{mean}_i F(y_i)` only. Growing ``W`` drives
  :math:`F \\to 0` everywhere: the energy **collapses** to a flat surface;
* ``"contrastive"``: the simple contrastive loss :math:`[F(y)]^+ + [m - F(\\bar y)]^+` with
  negatives :math:`\\bar y` drawn uniformly in the plane: the energy stays high off the manifold;
* ``"regularised"``: the energy loss with the columns of ``W`` held at unit norm (as in sparse
  coding), so the latent penalty :math:`\\lambda\\|z\\|^2` bounds the volume of low energy: the
  columns turn to the data's direction and the energy is a valley along the manifold.

:func:`energy_spread` measures the result: the mean free energy at points one unit off the
manifold minus that on it (0 for a flat energy).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._validation import check_int, check_positive
from ..energy import Energy, RealLatent
from ..kernels.proximal import unit_norm_atoms
from ..losses import energy_loss, simple_contrastive_loss

__all__ = [
    "BOX",
    "SHAPINGS",
    "LinearLatentEnergy",
    "energy_spread",
    "line_data",
    "shaping_loss",
    "uniform_negatives",
]

SHAPINGS = ("energy", "contrastive", "regularised")
DIRECTION = (math.cos(math.pi / 6), math.sin(math.pi / 6))  # the manifold: t (cos 30°, sin 30°), |t| <= 2
BOX = 3.0  # contrastive negatives are uniform on [-BOX, BOX]^2


class LinearLatentEnergy(Energy):
    """:math:`E(y, z) = \\|y - Wz - b\\|^2 + \\lambda\\|z\\|^2` with the closed-form :math:`F_\\infty` (module doc).

    Shape:
        y ``(B, D)``, z ``(B, K)`` → ``(B,)``; :meth:`free_energy`: y ``(B, D)`` → ``(B,)``.

    Exact latent inference is the closed form :meth:`best_latent`; as an inference method it is
    ``Amortized(energy.best_latent)`` (:class:`ebmlab.inference.Amortized`, an encoder that is exact).

    Example:
        >>> import torch
        >>> from ebmlab.inference import Amortized
        >>> energy = LinearLatentEnergy(2, 2, ridge=0.5, seed=0)
        >>> y = torch.randn(4, 2)
        >>> result = Amortized(energy.best_latent)(energy, y)
        >>> torch.allclose(result.energy, energy.free_energy(y).detach(), atol=1e-5)
        True
    """

    def __init__(self, dim: int = 2, latent_dim: int = 2, ridge: float = 0.5, seed: int = 0) -> None:
        super().__init__()
        check_int(dim, "dim")
        check_int(latent_dim, "latent_dim")
        self.ridge = check_positive(ridge, "ridge")
        generator = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(dim, latent_dim, generator=generator) / math.sqrt(latent_dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.data_dim = dim
        self.latent = RealLatent(latent_dim)

    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        residual = y - z @ self.weight.t() - self.bias  # (B, D)
        return residual.pow(2).sum(1) + self.ridge * z.pow(2).sum(1)

    def best_latent(self, y: Tensor) -> Tensor:
        """ž = (WᵀW + λI)⁻¹ Wᵀ (y − b). Shape: y ``(B, D)`` → ``(B, K)``."""
        identity = torch.eye(self.latent.dim, dtype=y.dtype, device=y.device)  # (K, K)
        gram = self.weight.t() @ self.weight + self.ridge * identity  # (K, K)
        return torch.linalg.solve(gram, ((y - self.bias) @ self.weight).t()).t()

    def free_energy(self, y: Tensor, beta: float = math.inf, x: Tensor | None = None) -> Tensor:
        if not math.isinf(beta):
            raise ValueError(f"LinearLatentEnergy has a closed form for beta=inf only, got beta={beta}")
        residual = y - self.bias  # (B, D)
        identity = torch.eye(y.shape[1], dtype=y.dtype, device=y.device)  # (D, D)
        outer = self.weight @ self.weight.t() + self.ridge * identity  # (D, D)
        # a D x D inverse then one product: faster than a batched solve for the small D used here
        solved = residual @ torch.linalg.inv(outer)  # (B, D); outer is symmetric
        return self.ridge * (residual * solved).sum(1)

    def normalise_columns(self) -> None:
        """Project the columns of W onto the unit sphere, ‖w_j‖₂ = 1."""
        with torch.no_grad():
            self.weight.copy_(unit_norm_atoms(self.weight))


def line_data(n_samples: int = 500, *, noise: float = 0.05, seed: int = 0) -> Tensor:
    """Points t·u + ε, t ~ U(−2, 2), u = (cos 30°, sin 30°), ε ~ N(0, noise²). Shape ``(S, 2)``.

    Example:
        >>> line_data(3).shape
        torch.Size([3, 2])
    """
    generator = torch.Generator().manual_seed(seed)
    t = 4 * torch.rand(n_samples, 1, generator=generator) - 2
    return t * torch.tensor(DIRECTION) + noise * torch.randn(n_samples, 2, generator=generator)


def uniform_negatives(count: int, generator: torch.Generator | None = None) -> Tensor:
    """``count`` points uniform on the square ``[-BOX, BOX]²``, the contrastive shaping's negatives ȳ.

    Shape:
        → ``(S, 2)``.

    Example:
        >>> points = uniform_negatives(1000, torch.Generator().manual_seed(0))
        >>> tuple(points.shape), bool(points.abs().max() <= BOX)
        ((1000, 2), True)
    """
    count = check_int(count, "count")
    return (2 * torch.rand(count, 2, generator=generator) - 1) * BOX


def shaping_loss(
    energy: LinearLatentEnergy,
    y: Tensor,
    shaping: str,
    negatives: Tensor | None = None,
    *,
    margin: float = 1.0,
) -> Tensor:
    """The loss one of :data:`SHAPINGS` minimises (module doc), from the free energies F(y) and F(ȳ).

    ``"energy"`` and ``"regularised"``: the energy loss :math:`\\mathrm{mean}_i F(y_i)` (the
    regularised shaping also holds the columns of W at unit norm after each update, see
    :meth:`LinearLatentEnergy.normalise_columns`). ``"contrastive"``: the simple contrastive loss
    :math:`\\mathrm{mean}_i [F(y_i)]^+ + [m - \\min_j F(\\bar y_{ij})]^+`, the ``M`` negatives of
    example ``i`` being rows ``i·M … i·M + M − 1`` of ``negatives``.

    Shape:
        y ``(B, D)``, negatives ``(B·M, D)`` → scalar.

    Example:
        >>> energy = LinearLatentEnergy(seed=0)
        >>> y = line_data(8)
        >>> bool(shaping_loss(energy, y, "energy") == energy.free_energy(y).mean())
        True
        >>> shaping_loss(energy, y, "contrastive", uniform_negatives(8 * 4), margin=1.0).shape
        torch.Size([])
    """
    if shaping not in SHAPINGS:
        raise ValueError(f"shaping must be one of {SHAPINGS}, got shaping={shaping!r}")
    positive = energy.free_energy(y)  # (B,)
    if shaping != "contrastive":
        return energy_loss(positive)
    if negatives is None or negatives.ndim != 2 or negatives.shape[0] % y.shape[0] or not negatives.shape[0]:
        shape = None if negatives is None else tuple(negatives.shape)
        raise ValueError(
            f"the contrastive shaping needs negatives of shape (B*M, D) with B={y.shape[0]}, M >= 1, got {shape}"
        )
    negative = energy.free_energy(negatives).reshape(y.shape[0], -1)  # (B, M)
    return simple_contrastive_loss(positive, negative, margin=margin)


def energy_spread(energy: LinearLatentEnergy, *, offset: float = 1.0, n_points: int = 201) -> float:
    """Mean F at points ``offset`` away from the manifold minus mean F on it (0 when the energy is flat).

    Example:
        >>> energy = LinearLatentEnergy(ridge=0.5)
        >>> energy_spread(energy) > 0
        True
    """
    return float(_spread(energy, offset, n_points))


def _spread(energy: LinearLatentEnergy, offset: float = 1.0, n_points: int = 201) -> Tensor:
    """:func:`energy_spread` as a 0-dim tensor on the energy's device (no host synchronisation)."""
    device = energy.weight.device
    t = torch.linspace(-2, 2, n_points, device=device).unsqueeze(1)  # (S, 1)
    u = torch.tensor(DIRECTION, device=device)
    normal = torch.tensor([-DIRECTION[1], DIRECTION[0]], device=device)
    on = t * u  # (S, 2)
    off = torch.cat([on + offset * normal, on - offset * normal])  # (2S, 2)
    with torch.no_grad():
        return energy.free_energy(off).mean() - energy.free_energy(on).mean()
