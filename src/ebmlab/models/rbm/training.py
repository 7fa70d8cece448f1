"""Contrastive divergence: ONE update (CD-k, PCD-k, momentum, weight decay) and its hyperparameters."""

from __future__ import annotations

import math
from dataclasses import KW_ONLY, dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from ..._validation import check_int, check_matrix, check_positive, resolve_device
from .energy import BernoulliVisible, GaussianVisible, RBMParameters, VisibleUnits, _check_visible
from .sampling import RandomSource, _draw_hidden, _hidden_step, _mm_into, _pack, _unpack, _visible_step

__all__ = ["ContrastiveStep", "RBMSettings", "RBMVelocity", "contrastive_divergence_step", "data_visible_bias"]

_MATMUL_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def _in_range(value: float, name: str, upper: float = 1.0) -> float:
    """A number in [0, 1) (``upper=1``) or a finite number >= 0 (``upper=inf``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < upper:
        expected = "a number in [0, 1)" if upper == 1.0 else "a finite number >= 0"
        raise ValueError(f"{name} must be {expected}, got {name}={value!r}")
    return float(value)


@dataclass(eq=False, repr=False)
class RBMSettings:
    """The hyperparameters of an RBM and its training, declared once: :class:`~ebmlab.models.rbm.RBM` and the
    recipe's ``RBMConfig`` are these fields and their own. Defaults: scikit-learn's ``BernoulliRBM``'s. With
    ``matmul_dtype="bfloat16"`` (Bernoulli units, only when asked) the three products of an update run in bfloat16
    (float32 accumulation) from a bfloat16 copy of W, c, b; binary states are exact there, parameters,
    probabilities and updates float32 (fast with AVX-512 BF16, slow where emulated).
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
        if self.init_visible_bias not in ("zero", "data"):
            bias = self.init_visible_bias
            raise ValueError(f"init_visible_bias must be 'zero' or 'data', got init_visible_bias={bias!r}")
        dtype = self.matmul_dtype
        if dtype not in _MATMUL_DTYPES:
            raise ValueError(f"matmul_dtype must be one of {sorted(_MATMUL_DTYPES)}, got matmul_dtype={dtype!r}")
        if dtype != "float32" and not units.discrete:
            raise ValueError(f"matmul_dtype={dtype!r} is available for Bernoulli visible units; got {units!r}")
        resolve_device(self.device)
        return _MATMUL_DTYPES[dtype]

    def uses_momentum(self) -> bool:  # velocity buffers needed
        return self.momentum > 0 or (self.initial_momentum or 0.0) > 0

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
    """Momentum buffers ΔW ``(K, D)``, Δb ``(D,)``, Δc ``(K,)`` (:meth:`zeros_like` them)."""

    weight: Tensor
    visible_bias: Tensor
    hidden_bias: Tensor

    @staticmethod
    def zeros_like(params: RBMParameters) -> RBMVelocity:
        return RBMVelocity(*(torch.zeros_like(t) for t in (params.weight, params.visible_bias, params.hidden_bias)))


class ContrastiveStep(NamedTuple):
    """:func:`contrastive_divergence_step`'s chains' states ``(S, K)`` and a 0-d bool, the parameters' finiteness."""

    chain: Tensor
    finite: Tensor


def contrastive_divergence_step(
    params: RBMParameters, v_data: Tensor, chain: Tensor | None, *, learning_rate: float, n_steps: int = 1,
    generator: RandomSource = None, momentum: float = 0.0, weight_decay: float = 0.0,
    velocity: RBMVelocity | None = None,
) -> ContrastiveStep:
    """One CD-k (``chain=None``) or persistent CD-k update of ``params`` in place, the training's only update
    (:func:`_contrastive_epoch`; the tests hold the textbook form as its oracle). h⁺ = p(h | v_data); from h⁺'s
    sample (CD) or ``chain`` ``(S, K)`` (PCD), k sweeps h → v⁻ → h, h⁻ = p(h | v⁻); with x = v/s:

    .. math:: g_W = \\tfrac{1}{B}(h^{+\\top} x^+ - h^{-\\top} x^-),\\quad
              g_c = \\tfrac{1}{B}\\textstyle\\sum (h^+ - h^-),\\quad
              g_b = \\tfrac{1}{B}\\big(\\sum \\partial_b(-F)(v^+) - \\sum \\partial_b(-F)(v^-)\\big)

    (scikit-learn's rule), then Δθ ← μ Δθ + η (g_θ − λ W [θ = W]), θ += Δθ (Hinton 2010, §9–10).

    Example:
        >>> params = RBMParameters.random(6, 4, seed=0)
        >>> step = contrastive_divergence_step(params, torch.ones(8, 6), torch.zeros(8, 4), learning_rate=0.1)
        >>> step.chain.shape, bool(step.finite)
        (torch.Size([8, 4]), True)
    """
    _check_visible(params, v_data, "v_data")
    check_positive(learning_rate, "learning_rate")
    n_steps = check_int(n_steps, "n_steps")
    if chain is not None and (chain.ndim != 2 or chain.shape[1] != params.n_hidden):
        raise ValueError(f"chain must have shape (S, K) with K = {params.n_hidden}, got {tuple(chain.shape)}")
    _in_range(momentum, "momentum")
    _in_range(weight_decay, "weight_decay", math.inf)
    if momentum > 0 and velocity is None:
        raise ValueError(f"momentum={momentum} needs a velocity buffer: pass velocity=RBMVelocity.zeros_like(params)")
    for name, mine in velocity._asdict().items() if velocity is not None else ():
        if mine.shape != getattr(params, name).shape:
            shape = tuple(getattr(params, name).shape)
            raise ValueError(f"velocity.{name} must have the shape of params.{name} {shape}, got {tuple(mine.shape)}")
    with torch.no_grad():
        rates = [learning_rate]
        recipe = (momentum, weight_decay, velocity)
        next_chain, _ = _contrastive_epoch(params, [v_data], rates, chain, n_steps, generator, *recipe)
        finite = torch.isfinite(params.weight.sum() + params.visible_bias.sum() + params.hidden_bias.sum())
    return ContrastiveStep(next_chain, finite)


