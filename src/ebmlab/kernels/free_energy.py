"""Free energy and soft-min: the lecture's zero- and finite-temperature marginalisation of a latent.

Given the energies of one observation ``y`` against every value of a finite latent set ``Z``,

.. math::

    F_\\beta(y) = -\\frac{1}{\\beta} \\log \\Big( \\frac{1}{|Z|} \\sum_{z \\in Z} e^{-\\beta E(y, z)} \\Big)

which tends to :math:`F_\\infty(y) = \\min_z E(y, z)` as :math:`\\beta \\to \\infty` and to the mean
energy as :math:`\\beta \\to 0`. Its gradient with respect to the energies is the Gibbs
distribution :math:`\\mathrm{softmin}_\\beta(E)`.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor

__all__ = ["free_energy", "softmin"]


def _check_beta(beta: float) -> float:
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real):  # numpy scalars are Real too
        raise TypeError(f"beta must be a positive float or math.inf, got {type(beta).__name__} {beta!r}")
    beta = float(beta)
    if not beta > 0.0:  # also rejects NaN
        raise ValueError(f"beta must be > 0 (use math.inf for the zero-temperature limit), got beta={beta}")
    return beta


def _check_energies(energies: Tensor, dim: int) -> None:
    if not isinstance(energies, Tensor):
        raise TypeError(f"energies must be a torch.Tensor, got {type(energies).__name__}")
    if not energies.is_floating_point():
        raise TypeError(f"energies must be a floating-point tensor, got dtype={energies.dtype}")
    if energies.ndim == 0:
        raise ValueError("energies must have at least one dimension (the latent values), got a 0-d tensor")
    if isinstance(dim, bool) or not isinstance(dim, int) or not -energies.ndim <= dim < energies.ndim:
        raise ValueError(
            f"dim must be an integer in [{-energies.ndim}, {energies.ndim - 1}] for energies of shape "
            f"{tuple(energies.shape)}, got dim={dim!r}"
        )
    if energies.shape[dim] == 0:
        raise ValueError(f"energies has no latent values along dim={dim} (shape {tuple(energies.shape)})")


def free_energy(energies: Tensor, beta: float = math.inf, dim: int = -1) -> Tensor:
    """Normalised soft-minimum of ``energies`` along ``dim`` at inverse temperature ``beta``.

    .. math::

        F_\\beta = -\\frac{1}{\\beta}\\Big(\\operatorname{logsumexp}_z(-\\beta E_z) - \\log |Z|\\Big),
        \\qquad F_\\infty = \\min_z E_z .

    Computed as ``m - log1p(mean(expm1(-β(E - m)))) / β`` with ``m = min E`` where that is accurate
    (high temperature) and as ``m - (logsumexp(-β(E - m)) - log|Z|) / β`` elsewhere, so it is stable
    from β = 1e-6 to 1e6 in float32 and float64. Differentiable; the gradient is
    :func:`softmin`.

    Args:
        energies: energies ``E(y, z)`` of each latent value, any floating dtype.
        beta: inverse temperature, > 0; ``math.inf`` gives the minimum.
        dim: the latent dimension to marginalise.

    Shape:
        energies ``(*, K, *)`` → result with ``dim`` removed.

    Example:
        >>> import math, torch
        >>> E = torch.tensor([[0.0, 1.0, 4.0]])
        >>> free_energy(E, beta=math.inf)
        tensor([0.])
        >>> free_energy(E, beta=1e-6)  # the mean
        tensor([1.6667])
        >>> torch.allclose(free_energy(E, 1.0), -(torch.logsumexp(-E, -1) - math.log(3)))
        True
    """
    _check_energies(energies, dim)
    beta = _check_beta(beta)
    if math.isinf(beta):
        return energies.amin(dim=dim)
    size = energies.shape[dim]
    minimum = energies.amin(dim=dim, keepdim=True).detach()
    # a row whose every energy is +inf (no allowed latent) has F = +inf, one with a -inf energy F = -inf
    minimum = torch.where(torch.isinf(minimum), torch.zeros_like(minimum), minimum)
    scaled = -beta * (energies - minimum)  # <= 0 where the minimum is finite
    # high temperature: log(mean(exp(s))) = log1p(mean(expm1(s))), exact when s is small
    mean_expm1 = torch.expm1(scaled).mean(dim=dim)  # in (-1, 0]
    small = torch.log1p(mean_expm1)
    large = torch.logsumexp(scaled, dim=dim) - math.log(size)
    log_mean = torch.where(mean_expm1 > -0.5, small, large)
    return minimum.squeeze(dim) - log_mean / beta


def softmin(energies: Tensor, beta: float, dim: int = -1) -> Tensor:
    """Gibbs weights over the latent values: the gradient of :func:`free_energy` w.r.t. the energies.

    .. math::

        \\mathrm{softmin}_\\beta(E)_z = \\frac{e^{-\\beta E_z}}{\\sum_{z'} e^{-\\beta E_{z'}}},

    and, for ``beta = math.inf``, the one-hot vector of the (first) argmin.

    Shape:
        energies ``(*, K, *)`` → weights of the same shape, summing to one along ``dim``.

    Example:
        >>> import math, torch
        >>> softmin(torch.tensor([2.0, 0.0, 1.0]), beta=math.inf)
        tensor([0., 1., 0.])
        >>> softmin(torch.tensor([0.0, 0.0]), beta=1.0)
        tensor([0.5000, 0.5000])
    """
    _check_energies(energies, dim)
    beta = _check_beta(beta)
    if math.isinf(beta):
        index = energies.argmin(dim=dim, keepdim=True)
        return torch.zeros_like(energies).scatter_(dim, index, 1.0)
    return torch.softmax(-beta * energies, dim=dim)
