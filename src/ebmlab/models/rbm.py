"""Restricted Boltzmann machines: an EBM with a binary latent layer, trained by contrastive divergence.

Bernoulli–Bernoulli (v ∈ {0, 1}^D, h ∈ {0, 1}^K), with W of shape ``(K, D)`` (scikit-learn's
``components_``), visible bias b ``(D,)`` and hidden bias c ``(K,)``:

.. math:: E(v, h) = -v^\\top W^\\top h - b^\\top v - c^\\top h

Gaussian–Bernoulli (v ∈ ℝ^D, standard deviation σ, unit by default):

.. math:: E(v, h) = \\frac{\\lVert v - b\\rVert^2}{2\\sigma^2} - \\frac{v^\\top W^\\top h}{\\sigma} - c^\\top h

The hidden layer is the latent z of the lecture's E(y, z); summing it out gives the free energy

.. math:: F(v) = -\\log \\sum_h e^{-E(v, h)} = -b^\\top v - \\sum_j \\mathrm{softplus}(c_j + (W v)_j)

(Gaussian: :math:`\\lVert v - b\\rVert^2 / 2\\sigma^2 - \\sum_j \\mathrm{softplus}(c_j + (W v)_j / \\sigma)`).
This is the *unnormalised* sum over the 2^K hidden states; :func:`ebmlab.free_energy` at β = 1
divides the sum by |Z| = 2^K, so ``free_energy(E(v, ·), beta=1) = F(v) + K log 2``.
Then p(v) = exp(−F(v)) / Z with log Z computed exactly by enumeration (:func:`exact_log_partition`,
K ≤ 20 or D ≤ 20) or estimated by annealed importance sampling (:func:`ais_log_partition`).

Training pushes the free energy of data down and that of model samples up (contrastive
divergence CD-k: chains start at the data; persistent CD: chains carry over between updates),
with scikit-learn's ``BernoulliRBM`` update rule W += lr (⟨h vᵀ⟩_data − ⟨h vᵀ⟩_model) / B.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin
from torch import Tensor

from .._validation import as_tensor, check_finite, check_int, check_matrix, check_positive, resolve_device, to_caller
from ..samplers import SampleResult

__all__ = [
    "RBM",
    "AISResult",
    "BernoulliVisible",
    "ContrastiveStep",
    "GaussianVisible",
    "RBMDivergedError",
    "RBMParameters",
    "RBMVelocity",
    "ais_betas",
    "ais_log_partition",
    "base_visible_bias",
    "contrastive_divergence_step",
    "data_visible_bias",
    "exact_log_partition",
    "full_pseudo_likelihood",
    "gibbs_chain",
    "pseudo_likelihood",
    "rbm_energy",
    "rbm_free_energy",
    "reconstruction_error",
]


# ----------------------------------------------------------------------------- visible units


@dataclass(frozen=True)
class BernoulliVisible:
    """Binary visible units: visible energy −bᵀv, p(v_i = 1 | h) = σ(b_i + (Wᵀh)_i).

    Example:
        >>> import torch
        >>> BernoulliVisible().log_partition(torch.zeros(1, 3), torch.zeros(3))  # log 2^3
        tensor([2.0794])
    """

    discrete = True

    def visible_term(self, v: Tensor, bias: Tensor) -> Tensor:
        """−E_visible(v) = bᵀv. Shape: v ``(B, D)`` → ``(B,)``."""
        return v @ bias

    def weight_input(self, v: Tensor) -> Tensor:
        """What W multiplies: v. Shape ``(B, D)``."""
        return v

    def bias_statistic(self, v: Tensor, bias: Tensor) -> Tensor:
        """Σ_B ∂(−F)/∂b = Σ_B v. Shape: ``(B, D)`` → ``(D,)``."""
        return v.sum(dim=0)

    def mean(self, top_down: Tensor, bias: Tensor) -> Tensor:
        """E[v | h] = σ(b + Wᵀh) given ``top_down = h W`` ``(B, D)``."""
        return torch.sigmoid(top_down + bias)

    def sample(self, top_down: Tensor, bias: Tensor, generator: RandomSource) -> Tensor:
        """v ~ p(v | h), fused as ``rand < p``. Shape ``(B, D)``."""
        return _bernoulli(torch.sigmoid(top_down + bias), generator)

    def sample_from_hidden(self, hidden: Tensor, weight: Tensor, bias: Tensor, generator: RandomSource) -> Tensor:
        """v ~ p(v | h) from hidden states ``(S, K)``, the bias fused into the product. Shape ``(S, D)``."""
        return _bernoulli(torch.addmm(bias, hidden, weight).sigmoid_(), generator)

    def log_partition(self, top_down: Tensor, bias: Tensor) -> Tensor:
        """log Σ_v exp(vᵀ(b + a)) = Σ_i softplus(b_i + a_i), a = ``top_down`` ``(N, D)`` → ``(N,)``."""
        return F.softplus(top_down + bias).sum(dim=-1)


@dataclass(frozen=True)
class GaussianVisible:
    """Real visible units with standard deviation σ: visible energy ‖v − b‖²/(2σ²), W acts on v/σ.

    p(v | h) = N(b + σ Wᵀh, σ² I). Data should be standardised (zero mean, unit variance) for σ = 1.

    Example:
        >>> import math, torch
        >>> units = GaussianVisible(sigma=1.0)
        >>> value = float(units.log_partition(torch.zeros(1, 2), torch.zeros(2)))  # (D/2) log 2πσ²
        >>> math.isclose(value, math.log(2 * math.pi), rel_tol=1e-6)
        True
    """

    sigma: float = 1.0
    discrete = False

    def __post_init__(self) -> None:
        check_positive(self.sigma, "sigma")
        if math.isinf(self.sigma):
            raise ValueError(f"sigma must be finite, got sigma={self.sigma}")

    def visible_term(self, v: Tensor, bias: Tensor) -> Tensor:
        return -(v - bias).pow(2).sum(dim=-1) / (2 * self.sigma**2)

    def weight_input(self, v: Tensor) -> Tensor:
        return v / self.sigma

    def bias_statistic(self, v: Tensor, bias: Tensor) -> Tensor:
        return (v - bias).sum(dim=0) / self.sigma**2

    def mean(self, top_down: Tensor, bias: Tensor) -> Tensor:
        return bias + self.sigma * top_down

    def sample(self, top_down: Tensor, bias: Tensor, generator: RandomSource) -> Tensor:
        noise = torch.randn(
            top_down.shape,
            generator=_torch_generator(generator, top_down.device),
            device=top_down.device,
            dtype=top_down.dtype,
        )
        return bias + self.sigma * (top_down + noise)

    def sample_from_hidden(self, hidden: Tensor, weight: Tensor, bias: Tensor, generator: RandomSource) -> Tensor:
        """v ~ p(v | h) from hidden states ``(S, K)``. Shape ``(S, D)``."""
        return self.sample(hidden @ weight, bias, generator)

    def log_partition(self, top_down: Tensor, bias: Tensor) -> Tensor:
        """log ∫ exp(−‖v − b‖²/2σ² + vᵀa/σ) dv = (D/2) log 2πσ² + bᵀa/σ + ‖a‖²/2."""
        dim = top_down.shape[-1]
        constant = 0.5 * dim * math.log(2 * math.pi * self.sigma**2)
        return constant + top_down @ bias / self.sigma + 0.5 * top_down.pow(2).sum(dim=-1)


VisibleUnits = BernoulliVisible | GaussianVisible


RandomSource = torch.Generator | np.random.BitGenerator | None
"""Where samples draw their randomness: a torch generator, or on the CPU a numpy bit generator (faster)."""


def _torch_generator(source: RandomSource, device: torch.device) -> torch.Generator | None:
    """A torch generator for ``source``: itself, or one seeded from the numpy bit generator."""
    if isinstance(source, np.random.BitGenerator):
        return torch.Generator(device=device).manual_seed(int(source.random_raw()) >> 1)
    return source


def _bernoulli(
    probabilities: Tensor, generator: RandomSource, out: Tensor | None = None, *, overwrite: bool = False
) -> Tensor:
    """b ~ Bernoulli(p) elementwise as ``u < p``, written as 1.0/0.0 into ``out`` (a new tensor if None);
    ``overwrite=True`` lets it use the probabilities' storage as scratch.

    With a numpy bit generator (CPU, float32) each draw takes one 32-bit half of a bulk-drawn word
    (:func:`_words_below`: exact at p = 0 and 1, off by at most 2⁻²³ elsewhere, float32's own
    resolution of p): under 2 ns a draw with the comparison, where ``torch.rand``'s Mersenne twister
    alone takes about 3 ns a number and made up a sixth of an RBM epoch. Otherwise ``torch.rand`` with
    ``generator``. Draws follow p's logical (row-major) order whatever its strides.
    """
    if out is None:
        out = torch.empty_like(probabilities, memory_format=torch.contiguous_format)
    if isinstance(generator, np.random.BitGenerator) and probabilities.is_cpu and probabilities.dtype == torch.float32:
        words = generator.random_raw((probabilities.numel() + 1) // 2)  # two draws per 64-bit word
        return _words_below(torch.from_numpy(words.view(np.int32)), probabilities, out, overwrite=overwrite)
    uniform = torch.rand(
        probabilities.shape,
        generator=_torch_generator(generator, probabilities.device),
        device=probabilities.device,
        dtype=probabilities.dtype,
    )
    return torch.lt(uniform, probabilities, out=out)


_LEAST_WORD = torch.tensor(-2147483648.0)  # -2^31


def _words_below(words: Tensor, probabilities: Tensor, out: Tensor, *, overwrite: bool = False) -> Tensor:
    """1.0 where uniform int32 ``words`` (at least p's size, 1-D) fall below p, as float32, into ``out``.

    u = float32(w) ∈ [−2³¹, 2³¹] against p (2³² + 512) − 2³¹: p = 0 never (the least word is −2³¹
    exactly), p = 1 always (the largest round up to 2³¹ < 2³¹ + 512), in between off by at most 2⁻²³.
    """
    uniform = words[: probabilities.numel()].view(probabilities.shape).float()
    # p (2^32 + 512) - 2^31 in one pass; 2^32 + 512 = 2^32 (1 + 2^-23)
    threshold = torch.add(_LEAST_WORD, probabilities, alpha=4294967808.0, out=probabilities if overwrite else None)
    return torch.lt(uniform, threshold, out=out)


def _hidden_sample(probabilities_t: Tensor, generator: RandomSource) -> Tensor:
    """h ~ p(h | v) from unit-major probabilities ``(K, S)``, returned as ``(S, K)``.

    A numpy bit generator draws in the probabilities' own (K, S) layout (a strided comparison costs 4×);
    a torch generator draws in (S, K) order, as scikit-learn draws its uniforms.
    """
    if isinstance(generator, np.random.BitGenerator):
        return _bernoulli(probabilities_t, generator).t()
    return _bernoulli(probabilities_t.t(), generator)


# ----------------------------------------------------------------------------- parameters, energies


@dataclass(frozen=True)
class RBMParameters:
    """The tensors of an RBM (updated in place by training) and its visible units.

    Attributes:
        weight: W, shape ``(K, D)`` (scikit-learn's ``components_``).
        visible_bias: b, shape ``(D,)``.
        hidden_bias: c, shape ``(K,)``.
        visible: :class:`BernoulliVisible` or :class:`GaussianVisible`.
    """

    weight: Tensor
    visible_bias: Tensor
    hidden_bias: Tensor
    visible: VisibleUnits = field(default_factory=BernoulliVisible)

    def __post_init__(self) -> None:
        if not isinstance(self.visible, (BernoulliVisible, GaussianVisible)):
            raise TypeError(f"visible must be BernoulliVisible() or GaussianVisible(sigma), got {self.visible!r}")
        if self.weight.ndim != 2:
            raise ValueError(f"weight must be 2-D (K, D), got shape {tuple(self.weight.shape)}")
        hidden, dim = self.weight.shape
        if tuple(self.visible_bias.shape) != (dim,) or tuple(self.hidden_bias.shape) != (hidden,):
            raise ValueError(
                f"biases must have shapes (D,) = ({dim},) and (K,) = ({hidden},) for weight (K, D) = "
                f"{tuple(self.weight.shape)}, got {tuple(self.visible_bias.shape)} and {tuple(self.hidden_bias.shape)}"
            )

    @property
    def n_hidden(self) -> int:
        return self.weight.shape[0]

    @property
    def n_visible(self) -> int:
        return self.weight.shape[1]

    @staticmethod
    def random(
        n_visible: int,
        n_hidden: int,
        *,
        scale: float = 0.01,
        bias_scale: float = 0.0,
        visible: VisibleUnits | None = None,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
    ) -> RBMParameters:
        """W ~ N(0, scale²), biases ~ N(0, bias_scale²), drawn with ``seed``.

        Example:
            >>> RBMParameters.random(6, 3, seed=0).weight.shape
            torch.Size([3, 6])
        """
        generator = torch.Generator().manual_seed(seed)
        weight = scale * torch.randn(n_hidden, n_visible, generator=generator, dtype=dtype)
        visible_bias = bias_scale * torch.randn(n_visible, generator=generator, dtype=dtype)
        hidden_bias = bias_scale * torch.randn(n_hidden, generator=generator, dtype=dtype)
        return RBMParameters(weight, visible_bias, hidden_bias, visible or BernoulliVisible())


def _check_visible(params: RBMParameters, v: Tensor, name: str = "v") -> None:
    if not isinstance(v, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(v).__name__}")
    check_matrix(v, name, columns=params.n_visible)


def _hidden_input(params: RBMParameters, v: Tensor) -> Tensor:
    """c + W x(v), shape ``(B, K)``."""
    return torch.addmm(params.hidden_bias, params.visible.weight_input(v), params.weight.t())


def rbm_energy(params: RBMParameters, v: Tensor, h: Tensor) -> Tensor:
    """E(v, h) = −visible_term(v) − x(v)ᵀWᵀh − cᵀh (x(v) = v, or v/σ for Gaussian units).

    Shape:
        v ``(B, D)``, h ``(B, K)`` → ``(B,)``.

    Example:
        >>> import torch
        >>> params = RBMParameters(torch.ones(1, 2), torch.zeros(2), torch.zeros(1))
        >>> rbm_energy(params, torch.tensor([[1.0, 1.0]]), torch.tensor([[1.0]]))
        tensor([-2.])
    """
    _check_visible(params, v)
    if h.ndim != 2 or h.shape != (v.shape[0], params.n_hidden):
        raise ValueError(f"h must have shape (B, K) = ({v.shape[0]}, {params.n_hidden}), got {tuple(h.shape)}")
    interaction = (_hidden_input(params, v) * h).sum(dim=-1)  # (B,) includes cᵀh
    return -params.visible.visible_term(v, params.visible_bias) - interaction


def _free_energy(params: RBMParameters, v: Tensor) -> Tensor:
    return -params.visible.visible_term(v, params.visible_bias) - F.softplus(_hidden_input(params, v)).sum(dim=-1)


def rbm_free_energy(params: RBMParameters, v: Tensor) -> Tensor:
    """F(v) = −log Σ_h exp(−E(v, h)) = −visible_term(v) − Σ_j softplus(c_j + (W x(v))_j).

    Unnormalised over h: ``ebmlab.free_energy(E(v, ·), beta=1) = F(v) + K log 2``.

    Shape:
        v ``(B, D)`` → ``(B,)``.

    Example:
        >>> import math, torch
        >>> params = RBMParameters(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2))
        >>> math.isclose(float(rbm_free_energy(params, torch.zeros(1, 3))), -2 * math.log(2), rel_tol=1e-6)
        True
    """
    _check_visible(params, v)
    return _free_energy(params, v)


# ----------------------------------------------------------------------------- Gibbs sampling


def _check_steps(n_steps: int) -> int:
    return check_int(n_steps, "n_steps", minimum=0)


def gibbs_chain(
    params: RBMParameters, v: Tensor, n_steps: int, *, generator: torch.Generator | None = None
) -> SampleResult:
    """Run ``n_steps`` block-Gibbs steps v → h ~ p(h | v) → v ~ p(v | h) from the states ``v``.

    p(h_j = 1 | v) = σ(c_j + (W x(v))_j); p(v | h) is Bernoulli σ(b + Wᵀh) or Gaussian N(b + σWᵀh, σ²).
    A chain that produces NaN or infinite states raises ``FloatingPointError`` naming the step.

    Returns:
        :class:`~ebmlab.samplers.SampleResult` with the final samples ``(S, D)``, their free energies
        ``(S,)`` and ``steps = n_steps``.

    Example:
        >>> import torch
        >>> params = RBMParameters.random(4, 3, seed=0)
        >>> result = gibbs_chain(params, torch.zeros(5, 4), 10, generator=torch.Generator().manual_seed(0))
        >>> result.samples.shape, result.energy.shape, result.steps
        (torch.Size([5, 4]), torch.Size([5]), 10)
    """
    _check_visible(params, v)
    n_steps = _check_steps(n_steps)
    v = v.detach().to(params.weight.dtype)
    first_bad = torch.full((), -1, dtype=torch.long, device=v.device)
    with torch.no_grad():
        for step in range(n_steps):
            hidden = _bernoulli(torch.sigmoid(_hidden_input(params, v)), generator)  # (S, K)
            v = params.visible.sample(hidden @ params.weight, params.visible_bias, generator)  # (S, D)
            bad = ~torch.isfinite(v).all()
            first_bad = torch.where(bad & (first_bad < 0), step + 1, first_bad)
        energy = _free_energy(params, v)  # (S,)
    if int(first_bad) >= 0 or not bool(torch.isfinite(energy).all()):
        step = int(first_bad) if int(first_bad) >= 0 else n_steps
        raise FloatingPointError(
            f"Gibbs chain diverged: NaN/inf visible states at step {step} of {n_steps} "
            f"(weight max |W| = {float(params.weight.abs().max()):.3g}); the model's parameters are not finite "
            "or too large"
        )
    return SampleResult(samples=v, energy=energy, steps=n_steps)


# ----------------------------------------------------------------------------- contrastive divergence


@dataclass(frozen=True)
class RBMVelocity:
    """Momentum buffers ΔW ``(K, D)``, Δb ``(D,)``, Δc ``(K,)`` of :func:`contrastive_divergence_step`.

    Example:
        >>> RBMVelocity.zeros_like(RBMParameters.random(6, 3)).weight.shape
        torch.Size([3, 6])
    """

    weight: Tensor
    visible_bias: Tensor
    hidden_bias: Tensor

    @staticmethod
    def zeros_like(params: RBMParameters) -> RBMVelocity:
        return RBMVelocity(
            torch.zeros_like(params.weight), torch.zeros_like(params.visible_bias), torch.zeros_like(params.hidden_bias)
        )

    def check(self, params: RBMParameters) -> None:
        for name in ("weight", "visible_bias", "hidden_bias"):
            mine, theirs = getattr(self, name), getattr(params, name)
            if not isinstance(mine, Tensor) or mine.shape != theirs.shape:
                got = tuple(mine.shape) if isinstance(mine, Tensor) else type(mine).__name__
                raise ValueError(
                    f"velocity.{name} must have the shape of params.{name} {tuple(theirs.shape)}, got {got}"
                )


class ContrastiveStep(NamedTuple):
    """What :func:`contrastive_divergence_step` returns.

    Attributes:
        chain: hidden states of the (persistent) chains after the step, ``(S, K)``.
        finite: 0-d bool tensor, False if this step's statistics held NaN or infinity.
    """

    chain: Tensor
    finite: Tensor


def contrastive_divergence_step(
    params: RBMParameters,
    v_data: Tensor,
    chain: Tensor | None,
    *,
    learning_rate: float,
    n_steps: int = 1,
    generator: torch.Generator | None = None,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    velocity: RBMVelocity | None = None,
) -> ContrastiveStep:
    """One CD-k (``chain=None``) or persistent CD-k update of ``params``, in place.

    Positive phase: h⁺ = p(h = 1 | v_data). Negative phase: starting from hidden states (sampled
    from h⁺ for CD, the persistent ``chain`` for PCD), k Gibbs steps h → v⁻ → h, with
    h⁻ = p(h = 1 | v⁻) at the last one. The update is scikit-learn's ``BernoulliRBM._fit``:

    .. math::

        W \\mathrel{+}= \\frac{\\eta}{B}\\big(h^{+\\top} x(v_{data}) - h^{-\\top} x(v^-)\\big),\\quad
        c \\mathrel{+}= \\frac{\\eta}{B}\\big(\\textstyle\\sum h^+ - \\sum h^-\\big),\\quad
        b \\mathrel{+}= \\frac{\\eta}{B}\\big(\\textstyle\\sum \\partial_b(-F)(v_{data})
        - \\sum \\partial_b(-F)(v^-)\\big)

    (a gradient ascent step on the log-likelihood, whose gradient is −∂F(data) + E_model[∂F]),
    and the new chain state is a sample of h⁻.

    With ``momentum`` μ and ``weight_decay`` λ (Hinton 2010, "A Practical Guide to Training RBMs",
    §9–10) the step on each parameter θ ∈ {W, b, c} with gradient estimate g_θ (the bracket above,
    divided by B) goes through its ``velocity`` buffer Δθ, updated in place, and only W is decayed:

    .. math::

        \\Delta\\theta \\leftarrow \\mu\\,\\Delta\\theta + \\eta\\,(g_\\theta - \\lambda\\,\\theta\\,[\\theta = W]),
        \\qquad \\theta \\mathrel{+}= \\Delta\\theta

    μ = λ = 0 is exactly the update above (``velocity`` may then be None).

    Shape:
        v_data ``(B, D)``, chain ``(S, K)`` or None (then S = B) → ``ContrastiveStep(chain (S, K), finite ())``.

    Example:
        >>> import torch
        >>> params = RBMParameters.random(6, 4, seed=0)
        >>> data = torch.randint(0, 2, (8, 6)).float()
        >>> step = contrastive_divergence_step(params, data, torch.zeros(8, 4), learning_rate=0.1)
        >>> step.chain.shape, bool(step.finite)
        (torch.Size([8, 4]), True)
    """
    _check_visible(params, v_data, "v_data")
    check_positive(learning_rate, "learning_rate")
    n_steps = check_int(n_steps, "n_steps")
    if chain is not None and (chain.ndim != 2 or chain.shape[1] != params.n_hidden):
        raise ValueError(f"chain must have shape (S, K) with K = {params.n_hidden}, got {tuple(chain.shape)}")
    _check_unit_interval(momentum, "momentum")
    _check_non_negative(weight_decay, "weight_decay")
    if momentum > 0:
        if velocity is None:
            raise ValueError(
                f"momentum={momentum} needs a velocity buffer: pass velocity=RBMVelocity.zeros_like(params)"
            )
        velocity.check(params)
    with torch.no_grad():
        return _contrastive_step(
            params, v_data, chain, learning_rate, n_steps, generator, momentum, weight_decay, velocity
        )


def _check_unit_interval(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {name}={value!r}")
    return float(value)


def _check_non_negative(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {name}={value!r}")
    return float(value)


def _check_recipe(settings: Any) -> None:
    """Validate the quality-recipe fields (``momentum`` … ``init_visible_bias``) of :class:`RBM` or of
    a settings object that holds the same fields (``ebmlab.recipes.rbm.RBMConfig``)."""
    _check_unit_interval(settings.momentum, "momentum")
    if settings.initial_momentum is not None:
        _check_unit_interval(settings.initial_momentum, "initial_momentum")
    check_int(settings.momentum_warmup_epochs, "momentum_warmup_epochs", minimum=0)
    _check_non_negative(settings.weight_decay, "weight_decay")
    if settings.final_learning_rate is not None:
        _check_non_negative(settings.final_learning_rate, "final_learning_rate")
    if settings.init_visible_bias not in ("zero", "data"):
        raise ValueError(
            f"init_visible_bias must be 'zero' or 'data', got init_visible_bias={settings.init_visible_bias!r}"
        )


_MATMUL_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def _check_matmul_dtype(matmul_dtype: str, units: VisibleUnits) -> torch.dtype:
    """The torch dtype of :class:`RBM`'s ``matmul_dtype`` setting, checked against the visible units."""
    if matmul_dtype not in _MATMUL_DTYPES:
        raise ValueError(f"matmul_dtype must be one of {sorted(_MATMUL_DTYPES)}, got matmul_dtype={matmul_dtype!r}")
    if matmul_dtype != "float32" and not isinstance(units, BernoulliVisible):
        raise ValueError(
            f"matmul_dtype={matmul_dtype!r} is available for Bernoulli visible units; got {units!r}: use 'float32'"
        )
    return _MATMUL_DTYPES[matmul_dtype]


def _contrastive_step(
    params: RBMParameters,
    v_data: Tensor,
    chain: Tensor | None,
    learning_rate: float,
    n_steps: int,
    generator: RandomSource,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    velocity: RBMVelocity | None = None,
) -> ContrastiveStep:
    """One update of :func:`contrastive_divergence_step` (and of the estimator's epochs with Gaussian units;
    Bernoulli epochs run :func:`_augmented_epoch`); inputs are valid, called under ``torch.no_grad()``.

    Three GEMMs per persistent CD-1 update: the chain's h → v⁻, one (K, D) × (D, 2B) product for the
    positive and negative hidden probabilities together, and one (K, 2B) × (2B, D) weight update.
    """
    units, weight, hidden_bias = params.visible, params.weight, params.hidden_bias
    hidden_bias_t = hidden_bias.unsqueeze(1)  # (K, 1)
    x_pos = units.weight_input(v_data)  # (B, D)
    # hidden probabilities unit-major, (K, ·): W xᵀ runs ~20 % faster than x Wᵀ at these shapes, and the
    # weight update takes them as they are
    if chain is None:  # CD-k: the chain starts from a sample of p(h | v_data)
        h_pos_t = torch.addmm(hidden_bias_t, weight, x_pos.t()).sigmoid_()  # (K, B)
        hidden = _hidden_sample(h_pos_t, generator)  # (B, K)
    else:
        hidden = chain  # (S, K)
    for _ in range(n_steps - 1):
        v_neg = units.sample_from_hidden(hidden, weight, params.visible_bias, generator)  # (S, D)
        hidden = _hidden_sample(
            torch.addmm(hidden_bias_t, weight, units.weight_input(v_neg).t()).sigmoid_(), generator
        )  # (S, K)
    v_neg = units.sample_from_hidden(hidden, weight, params.visible_bias, generator)  # (S, D)
    x_both = torch.cat([x_pos, units.weight_input(v_neg)])  # (B + S, D)
    if chain is None:
        h_neg_t = torch.addmm(hidden_bias_t, weight, x_both[x_pos.shape[0] :].t()).sigmoid_()  # (K, S)
        h_t = torch.cat([h_pos_t, h_neg_t], dim=1)  # (K, B + S)
    else:
        h_t = torch.addmm(hidden_bias_t, weight, x_both.t()).sigmoid_()  # (K, B + S)
    h_pos_t, h_neg_t = h_t[:, : x_pos.shape[0]], h_t[:, x_pos.shape[0] :]
    scale = learning_rate / v_data.shape[0]
    visible_step = units.bias_statistic(v_data, params.visible_bias) - units.bias_statistic(
        v_neg, params.visible_bias
    )  # (D,)
    hidden_step = h_pos_t.sum(dim=1) - h_neg_t.sum(dim=1)  # (K,)
    next_chain = _hidden_sample(h_neg_t, generator)  # (S, K), drawn before h⁻ changes sign below
    signed = h_t  # (K, B + S): [h⁺, −h⁻], negated in place
    h_neg_t.neg_()
    if momentum == 0.0 and velocity is None:
        if weight_decay:
            weight.mul_(1.0 - learning_rate * weight_decay)  # W −= η λ W (the gradient below uses x, not W)
        weight.addmm_(signed, x_both, alpha=scale)  # W += η/B (h⁺ᵀ x⁺ − h⁻ᵀ x⁻), (K, D)
        hidden_bias.add_(hidden_step, alpha=scale)
        params.visible_bias.add_(visible_step, alpha=scale)
    else:
        assert velocity is not None  # checked by the public entry points
        # ΔW ← μ ΔW + η (g − λ W), then W += ΔW; biases alike without decay
        velocity.weight.mul_(momentum).addmm_(signed, x_both, alpha=scale)  # (K, D)
        if weight_decay:
            velocity.weight.add_(weight, alpha=-learning_rate * weight_decay)
        velocity.hidden_bias.mul_(momentum).add_(hidden_step, alpha=scale)  # (K,)
        velocity.visible_bias.mul_(momentum).add_(visible_step, alpha=scale)  # (D,)
        weight.add_(velocity.weight)
        hidden_bias.add_(velocity.hidden_bias)
        params.visible_bias.add_(velocity.visible_bias)
    finite = torch.isfinite(visible_step.sum() + hidden_step.sum())
    return ContrastiveStep(next_chain, finite)


def _augmented(weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor, width: int) -> Tensor:
    """Ŵ = [[W, c], [bᵀ, 0]], zero-padded to ``width`` ≥ D + 1 columns. Shape ``(K + 1, width)``."""
    n_hidden, dim = weight.shape
    packed = weight.new_zeros(n_hidden + 1, width)
    packed[:n_hidden, :dim] = weight
    packed[:n_hidden, dim] = hidden_bias
    packed[n_hidden, :dim] = visible_bias
    return packed


def _unpack(packed: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor) -> None:
    n_hidden, dim = weight.shape
    weight.copy_(packed[:n_hidden, :dim])
    hidden_bias.copy_(packed[:n_hidden, dim])
    visible_bias.copy_(packed[n_hidden, :dim])


def _mm_into(a: Tensor, b: Tensor, out: Tensor, staging: Tensor | None) -> Tensor:
    """``out = a b``; a product in a lower dtype lands in ``staging`` first and is converted into ``out``."""
    if staging is None:
        return torch.mm(a, b, out=out)
    return out.copy_(torch.mm(a, b, out=staging))


def _signed_blocks(signed: Tensor, n_chains: int, rows: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """ŝ's first ``rows`` columns and its blocks [h⁻, h⁺] ``(K, S + B)``, h⁻ ``(K, S)``, h⁺ ``(K, B)``."""
    s_rows = signed[:, :rows]
    probabilities = s_rows[:-1]
    return s_rows, probabilities, probabilities[:, :n_chains], probabilities[:, n_chains:]


def _augmented_epoch(
    params: RBMParameters,
    batches: list[Tensor],
    rates: list[float],
    chain: Tensor | None,
    n_steps: int,
    generator: RandomSource,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    velocity: RBMVelocity | None = None,
    *,
    matmul_dtype: torch.dtype | None = None,
    check: bool = False,
) -> tuple[Tensor | None, int]:
    """:func:`_contrastive_step` over ``batches`` (learning rates ``rates``) for Bernoulli units, the biases
    folded into the products; updates ``params`` (and ``velocity``) in place at the end.

    With Ŵ = [[W, c], [bᵀ, 0]] ``(K + 1, D + 1)``, visible states with a ones column x̂ = [v, 1] and hidden
    states with a ones row ĥ = [h; 1], every bias rides in a product: ĥᵀ Ŵ[:, :D] = hW + b,
    Ŵ[:K] x̂ᵀ = W vᵀ + c, and the single update

    .. math:: \\hat W \\mathrel{+}= \\frac{\\eta}{B}\\,\\hat s\\,\\hat x, \\qquad
              \\hat s = \\begin{bmatrix} -h^{-} & h^{+} \\\\ -1 & 1 \\end{bmatrix}

    carries W's, c's (last column: Σh⁺ − Σh⁻) and b's (last row: Σv⁺ − Σv⁻) steps. An update is three
    GEMMs and two Bernoulli draws with nothing else of size B·D; same arithmetic as
    :func:`_contrastive_step` up to rounding, same draws in the same order (tested).

    ``matmul_dtype`` (e.g. ``torch.bfloat16``) runs the three products in that dtype from a copy of Ŵ
    made at each update: binary states are exact in it; Ŵ, ŝ and the products' results are rounded
    (bfloat16: 8 significant bits); the parameters, probabilities and updates stay in Ŵ's dtype.

    Returns:
        (chain, bad): the chains' hidden states ``(S, K)`` (None for CD-k) and, with ``check``, the
        1-based index of the first minibatch after which the parameters are not finite (0: none;
        without ``check`` always 0 — the caller checks the parameters once at the end).
    """
    weight = params.weight
    n_hidden, dim = weight.shape
    width = -(-(dim + 1) // 16) * 16  # rows 64-byte aligned: the update GEMM runs ~5 % faster
    packed = _augmented(weight, params.visible_bias, params.hidden_bias, width)
    packed_velocity = None
    if velocity is not None:
        packed_velocity = _augmented(velocity.weight, velocity.visible_bias, velocity.hidden_bias, width)
    low = matmul_dtype is not None and matmul_dtype != packed.dtype
    compute = packed.to(matmul_dtype) if low else packed  # the Ŵ the products read
    top_down, bottom_up = compute[:, :dim], compute[:n_hidden]  # (K + 1, D) and (K, width) views
    largest = max(batch.shape[0] for batch in batches)
    n_chains = largest if chain is None else chain.shape[0]
    x = compute.new_zeros(n_chains + largest, width)  # rows [v⁻ (S); v_data (B)], a ones column at D
    x[:, dim] = 1.0
    hidden = compute.new_empty(n_hidden + 1, n_chains)  # ĥ, unit-major, with a ones row
    hidden[n_hidden] = 1.0
    if chain is not None:
        hidden[:n_hidden] = chain.t()
    signed = packed.new_empty(n_hidden + 1, n_chains + largest)  # ŝ
    signed[n_hidden, :n_chains] = -1.0
    signed[n_hidden, n_chains:] = 1.0
    top_down_input = packed.new_empty(n_chains, dim)  # ĥᵀ Ŵ[:, :D] = hW + b
    # low precision: the products' outputs and ŝ in the compute dtype
    signed_low = compute.new_empty(signed.shape) if low else None
    top_down_low = compute.new_empty(top_down_input.shape) if low else None
    update_low = torch.empty_like(compute) if low else None
    views: dict[tuple[int, int], tuple[Any, ...]] = {}  # per (S, B): at most two minibatch sizes
    bad = 0
    for index, (batch, rate) in enumerate(zip(batches, rates, strict=True)):
        size = batch.shape[0]
        if chain is None and size != n_chains:  # CD-k: as many chains as examples
            n_chains = size
            signed[n_hidden, :n_chains] = -1.0
            signed[n_hidden, n_chains:] = 1.0
        if (n_chains, size) not in views:
            rows = n_chains + size
            views[n_chains, size] = (
                x[n_chains:rows, :dim],  # v_data (B, D)
                x[:n_chains, :dim],  # v⁻ (S, D)
                x[:n_chains],  # x̂⁻ (S, width)
                x[n_chains:rows],  # x̂⁺ (B, width)
                x[:rows],  # x̂ (S + B, width)
                hidden[:, :n_chains],  # ĥ (K + 1, S)
                hidden[:n_hidden, :n_chains],  # h (K, S)
                top_down_input[:n_chains],  # (S, D)
                None if top_down_low is None else top_down_low[:n_chains],
                _signed_blocks(signed, n_chains, rows),
                (None,) * 4 if signed_low is None else _signed_blocks(signed_low, n_chains, rows),  # staging twins
            )
        v_data, v_neg, x_neg, x_pos, x_all, h_hat, h_chain, v_input, v_low, blocks, blocks_low = views[n_chains, size]
        s_hat, s_probs, h_neg, h_pos = blocks
        s_low, s_probs_low, h_neg_low, h_pos_low = blocks_low  # None in float32
        if low:
            compute.copy_(packed)
        v_data.copy_(batch)
        if chain is None:  # the chain starts from a sample of h⁺ = p(h | v_data)
            _bernoulli(_mm_into(bottom_up, x_pos.t(), h_pos, h_pos_low).sigmoid_(), generator, out=h_chain)
        for step in range(n_steps):
            visible = _mm_into(h_hat.t(), top_down, v_input, v_low).sigmoid_()  # p(v | h), (S, D)
            _bernoulli(visible, generator, out=v_neg, overwrite=True)
            if step < n_steps - 1:
                probabilities = torch.mm(bottom_up, x_neg.t()).to(packed.dtype).sigmoid_()  # (K, S)
                _bernoulli(probabilities, generator, out=h_chain, overwrite=True)
        if chain is None:  # h⁻ beside the h⁺ above
            _mm_into(bottom_up, x_neg.t(), h_neg, h_neg_low).sigmoid_()
        else:  # [h⁻, h⁺] in one product
            _mm_into(bottom_up, x_all.t(), s_probs, s_probs_low).sigmoid_()
        _bernoulli(h_neg, generator, out=h_chain)  # the chains' next state
        h_neg.neg_()
        scale = rate / size
        target = packed if packed_velocity is None else packed_velocity.mul_(momentum)
        if packed_velocity is None and weight_decay:
            packed[:n_hidden, :dim].mul_(1.0 - rate * weight_decay)
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
    _unpack(packed, weight, params.visible_bias, params.hidden_bias)
    if velocity is not None and packed_velocity is not None:
        _unpack(packed_velocity, velocity.weight, velocity.visible_bias, velocity.hidden_bias)
    return (None if chain is None else hidden[:n_hidden].t().to(packed.dtype).contiguous()), bad


# ----------------------------------------------------------------------------- pseudo-likelihood


def _check_binary(params: RBMParameters, v: Tensor, what: str) -> None:
    if not isinstance(params.visible, BernoulliVisible):
        raise TypeError(f"{what} is defined for binary (BernoulliVisible) units, got {params.visible!r}")
    if not bool(((v == 0) | (v == 1)).all()):
        raise ValueError(f"{what} needs binary v (entries 0 or 1); got values outside {{0, 1}}")


def _flip_difference(params: RBMParameters, v: Tensor, hidden_input: Tensor, index: Tensor) -> Tensor:
    """F(v with unit ``index`` flipped) − F(v), computed from c + Wv with one column update. ``(B,)``."""
    rows = torch.arange(v.shape[0], device=v.device)
    sign = 1 - 2 * v[rows, index]  # (B,) +1 turns a unit on, −1 off
    flipped = hidden_input + sign.unsqueeze(1) * params.weight[:, index].t()  # (B, K)
    softplus_change = (F.softplus(flipped) - F.softplus(hidden_input)).sum(dim=-1)  # (B,)
    return -sign * params.visible_bias[index] - softplus_change


def pseudo_likelihood(params: RBMParameters, v: Tensor, flip_index: Tensor) -> Tensor:
    """scikit-learn's ``BernoulliRBM.score_samples``: D · log σ(F(ṽ) − F(v)), ṽ = v with one unit flipped.

    With i = ``flip_index[n]`` for row n, this is D · log p(v_i | v_{−i}), an unbiased one-sample
    estimate (over a uniform random i) of the log pseudo-likelihood Σ_i log p(v_i | v_{−i})
    (:func:`full_pseudo_likelihood`). scikit-learn draws i with
    ``RandomState(random_state).randint(0, D, B)``; pass the same indices to reproduce its numbers.

    Shape:
        v ``(B, D)`` binary, flip_index ``(B,)`` integers in [0, D) → ``(B,)``.

    Example:
        >>> import math, torch
        >>> params = RBMParameters(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2))
        >>> pl = pseudo_likelihood(params, torch.zeros(1, 3), torch.tensor([0]))
        >>> math.isclose(float(pl), 3 * math.log(0.5), rel_tol=1e-6)
        True
    """
    _check_visible(params, v)
    _check_binary(params, v, "pseudo_likelihood")
    if not isinstance(flip_index, Tensor) or flip_index.shape != (v.shape[0],) or flip_index.is_floating_point():
        raise ValueError(f"flip_index must be an integer tensor of shape (B,) = ({v.shape[0]},), got {flip_index!r}")
    if bool(((flip_index < 0) | (flip_index >= v.shape[1])).any()):
        raise ValueError(f"flip_index entries must lie in [0, D) = [0, {v.shape[1]})")
    with torch.no_grad():
        v = v.to(params.weight.dtype)
        difference = _flip_difference(params, v, _hidden_input(params, v), flip_index.to(v.device))
        return -v.shape[1] * F.softplus(-difference)


def full_pseudo_likelihood(params: RBMParameters, v: Tensor, *, block: int = 64) -> Tensor:
    """The deterministic log pseudo-likelihood Σ_i log p(v_i | v_{−i}) = Σ_i log σ(F(v^(i)) − F(v)).

    v^(i) is v with unit i flipped. Costs D times :func:`pseudo_likelihood`; computed ``block`` units
    at a time. Equals the mean over i of :func:`pseudo_likelihood` with every row flipping unit i.

    Shape:
        v ``(B, D)`` binary → ``(B,)``.

    Example:
        >>> import math, torch
        >>> params = RBMParameters(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2))
        >>> math.isclose(float(full_pseudo_likelihood(params, torch.ones(1, 3))), 3 * math.log(0.5), rel_tol=1e-6)
        True
    """
    _check_visible(params, v)
    _check_binary(params, v, "full_pseudo_likelihood")
    check_int(block, "block")
    with torch.no_grad():
        v = v.to(params.weight.dtype)
        hidden_input = _hidden_input(params, v)  # (B, K)
        base = F.softplus(hidden_input)  # (B, K)
        total = torch.zeros(v.shape[0], dtype=v.dtype, device=v.device)
        for start in range(0, v.shape[1], block):
            units = slice(start, min(start + block, v.shape[1]))
            sign = 1 - 2 * v[:, units]  # (B, d)
            flipped = hidden_input.unsqueeze(1) + sign.unsqueeze(2) * params.weight[:, units].t()  # (B, d, K)
            change = (F.softplus(flipped) - base.unsqueeze(1)).sum(dim=-1)  # (B, d)
            difference = -sign * params.visible_bias[units] - change  # (B, d)
            total -= F.softplus(-difference).sum(dim=1)
        return total


def reconstruction_error(params: RBMParameters, v: Tensor) -> Tensor:
    """Mean squared error of the mean-field reconstruction v̂ = E[v | h = p(h = 1 | v)].

    .. math:: \\mathrm{err} = \\frac{1}{BD} \\sum_{n,i} \\big(\\hat v_{ni} - v_{ni}\\big)^2, \\qquad
              \\hat v = E[v \\mid h = \\sigma(c + W x(v))]

    A cheap training monitor (Hinton 2010, §5): it falls while the model learns and grows when the
    training blows up with Gaussian units; a 0-d tensor, so the caller decides when to read it.

    Shape:
        v ``(B, D)`` → 0-d tensor.

    Example:
        >>> import torch
        >>> params = RBMParameters(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2))
        >>> reconstruction_error(params, torch.ones(1, 3))  # v̂ = σ(0) = 0.5 everywhere
        tensor(0.2500)
    """
    _check_visible(params, v)
    with torch.no_grad():
        v = v.to(params.weight.dtype)
        hidden = torch.sigmoid(_hidden_input(params, v))  # (B, K)
        return (params.visible.mean(hidden @ params.weight, params.visible_bias) - v).pow(2).mean()


# ----------------------------------------------------------------------------- log partition function


def _binary_states(start: int, stop: int, n_units: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Rows ``start..stop-1`` of the 2^n binary states (bit j of the row number), shape ``(N, n_units)``."""
    numbers = torch.arange(start, stop, device=device).unsqueeze(1)  # (N, 1)
    return ((numbers >> torch.arange(n_units, device=device)) & 1).to(dtype)  # (N, n_units)


def _as_float64(params: RBMParameters) -> RBMParameters:
    return RBMParameters(
        params.weight.detach().double(),
        params.visible_bias.detach().double(),
        params.hidden_bias.detach().double(),
        params.visible,
    )


def exact_log_partition(params: RBMParameters, *, max_units: int = 20, block: int = 65536) -> Tensor:
    """log Z = log Σ_v Σ_h e^{−E(v, h)} (∫ dv for Gaussian units), exact, by enumerating one layer.

    Summing out the other layer analytically, over the 2^K hidden states

    .. math:: \\log Z = \\operatorname{logsumexp}_h \\big(c^\\top h + \\log \\textstyle\\sum_v
              e^{-E_v(v) + x(v)^\\top W^\\top h}\\big)

    (Bernoulli: Σ_i softplus(b_i + (Wᵀh)_i); Gaussian: (D/2) log 2πσ² + bᵀWᵀh/σ + ‖Wᵀh‖²/2), or over
    the 2^D visible states, log Z = logsumexp_v(−F(v)), whichever layer is smaller (binary visible
    units only). Float64, in blocks of ``block`` states.

    Shape:
        → 0-d float64 tensor.

    Example:
        >>> import math, torch
        >>> params = RBMParameters(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2))
        >>> math.isclose(float(exact_log_partition(params)), 5 * math.log(2))
        True
    """
    check_int(max_units, "max_units")
    check_int(block, "block")
    params = _as_float64(params)
    hidden, dim = params.n_hidden, params.n_visible
    device = params.weight.device
    parts = []
    with torch.no_grad():
        if params.visible.discrete and dim < hidden and dim <= max_units:
            for start in range(0, 2**dim, block):
                states = _binary_states(start, min(start + block, 2**dim), dim, torch.float64, device)  # (N, D)
                parts.append(torch.logsumexp(-_free_energy(params, states), dim=0))
        elif hidden <= max_units:
            for start in range(0, 2**hidden, block):
                states = _binary_states(start, min(start + block, 2**hidden), hidden, torch.float64, device)  # (N, K)
                top_down = states @ params.weight  # (N, D)
                log_terms = states @ params.hidden_bias + params.visible.log_partition(top_down, params.visible_bias)
                parts.append(torch.logsumexp(log_terms, dim=0))
        else:
            raise ValueError(
                f"exact log Z enumerates 2^min(K, D) states and allows at most max_units={max_units} units; "
                f"this RBM has K={hidden} hidden and D={dim} visible units: use ais_log_partition"
            )
        return torch.logsumexp(torch.stack(parts), dim=0)


@dataclass(frozen=True)
class AISResult:
    """An annealed-importance-sampling estimate of log Z.

    Attributes:
        log_partition: log Ẑ = log Z_A + log mean_s w_s.
        log_partition_std: delta-method standard error of log Ẑ, std(w) / (mean(w) √S).
        log_weights: log importance weights, ``(S,)`` float64.
        base_log_partition: log Z_A of the base-rate model.
        n_betas: number of annealing steps.
    """

    log_partition: float
    log_partition_std: float
    log_weights: Tensor
    base_log_partition: float
    n_betas: int


def ais_betas(n_betas: int) -> Tensor:
    """Salakhutdinov & Murray's schedule scaled to ``n_betas`` steps: 0 → 1 with β spaced
    500 : 4,000 : 10,000 over [0, 0.5], [0.5, 0.9], [0.9, 1]. Shape ``(n_betas + 1,)``, float64.

    Example:
        >>> betas = ais_betas(29)
        >>> betas.shape, float(betas[0]), float(betas[-1])
        (torch.Size([30]), 0.0, 1.0)
    """
    check_int(n_betas, "n_betas", minimum=3)
    first = max(1, round(n_betas * 500 / 14500))
    second = max(1, round(n_betas * 4000 / 14500))
    third = n_betas - first - second
    pieces = [
        torch.linspace(0.0, 0.5, first + 1, dtype=torch.float64)[:-1],
        torch.linspace(0.5, 0.9, second + 1, dtype=torch.float64)[:-1],
        torch.linspace(0.9, 1.0, third + 1, dtype=torch.float64),
    ]
    return torch.cat(pieces)


def ais_log_partition(
    params: RBMParameters,
    *,
    n_chains: int = 100,
    n_betas: int = 14500,
    base_bias: Tensor | None = None,
    seed: int = 0,
) -> AISResult:
    """Estimate log Z by annealed importance sampling (Salakhutdinov & Murray 2008).

    The base model A has W = 0, c = 0 and visible biases b_A (``base_bias``, e.g.
    :func:`base_visible_bias` of the data; default the model's own b), so log Z_A is known:
    Σ_i softplus(b_A,i) + K log 2 (Gaussian: (D/2) log 2πσ² + K log 2). Along the geometric path
    (p*_0 = the base model's unnormalised marginal, p*_1 = e^{−F(v)})

    .. math:: p^*_\\beta(v) = e^{(1-\\beta)\\,\\mathrm{vis}_A(v) + \\beta\\,\\mathrm{vis}_B(v)}
              \\prod_j \\big(1 + e^{\\beta (c_j + (W x(v))_j)}\\big),

    with 0 = β_0 < … < β_n = 1 (:func:`ais_betas`), each of ``n_chains`` runs starts at v ~ p_A,
    accumulates log w += log p*_{β_k}(v_k) − log p*_{β_{k−1}}(v_k) and moves by one Gibbs step
    that leaves p_{β_k} invariant; log Ẑ = log Z_A + logmeanexp(log w).

    Shape:
        → :class:`AISResult` with ``log_weights`` ``(S,)``, S = ``n_chains``.

    Example:
        >>> import math, torch
        >>> params = RBMParameters.random(5, 3, scale=1.0, seed=0)
        >>> ais = ais_log_partition(params, n_chains=100, n_betas=100)
        >>> abs(ais.log_partition - float(exact_log_partition(params))) < 0.1
        True
    """
    check_int(n_chains, "n_chains")
    betas = ais_betas(n_betas).tolist()
    units, weight = params.visible, params.weight.detach()
    device, dtype = weight.device, weight.dtype
    bias_b = params.visible_bias.detach()
    bias_a = bias_b.clone() if base_bias is None else base_bias.detach().to(device=device, dtype=dtype)
    if bias_a.shape != bias_b.shape:
        raise ValueError(f"base_bias must have shape (D,) = {tuple(bias_b.shape)}, got {tuple(bias_a.shape)}")
    check_finite(bias_a, "base_bias")
    hidden, log2 = params.n_hidden, math.log(2.0)
    generator = torch.Generator(device=device).manual_seed(seed)
    zeros = torch.zeros(1, params.n_visible, device=device, dtype=dtype)
    log_z_base = float(units.log_partition(zeros.double(), bias_a.double())[0]) + hidden * log2
    with torch.no_grad():
        v = units.sample(zeros.expand(n_chains, -1), bias_a, generator)  # (S, D)
        log_w = torch.zeros(n_chains, dtype=torch.float64, device=device)
        for k in range(1, len(betas)):
            beta_prev, beta = betas[k - 1], betas[k]
            pre = _hidden_input(params, v)  # (S, K)
            pre64 = pre.double()
            visible_gap = (units.visible_term(v, bias_b) - units.visible_term(v, bias_a)).double()  # (S,)
            hidden_gap = (F.softplus(beta * pre64) - F.softplus(beta_prev * pre64)).sum(dim=-1)  # (S,)
            log_w += (beta - beta_prev) * visible_gap + hidden_gap
            if k < len(betas) - 1:  # one Gibbs step leaving p_beta invariant
                h = _bernoulli(torch.sigmoid(beta * pre), generator)  # (S, K)
                v = units.sample(beta * (h @ weight), (1 - beta) * bias_a + beta * bias_b, generator)  # (S, D)
        if not bool(torch.isfinite(log_w).all()):
            raise FloatingPointError("AIS produced NaN/inf importance weights: the model's parameters are not finite")
        log_mean = float(torch.logsumexp(log_w, dim=0)) - math.log(n_chains)
        weights = torch.exp(log_w - log_w.max())  # (S,)
        relative_std = float(weights.std() / weights.mean()) / math.sqrt(n_chains) if n_chains > 1 else math.inf
    return AISResult(log_z_base + log_mean, relative_std, log_w, log_z_base, len(betas) - 1)


def base_visible_bias(params: RBMParameters, data: Tensor, *, smoothing: float = 0.05) -> Tensor:
    """Salakhutdinov & Murray's base-rate visible biases fitted to ``data``, ``(B, D)`` → ``(D,)``.

    Bernoulli: b_A,i = log(p̄_i / (1 − p̄_i)) with the smoothed mean p̄ = (Σ_B v + α) / (B + 2α),
    α = ``smoothing``; Gaussian: the data mean.

    Example:
        >>> import torch
        >>> params = RBMParameters.random(2, 1)
        >>> base_visible_bias(params, torch.tensor([[1.0, 0.0], [1.0, 1.0]]), smoothing=1.0)
        tensor([1.0986, 0.0000])
    """
    _check_visible(params, data, "data")
    check_positive(smoothing, "smoothing")
    mean = data.to(params.weight.dtype).mean(dim=0)  # (D,)
    if isinstance(params.visible, GaussianVisible):
        return mean
    count = data.shape[0]
    smoothed = (mean * count + smoothing) / (count + 2 * smoothing)
    return torch.log(smoothed) - torch.log1p(-smoothed)


def data_visible_bias(data: Tensor, visible: VisibleUnits | None = None, *, clip: float = 1e-3) -> Tensor:
    """Visible biases that make the W = 0 model match the data's means (Hinton 2010, §8).

    Bernoulli: b_i = log(p̄_i / (1 − p̄_i)) with p̄ the column means clipped to [clip, 1 − clip];
    Gaussian: the column means.

    Shape:
        data ``(B, D)`` → ``(D,)``.

    Example:
        >>> import torch
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


# ----------------------------------------------------------------------------- estimator


class RBMDivergedError(FloatingPointError):
    """:meth:`RBM.fit_epoch` met NaN/inf statistics at ``epoch`` (1-based), after minibatch ``minibatch``
    of ``n_batches``, with step size ``learning_rate``; the parameters were restored to the start of
    the epoch."""

    def __init__(self, epoch: int, minibatch: int, n_batches: int, learning_rate: float) -> None:
        super().__init__(
            f"RBM training diverged: NaN/inf statistics at epoch {epoch}, minibatch {minibatch} of {n_batches}, "
            f"with step size learning_rate={learning_rate}; lower the learning rate "
            "(parameters restored to the start of the epoch)"
        )
        self.epoch, self.minibatch, self.n_batches, self.learning_rate = epoch, minibatch, n_batches, learning_rate


def _seed_from(random_state: int | None) -> int:
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    return check_int(random_state, "random_state", minimum=0)


class RBM(TransformerMixin, BaseEstimator):
    """A restricted Boltzmann machine trained by persistent (or plain) contrastive divergence.

    A drop-in for scikit-learn's ``BernoulliRBM``: same parameters, same update rule and
    initialisation (W ~ N(0, 0.01²), zero biases, ``batch_size`` persistent chains starting at
    h = 0, minibatches taken in order), same ``score_samples`` (with the same ``random_state`` it
    flips the same units), in float32 torch on any device. Adds Gaussian visible units, CD-k,
    k Gibbs steps per update, exact and AIS log-likelihoods, and long-chain sampling.

    Args:
        n_components: K, number of binary hidden units.
        learning_rate: η of :func:`contrastive_divergence_step`.
        batch_size: B, examples per update (and number of persistent chains).
        n_iter: epochs over the data.
        visible: ``BernoulliVisible()`` (data in [0, 1], ideally binary) or ``GaussianVisible(sigma)``.
        persistent: persistent CD (scikit-learn's SML) if True, CD-k from the data if False.
        n_gibbs_steps: k, Gibbs steps per update.
        momentum: μ of :func:`contrastive_divergence_step` after the first ``momentum_warmup_epochs``
            epochs (0: scikit-learn's plain update).
        initial_momentum: μ during the first ``momentum_warmup_epochs`` epochs (None: ``momentum``);
            Hinton's guide uses 0.5 then 0.9 after 5 epochs.
        momentum_warmup_epochs: epochs run with ``initial_momentum``.
        weight_decay: λ, L2 penalty on W (Hinton suggests 1e-4 to 1e-3; 0: none).
        final_learning_rate: if set, the step size falls linearly from ``learning_rate`` at the first
            update to this value at the end of ``n_iter`` epochs (0 anneals it to zero, as for PCD in
            Tieleman 2008); None keeps it constant.
        init_visible_bias: ``"zero"`` (scikit-learn) or ``"data"``: b_i = log(p_i / (1 − p_i)) of the
            training means clipped to [1e-3, 1 − 1e-3] (Hinton's guide §8; the data mean for Gaussian
            units); :meth:`fit` passes its data, :meth:`initialize` needs ``X`` for it.
        matmul_dtype: ``"float32"`` (default: scikit-learn's arithmetic) or ``"bfloat16"``: the three
            products of each update (Bernoulli units) run in bfloat16 with float32 accumulation, from a
            bfloat16 copy of the parameters; binary states are exact in it, the weights and the products'
            results keep 8 significant bits, and parameters, probabilities and updates stay float32.
            About 0.6× the time per epoch (MNIST, 500 hidden units) on a CPU with AVX-512 BF16; CPUs
            without bfloat16 instructions emulate it and may be slower than with float32.
        random_state: seed of the initialisation, the chains and ``score_samples``' flips.
        device: torch device of the parameters.

    Attributes:
        components_: W ``(K, D)``; intercept_hidden_: c ``(K,)``; intercept_visible_: b ``(D,)``;
        h_samples_: persistent hidden chains ``(B, K)``; params_: :class:`RBMParameters` view of them.

    Example:
        >>> import numpy as np
        >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float32)
        >>> model = RBM(n_components=2, n_iter=5, random_state=0).fit(X)
        >>> model.transform(X).shape, model.score_samples(X).shape
        ((4, 2), (4,))

        The "quality" recipe (momentum 0.5 → 0.9, weight decay, learning rate annealed to zero,
        visible biases from the data):

        >>> quality = RBM(2, learning_rate=0.01, n_iter=5, momentum=0.9, initial_momentum=0.5,
        ...               weight_decay=1e-4, final_learning_rate=0.0, init_visible_bias="data", random_state=0)
        >>> quality.fit(X).components_.shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        n_components: int = 256,
        *,
        learning_rate: float = 0.1,
        batch_size: int = 10,
        n_iter: int = 10,
        visible: VisibleUnits | None = None,
        persistent: bool = True,
        n_gibbs_steps: int = 1,
        momentum: float = 0.0,
        initial_momentum: float | None = None,
        momentum_warmup_epochs: int = 5,
        weight_decay: float = 0.0,
        final_learning_rate: float | None = None,
        init_visible_bias: str = "zero",
        matmul_dtype: str = "float32",
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.visible = visible
        self.persistent = persistent
        self.n_gibbs_steps = n_gibbs_steps
        self.momentum = momentum
        self.initial_momentum = initial_momentum
        self.momentum_warmup_epochs = momentum_warmup_epochs
        self.weight_decay = weight_decay
        self.final_learning_rate = final_learning_rate
        self.init_visible_bias = init_visible_bias
        self.matmul_dtype = matmul_dtype
        self.random_state = random_state
        self.device = device

    # --- set-up

    def _units(self) -> VisibleUnits:
        units = BernoulliVisible() if self.visible is None else self.visible
        if not isinstance(units, (BernoulliVisible, GaussianVisible)):
            raise TypeError(f"visible must be BernoulliVisible() or GaussianVisible(sigma), got {units!r}")
        return units

    def _validate_settings(self) -> None:
        check_int(self.n_components, "n_components")
        check_positive(self.learning_rate, "learning_rate")
        check_int(self.batch_size, "batch_size")
        check_int(self.n_iter, "n_iter", minimum=0)
        check_int(self.n_gibbs_steps, "n_gibbs_steps")
        _check_recipe(self)
        _check_matmul_dtype(self.matmul_dtype, self._units())

    def _uses_momentum(self) -> bool:
        return self.momentum > 0 or (self.initial_momentum or 0.0) > 0

    def _epoch_momentum(self, epoch: int) -> float:
        if self.initial_momentum is not None and epoch <= self.momentum_warmup_epochs:
            return float(self.initial_momentum)
        return float(self.momentum)

    def _learning_rate(self, update: int, total: int) -> float:
        """η at update ``update`` (0-based) of ``total``: constant, or linear to ``final_learning_rate``."""
        if self.final_learning_rate is None or total <= 0:
            return float(self.learning_rate)
        fraction = min(update / total, 1.0)
        return float(self.learning_rate + (self.final_learning_rate - self.learning_rate) * fraction)

    def _as_data(self, X: Any, name: str = "X", *, fitted: bool = True) -> Tensor:
        device = resolve_device(self.device)
        tensor = as_tensor(X, name, dtype=torch.float32, device=device)
        check_matrix(tensor, name, columns=self.components_.shape[1] if fitted else None)
        check_finite(tensor, name)
        if isinstance(self._units(), BernoulliVisible) and bool(((tensor < 0) | (tensor > 1)).any()):
            raise ValueError(
                f"{name} must lie in [0, 1] for Bernoulli visible units (binary ideally); got values in "
                f"[{float(tensor.min()):.3g}, {float(tensor.max()):.3g}]; use GaussianVisible for real data"
            )
        return tensor.contiguous()

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise ValueError("this RBM is not fitted yet: call fit(X) first")

    def initialize(self, n_features: int, X: Any = None) -> RBM:
        """Fresh parameters for ``n_features`` visible units (what :meth:`fit` starts from).

        ``X`` ``(B, D)``, the training data, is needed for ``init_visible_bias="data"``.
        """
        self._validate_settings()
        check_int(n_features, "n_features")
        device = resolve_device(self.device)
        seed = _seed_from(self.random_state)
        init = torch.Generator().manual_seed(seed)
        self.components_ = (0.01 * torch.randn(self.n_components, n_features, generator=init)).to(device)
        self.intercept_hidden_ = torch.zeros(self.n_components, device=device)
        self.intercept_visible_ = torch.zeros(n_features, device=device)
        if self.init_visible_bias == "data":
            if X is None:
                raise ValueError("init_visible_bias='data' needs the training data: call initialize(n_features, X)")
            data = X if isinstance(X, Tensor) and X.device == device else self._as_data(X, fitted=False)
            if data.ndim != 2 or data.shape[1] != n_features:
                raise ValueError(f"X must have shape (B, n_features={n_features}), got {tuple(data.shape)}")
            self.intercept_visible_.copy_(data_visible_bias(data, self._units()))
        self.h_samples_ = torch.zeros(self.batch_size, self.n_components, device=device)
        self.velocity_ = RBMVelocity.zeros_like(
            RBMParameters(self.components_, self.intercept_visible_, self.intercept_hidden_)
        )
        self.generator_ = torch.Generator(device=device).manual_seed(seed + 1)
        self.n_features_in_ = n_features
        return self

    @property
    def params_(self) -> RBMParameters:
        """The fitted tensors as :class:`RBMParameters` (sharing storage)."""
        self._check_fitted()
        return RBMParameters(self.components_, self.intercept_visible_, self.intercept_hidden_, self._units())

    # --- training

    def fit(self, X: Any, y: Any = None) -> RBM:
        """Train on ``X`` ``(B, D)`` for ``n_iter`` epochs from a fresh initialisation."""
        self._validate_settings()
        data = self._as_data(X, fitted=False)
        self.initialize(data.shape[1], data)
        for epoch in range(self.n_iter):
            self.fit_epoch(data, epoch=epoch + 1)
        return self

    def fit_epoch(self, X: Any, *, epoch: int = 1) -> float:
        """One pass over ``X`` in order, in ``ceil(N / batch_size)`` even minibatches; returns seconds.

        ``epoch`` (1-based, of ``n_iter``) sets the momentum and the annealed learning rate.

        Raises :class:`RBMDivergedError` (a ``FloatingPointError``) naming the epoch, the minibatch and
        the learning rate if the statistics become NaN/inf; the parameters are then restored to those
        before the epoch.
        """
        self._check_fitted()
        data = X if isinstance(X, Tensor) and X.device == self.components_.device else self._as_data(X)
        params = self.params_
        velocity = self.velocity_ if self._uses_momentum() else None
        state = [params.weight, params.visible_bias, params.hidden_bias, self.h_samples_]
        if velocity is not None:
            state += [velocity.weight, velocity.visible_bias, velocity.hidden_bias]
        backup = [t.clone() for t in state]
        n_batches = math.ceil(data.shape[0] / self.batch_size)
        momentum, total = self._epoch_momentum(epoch), self.n_iter * n_batches
        batches = list(torch.tensor_split(data, n_batches))
        rates = [self._learning_rate((epoch - 1) * n_batches + index, total) for index in range(n_batches)]
        chain = self.h_samples_ if self.persistent else None
        # this epoch's samples come from a seed drawn from generator_: resumable per epoch, and a replay
        # draws the same numbers; on the CPU a numpy bit generator (faster than torch's)
        seed = int(torch.randint(2**62, (1,), generator=self.generator_, device=self.generator_.device))

        def source() -> RandomSource:
            if data.device.type == "cpu":
                return np.random.SFC64(seed)
            return torch.Generator(device=data.device).manual_seed(seed)

        recipe = (momentum, self.weight_decay, velocity)
        matmul_dtype = _check_matmul_dtype(self.matmul_dtype, params.visible)
        start = time.perf_counter()
        with torch.no_grad():
            if isinstance(params.visible, BernoulliVisible):
                epoch_run = (params, batches, rates, chain, self.n_gibbs_steps)
                chain, bad = _augmented_epoch(*epoch_run, source(), *recipe, matmul_dtype=matmul_dtype)
                if not all(bool(torch.isfinite(tensor).all()) for tensor in state):
                    # replay the epoch from its start, checking each minibatch, to name the first bad one
                    for tensor, saved in zip(state, backup, strict=True):
                        tensor.copy_(saved)
                    chain, bad = _augmented_epoch(*epoch_run, source(), *recipe, matmul_dtype=matmul_dtype, check=True)
            else:
                first_bad = torch.full((), -1, dtype=torch.long, device=data.device)
                generator = source()
                for index, (batch, rate) in enumerate(zip(batches, rates, strict=True)):
                    step = _contrastive_step(params, batch, chain, rate, self.n_gibbs_steps, generator, *recipe)
                    if self.persistent:
                        chain = step.chain
                    first_bad = torch.where(~step.finite & (first_bad < 0), index + 1, first_bad)
                bad = max(int(first_bad), 0)
        if data.device.type == "cuda":
            torch.cuda.synchronize(data.device)
        seconds = time.perf_counter() - start
        if bad:
            for tensor, saved in zip(state, backup, strict=True):
                tensor.copy_(saved)
            raise RBMDivergedError(epoch, bad, n_batches, self.learning_rate)
        if self.persistent:
            self.h_samples_ = chain
        return seconds

    # --- inference

    def transform(self, X: Any) -> Any:
        """Hidden probabilities p(h = 1 | v), ``(B, K)``, as the caller's array type."""
        self._check_fitted()
        data = self._as_data(X)
        with torch.no_grad():
            return to_caller(torch.sigmoid(_hidden_input(self.params_, data)), X)

    def free_energy(self, X: Any) -> Any:
        """F(v) of each row, ``(B,)`` (see :func:`rbm_free_energy`)."""
        self._check_fitted()
        with torch.no_grad():
            return to_caller(_free_energy(self.params_, self._as_data(X)), X)

    def score_samples(self, X: Any) -> Any:
        """scikit-learn's pseudo-likelihood (see :func:`pseudo_likelihood`), ``(B,)``.

        The flipped units are ``np.random.RandomState(random_state).randint(0, D, B)``, as in
        scikit-learn, so both give the same numbers for the same weights and ``random_state``.
        """
        self._check_fitted()
        data = self._as_data(X)
        rng = np.random.mtrand._rand if self.random_state is None else np.random.RandomState(self.random_state)
        index = torch.as_tensor(rng.randint(0, data.shape[1], data.shape[0]), device=data.device)
        return to_caller(pseudo_likelihood(self.params_, data, index), X)

    def gibbs(self, X: Any) -> Any:
        """One Gibbs step v → h → v from each row (scikit-learn's ``gibbs``), ``(B, D)``."""
        self._check_fitted()
        return to_caller(gibbs_chain(self.params_, self._as_data(X), 1, generator=self.generator_).samples, X)

    def sample(self, n_samples: int, n_steps: int = 1000, *, init: Any = None, seed: int = 0) -> SampleResult:
        """``n_samples`` chains of ``n_steps`` Gibbs steps, started at ``init`` or at v ~ p(v | h = 0)."""
        self._check_fitted()
        check_int(n_samples, "n_samples")
        device = self.components_.device
        generator = torch.Generator(device=device).manual_seed(seed)
        params = self.params_
        if init is None:
            top_down = torch.zeros(n_samples, params.n_visible, device=device)
            start = params.visible.sample(top_down, params.visible_bias, generator)
        else:
            start = self._as_data(init, "init")
            if start.shape[0] != n_samples:
                raise ValueError(f"init must have n_samples={n_samples} rows, got shape {tuple(start.shape)}")
        return gibbs_chain(params, start, n_steps, generator=generator)

    def log_partition(self) -> float:
        """Exact log Z (enumerating the smaller layer, ≤ 20 units); see :func:`exact_log_partition`."""
        self._check_fitted()
        return float(exact_log_partition(self.params_))

    def ais(self, X: Any = None, *, n_chains: int = 100, n_betas: int = 10000, seed: int = 0) -> AISResult:
        """AIS estimate of log Z; with data ``X`` the base model's visible biases are fitted to it."""
        self._check_fitted()
        base = None
        if X is not None:
            base = base_visible_bias(self.params_, self._as_data(X))
        return ais_log_partition(self.params_, n_chains=n_chains, n_betas=n_betas, base_bias=base, seed=seed)

    def log_likelihood(self, X: Any, log_partition: float | None = None) -> Any:
        """log p(v) = −F(v) − log Z per row, ``(B,)``; log Z exact unless given (e.g. from :meth:`ais`)."""
        self._check_fitted()
        log_z = self.log_partition() if log_partition is None else float(log_partition)
        with torch.no_grad():
            return to_caller(-_free_energy(self.params_, self._as_data(X)) - log_z, X)
