"""Contrastive divergence: ONE update (CD-k, PCD-k, momentum, weight decay), fused over an epoch, and its
hyperparameters. It packs the biases into Ŵ = [[W, c], [(b/s)ᵀ, 0]] ``(K + 1, ≥ D + 1)``, visible rows x̂ = [v/s, 1],
hidden columns ĥ = [h; 1]: Ŵ[:K] x̂ᵀ = c + W x and ĥᵀ Ŵ[:, :D] = b/s + hW are single products."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from ..._validation import check_int, check_matrix, check_positive, resolve_device
from .energy import BernoulliVisible, GaussianVisible, RBMParameters, VisibleUnits
from .sampling import RandomSource, _draw_hidden, _draw_visible

__all__ = ["RBMSettings", "RBMVelocity", "data_visible_bias"]

_MATMUL_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def _in_range(value: float, name: str, upper: float = 1.0) -> None:
    """Require a number in [0, 1) (``upper=1``) or a finite number >= 0 (``upper=inf``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < upper:
        expected = "a number in [0, 1)" if upper == 1.0 else "a finite number >= 0"
        raise ValueError(f"{name} must be {expected}, got {name}={value!r}")


@dataclass(eq=False, repr=False)
class RBMSettings:
    """The hyperparameters of an RBM and its training, declared once: :class:`~ebmlab.models.rbm.RBM` and the
    recipe's ``RBMConfig`` are these fields and their own; defaults: scikit-learn's ``BernoulliRBM``'s. Update t of
    T steps by η_t = η + (η_final − η) t / T, epochs ≤ ``momentum_warmup_epochs`` with momentum μ_0, then μ. With
    ``matmul_dtype="bfloat16"`` (Bernoulli units) the three products of an update run in bfloat16 (float32
    accumulation) from a bfloat16 copy of W, c, b, exact for binary states (fast with AVX-512 BF16).

    Example:
        >>> settings = RBMSettings(64, momentum=0.9, initial_momentum=0.5, final_learning_rate=0.0)
        >>> settings.momentum_at(1), settings.momentum_at(6), settings.learning_rate_at(50, 100)
        (0.5, 0.9, 0.05)
    """

    n_components: int = 256  # K hidden units
    _: KW_ONLY
    learning_rate: float = 0.1  # η
    batch_size: int = 10  # B, examples per update (and persistent chains)
    persistent: bool = True  # PCD (scikit-learn's SML), else CD-k from the data
    n_gibbs_steps: int = 1  # k
    momentum: float = 0.0  # μ after the warm-up epochs (Hinton 2010: 0.9)
    initial_momentum: float | None = None  # μ in the warm-up epochs (None: momentum; Hinton: 0.5)
    momentum_warmup_epochs: int = 5
    weight_decay: float = 0.0  # λ, L2 penalty on W
    final_learning_rate: float | None = None  # η falls linearly per update to it (0: Tieleman 2008); None: constant
    init_visible_bias: str = "zero"  # or "data": data_visible_bias of the training data
    matmul_dtype: str = "float32"  # or "bfloat16"
    device: str = "cpu"

    def check_settings(self, units: VisibleUnits) -> torch.dtype:
        """Raise ``ValueError`` naming the first bad field; return the products' dtype for ``units``."""
        if not isinstance(units, (BernoulliVisible, GaussianVisible)):
            raise TypeError(f"visible must be BernoulliVisible() or GaussianVisible(sigma), got {units!r}")
        for name in ("n_components", "batch_size", "n_gibbs_steps"):
            check_int(getattr(self, name), name)
        check_positive(self.learning_rate, "learning_rate")
        _in_range(self.momentum, "momentum")
        _in_range(self.weight_decay, "weight_decay", math.inf)
        for name, upper in (("initial_momentum", 1.0), ("final_learning_rate", math.inf)):  # None: unused
            if getattr(self, name) is not None:
                _in_range(getattr(self, name), name, upper)
        check_int(self.momentum_warmup_epochs, "momentum_warmup_epochs", minimum=0)
        if (bias := self.init_visible_bias) not in ("zero", "data"):
            raise ValueError(f"init_visible_bias must be 'zero' or 'data', got init_visible_bias={bias!r}")
        dtype = self.matmul_dtype
        if dtype not in _MATMUL_DTYPES:
            raise ValueError(f"matmul_dtype must be one of {sorted(_MATMUL_DTYPES)}, got matmul_dtype={dtype!r}")
        if dtype != "float32" and not units.discrete:
            raise ValueError(f"matmul_dtype={dtype!r} is available for Bernoulli visible units; got {units!r}")
        resolve_device(self.device)
        return _MATMUL_DTYPES[dtype]

    def momentum_at(self, epoch: int) -> float:
        """μ in ``epoch`` (1-based)."""
        warm = self.initial_momentum is not None and epoch <= self.momentum_warmup_epochs
        return float(self.initial_momentum if warm else self.momentum)

    def learning_rate_at(self, update: int, total: int) -> float:
        """η at update ``update`` (0-based) of ``total``: constant, or linear to ``final_learning_rate``."""
        if self.final_learning_rate is None or total <= 0:
            return float(self.learning_rate)
        return float(self.learning_rate + (self.final_learning_rate - self.learning_rate) * min(update / total, 1.0))


class RBMVelocity(NamedTuple):
    """Momentum buffers ΔW ``(K, D)``, Δb ``(D,)``, Δc ``(K,)`` of the update Δθ ← μ Δθ + η g_θ, θ += Δθ.

    Example:
        >>> velocity = RBMVelocity.zeros_like(RBMParameters.random(6, 3))
        >>> tuple(velocity.weight.shape), float(velocity.visible_bias.abs().sum())
        ((3, 6), 0.0)
    """

    weight: Tensor
    visible_bias: Tensor
    hidden_bias: Tensor

    @staticmethod
    def zeros_like(params: RBMParameters) -> RBMVelocity:
        return RBMVelocity(*(torch.zeros_like(t) for t in (params.weight, params.visible_bias, params.hidden_bias)))


def _mm_into(a: Tensor, b: Tensor, out: Tensor, staging: Tensor | None = None) -> Tensor:
    """``out = a b``; a product in a lower dtype (bfloat16) lands in ``staging`` first."""
    return torch.mm(a, b, out=out) if staging is None else out.copy_(torch.mm(a, b, out=staging))


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


def _contrastive_epoch(
    params: RBMParameters, batches: Iterable[Tensor], rates: list[float], chain: Tensor | None, n_steps: int,
    generator: RandomSource, momentum: float = 0.0, weight_decay: float = 0.0, velocity: RBMVelocity | None = None,
    *, matmul_dtype: torch.dtype | None = None, check: bool = False, largest: int | None = None,
) -> tuple[Tensor, int]:
    """Contrastive divergence over ``batches`` (step sizes ``rates``), the training's one update of ``params`` (and
    ``velocity``) in place, on valid inputs under ``no_grad``. Per minibatch v⁺ ``(B, D)``: h⁺ = p(h | v⁺); from h⁺'s
    sample (CD-k, ``chain=None``) or the ``chain`` ``(S, K)`` (PCD-k), k sweeps h → v⁻ → h, h⁻ = p(h | v⁻); x = v/s:

    .. math:: g_W = \\tfrac{1}{B}(h^{+\\top} x^+ - h^{-\\top} x^-),\\quad
              g_c = \\tfrac{1}{B}\\textstyle\\sum (h^+ - h^-),\\quad
              g_b = \\tfrac{1}{B}\\big(\\sum \\partial_b(-F)(v^+) - \\sum \\partial_b(-F)(v^-)\\big)

    (scikit-learn's rule; the tests' textbook oracle), Δθ ← μ Δθ + η (g_θ − λ W [θ = W]), θ += Δθ (Hinton 2010,
    §9–10): one GEMM Ŵ += η/B ŝ x̂, ŝ = [[−h⁻, h⁺], [−ω, ω]], x̂ = [x⁻; x⁺] (ω = 1, or 1/σ² and a −(B − S) ω b/σ term
    for Gaussian units), three GEMMs and two draws per PCD-1 update, in ``matmul_dtype`` from a copy of Ŵ. Returns
    the chains ``(S, K)`` and, with ``check``, the first minibatch (1-based) leaving non-finite parameters (or 0).
    ``batches`` may be a lazy sequence (sparse rows densified when reached) when ``largest`` gives its largest size."""
    units, weight = params.visible, params.weight
    n_hidden, dim = weight.shape
    width = -(-(dim + 1) // 16) * 16  # rows 64-byte aligned: the update GEMM runs ~5 % faster
    packed = _pack(weight, params.visible_bias, params.hidden_bias, units.scale, width)
    packed_velocity = None if velocity is None else _pack(*velocity, units.scale, width)
    low = matmul_dtype is not None and matmul_dtype != packed.dtype
    compute = packed.to(matmul_dtype) if low else packed  # the Ŵ the products read
    top_down, bottom_up = compute[:, :dim], compute[:n_hidden]  # (K + 1, D) and (K, width) views
    largest = max(batch.shape[0] for batch in batches) if largest is None else largest  # rows of the biggest
    n_chains = largest if chain is None else chain.shape[0]
    x = compute.new_zeros(n_chains + largest, width)  # rows [x⁻ (S); x⁺ (B)], a ones column at D
    x[:, dim] = 1.0
    hidden = compute.new_ones(n_hidden + 1, n_chains)  # ĥ, unit-major, with a ones row
    if chain is not None:
        hidden[:n_hidden] = chain.t()
    signed = packed.new_empty(n_hidden + 1, n_chains + largest)  # ŝ
    scratch = packed.new_empty(n_chains, dim)  # ĥᵀ Ŵ[:, :D]
    stage = compute.new_empty if low else (lambda *shape: None)  # the products' outputs in the compute dtype
    signed_low, scratch_low, update_low = stage(*signed.shape), stage(n_chains, dim), stage(*compute.shape)
    omega = 1.0 if units.discrete else 1.0 / units.scale**2
    bad, key, views = 0, None, {}
    for index, (batch, rate) in enumerate(zip(batches, rates, strict=True)):
        size = batch.shape[0]
        n_chains = size if chain is None else n_chains  # CD-k: as many chains as examples
        if (n_chains, size) != key:  # a new minibatch size (at most two): ŝ's last row, and views made once
            key, rows = (n_chains, size), n_chains + size
            signed[n_hidden, :n_chains], signed[n_hidden, n_chains:rows] = -omega, omega
            blocks = [(None,) * 3 if s is None else (s[:, :rows], s[:-1, :n_chains], s[:-1, n_chains:rows])
                      for s in (signed, signed_low)]  # ŝ (K + 1, S + B), h⁻ (K, S), h⁺ (K, B) and their staging
            views[key] = views.get(key) or (*blocks[0], *blocks[1], x[n_chains:rows, :dim], x[:n_chains, :dim],
                                            x[:n_chains], x[n_chains:rows], x[:rows], hidden[:, :n_chains],
                                            hidden[:n_hidden, :n_chains], scratch[:n_chains],
                                            None if scratch_low is None else scratch_low[:n_chains])
        (s_hat, h_neg, h_pos, s_low, h_neg_low, h_pos_low, x_data, x_neg, x_hat_neg, x_hat_pos, x_all, h_hat, h_chain,
         pre, pre_low) = views[key]  # x⁺ (B, D), x⁻ (S, D), x̂⁻, x̂⁺, x̂ (S + B, width), ĥ (K + 1, S), h (K, S), ĥᵀŴ
        if low:
            compute.copy_(packed)
        if units.discrete:
            x_data.copy_(batch)
        else:
            torch.div(batch, units.scale, out=x_data)
        if chain is None:  # the chain starts from a sample of h⁺ = p(h | v_data) = σ(Ŵ[:K] x̂⁺ᵀ)
            _draw_hidden(_mm_into(bottom_up, x_hat_pos.t(), h_pos, h_pos_low).sigmoid_(), generator, h_chain)
        for step in range(n_steps):  # Gibbs sweeps h → x⁻ ~ p(x | h) around ĥᵀ Ŵ[:, :D] = b/s + hW (→ h)
            _draw_visible(units, _mm_into(h_hat.t(), top_down, pre, pre_low), generator, x_neg)
            if step < n_steps - 1:
                probabilities = _mm_into(bottom_up, x_hat_neg.t(), h_neg, h_neg_low).sigmoid_()  # (K, S), scratch
                _draw_hidden(probabilities, generator, h_chain, overwrite=True)
        if chain is None:  # h⁻ beside the h⁺ above
            _mm_into(bottom_up, x_hat_neg.t(), h_neg, h_neg_low).sigmoid_()
        else:  # [h⁻, h⁺] in one product
            _mm_into(bottom_up, x_all.t(), s_hat[:-1], s_low if s_low is None else s_low[:-1]).sigmoid_()
        _draw_hidden(h_neg, generator, h_chain)  # the chains' next state
        h_neg.neg_()
        scale = rate / size
        target = packed if packed_velocity is None else packed_velocity.mul_(momentum)
        if packed_velocity is None and weight_decay:
            packed[:n_hidden, :dim].mul_(1.0 - rate * weight_decay)
        if not units.discrete and size != n_chains:  # Σ(v⁺ − b) − Σ(v⁻ − b) leaves −(B − S) b
            target[n_hidden, :dim].add_(packed[n_hidden, :dim], alpha=-scale * (size - n_chains) * omega)
        if s_low is None:
            target.addmm_(s_hat, x_all, alpha=scale)
        else:
            target.add_(torch.mm(s_low.copy_(s_hat), x_all, out=update_low), alpha=scale)
        if packed_velocity is not None:
            if weight_decay:
                packed_velocity[:n_hidden, :dim].add_(packed[:n_hidden, :dim], alpha=-rate * weight_decay)
            packed.add_(packed_velocity)
        if check and not bool(torch.isfinite(packed).all()):
            bad = index + 1
            break
    _unpack(packed, weight, params.visible_bias, params.hidden_bias, units.scale)
    if packed_velocity is not None:
        _unpack(packed_velocity, *velocity, units.scale)
    return hidden[:n_hidden].t().to(packed.dtype).contiguous(), bad


def data_visible_bias(
    data: Tensor, visible: VisibleUnits | None = None, *, clip: float = 1e-3, smoothing: float = 0.0
) -> Tensor:
    """Visible biases making the W = 0 model match the data ``(B, D)``'s means, ``(D,)`` (Gaussian units: the means):
    the training's start (Hinton 2010, §8) and, with c = 0, α = 0.05, AIS's base-rate model (Salakhutdinov & Murray)

    .. math:: b_i = \\log \\frac{\\bar p_i}{1 - \\bar p_i}, \\quad
              \\bar p_i = \\mathrm{clip}\\Big(\\frac{\\sum_n v_{ni} + \\alpha}{B + 2\\alpha}, c, 1 - c\\Big),
              \\quad c = \\mathtt{clip},\\ \\alpha = \\mathtt{smoothing}\\ (\\text{one of them} > 0)

    Example:
        >>> data = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
        >>> data_visible_bias(data, clip=0.01), data_visible_bias(data, clip=0.0, smoothing=1.0)
        (tensor([4.5951, 0.0000]), tensor([1.0986, 0.0000]))
    """
    if not isinstance(data, Tensor):
        raise TypeError(f"data must be a torch.Tensor, got {type(data).__name__}")
    check_matrix(data, "data")
    if not (0.0 <= clip < 0.5 and smoothing >= 0.0 and clip + smoothing > 0.0):
        raise ValueError(f"need 0 <= clip < 0.5 and smoothing >= 0, one > 0; got clip={clip}, smoothing={smoothing}")
    mean = data.mean(dim=0)  # (D,)
    if isinstance(visible, GaussianVisible):
        return mean
    smoothed = ((mean * data.shape[0] + smoothing) / (data.shape[0] + 2 * smoothing)).clamp(clip, 1.0 - clip)
    return torch.log(smoothed) - torch.log1p(-smoothed)
