"""Collapse, shown: pushing down only the positives flattens the energy; contrast or regularisation stop it.

The latent model is the lecture's linear decoder with a ridge penalty on the latent,

.. math:: E(y, z) = \\|y - W z - b\\|^2 + \\lambda \\|z\\|^2, \\qquad z \\in \\mathbb{R}^K,

whose zero-temperature free energy has a closed form (ridge regression):

.. math:: F_\\infty(y) = \\min_z E(y, z) = \\lambda\\, (y - b)^\\top (W W^\\top + \\lambda I)^{-1} (y - b).

The data lie near a line segment in the plane (a 1-D manifold). Three ways to train it:

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
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._validation import check_int, check_positive
from ..energy import Energy, RealLatent
from ..losses import energy_loss, simple_contrastive_loss

__all__ = [
    "SHAPINGS",
    "CollapseFit",
    "LinearLatentEnergy",
    "energy_spread",
    "line_data",
    "train_collapse",
]

SHAPINGS = ("energy", "contrastive", "regularised")
DIRECTION = (math.cos(math.pi / 6), math.sin(math.pi / 6))  # the manifold: t (cos 30°, sin 30°), |t| <= 2
BOX = 3.0


class LinearLatentEnergy(Energy):
    """:math:`E(y, z) = \\|y - Wz - b\\|^2 + \\lambda\\|z\\|^2` with the closed-form :math:`F_\\infty` (module doc).

    Shape:
        y ``(B, D)``, z ``(B, K)`` → ``(B,)``; :meth:`free_energy`: y ``(B, D)`` → ``(B,)``.

    Example:
        >>> import torch
        >>> energy = LinearLatentEnergy(2, 2, ridge=0.5, seed=0)
        >>> y = torch.randn(4, 2)
        >>> z = energy.best_latent(y)
        >>> torch.allclose(energy(y, z), energy.free_energy(y), atol=1e-5)
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
        self.latent = RealLatent(latent_dim)

    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        residual = y - z @ self.weight.t() - self.bias  # (B, D)
        return residual.pow(2).sum(1) + self.ridge * z.pow(2).sum(1)

    def best_latent(self, y: Tensor) -> Tensor:
        """ž = (WᵀW + λI)⁻¹ Wᵀ (y − b). Shape: y ``(B, D)`` → ``(B, K)``."""
        gram = self.weight.t() @ self.weight + self.ridge * torch.eye(self.latent.dim, dtype=y.dtype)  # (K, K)
        return torch.linalg.solve(gram, ((y - self.bias) @ self.weight).t()).t()

    def free_energy(self, y: Tensor, beta: float = math.inf, x: Tensor | None = None) -> Tensor:
        if not math.isinf(beta):
            raise ValueError(f"LinearLatentEnergy has a closed form for beta=inf only, got beta={beta}")
        residual = y - self.bias  # (B, D)
        outer = self.weight @ self.weight.t() + self.ridge * torch.eye(y.shape[1], dtype=y.dtype)  # (D, D)
        # a D x D inverse then one product: faster than a batched solve for the small D used here
        solved = residual @ torch.linalg.inv(outer)  # (B, D); outer is symmetric
        return self.ridge * (residual * solved).sum(1)

    def normalise_columns(self) -> None:
        """Project the columns of W onto the unit sphere, ‖w_j‖₂ = 1."""
        with torch.no_grad():
            self.weight.div_(self.weight.norm(dim=0, keepdim=True).clamp_min(1e-12))


def line_data(n_samples: int = 500, *, noise: float = 0.05, seed: int = 0) -> Tensor:
    """Points t·u + ε, t ~ U(−2, 2), u = (cos 30°, sin 30°), ε ~ N(0, noise²). Shape ``(S, 2)``.

    Example:
        >>> line_data(3).shape
        torch.Size([3, 2])
    """
    generator = torch.Generator().manual_seed(seed)
    t = 4 * torch.rand(n_samples, 1, generator=generator) - 2
    return t * torch.tensor(DIRECTION) + noise * torch.randn(n_samples, 2, generator=generator)


def energy_spread(energy: LinearLatentEnergy, *, offset: float = 1.0, n_points: int = 201) -> float:
    """Mean F at points ``offset`` away from the manifold minus mean F on it (0 when the energy is flat).

    Example:
        >>> energy = LinearLatentEnergy(ridge=0.5)
        >>> energy_spread(energy) > 0
        True
    """
    t = torch.linspace(-2, 2, n_points).unsqueeze(1)  # (S, 1)
    u = torch.tensor(DIRECTION)
    normal = torch.tensor([-DIRECTION[1], DIRECTION[0]])
    on = t * u  # (S, 2)
    off = torch.cat([on + offset * normal, on - offset * normal])  # (2S, 2)
    with torch.no_grad():
        return float(energy.free_energy(off).mean() - energy.free_energy(on).mean())


@dataclass(frozen=True)
class CollapseFit:
    """One trained collapse model: its energy, the shaping used, the loss curve and the energy spread."""

    model: LinearLatentEnergy
    shaping: str
    data: Tensor
    losses: list[float]
    spread: float


def train_collapse(
    shaping: str,
    *,
    steps: int = 300,
    lr: float = 0.1,
    margin: float = 1.0,
    n_negatives: int = 16,
    n_samples: int = 500,
    seed: int = 0,
) -> CollapseFit:
    """Train :class:`LinearLatentEnergy` on :func:`line_data` with one of :data:`SHAPINGS` (module doc).

    Full-batch Adam for ``steps``; the contrastive loss draws ``n_negatives`` uniform negatives on
    ``[-3, 3]²`` per example each step and pushes up the most offending one to ``margin``.

    Example:
        >>> fit = train_collapse("regularised", steps=20, n_samples=50)  # see tests/test_collapse.py for all three
        >>> fit.spread > 0.5
        True
    """
    if shaping not in SHAPINGS:
        raise ValueError(f"shaping must be one of {SHAPINGS}, got shaping={shaping!r}")
    steps = check_int(steps, "steps")
    check_positive(lr, "lr")
    check_positive(margin, "margin")
    n_negatives = check_int(n_negatives, "n_negatives")
    data = line_data(n_samples, seed=seed)  # (B, 2)
    model = LinearLatentEnergy(2, 2, ridge=0.5, seed=seed)
    if shaping == "regularised":
        model.normalise_columns()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.9))
    generator = torch.Generator().manual_seed(seed + 1)
    losses = []
    for _ in range(steps):
        positive = model.free_energy(data)  # (B,)
        if shaping == "contrastive":
            negatives = (2 * torch.rand(n_samples * n_negatives, 2, generator=generator) - 1) * BOX  # (B*M, 2)
            negative_energy = model.free_energy(negatives).reshape(n_samples, n_negatives)  # (B, M)
            loss = simple_contrastive_loss(positive, negative_energy, margin=margin)
        else:
            loss = energy_loss(positive)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if shaping == "regularised":
            model.normalise_columns()
        losses.append(float(loss.detach()))
    return CollapseFit(model, shaping, data, losses, energy_spread(model))
