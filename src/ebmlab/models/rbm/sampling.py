"""Block Gibbs sampling of an RBM: the conditional draws and the chain, a :class:`~ebmlab.samplers.BlockGibbsKernel`
run by :func:`~ebmlab.samplers.run_chain`."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..._validation import check_int
from ...samplers import BlockGibbsKernel, SampleResult
from ...samplers.chain import _run_chain
from ...samplers.gibbs import RandomSource, bernoulli, standard_normal
from .energy import RBMParameters, VisibleUnits, _check_visible, _free_energy, _hidden_input

__all__ = ["gibbs_chain"]


def _draw_hidden(probabilities_t: Tensor, generator: RandomSource, out_t: Tensor, *, overwrite=False) -> Tensor:
    """h ~ p(h | v) from probabilities ``(K, S)`` into ``out_t``: drawn in (S, K) order, as scikit-learn, except from a
    bit generator's words (memory order, ``overwrite``: the probabilities may serve as scratch)."""
    if isinstance(generator, np.random.BitGenerator):
        return bernoulli(probabilities_t, generator, out_t, overwrite=overwrite)
    return bernoulli(probabilities_t.t(), generator, out_t.t()).t()


def _draw_visible(units: VisibleUnits, pre: Tensor, generator: RandomSource, out: Tensor) -> Tensor:
    """x ~ p(x | h) from a = b/s + Wᵀh ``(S, D)`` (scratch) into ``out``: Bernoulli σ(a), Gaussian N(a, 1)."""
    if units.discrete:
        return bernoulli(pre.sigmoid_(), generator, out, overwrite=True)
    return torch.add(pre, standard_normal(pre, generator), out=out)


def _gibbs_kernel(params: RBMParameters, hidden_input, visible_bias: Tensor, beta: float = 1.0) -> BlockGibbsKernel:
    """The sweep at inverse temperature β: h ~ σ(β ``hidden_input(v)``), c + W x(v) ``(S, K)``, then v = s x, x ~
    p(x | h) around ``visible_bias`` + β hW ``(S, D)`` (b/s at β = 1)."""
    units, weight = params.visible, params.weight

    def sample_hidden(v: Tensor, generator: RandomSource) -> Tensor:  # (S, K)
        return bernoulli(torch.sigmoid(beta * hidden_input(v)), generator)

    def sample_visible(h: Tensor, generator: RandomSource) -> Tensor:  # (S, D)
        pre = torch.addmm(visible_bias, h, weight, alpha=beta)
        return _draw_visible(units, pre, generator, torch.empty_like(pre)) * units.scale

    advice = "the model's parameters are not finite or too large"
    return BlockGibbsKernel(sample_hidden, sample_visible, lambda v: _free_energy(params, v), advice=advice)


def gibbs_chain(params: RBMParameters, v: Tensor, n_steps: int, *, generator: RandomSource) -> SampleResult:
    """``n_steps`` block-Gibbs sweeps from the states ``v`` ``(S, D)``, the draws from ``generator`` (a torch
    generator, or a numpy ``RandomState`` drawn as scikit-learn's ``BernoulliRBM.gibbs`` draws: h ``(S, K)``, then v):

    .. math:: p(h_j = 1 \\mid v) = \\sigma(c_j + (W x(v))_j), \\qquad
              p(v \\mid h) = \\mathrm{Bernoulli}(\\sigma(b + W^\\top h))
              \\text{ or } \\mathcal N(b + \\sigma W^\\top h, \\sigma^2)

    Returns a :class:`~ebmlab.samplers.SampleResult` (samples ``(S, D)``, free energies F ``(S,)``, ``n_steps``); a
    chain reaching NaN or infinite states raises :class:`~ebmlab.samplers.DivergedChainError` naming the step.

    Example:
        >>> params = RBMParameters.random(4, 3, seed=0)
        >>> result = gibbs_chain(params, torch.zeros(5, 4), 10, generator=torch.Generator().manual_seed(0))
        >>> result.samples.shape, result.energy.shape, result.steps
        (torch.Size([5, 4]), torch.Size([5]), 10)
    """
    _check_visible(params, v)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    if not isinstance(generator, (torch.Generator, np.random.RandomState, np.random.BitGenerator)):
        raise TypeError(f"generator must be a torch.Generator, numpy RandomState or bit generator, got {generator!r}")
    kernel = _gibbs_kernel(params, lambda x: _hidden_input(params, x), params.visible_bias / params.visible.scale)
    return _run_chain(kernel, v, n_steps, generator)