def _contrastive_epoch(
    params: RBMParameters, batches: list[Tensor], rates: list[float], chain: Tensor | None, n_steps: int,
    generator: RandomSource, momentum: float = 0.0, weight_decay: float = 0.0, velocity: RBMVelocity | None = None,
    *, matmul_dtype: torch.dtype | None = None, check: bool = False,
) -> tuple[Tensor, int]:
    """:func:`contrastive_divergence_step` over ``batches`` (step sizes ``rates``), inputs valid, under ``no_grad``:
    in :mod:`.sampling`'s packed layout one GEMM Ŵ += η/B ŝ x̂, ŝ = [[−h⁻, h⁺], [−ω, ω]], x̂ = [x⁻; x⁺] updates W,
    c and b (ω = 1, or 1/σ² and a −(B − S) ω b/σ term for Gaussian units): three GEMMs and two draws per PCD-1
    update; ``matmul_dtype`` runs the products from a copy of Ŵ. Returns the chains ``(S, K)`` and, with ``check``,
    the first minibatch (1-based) after which the parameters are not finite (0: none)."""
    units, weight = params.visible, params.weight
    n_hidden, dim = weight.shape
    width = -(-(dim + 1) // 16) * 16  # rows 64-byte aligned: the update GEMM runs ~5 % faster
    packed = _pack(weight, params.visible_bias, params.hidden_bias, units.scale, width)
    packed_velocity = None if velocity is None else _pack(*velocity, units.scale, width)
    low = matmul_dtype is not None and matmul_dtype != packed.dtype
    compute = packed.to(matmul_dtype) if low else packed  # the Ŵ the products read
    top_down, bottom_up = compute[:, :dim], compute[:n_hidden]  # (K + 1, D) and (K, width) views
    largest = max(batch.shape[0] for batch in batches)
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
        if chain is None:  # the chain starts from a sample of h⁺ = p(h | v_data)
            _hidden_step(bottom_up, x_hat_pos, generator, h_chain, h_pos, h_pos_low, keep=True)
        for step in range(n_steps):  # Gibbs sweeps h → x⁻ (→ h)
            _visible_step(top_down, h_hat, units, generator, x_neg, pre, pre_low)
            if step < n_steps - 1:
                _hidden_step(bottom_up, x_hat_neg, generator, h_chain, h_neg, h_neg_low)
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


def data_visible_bias(data: Tensor, visible: VisibleUnits | None = None, *, clip: float = 1e-3) -> Tensor:
    """Visible biases making the W = 0 model match the data ``(B, D)``'s means (Hinton 2010, §8), ``(D,)``:
    b_i = log(p̄_i / (1 − p̄_i)), p̄ the column means clipped to [clip, 1 − clip] (Gaussian units: the means).

    Example:
        >>> data_visible_bias(torch.tensor([[1.0, 0.0], [1.0, 1.0]]), clip=0.01)
        tensor([4.5951, 0.0000])
    """
    if not isinstance(data, Tensor):
        raise TypeError(f"data must be a torch.Tensor, got {type(data).__name__}")
    check_matrix(data, "data")
    if not 0.0 < clip < 0.5:
        raise ValueError(f"clip must lie in (0, 0.5), got clip={clip!r}")
    mean = data.mean(dim=0)  # (D,)
    if isinstance(visible, GaussianVisible):
        return mean
    clipped = mean.clamp(clip, 1.0 - clip)
    return torch.log(clipped) - torch.log1p(-clipped)
