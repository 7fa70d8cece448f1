"""Block Gibbs sampling: the two conditional draws and ONE sweep (its half-steps), for chains, AIS and training.

The layout packs the biases into Ŵ = [[W, c], [(b/s)ᵀ, 0]] ``(K + 1, ≥ D + 1)``, visible rows x̂ = [v/s, 1] and
unit-major hidden columns ĥ = [h; 1]: Ŵ[:K] x̂ᵀ = c + W x and ĥᵀ Ŵ[:, :D] = b/s + hW are single products."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..._validation import check_int
from ...samplers import SampleResult
from .energy import RBMParameters, VisibleUnits, _check_visible, _free_energy

__all__ = ["RandomSource", "gibbs_chain"]

RandomSource = torch.Generator | np.random.BitGenerator | None  # a numpy bit generator: faster, CPU only

_LEAST_WORD = torch.tensor(-2147483648.0)  # -2^31


def _torch_generator(source: RandomSource, device: torch.device) -> torch.Generator | None:  # seeded from numpy's
    if isinstance(source, np.random.BitGenerator):
        return torch.Generator(device=device).manual_seed(int(source.random_raw()) >> 1)
    return source


def _words_below(words: Tensor, probabilities: Tensor, out: Tensor, *, overwrite: bool = False) -> Tensor:
    """1.0 where uniform int32 ``words`` (1-D, at least p's size) fall below p, as float32, into ``out``:
    u = float32(w) ∈ [−2³¹, 2³¹] against p (2³² + 512) − 2³¹, never at p = 0 (the least word is −2³¹),
    always at p = 1 (the largest round up to 2³¹ < 2³¹ + 512), in between off by at most 2⁻²³."""
    uniform = words[: probabilities.numel()].view(probabilities.shape).float()
    threshold = torch.add(_LEAST_WORD, probabilities, alpha=4294967808.0, out=probabilities if overwrite else None)
    return torch.lt(uniform, threshold, out=out)


def _bernoulli(probabilities: Tensor, generator: RandomSource, out: Tensor | None = None, *, overwrite=False) -> Tensor:
    """b ~ Bernoulli(p) as ``u < p`` into ``out`` in p's logical order (``overwrite``: p's storage is scratch); a
    numpy bit generator on float32 CPU tensors gives each draw half a 64-bit word (~2 ns; ``torch.rand`` ~3 ns)."""
    if out is None:
        out = torch.empty_like(probabilities, memory_format=torch.contiguous_format)
    if isinstance(generator, np.random.BitGenerator) and probabilities.is_cpu and probabilities.dtype == torch.float32:
        words = generator.random_raw((probabilities.numel() + 1) // 2)  # two draws per 64-bit word
        return _words_below(torch.from_numpy(words.view(np.int32)), probabilities, out, overwrite=overwrite)
    generator, device = _torch_generator(generator, probabilities.device), probabilities.device
    uniform = torch.rand(probabilities.shape, generator=generator, device=device, dtype=probabilities.dtype)
    return torch.lt(uniform, probabilities, out=out)


def _draw_hidden(probabilities_t: Tensor, generator: RandomSource, out_t: Tensor, *, overwrite=False) -> Tensor:
    """h ~ p(h | v) from probabilities ``(K, S)`` into ``out_t``; torch draws in (S, K) order, as scikit-learn."""
    if isinstance(generator, np.random.BitGenerator):
        return _bernoulli(probabilities_t, generator, out_t, overwrite=overwrite)
    return _bernoulli(probabilities_t.t(), generator, out_t.t()).t()


def _draw_visible(units: VisibleUnits, pre: Tensor, generator: RandomSource, out: Tensor) -> Tensor:
    """x ~ p(x | h) from a = b/s + Wᵀh ``(S, D)`` (scratch) into ``out``: Bernoulli σ(a), Gaussian N(a, 1)."""
    if units.discrete:
        return _bernoulli(pre.sigmoid_(), generator, out, overwrite=True)
    generator = _torch_generator(generator, pre.device)
    return torch.add(pre, torch.randn(pre.shape, generator=generator, device=pre.device, dtype=pre.dtype), out=out)


def _mm_into(a: Tensor, b: Tensor, out: Tensor, staging: Tensor | None = None) -> Tensor:
    """``out = a b``; a product in a lower dtype (bfloat16) lands in ``staging`` first."""
    return torch.mm(a, b, out=out) if staging is None else out.copy_(torch.mm(a, b, out=staging))


def _hidden_step(bottom_up, x_hat, generator, out_t, probabilities_t, staging=None, *, keep=False) -> Tensor:
    """h ~ σ(Ŵ[:K] x̂ᵀ) into ``out_t`` ``(K, S)``; the probabilities in ``probabilities_t`` (scratch unless ``keep``)."""
    probabilities_t = _mm_into(bottom_up, x_hat.t(), probabilities_t, staging).sigmoid_()
    return _draw_hidden(probabilities_t, generator, out_t, overwrite=not keep)


def _visible_step(top_down, h_hat, units, generator, out, scratch, staging=None) -> Tensor:
    """x ~ p(x | h) around ĥᵀ Ŵ[:, :D] = b/s + hW (into ``scratch`` ``(S, D)``), the states into ``out``."""
    return _draw_visible(units, _mm_into(h_hat.t(), top_down, scratch, staging), generator, out)


def _pack(weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor, scale: float, width: int) -> Tensor:
    """Ŵ ``(K + 1, width)``, zero-padded, of the parameters (or their velocity)."""
    (hidden, dim), packed = weight.shape, weight.new_zeros(weight.shape[0] + 1, width)
    packed[:hidden, :dim], packed[:hidden, dim], packed[hidden, :dim] = weight, hidden_bias, visible_bias / scale
    return packed


def _unpack(packed: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor, scale: float) -> None:
    hidden, dim = weight.shape
    weight.copy_(packed[:hidden, :dim])
    hidden_bias.copy_(packed[:hidden, dim])
    visible_bias.copy_(packed[hidden, :dim] * scale)


def gibbs_chain(params: RBMParameters, v: Tensor, n_steps: int, *, generator: RandomSource = None) -> SampleResult:
    """``n_steps`` block-Gibbs sweeps v → h ~ p(h | v) → v ~ p(v | h) from the states ``v``, with
    p(h_j = 1 | v) = σ(c_j + (W x(v))_j) and p(v | h) Bernoulli σ(b + Wᵀh) or Gaussian N(b + σWᵀh, σ²).
    A chain reaching NaN or infinite states raises ``FloatingPointError`` naming the step.

    Returns:
        :class:`~ebmlab.samplers.SampleResult`: samples ``(S, D)``, free energies F ``(S,)``, ``steps = n_steps``.

    Example:
        >>> params = RBMParameters.random(4, 3, seed=0)
        >>> result = gibbs_chain(params, torch.zeros(5, 4), 10, generator=torch.Generator().manual_seed(0))
        >>> result.samples.shape, result.energy.shape, result.steps
        (torch.Size([5, 4]), torch.Size([5]), 10)
    """
    _check_visible(params, v)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    (hidden, dim), units = params.weight.shape, params.visible
    first_bad = torch.full((), -1, dtype=torch.long, device=v.device)
    with torch.no_grad():
        packed = _pack(params.weight, params.visible_bias, params.hidden_bias, units.scale, dim + 1)  # (K + 1, D + 1)
        x_hat = torch.cat([v.detach() / units.scale, v.new_ones(v.shape[0], 1)], dim=1)  # (S, D + 1)
        h_hat = v.new_ones(hidden + 1, v.shape[0])  # (K + 1, S)
        probabilities, scratch = v.new_empty(hidden, v.shape[0]), torch.empty_like(v)  # (K, S), (S, D)
        for step in range(n_steps):  # the sweep: h ~ p(h | x), then x ~ p(x | h)
            _hidden_step(packed[:hidden], x_hat, generator, h_hat[:hidden], probabilities)
            _visible_step(packed[:, :dim], h_hat, units, generator, x_hat[:, :dim], scratch)
            first_bad = torch.where(~torch.isfinite(x_hat).all() & (first_bad < 0), step + 1, first_bad)
        samples = x_hat[:, :dim] * units.scale  # (S, D)
        energy = _free_energy(params, samples)  # (S,)
    if int(first_bad) >= 0 or not bool(torch.isfinite(energy).all()):
        step = int(first_bad) if int(first_bad) >= 0 else n_steps
        raise FloatingPointError(
            f"Gibbs chain diverged: NaN/inf visible states at step {step} of {n_steps} (weight max |W| = "
            f"{float(params.weight.abs().max()):.3g}); the model's parameters are not finite or too large"
        )
    return SampleResult(samples=samples, energy=energy, steps=n_steps)
