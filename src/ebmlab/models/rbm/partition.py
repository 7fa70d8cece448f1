"""How likely data are under an RBM: log Z (exact or by AIS), pseudo-likelihoods, the reconstruction error."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..._validation import check_finite, check_int, check_positive
from .energy import RBMParameters, _binary_states, _check_visible, _free_energy, _hidden_input
from .sampling import _draw_hidden, _draw_visible

__all__ = ["AISResult", "ais_betas", "ais_log_partition", "base_visible_bias", "exact_log_partition"]
__all__ += ["full_pseudo_likelihood", "pseudo_likelihood", "reconstruction_error"]


def exact_log_partition(params: RBMParameters, *, max_units: int = 20, block: int = 65536) -> Tensor:
    """log Z = log Σ_v Σ_h e^{−E(v, h)} (∫ dv for Gaussian units) exactly, a 0-d float64 tensor, enumerating
    ``block`` states at a time the smaller layer (visible only if binary; then log Z = logsumexp_v −F(v)):

    .. math:: \\log Z = \\operatorname{logsumexp}_h \\big(c^\\top h + \\log \\textstyle\\sum_v
              e^{-E_v(v) + x(v)^\\top W^\\top h}\\big)

    Example:
        >>> exact_log_partition(RBMParameters(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2)))  # 5 log 2
        tensor(3.4657, dtype=torch.float64)
    """
    check_int(max_units, "max_units"), check_int(block, "block")
    tensors = (params.weight, params.visible_bias, params.hidden_bias)
    params = RBMParameters(*(t.detach().double() for t in tensors), params.visible)
    (hidden, dim), over_visible = params.weight.shape, params.visible.discrete and params.n_visible < params.n_hidden
    if (units := dim if over_visible else hidden) > max_units:
        raise ValueError(
            f"exact log Z enumerates 2^min(K, D) states and allows at most max_units={max_units} units; "
            f"this RBM has K={hidden} hidden and D={dim} visible units: use ais_log_partition"
        )
    parts = []
    with torch.no_grad():
        for start in range(0, 2**units, block):
            states = _binary_states(start, min(start + block, 2**units), units, torch.float64, params.weight.device)
            if over_visible:  # states (N, D)
                terms = -_free_energy(params, states)
            else:  # states (N, K)
                top_down = states @ params.weight  # (N, D)
                terms = states @ params.hidden_bias + params.visible.log_partition(top_down, params.visible_bias)
            parts.append(torch.logsumexp(terms, dim=0))
        return torch.logsumexp(torch.stack(parts), dim=0)


@dataclass(frozen=True)
class AISResult:
    """An AIS estimate log Ẑ = log Z_A + log mean_s w_s, its delta-method standard error std(w) / (mean(w) √S),
    the log weights ``(S,)`` float64, the base model's log Z_A and the number of annealing steps."""

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


