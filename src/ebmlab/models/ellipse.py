"""The lecture's first example: the ellipse ("trained model manifold").

Unconditional energy, z on the grid [0 : π/24 : 2π) (48 values) or continuous:

.. math:: E(y, z) = [y_1 - w_1 \\cos z]^2 + [y_2 - w_2 \\sin z]^2

Conditional energy, with f a small MLP 1 → 8 → 8 → 2 (ReLU):

.. math:: E(x, y, z) = [y_1 - f_1(x) \\cos z]^2 + [y_2 - f_2(x) \\sin z]^2

Both are trained (:mod:`ebmlab.recipes.ellipse`) by minimising the energy loss
:math:`\\mathcal{L} = \\mathrm{mean}_y F_\\beta(y)`, at zero temperature (β = ∞, :math:`F_\\infty = \\min_z E`)
or at a finite β.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..energy import Energy, GridLatent, RealLatent

__all__ = ["ConditionalEllipseEnergy", "EllipseEnergy", "ellipse_energy"]

LECTURE_GRID = (0.0, 2 * math.pi, math.pi / 24)


def ellipse_energy(y: Tensor, radius: Tensor, z: Tensor) -> Tensor:
    """[y₁ − r₁ cos z]² + [y₂ − r₂ sin z]², broadcasting over leading dimensions.

    Shape:
        y ``(*, 2)``, radius ``(*, 2)``, z ``(*, 1)`` → ``(*)``.

    Example:
        >>> import torch
        >>> ellipse_energy(torch.tensor([[2.0, 0.0]]), torch.tensor([[2.0, 1.5]]), torch.zeros(1, 1))
        tensor([0.])
    """
    curve = radius * torch.cat([torch.cos(z), torch.sin(z)], dim=-1)  # (*, 2)
    return (y - curve).pow(2).sum(dim=-1)


def _check_radius(w: tuple[float, float]) -> list[float]:
    """(w₁, w₂) as two finite floats, or a ValueError/TypeError naming ``w``."""
    if isinstance(w, (str, bytes)) or not isinstance(w, (Sequence, np.ndarray, Tensor)):
        raise TypeError(f"w must be a pair (w1, w2) of finite real numbers, got {type(w).__name__} {w!r}")
    if len(w) != 2:
        raise ValueError(f"w must be a pair (w1, w2) of finite real numbers, got {len(w)} value(s): {w!r}")
    values = []
    for value in w:
        if isinstance(value, Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"w must be a pair (w1, w2) of finite real numbers, got an entry {value!r} in w={w!r}")
        values.append(float(value))
    if not all(math.isfinite(value) for value in values):
        raise ValueError(f"w must be a pair (w1, w2) of finite real numbers, got w={tuple(values)}")
    return values


def _make_latent(latent: str) -> GridLatent | RealLatent:
    if latent == "grid":
        return GridLatent(*LECTURE_GRID)
    if latent == "real":
        return RealLatent(1)
    raise ValueError(f"latent must be 'grid' or 'real', got {latent!r}")


class EllipseEnergy(Energy):
    """E(y, z) = [y₁ − w₁ cos z]² + [y₂ − w₂ sin z]² with learnable w.

    Args:
        w: initial (w₁, w₂), two finite real numbers; the lecture starts from (1, 1).
        latent: ``"grid"`` (the lecture's 48 angles) or ``"real"`` (z ∈ ℝ, for gradient inference).

    Raises:
        TypeError: ``w`` is not a pair of real numbers.
        ValueError: ``w`` does not have two entries, or one is NaN or infinite.

    Shape:
        y ``(B, 2)``, z ``(B, 1)`` → ``(B,)``.

    Example:
        >>> import math, torch
        >>> energy = EllipseEnergy(w=(2.0, 1.5))
        >>> energy(torch.tensor([[0.0, 1.5]]), torch.tensor([[math.pi / 2]])).detach().round(decimals=6)
        tensor([0.])
        >>> float(energy.free_energy(torch.tensor([[0.0, 1.5]])).detach()) < 1e-9  # F_inf: π/2 is on the grid
        True
    """

    def __init__(self, w: tuple[float, float] = (1.0, 1.0), latent: str = "grid") -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(_check_radius(w)))
        self.latent = _make_latent(latent)
        self.data_dim = 2  # y = (y₁, y₂)

    def radius(self, x: Tensor | None = None) -> Tensor:
        """(w₁, w₂), shape ``(2,)``."""
        return self.w

    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        return ellipse_energy(y, self.w.to(y.dtype), z)

    def pairwise(self, y: Tensor, z_values: Tensor, x: Tensor | None = None) -> Tensor:
        return ellipse_energy(y.unsqueeze(1), self.w.to(y.dtype), z_values.unsqueeze(0))  # (B, K)

    def decode(self, z: Tensor, x: Tensor | None = None) -> Tensor:
        """ỹ = Dec(z) = (w₁ cos z, w₂ sin z). Shape: z ``(B, 1)`` → ``(B, 2)``."""
        return self.w.to(z.dtype) * torch.cat([torch.cos(z), torch.sin(z)], dim=-1)


class ConditionalEllipseEnergy(Energy):
    """E(x, y, z) = [y₁ − f₁(x) cos z]² + [y₂ − f₂(x) sin z]², f: MLP 1 → 8 → 8 → 2 (ReLU).

    The energy is unchanged by f_i → −f_i (z → π − z or −z on the symmetric grid), so the manifold
    is set by |f(x)|.

    Shape:
        y ``(B, 2)``, z ``(B, 1)``, x ``(B, 1)`` → ``(B,)``.

    Example:
        >>> import torch
        >>> energy = ConditionalEllipseEnergy(seed=0)
        >>> energy(torch.zeros(3, 2), torch.zeros(3, 1), torch.zeros(3, 1)).shape
        torch.Size([3])
    """

    def __init__(self, hidden: int = 8, latent: str = "grid", seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # explicit initialisation; global RNG untouched
            torch.manual_seed(seed)
            self.f = nn.Sequential(
                nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2)
            )
        with torch.no_grad():
            # hinge basis ReLU(x - k/hidden) over x in [0, 1]: no unit starts dead on the data's range,
            # and a positive output bias starts f(x) on the positive branch of the sign symmetry
            self.f[0].weight.fill_(1.0)
            self.f[0].bias.copy_(-torch.arange(hidden, dtype=torch.float32) / hidden)
            self.f[-1].bias.fill_(2.0)
        self.latent = _make_latent(latent)
        self.data_dim = 2  # y = (y₁, y₂)

    def radius(self, x: Tensor) -> Tensor:
        """f(x), shape ``(B, 2)`` for x ``(B, 1)``."""
        return self.f(x)

    def _need_x(self, x: Tensor | None) -> Tensor:
        if x is None:
            raise ValueError("ConditionalEllipseEnergy needs the input x, shape (B, 1); got x=None")
        return x

    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        return ellipse_energy(y, self.f(self._need_x(x)), z)

    def pairwise(self, y: Tensor, z_values: Tensor, x: Tensor | None = None) -> Tensor:
        radius = self.f(self._need_x(x)).unsqueeze(1)  # (B, 1, 2)
        return ellipse_energy(y.unsqueeze(1), radius, z_values.unsqueeze(0))  # (B, K)

    def decode(self, z: Tensor, x: Tensor | None = None) -> Tensor:
        """ỹ = f(x) ⊙ (cos z, sin z). Shape: z ``(B, 1)``, x ``(B, 1)`` → ``(B, 2)``."""
        return self.f(self._need_x(x)) * torch.cat([torch.cos(z), torch.sin(z)], dim=-1)
