"""2-D toy densities for energy-based models.

The six densities of the FFJORD / score-matching literature (Grathwohl et al. 2019), on roughly
``[-4, 4]²``: ``rings``, ``moons``, ``8gaussians``, ``checkerboard``, ``pinwheel``, ``spirals``.
Every sampler takes an explicit ``seed`` and returns float32 ``(S, 2)``.

Samples of a model are scored against them with :func:`ebmlab.metrics.gaussian_mmd`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .._validation import check_int

__all__ = ["TOYS", "lecture_demo_data", "sample_toy", "toy_limits"]

TOYS = ("rings", "moons", "8gaussians", "checkerboard", "pinwheel", "spirals")


def _rings(n: int, g: torch.Generator) -> Tensor:
    radius = torch.tensor([0.25, 0.5, 0.75, 1.0], dtype=torch.float64)[torch.randint(4, (n,), generator=g)]
    angle = 2 * math.pi * torch.rand(n, generator=g, dtype=torch.float64)
    points = 3.0 * radius.unsqueeze(1) * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return points + 0.08 * torch.randn(n, 2, generator=g, dtype=torch.float64)


def _moons(n: int, g: torch.Generator) -> Tensor:
    upper = torch.rand(n, generator=g) < 0.5
    angle = math.pi * torch.rand(n, generator=g, dtype=torch.float64)
    first = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    second = torch.stack([1 - torch.cos(angle), 0.5 - torch.sin(angle)], dim=1)
    points = torch.where(upper.unsqueeze(1), first, second)
    points = points + 0.1 * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return 2.0 * points + torch.tensor([-1.0, -0.2], dtype=torch.float64)


def _eight_gaussians(n: int, g: torch.Generator) -> Tensor:
    s = 1.0 / math.sqrt(2)
    centres = 4.0 * torch.tensor(
        [(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)], dtype=torch.float64
    )
    points = 0.5 * torch.randn(n, 2, generator=g, dtype=torch.float64) + centres[torch.randint(8, (n,), generator=g)]
    return points / 1.414


def _checkerboard(n: int, g: torch.Generator) -> Tensor:
    x1 = 4 * torch.rand(n, generator=g, dtype=torch.float64) - 2
    x2 = torch.rand(n, generator=g, dtype=torch.float64) - 2 * torch.randint(2, (n,), generator=g)
    x2 = x2 + torch.floor(x1) % 2
    return 2.0 * torch.stack([x1, x2], dim=1)


def _pinwheel(n: int, g: torch.Generator) -> Tensor:
    classes, rate = 5, 0.25
    labels = torch.randint(classes, (n,), generator=g)
    features = torch.randn(n, 2, generator=g, dtype=torch.float64) * torch.tensor([0.3, 0.1], dtype=torch.float64)
    features[:, 0] += 1.0
    angle = 2 * math.pi * labels / classes + rate * torch.exp(features[:, 0])
    cos, sin = torch.cos(angle), torch.sin(angle)
    rotated = torch.stack([features[:, 0] * cos - features[:, 1] * sin, features[:, 0] * sin + features[:, 1] * cos], 1)
    return 2.0 * rotated


def _spirals(n: int, g: torch.Generator) -> Tensor:
    t = torch.sqrt(torch.rand(n, generator=g, dtype=torch.float64)) * 540 * (2 * math.pi) / 360
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).to(torch.float64)
    jitter = 0.5 * torch.rand(n, 2, generator=g, dtype=torch.float64)
    points = torch.stack([-torch.cos(t) * t, torch.sin(t) * t], dim=1) + jitter
    points = sign.unsqueeze(1) * points / 3.0
    return points + 0.1 * torch.randn(n, 2, generator=g, dtype=torch.float64)


_SAMPLERS = {
    "rings": _rings,
    "moons": _moons,
    "8gaussians": _eight_gaussians,
    "checkerboard": _checkerboard,
    "pinwheel": _pinwheel,
    "spirals": _spirals,
}


def sample_toy(name: str, n_samples: int, *, seed: int = 0) -> Tensor:
    """Draw ``n_samples`` points of the 2-D toy density ``name`` (one of :data:`TOYS`).

    Shape:
        → ``(S, 2)`` float32.

    Example:
        >>> points = sample_toy("8gaussians", 5, seed=0)
        >>> tuple(points.shape), points.dtype
        ((5, 2), torch.float32)
    """
    if name not in _SAMPLERS:
        raise ValueError(f"toy must be one of {TOYS}, got {name!r}")
    n_samples = check_int(n_samples, "n_samples")
    generator = torch.Generator().manual_seed(seed)
    return _SAMPLERS[name](n_samples, generator).to(torch.float32)


def toy_limits(name: str) -> tuple[float, float]:
    """A square window ``(low, high)`` that holds the toy's mass, for plots and for noise boxes.

    Example:
        >>> toy_limits("rings")
        (-4.5, 4.5)
    """
    if name not in _SAMPLERS:
        raise ValueError(f"toy must be one of {TOYS}, got {name!r}")
    return (-4.5, 4.5)


def lecture_demo_data(n_samples: int = 50, *, seed: int = 0) -> Tensor:
    """The lecture demo's data: 50 points in 2-D from five Gaussian blobs (``(B, 2)`` float32).

    Example:
        >>> tuple(lecture_demo_data().shape)
        (50, 2)
    """
    generator = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [3.0, 0.5], [1.0, 3.0], [-2.0, 2.0], [-1.5, -2.5]])
    which = torch.randint(len(centres), (n_samples,), generator=generator)
    return centres[which] + 0.6 * torch.randn(n_samples, 2, generator=generator)