def ais_log_partition(
    params: RBMParameters, *, n_chains: int = 100, n_betas: int = 14500, base_bias: Tensor | None = None, seed: int = 0
) -> AISResult:
    """log Z by annealed importance sampling (Salakhutdinov & Murray 2008) from the base model W = 0, c = 0, b_A
    (``base_bias``, e.g. :func:`base_visible_bias`; default b) of known log Z_A, along the path

    .. math:: p^*_\\beta(v) = e^{(1-\\beta)\\,\\mathrm{vis}_A(v) + \\beta\\,\\mathrm{vis}_B(v)}
              \\prod_j \\big(1 + e^{\\beta (c_j + (W x(v))_j)}\\big), \\quad 0 = \\beta_0 < \\dots < \\beta_n = 1:

    each of S = ``n_chains`` runs starts at v ~ p_A, adds log p*_{β_k}(v_k) − log p*_{β_{k−1}}(v_k) to log w and
    moves by one Gibbs sweep leaving p_{β_k} invariant; log Ẑ = log Z_A + logmeanexp(log w) (``log_weights`` (S,)).

    Example:
        >>> params = RBMParameters.random(5, 3, scale=1.0, seed=0)
        >>> abs(ais_log_partition(params, n_betas=100).log_partition - float(exact_log_partition(params))) < 0.1
        True
    """
    check_int(n_chains, "n_chains")
    betas = ais_betas(n_betas).tolist()
    units, weight, bias_b = params.visible, params.weight.detach(), params.visible_bias.detach()
    bias_a = bias_b.clone() if base_bias is None else base_bias.detach().to(device=bias_b.device, dtype=bias_b.dtype)
    if bias_a.shape != bias_b.shape:
        raise ValueError(f"base_bias must have shape (D,) = {tuple(bias_b.shape)}, got {tuple(bias_a.shape)}")
    check_finite(bias_a, "base_bias")
    generator = torch.Generator(device=weight.device).manual_seed(seed)
    zeros = torch.zeros(1, params.n_visible, device=weight.device, dtype=torch.float64)
    log_z_base = float(units.log_partition(zeros, bias_a.double())[0]) + params.n_hidden * math.log(2.0)
    with torch.no_grad():
        start = (bias_a / units.scale).expand(n_chains, -1).clone()  # (S, D)
        v = _draw_visible(units, start, generator, torch.empty_like(start)) * units.scale  # (S, D)
        h_t = weight.new_empty(params.n_hidden, n_chains)  # (K, S)
        log_w = torch.zeros(n_chains, dtype=torch.float64, device=weight.device)
        for k in range(1, len(betas)):
            beta_prev, beta = betas[k - 1], betas[k]
            pre = _hidden_input(params, v)  # (S, K)
            pre64 = pre.double()
            visible_gap = (units.visible_term(v, bias_b) - units.visible_term(v, bias_a)).double()  # (S,)
            hidden_gap = (F.softplus(beta * pre64) - F.softplus(beta_prev * pre64)).sum(dim=-1)  # (S,)
            log_w += (beta - beta_prev) * visible_gap + hidden_gap
            if k < len(betas) - 1:  # one Gibbs sweep leaving p_beta invariant
                h = _draw_hidden(torch.sigmoid(beta * pre).t(), generator, h_t).t()  # (S, K)
                visible_pre = beta * (h @ weight) + ((1 - beta) * bias_a + beta * bias_b) / units.scale  # (S, D)
                v = _draw_visible(units, visible_pre, generator, torch.empty_like(visible_pre)) * units.scale
        if not bool(torch.isfinite(log_w).all()):
            raise FloatingPointError("AIS produced NaN/inf importance weights: the model's parameters are not finite")
        log_mean = float(torch.logsumexp(log_w, dim=0)) - math.log(n_chains)
        weights = torch.exp(log_w - log_w.max())  # (S,)
        relative_std = float(weights.std() / weights.mean()) / math.sqrt(n_chains) if n_chains > 1 else math.inf
    return AISResult(log_z_base + log_mean, relative_std, log_w, log_z_base, len(betas) - 1)


def base_visible_bias(params: RBMParameters, data: Tensor, *, smoothing: float = 0.05) -> Tensor:
    """The base-rate visible biases of ``data`` ``(B, D)`` → ``(D,)``: b_A,i = log(p̄_i / (1 − p̄_i)),
    p̄ = (Σ_B v + α) / (B + 2α), α = ``smoothing`` (Gaussian units: the data mean).

    Example:
        >>> base_visible_bias(RBMParameters.random(2, 1), torch.tensor([[1.0, 0.0], [1.0, 1.0]]), smoothing=1.0)
        tensor([1.0986, 0.0000])
    """
    _check_visible(params, data, "data")
    check_positive(smoothing, "smoothing")
    mean = data.mean(dim=0)  # (D,)
    if not params.visible.discrete:  # Gaussian units
        return mean
    smoothed = (mean * data.shape[0] + smoothing) / (data.shape[0] + 2 * smoothing)
    return torch.log(smoothed) - torch.log1p(-smoothed)


def _check_binary(params: RBMParameters, v: Tensor, what: str) -> None:
    _check_visible(params, v)
    if not params.visible.discrete:
        raise TypeError(f"{what} is defined for binary (BernoulliVisible) units, got {params.visible!r}")
    if not bool(((v == 0) | (v == 1)).all()):
        raise ValueError(f"{what} needs binary v (entries 0 or 1); got values outside {{0, 1}}")


