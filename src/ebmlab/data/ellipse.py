"""The lecture's ellipse: 2-D points y on an ellipse whose radii depend on a scalar x.

.. math:: y = [\\rho_1(x)\\cos\\theta + \\epsilon_1,\\ \\rho_2(x)\\sin\\theta + \\epsilon_2], \\qquad
          \\theta \\sim U(0, 2\\pi), \\quad \\epsilon \\sim N(0, (1/20)^2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["EllipseData", "ellipse_radius", "make_ellipse"]

ALPHA, BETA = 1.5, 2.0
NOISE = 1.0 / 20.0


def ellipse_radius(x: Tensor) -> Tensor:
    """The lecture's radii ρ(x) = [αx + β(1−x), βx + α(1−x)]·exp(2x), α = 1.5, β = 2.

    Shape:
        x ``(B, 1)`` → ``(B, 2)``.

    Example:
        >>> import torch
        >>> ellipse_radius(torch.zeros(1, 1))
        tensor([[2.0000, 1.5000]])
    """
    first = ALPHA * x + BETA * (1 - x)
    second = BETA * x + ALPHA * (1 - x)
    return torch.cat([first, second], dim=1) * torch.exp(2 * x)  # (B, 2)


@dataclass(frozen=True)
class EllipseData:
    """Samples of the ellipse: ``y`` ``(B, 2)``, ``x`` ``(B, 1)``, the true angle ``theta`` ``(B,)``.

    Example:
        >>> data = make_ellipse(5, seed=0)
        >>> tuple(data.y.shape), tuple(data.x.shape), tuple(data.theta.shape)
        ((5, 2), (5, 1), (5,))
    """

    y: Tensor
    x: Tensor
    theta: Tensor


def make_ellipse(
    n_samples: int = 1000, *, conditional: bool = False, seed: int = 0, dtype: torch.dtype = torch.float32
) -> EllipseData:
    """The lecture's data: y = [ρ₁(x) cos θ + ε, ρ₂(x) sin θ + ε], θ ~ U(0, 2π), ε ~ N(0, (1/20)²).

    Unconditional: x = 0. Conditional: x drawn uniformly from the grid [0 : 1/50 : 1] (51 values).

    Example:
        >>> data = make_ellipse(4, seed=0)
        >>> tuple(data.y.shape), float(data.x.abs().max())
        ((4, 2), 0.0)
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    generator = torch.Generator().manual_seed(seed)
    theta = 2 * math.pi * torch.rand(n_samples, generator=generator, dtype=torch.float64)
    if conditional:
        x = torch.randint(0, 51, (n_samples, 1), generator=generator).double() / 50
    else:
        x = torch.zeros(n_samples, 1, dtype=torch.float64)
    radius = ellipse_radius(x)  # (B, 2)
    clean = radius * torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)
    noise = NOISE * torch.randn(n_samples, 2, generator=generator, dtype=torch.float64)
    return EllipseData((clean + noise).to(dtype), x.to(dtype), theta.to(dtype))
