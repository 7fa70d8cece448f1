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
from collections.abc import Callable

import torch
from torch import Tensor

from .argmin import block_sizes, exhaustive_argmin

__all__ = ["blocked_free_energy", "free_energy", "softmin"]


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


def blocked_free_energy(
    pairwise: Callable[[slice, slice], Tensor],
    num_rows: int,
    num_latents: int,
    beta: float = math.inf,
    *,
    row_block: int | None = None,
    latent_block: int | None = None,
) -> Tensor:
    """:func:`free_energy` of every row of an implicit ``(B, K)`` energy matrix, streamed in blocks.

    .. math:: F_\\beta(y_b) = -\\frac{1}{\\beta} \\log \\frac{1}{K} \\sum_{j} \\sum_{k \\in j}
              e^{-\\beta E_{bk}}, \\qquad F_\\infty(y_b) = \\min_k E_{bk}

    The marginaliser of every finite latent space: ``pairwise(rows, latents)`` gives the ``(b, k)``
    energies of a block (as for :func:`~ebmlab.kernels.argmin.exhaustive_argmin`, which it is at
    β = ∞). Each latent block j is reduced with its own minimum m_j to Σ expm1(−β(E − m_j)) and
    logsumexp(−β(E − m_j)); the blocks are then shifted to the row's minimum m and combined, so the
    result equals :func:`free_energy` on the whole matrix (the same high/low-temperature forms)
    while memory stays at one block. Differentiable through ``pairwise``.

    Shape:
        → ``(B,)``.

    Example:
        >>> import torch
        >>> E = torch.tensor([[0.0, 1.0, 4.0, 9.0], [2.0, 2.0, 2.0, 2.0]])
        >>> streamed = blocked_free_energy(lambda r, k: E[r, k], 2, 4, 0.5, row_block=1, latent_block=3)
        >>> torch.allclose(streamed, free_energy(E, 0.5))
        True
    """
    beta = _check_beta(beta)
    if math.isinf(beta):
        return exhaustive_argmin(pairwise, num_rows, num_latents, row_block=row_block, latent_block=latent_block).energy
    row_block, latent_block = block_sizes(num_rows, num_latents, row_block, latent_block)
    parts = []
    for start in range(0, num_rows, row_block):
        rows = slice(start, min(start + row_block, num_rows))
        if latent_block >= num_latents:  # one block: the plain kernel
            parts.append(free_energy(pairwise(rows, slice(0, num_latents)), beta))
            continue
        blocks = []  # (m_j, Σ expm1, logsumexp, n_j) of each latent block, rows (b,)
        for k0 in range(0, num_latents, latent_block):
            energies = pairwise(rows, slice(k0, min(k0 + latent_block, num_latents)))  # (b, k)
            low = energies.amin(dim=1).detach()  # (b,)
            shift = torch.where(torch.isfinite(low), low, torch.zeros_like(low)).unsqueeze(1)
            scaled = -beta * (energies - shift)
            blocks.append((low, torch.expm1(scaled).sum(dim=1), torch.logsumexp(scaled, dim=1), energies.shape[1]))
        lows = torch.stack([low for low, *_ in blocks])  # (J, b)
        minimum = lows.amin(dim=0)  # (b,) the row's minimum, ±inf possible
        anchor = torch.where(torch.isfinite(minimum), minimum, torch.zeros_like(minimum))
        total_expm1, logs = 0.0, []
        for low, expm1_sum, log_sum, count in blocks:
            finite = torch.isfinite(low)
            delta = torch.where(finite, beta * (low - anchor), torch.zeros_like(low))  # >= 0 where finite
            shifted = torch.exp(-delta) * expm1_sum + count * torch.expm1(-delta)  # Σ expm1(−β(E − m))
            total_expm1 = total_expm1 + torch.where(finite | (low < 0), shifted, torch.full_like(shifted, -count))
            logs.append(torch.where(finite, log_sum - delta, log_sum))
        mean_expm1 = total_expm1 / num_latents
        small = torch.log1p(mean_expm1)
        large = torch.logsumexp(torch.stack(logs), dim=0) - math.log(num_latents)
        log_mean = torch.where(mean_expm1 > -0.5, small, large)
        parts.append(anchor - log_mean / beta)
    if not parts:
        raise ValueError("num_rows must be >= 1 to marginalise")
    return torch.cat(parts)
