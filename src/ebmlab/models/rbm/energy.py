"""An RBM's parameters, visible units, E(v, h), the closed-form free energy F(v), and the RBM as an
:class:`ebmlab.Energy` whose latent is h ∈ {0, 1}^K. W acts on x = v / s (s = 1 Bernoulli, σ Gaussian units)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from ..._validation import check_int, check_matrix, check_positive
from ...energy import Energy, FiniteLatent

__all__ = ["BernoulliVisible", "BinaryLatent", "GaussianVisible", "RBMEnergy", "RBMParameters", "VisibleUnits"]
__all__ += ["rbm_energy", "rbm_free_energy"]


@dataclass(frozen=True)
class BernoulliVisible:
    """Binary visible units: visible energy −bᵀv, p(v_i = 1 | h) = σ(b_i + (Wᵀh)_i).

    Example:
        >>> BernoulliVisible().log_partition(torch.zeros(1, 3), torch.zeros(3))  # log Σ_v e^{vᵀ(b + a)} = 3 log 2
        tensor([2.0794])
    """

    discrete = True
    scale = 1.0  # s in x = v / s

    def visible_term(self, v: Tensor, bias: Tensor) -> Tensor:  # −E_visible(v) = bᵀv, (B, D) → (B,)
        return v @ bias

    def log_partition(self, top_down: Tensor, bias: Tensor) -> Tensor:  # log Σ_v e^{vᵀ(b + a)}, a (N, D) → (N,)
        return F.softplus(top_down + bias).sum(dim=-1)


@dataclass(frozen=True)
class GaussianVisible:
    """Real units of standard deviation σ (standardise the data for σ = 1): visible energy ‖v − b‖²/(2σ²),
    p(v | h) = N(b + σ Wᵀh, σ² I).

    Example:
        >>> GaussianVisible(1.0).log_partition(torch.zeros(1, 2), torch.zeros(2))  # log ∫ e^{−‖v‖²/2} dv = log 2π
        tensor([1.8379])
    """

    sigma: float = 1.0
    discrete = False
    scale = property(lambda self: self.sigma)  # s in x = v / s

    def __post_init__(self) -> None:
        if not math.isfinite(check_positive(self.sigma, "sigma")):
            raise ValueError(f"sigma must be finite, got sigma={self.sigma}")

    def visible_term(self, v: Tensor, bias: Tensor) -> Tensor:
        return -(v - bias).pow(2).sum(dim=-1) / (2 * self.sigma**2)

    def log_partition(self, top_down: Tensor, bias: Tensor) -> Tensor:  # log ∫ e^{−‖v − b‖²/2σ² + vᵀa/σ} dv
        constant = 0.5 * top_down.shape[-1] * math.log(2 * math.pi * self.sigma**2)
        return constant + top_down @ bias / self.sigma + 0.5 * top_down.pow(2).sum(dim=-1)


VisibleUnits = BernoulliVisible | GaussianVisible


@dataclass(frozen=True)
class RBMParameters:
    """An RBM's tensors, updated in place by training, of E(v, h) = −visible_term(v) − x(v)ᵀWᵀh − cᵀh: W ``(K, D)``
    (scikit-learn's ``components_``), b ``(D,)``, c ``(K,)``, and its visible units.

    Example:
        >>> params = RBMParameters.random(6, 3, seed=0)  # W ~ N(0, 0.01²), b = c = 0
        >>> tuple(params.weight.shape), params.n_visible, params.n_hidden, float(params.hidden_bias.abs().sum())
        ((3, 6), 6, 3, 0.0)
    """

    weight: Tensor
    visible_bias: Tensor
    hidden_bias: Tensor
    visible: VisibleUnits = field(default_factory=BernoulliVisible)
    n_hidden = property(lambda self: self.weight.shape[0])  # K
    n_visible = property(lambda self: self.weight.shape[1])  # D

    def __post_init__(self) -> None:
        if not isinstance(self.visible, (BernoulliVisible, GaussianVisible)):
            raise TypeError(f"visible must be BernoulliVisible() or GaussianVisible(sigma), got {self.visible!r}")
        if self.weight.ndim != 2:
            raise ValueError(f"weight must be 2-D (K, D), got shape {tuple(self.weight.shape)}")
        (hidden, dim), got = self.weight.shape, (tuple(self.visible_bias.shape), tuple(self.hidden_bias.shape))
        if got != ((dim,), (hidden,)):
            raise ValueError(f"biases must have shapes (D,) = ({dim},) and (K,) = ({hidden},), got {got}")

    @staticmethod
    def random(n_visible: int, n_hidden: int, *, scale: float = 0.01, bias_scale: float = 0.0,
               visible: VisibleUnits | None = None, seed: int = 0, dtype: torch.dtype = torch.float32) -> RBMParameters:
        """W ~ N(0, scale²), biases ~ N(0, bias_scale²), drawn with ``seed``."""
        generator = torch.Generator().manual_seed(seed)
        weight, b, c = (torch.randn(*shape, generator=generator, dtype=dtype) for shape in
                        ((n_hidden, n_visible), (n_visible,), (n_hidden,)))
        return RBMParameters(scale * weight, bias_scale * b, bias_scale * c, visible or BernoulliVisible())


def _check_visible(params: RBMParameters, v: Tensor, name: str = "v") -> None:  # (B, D), the parameters' dtype
    if not isinstance(v, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(v).__name__}")
    check_matrix(v, name, columns=params.n_visible)
    if v.dtype != params.weight.dtype:  # no silent casts
        raise TypeError(f"{name} has dtype {v.dtype} and the parameters {params.weight.dtype}: convert one of them")


def _hidden_input(params: RBMParameters, v: Tensor) -> Tensor:  # c + W x(v), (B, K)
    x = v if params.visible.scale == 1.0 else v / params.visible.scale  # (B, D)
    return torch.addmm(params.hidden_bias, x, params.weight.t())


def _free_energy(params: RBMParameters, v: Tensor) -> Tensor:  # F(v), (B,)
    return -params.visible.visible_term(v, params.visible_bias) - F.softplus(_hidden_input(params, v)).sum(dim=-1)


def rbm_energy(params: RBMParameters, v: Tensor, h: Tensor) -> Tensor:
    """E(v, h) = −visible_term(v) − x(v)ᵀWᵀh − cᵀh (Bernoulli: −vᵀWᵀh − bᵀv − cᵀh), v ``(B, D)``, h ``(B, K)`` → (B,).

    Example:
        >>> rbm_energy(RBMParameters(torch.ones(1, 2), torch.zeros(2), torch.zeros(1)),
        ...            torch.ones(1, 2), torch.ones(1, 1))
        tensor([-2.])
    """
    _check_visible(params, v)
    if h.ndim != 2 or h.shape != (v.shape[0], params.n_hidden):
        raise ValueError(f"h must have shape (B, K) = ({v.shape[0]}, {params.n_hidden}), got {tuple(h.shape)}")
    return -params.visible.visible_term(v, params.visible_bias) - (_hidden_input(params, v) * h).sum(dim=-1)


def rbm_free_energy(params: RBMParameters, v: Tensor) -> Tensor:
    """The free energy in closed form, h summed out, ``(B, D)`` → ``(B,)``:

    .. math:: F(v) = -\\log \\sum_h e^{-E(v, h)} = -b^\\top v - \\sum_j \\mathrm{softplus}(c_j + (W v)_j)

    (Gaussian: ‖v − b‖²/2σ² − Σ_j softplus(c_j + (W v)_j / σ)), unnormalised: ``RBMEnergy(params).free_energy(v,
    1)``, the core's average over the 2^K values of h, is F(v) + K log 2.

    Example:
        >>> rbm_free_energy(RBMParameters(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2)), torch.zeros(1, 3))
        tensor([-1.3863])
    """
    _check_visible(params, v)
    return _free_energy(params, v)


def _binary_states(start: int, stop: int, n_units: int, dtype: torch.dtype, device: torch.device | None) -> Tensor:
    """Rows ``start..stop-1`` of the 2^n binary states (bit j of the row number), shape ``(N, n_units)``."""
    numbers = torch.arange(start, stop, device=device).unsqueeze(1)  # (N, 1)
    return ((numbers >> torch.arange(n_units, device=device)) & 1).to(dtype)  # (N, n_units)


class BinaryLatent(FiniteLatent):
    """The hidden states h ∈ {0, 1}^K, all 2^K of them (bit j of row n is h_j), enumerable for small K.

    Example:
        >>> BinaryLatent(2).values().tolist()
        [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    """

    size = property(lambda self: 2**self.dim)

    def __init__(self, dim: int) -> None:
        self.dim = check_int(dim, "dim")

    def values(self, device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
        return _binary_states(0, 2**self.dim, self.dim, dtype, device)  # (2^K, K)


class RBMEnergy(Energy):
    """The RBM as the lecture's E(y, z), y = v, z = h ∈ {0, 1}^K (:class:`BinaryLatent`), on ``params``' tensors
    (as buffers): y ``(B, D)``, z ``(B, K)`` → ``(B,)``; ``pairwise`` is one product ``(B, 2^K)``. The core's
    free energy enumerates the 2^K states: at β = 1 it is F(v) + K log 2.

    Example:
        >>> params, v = RBMParameters.random(4, 3, scale=1.0), torch.ones(2, 4)
        >>> torch.allclose(RBMEnergy(params).free_energy(v, beta=1.0), rbm_free_energy(params, v) + 3 * math.log(2))
        True
    """

    params = property(lambda self: RBMParameters(self.weight, self.visible_bias, self.hidden_bias, self.visible))

    def __init__(self, params: RBMParameters) -> None:
        super().__init__()
        for name in ("weight", "visible_bias", "hidden_bias"):
            self.register_buffer(name, getattr(params, name))
        self.visible, self.latent = params.visible, BinaryLatent(params.n_hidden)

    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        return rbm_energy(self.params, y, z)

    def pairwise(self, y: Tensor, z_values: Tensor, x: Tensor | None = None) -> Tensor:
        _check_visible(params := self.params, y, "y")
        visible = params.visible.visible_term(y, params.visible_bias).unsqueeze(1)  # (B, 1)
        return -visible - _hidden_input(params, y) @ z_values.t()  # (B, 2^K)
