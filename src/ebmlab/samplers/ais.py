"""Annealed importance sampling (Neal 2001): log Z of a model from a tractable base model, along a path of
tempered free energies F_β with a transition kernel at each temperature."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .._validation import check_int
from .chain import DivergedChainError, TransitionKernel

__all__ = ["AISResult", "ais_betas", "annealed_importance_sampling"]


@dataclass(frozen=True)
class AISResult:
    """An AIS estimate log Ẑ = log Z_0 + log mean_s w_s with its delta-method standard error
    std(w) / (mean(w) √S), the log weights ``(S,)`` float64, the base model's log Z_0 and the number of annealing
    steps.

    Example:
        >>> import torch
        >>> result = AISResult(1.5, 0.1, torch.zeros(4, dtype=torch.float64), 1.5, 100)
        >>> result.log_partition - result.base_log_partition  # all weights 1: Ẑ = Z_0
        0.0
    """

    log_partition: float
    log_partition_std: float
    log_weights: Tensor
    base_log_partition: float
    n_betas: int


def ais_betas(n_betas: int) -> Tensor:
    """Salakhutdinov & Murray's β schedule from 0 to 1 in ``n_betas`` steps spaced 500 : 4,000 : 10,000 over
    [0, 0.5], [0.5, 0.9], [0.9, 1], ``(n_betas + 1,)`` float64.

    Example:
        >>> betas = ais_betas(29)
        >>> betas.shape, betas[[0, 1, -1]].tolist()
        (torch.Size([30]), [0.0, 0.5, 1.0])
    """
    check_int(n_betas, "n_betas", minimum=3)
    first = max(1, round(n_betas * 500 / 14500))
    second = max(1, round(n_betas * 4000 / 14500))
    pieces = [(0.0, 0.5, first), (0.5, 0.9, second), (0.9, 1.0, n_betas - first - second)]
    spaced = [torch.linspace(low, high, count + 1, dtype=torch.float64) for low, high, count in pieces]
    return torch.cat([spaced[0][:-1], spaced[1][:-1], spaced[2]])


def annealed_importance_sampling(
    free_energy: Callable[[Tensor, float], Tensor],
    kernel_at: Callable[[float], TransitionKernel],
    init: Tensor,
    betas: Sequence[float] | Tensor,
    *,
    base_log_partition: float,
    generator: torch.Generator | None = None,
) -> AISResult:
    """log Z_1 of p_1 ∝ e^{−F_1} from a base p_0 ∝ e^{−F_0} of known log Z_0, along p_β ∝ e^{−F_β},
    0 = β_0 < … < β_n = 1: each of the S chains starts at y_1 = ``init`` ~ p_0 and

    .. math:: \\log w \\mathrel{+}= F_{\\beta_{k-1}}(y_k) - F_{\\beta_k}(y_k), \\qquad
              y_{k+1} \\sim K_{\\beta_k}(\\cdot \\mid y_k), \\qquad
              \\log \\hat Z_1 = \\log Z_0 + \\log \\tfrac1S \\textstyle\\sum_s w_s,

    E[w] = Z_1 / Z_0, with K_β a transition kernel leaving p_β invariant.

    Args:
        free_energy: F_β(y), ``((S, D), β) → (S,)`` (computed in float64 where precision matters).
        kernel_at: β ↦ a :class:`~ebmlab.samplers.TransitionKernel` leaving p_β invariant.
        init: exact draws from p_0, ``(S, D)``.
        betas: β_0 = 0 < … < β_n = 1 (e.g. :func:`ais_betas`).
        base_log_partition: log Z_0.
        generator: the kernels' random generator.

    Example:
        >>> import math, torch
        >>> # p_β ∝ e^{−(1−β) y²/2 − β y²/(2σ²)}, a Gaussian of precision λ_β = 1 − β + β/σ², drawn exactly
        >>> sigma, g = 3.0, torch.Generator().manual_seed(0)
        >>> precision = lambda beta: 1 - beta + beta / sigma**2
        >>> free_energy = lambda y, beta: 0.5 * precision(beta) * y.pow(2).sum(1)
        >>> class Exact:  # an independence sampler: y' ~ p_β whatever y
        ...     def __init__(self, beta):
        ...         self.scale = precision(beta) ** -0.5
        ...
        ...     def step(self, y, generator):
        ...         return self.scale * torch.randn(y.shape, generator=generator), y.sum(1)
        >>> log_z0 = 0.5 * math.log(2 * math.pi)  # p_0 = N(0, 1)
        >>> init = torch.randn(100, 1, generator=g)
        >>> betas = torch.linspace(0, 1, 201)
        >>> result = annealed_importance_sampling(free_energy, Exact, init, betas, base_log_partition=log_z0,
        ...                                       generator=g)
        >>> error = result.log_partition - math.log(sigma * math.sqrt(2 * math.pi))  # Z_1 = σ √(2π)
        >>> abs(error) < 3 * result.log_partition_std < 0.1
        True
    """
    betas = [float(beta) for beta in betas]
    if len(betas) < 2 or not all(low < high for low, high in zip(betas[:-1], betas[1:], strict=False)):
        raise ValueError(f"betas must increase, with at least two of them; got {len(betas)} values")
    if not isinstance(init, Tensor) or init.ndim != 2 or not init.is_floating_point():
        raise ValueError(f"init must be a floating tensor of shape (S, D), got {getattr(init, 'shape', init)!r}")
    n_chains = init.shape[0]
    y = init.detach().clone()  # (S, D), the kernels may update it in place
    log_w = torch.zeros(n_chains, dtype=torch.float64, device=y.device)  # (S,)
    with torch.no_grad():
        for k in range(1, len(betas)):
            log_w += (free_energy(y, betas[k - 1]) - free_energy(y, betas[k])).double()
            if k < len(betas) - 1:
                y, _ = kernel_at(betas[k]).step(y, generator)
    if not bool(torch.isfinite(log_w).all()):
        raise DivergedChainError("AIS produced NaN/inf importance weights: the model's parameters are not finite")
    log_mean = float(torch.logsumexp(log_w, dim=0)) - math.log(n_chains)
    weights = torch.exp(log_w - log_w.max())  # (S,)
    relative_std = float(weights.std() / weights.mean()) / math.sqrt(n_chains) if n_chains > 1 else math.inf
    return AISResult(base_log_partition + log_mean, relative_std, log_w, base_log_partition, len(betas) - 1)
