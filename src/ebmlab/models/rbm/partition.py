"""How likely data are under an RBM: log Z (exact or by AIS), pseudo-likelihoods, the reconstruction error."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..._validation import check_int
from ...kernels.free_energy import blocked_free_energy
from ...samplers import AISResult, BlockGibbsKernel, ais_betas, annealed_importance_sampling
from .energy import RBMParameters, _binary_states, _check_visible, _hidden_input
from .sampling import _gibbs_kernel
from .training import data_visible_bias

__all__ = ["ais_log_partition", "exact_log_partition", "pseudo_likelihood", "reconstruction_error"]


def exact_log_partition(params: RBMParameters, *, max_units: int = 20, block: int = 65536) -> Tensor:
    """log Z = log Σ_v Σ_h e^{−E(v, h)} (∫ dv for Gaussian units) exactly, a 0-d float64 tensor, enumerating
    ``block`` at a time the 2^K states of the smaller layer (the visible one only if binary: the layers swap roles)
    with :func:`~ebmlab.kernels.free_energy.blocked_free_energy`:

    .. math:: \\log Z = \\operatorname{logsumexp}_h \\big(c^\\top h + \\log \\textstyle\\sum_v
              e^{-E_v(v) + x(v)^\\top W^\\top h}\\big)

    Example:
        >>> exact_log_partition(RBMParameters(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2)))  # 5 log 2
        tensor(3.4657, dtype=torch.float64)
    """
    check_int(max_units, "max_units"), check_int(block, "block")
    weight, b, c = (t.detach().double() for t in (params.weight, params.visible_bias, params.hidden_bias))
    if params.visible.discrete and params.n_visible < params.n_hidden:  # enumerate v, the hidden units summed out
        weight, b, c = weight.t(), c, b
    if (units := weight.shape[0]) > max_units:
        raise ValueError(f"exact log Z enumerates 2^min(K, D) states and allows at most max_units={max_units} units; "
                         f"this RBM has K={params.n_hidden} hidden and D={params.n_visible} visible units: use AIS")

    def energies(rows: slice, states: slice) -> Tensor:  # −c·h − log Σ_v e^{−E_v(v) + x(v)ᵀWᵀh} of a block, (1, N)
        layer = _binary_states(states.start, states.stop, units, torch.float64, weight.device)  # (N, units)
        return -(layer @ c + params.visible.log_partition(layer @ weight, b)).unsqueeze(0)

    with torch.no_grad():  # log Z = −F_1 + log 2^units, the core's marginaliser normalising by the number of states
        return units * math.log(2.0) - blocked_free_energy(energies, 1, 2**units, 1.0, latent_block=block)[0]


def ais_log_partition(
    params: RBMParameters, data: Tensor | None = None, *, n_chains: int = 100, n_betas: int = 14500, seed: int = 0
) -> AISResult:
    """log Z by annealed importance sampling (Salakhutdinov & Murray 2008) from the base model W = 0, c = 0, b_A of
    known log Z_A (b_A: ``data``'s base rates, :func:`data_visible_bias` with α = 0.05, or b) along the path

    .. math:: p^*_\\beta(v) = e^{(1-\\beta)\\,\\mathrm{vis}_A(v) + \\beta\\,\\mathrm{vis}_B(v)}
              \\prod_j \\big(1 + e^{\\beta (c_j + (W x(v))_j)}\\big), \\quad 0 = \\beta_0 < \\dots < \\beta_n = 1

    (:func:`~ebmlab.samplers.ais_betas`): ``n_chains`` runs of :func:`~ebmlab.samplers.annealed_importance_sampling`.

    Example:
        >>> params = RBMParameters.random(5, 3, scale=1.0, seed=0)
        >>> abs(ais_log_partition(params, n_betas=100).log_partition - float(exact_log_partition(params))) < 0.1
        True
    """
    check_int(n_chains, "n_chains")
    units, bias_b = params.visible, params.visible_bias.detach()
    if data is not None:
        _check_visible(params, data, "data")
    bias_a = bias_b.clone() if data is None else data_visible_bias(data, units, clip=0.0, smoothing=0.05)
    generator = torch.Generator(device=bias_b.device).manual_seed(seed)
    zeros = bias_a.new_zeros(1, params.n_visible, dtype=torch.float64)
    log_z_base = float(units.log_partition(zeros, bias_a.double())[0]) + params.n_hidden * math.log(2.0)

    @functools.lru_cache(maxsize=1)  # the last v's (tensors hash by identity), for F_β at β_{k−1}, β_k and the sweep
    def statistics(v: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:  # c + W x (S, K), in float64, vis_A, vis_B
        hidden, visible = _hidden_input(params, v), (units.visible_term(v, b).double() for b in (bias_a, bias_b))
        return hidden, hidden.double(), *visible

    def free_energy(v: Tensor, beta: float) -> Tensor:  # F_β(v) = −log p*_β(v), (S,) float64
        _, hidden, visible_a, visible_b = statistics(v)
        return -(1 - beta) * visible_a - beta * visible_b - F.softplus(beta * hidden).sum(dim=-1)

    def kernel(beta: float) -> BlockGibbsKernel:  # one sweep leaving p_β invariant
        bias = ((1 - beta) * bias_a + beta * bias_b) / units.scale  # (D,)
        return _gibbs_kernel(params, lambda v: statistics(v)[0], bias, beta)

    with torch.no_grad():  # v ~ p_A = p_0, the sweep's visible half at β = 0 (from any h)
        v = kernel(0.0).sample_visible(bias_a.new_zeros(n_chains, params.n_hidden), generator)  # (S, D)
        return annealed_importance_sampling(
            free_energy, kernel, v, ais_betas(n_betas), base_log_partition=log_z_base, generator=generator
        )


def _log_conditionals(params: RBMParameters, v: Tensor, hidden_input: Tensor, index: Tensor) -> Tensor:
    """log p(v_i | v_{−i}) = −softplus(F(v^(i)) − F(v)) for the units ``index`` ``(B, d)`` of each row, with
    F(v^(i)) − F(v) from c + W v ``(B, K)`` by one column update per unit. Shape ``(B, d)``."""
    sign = 1 - 2 * v.gather(1, index)  # (B, d): v^(i)_i − v_i, +1 turns a unit on, −1 off
    flipped = hidden_input.unsqueeze(1) + sign.unsqueeze(2) * params.weight.t()[index]  # (B, d, K)
    change = (F.softplus(flipped) - F.softplus(hidden_input).unsqueeze(1)).sum(dim=-1)  # (B, d)
    return -F.softplus(sign * params.visible_bias[index] + change)  # F(v^(i)) − F(v) = −sign b_i − change


def pseudo_likelihood(params: RBMParameters, v: Tensor, flip_index: Tensor | None = None, *, block: int = 64) -> Tensor:
    """The log pseudo-likelihood of each row of v ``(B, D)`` → ``(B,)``, Bernoulli units, ``block`` units at a time:

    .. math:: \\mathrm{PL}(v) = \\sum_i \\log p(v_i \\mid v_{-i}) = \\sum_i \\log \\sigma\\big(F(v^{(i)}) - F(v)\\big),

    v^(i) = v with unit i set to 1 − v_i; given ``flip_index`` ``(B,)`` in [0, D), D · log σ(F(v^(i)) − F(v)) at
    i = ``flip_index[n]``, scikit-learn's ``score_samples`` (flips ``RandomState(seed).randint(0, D, B)``, scores v in
    [0, 1] as well).

    Example:
        >>> params, v = RBMParameters(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2)), torch.zeros(1, 3)
        >>> pseudo_likelihood(params, v), pseudo_likelihood(params, v, torch.tensor([0]))  # 3 log 1/2
        (tensor([-2.0794]), tensor([-2.0794]))
    """
    _check_visible(params, v)
    if not params.visible.discrete:
        raise TypeError(f"pseudo_likelihood is defined for binary (BernoulliVisible) units, got {params.visible!r}")
    check_int(block, "block")
    if flip_index is not None:
        if not isinstance(flip_index, Tensor) or flip_index.shape != (v.shape[0],) or flip_index.is_floating_point():
            raise ValueError(f"flip_index must be an integer tensor of shape (B,) = ({v.shape[0]},), got {flip_index}")
        if bool(((flip_index < 0) | (flip_index >= v.shape[1])).any()):
            raise ValueError(f"flip_index entries must lie in [0, D) = [0, {v.shape[1]})")
    with torch.no_grad():
        hidden_input, (rows, dim) = _hidden_input(params, v), v.shape  # (B, K)
        if flip_index is not None:
            return dim * _log_conditionals(params, v, hidden_input, flip_index.to(v.device).unsqueeze(1))[:, 0]
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