def _log_conditionals(params: RBMParameters, v: Tensor, hidden_input: Tensor, index: Tensor) -> Tensor:
    """log p(v_i | v_{−i}) = −softplus(F(v) − F(v^(i))) for the units ``index`` ``(B, d)`` of each row, with
    F(v^(i)) − F(v) from c + W v ``(B, K)`` by one column update per unit. Shape ``(B, d)``."""
    sign = 1 - 2 * v.gather(1, index)  # (B, d): +1 turns a unit on, −1 off
    flipped = hidden_input.unsqueeze(1) + sign.unsqueeze(2) * params.weight.t()[index]  # (B, d, K)
    change = (F.softplus(flipped) - F.softplus(hidden_input).unsqueeze(1)).sum(dim=-1)  # (B, d)
    return -F.softplus(sign * params.visible_bias[index] + change)  # F(v^(i)) − F(v) = −sign b_i − change


def pseudo_likelihood(params: RBMParameters, v: Tensor, flip_index: Tensor) -> Tensor:
    """scikit-learn's ``score_samples``: D · log σ(F(ṽ) − F(v)) = D · log p(v_i | v_{−i}), ṽ = v with unit
    i = ``flip_index[n]`` flipped in row n, a one-sample estimate of :func:`full_pseudo_likelihood`. Shape: v
    ``(B, D)`` binary, flip_index ``(B,)`` in [0, D) → ``(B,)`` (scikit-learn: ``RandomState(seed).randint(0, D, B)``).

    Example:
        >>> pseudo_likelihood(RBMParameters(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2)), torch.zeros(1, 3),
        ...                   torch.tensor([0]))  # 3 log 1/2
        tensor([-2.0794])
    """
    _check_binary(params, v, "pseudo_likelihood")
    if not isinstance(flip_index, Tensor) or flip_index.shape != (v.shape[0],) or flip_index.is_floating_point():
        raise ValueError(f"flip_index must be an integer tensor of shape (B,) = ({v.shape[0]},), got {flip_index!r}")
    if bool(((flip_index < 0) | (flip_index >= v.shape[1])).any()):
        raise ValueError(f"flip_index entries must lie in [0, D) = [0, {v.shape[1]})")
    with torch.no_grad():
        index = flip_index.to(v.device).unsqueeze(1)  # (B, 1)
        return v.shape[1] * _log_conditionals(params, v, _hidden_input(params, v), index)[:, 0]


def full_pseudo_likelihood(params: RBMParameters, v: Tensor, *, block: int = 64) -> Tensor:
    """The log pseudo-likelihood Σ_i log p(v_i | v_{−i}) = Σ_i log σ(F(v^(i)) − F(v)), v^(i) = v with unit i
    flipped, ``(B, D)`` binary → ``(B,)``, ``block`` units at a time (D times :func:`pseudo_likelihood`'s cost).

    Example:
        >>> full_pseudo_likelihood(RBMParameters(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2)), torch.ones(1, 3))
        tensor([-2.0794])
    """
    _check_binary(params, v, "full_pseudo_likelihood")
    check_int(block, "block")
    with torch.no_grad():
        hidden_input, (rows, dim) = _hidden_input(params, v), v.shape  # (B, K)
        units = torch.arange(dim, device=v.device).expand(rows, dim)  # (B, D)
        blocks = (units[:, start : start + block] for start in range(0, dim, block))  # (B, ≤ block) each
        return sum(_log_conditionals(params, v, hidden_input, index).sum(dim=1) for index in blocks)


def reconstruction_error(params: RBMParameters, v: Tensor) -> Tensor:
    """Mean squared error of the mean-field reconstruction (Hinton 2010, §5), ``(B, D)`` → 0-d:

    .. math:: \\frac{1}{BD} \\sum_{n,i} (\\hat v_{ni} - v_{ni})^2, \\qquad \\hat v = E[v \\mid h = \\sigma(c + W x(v))]

    Example:
        >>> reconstruction_error(RBMParameters(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2)), torch.ones(1, 3))
        tensor(0.2500)
    """
    _check_visible(params, v)
    with torch.no_grad():
        units, hidden = params.visible, torch.sigmoid(_hidden_input(params, v))  # (B, K)
        pre = torch.addmm(params.visible_bias / units.scale, hidden, params.weight)  # b/s + hW, (B, D)
        return ((pre.sigmoid() if units.discrete else pre) * units.scale - v).pow(2).mean()
