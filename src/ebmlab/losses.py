"""Loss functionals: what learning minimises to shape the energy (LeCun et al. 2006, Table 1).

Inference minimises the energy over answers; learning minimises a *loss functional* of the
energies over parameters. Every loss here takes

* ``positive``: the free energy :math:`F(y_i)` of the correct answer, shape ``(B,)``;
* ``negatives``: the free energies :math:`F(\\bar y)` of ``M`` incorrect (candidate) answers per
  example, shape ``(B, M)``. Margin losses use the *most offending* incorrect answer, the one of
  lowest energy, :math:`F(\\bar y_i) = \\min_m F(\\bar y_{im})`; pick it from a set that also holds
  the correct answer (or, for continuous y, answers too close to it) with
  :func:`most_offending_incorrect`.

and returns one value per example reduced by ``reduction``: ``"mean"`` (default), ``"sum"`` or
``"none"`` (shape ``(B,)``). Each pure function has a thin :class:`torch.nn.Module` shell holding
its hyperparameters, so the losses are interchangeable in a training loop:
``loss_fn(positive, negatives)``.

========================  ==============================================================
loss                      per-example value
========================  ==============================================================
energy                    :math:`F(y)`
negative log-likelihood   :math:`F(y) + \\frac1\\beta \\log(e^{-\\beta F(y)} + \\sum_m e^{-\\beta F(\\bar y_m)})`
perceptron                :math:`F(y) - \\min(F(y), \\min_m F(\\bar y_m))`
hinge                     :math:`[m + F(y) - F(\\bar y)]^+`
log                       :math:`\\log(1 + e^{F(y) - F(\\bar y)})`
square-square             :math:`F(y)^2 + ([m - F(\\bar y)]^+)^2`
square-exponential        :math:`F(y)^2 + \\gamma e^{-F(\\bar y)}`
MCE                       :math:`\\sigma(F(y) - F(\\bar y))`
simple contrastive        :math:`[F(y)]^+ + [m - F(\\bar y)]^+`
contrastive divergence    :math:`F(y) - \\frac1M \\sum_m F(\\bar y_m)`
========================  ==============================================================
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ContrastiveDivergenceLoss",
    "EnergyLoss",
    "HingeLoss",
    "LogLoss",
    "MCELoss",
    "NLLLoss",
    "OffendingAnswer",
    "PerceptronLoss",
    "SimpleContrastiveLoss",
    "SquareExpLoss",
    "SquareSquareLoss",
    "contrastive_divergence_loss",
    "energy_loss",
    "hinge_loss",
    "log_loss",
    "mce_loss",
    "most_offending_incorrect",
    "nll_loss",
    "perceptron_loss",
    "simple_contrastive_loss",
    "square_exp_loss",
    "square_square_loss",
]

_REDUCTIONS = ("mean", "sum", "none")


# ----------------------------------------------------------------------------------------------- checks


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got reduction={reduction!r}")


def _check_positive(positive: Tensor) -> None:
    if not isinstance(positive, Tensor):
        raise TypeError(f"positive must be a torch.Tensor of shape (B,), got {type(positive).__name__}")
    if not positive.is_floating_point():
        raise TypeError(f"positive must be a floating-point tensor, got dtype={positive.dtype}")
    if positive.ndim != 1:
        raise ValueError(f"positive must have shape (B,), got shape {tuple(positive.shape)}")


def _check_pair(positive: Tensor, negatives: Tensor) -> None:
    _check_positive(positive)
    if not isinstance(negatives, Tensor):
        raise TypeError(f"negatives must be a torch.Tensor of shape (B, M), got {type(negatives).__name__}")
    if not negatives.is_floating_point():
        raise TypeError(f"negatives must be a floating-point tensor, got dtype={negatives.dtype}")
    if negatives.ndim != 2 or negatives.shape[0] != positive.shape[0] or negatives.shape[1] < 1:
        raise ValueError(
            f"negatives must have shape (B, M) = ({positive.shape[0]}, M >= 1) to match positive of shape "
            f"{tuple(positive.shape)}, got shape {tuple(negatives.shape)}"
        )


def _check_margin(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {name}={value!r}")
    return float(value)


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def _offending(negatives: Tensor) -> Tensor:
    return negatives.amin(dim=1)  # (B,)


# ----------------------------------------------------------------------------------------------- helper


class OffendingAnswer(NamedTuple):
    """The most offending incorrect answer of each example: energy ``(B,)`` (differentiable), index ``(B,)``.

    Example:
        >>> import torch
        >>> found = most_offending_incorrect(torch.tensor([[0.1, 0.5, 2.0]]), correct_index=torch.tensor([0]))
        >>> found.energy, found.index
        (tensor([0.5000]), tensor([1]))
    """

    energy: Tensor
    index: Tensor


def most_offending_incorrect(
    energies: Tensor,
    *,
    correct_index: Tensor | None = None,
    distance: Tensor | None = None,
    margin: float = 0.0,
) -> OffendingAnswer:
    """The lowest-energy answer that is not the correct one.

    .. math:: \\bar y_i = \\arg\\min_{y \\in \\mathcal{Y},\\ y \\ne y_i} F(y) \\quad\\text{(discrete)}, \\qquad
              \\bar y_i = \\arg\\min_{y:\\ \\|y - y_i\\| > \\epsilon} F(y) \\quad\\text{(continuous)}

    Args:
        energies: ``F`` of the ``M`` candidate answers, ``(B, M)``.
        correct_index: for a discrete answer set, the index of the correct answer, ``(B,)`` int64;
            that candidate is excluded.
        distance: for continuous answers, ``‖y_m − y_i‖`` for every candidate, ``(B, M)``;
            candidates with ``distance <= margin`` are excluded.
        margin: the distance margin ε ≥ 0 used with ``distance``.

    Returns:
        :class:`OffendingAnswer`; the energy is gathered from ``energies`` so gradients flow to it.

    Raises:
        ValueError: if every candidate of some example is excluded.

    Example:
        >>> import torch
        >>> E = torch.tensor([[0.1, 0.5, 2.0], [3.0, 1.0, 0.2]])
        >>> most_offending_incorrect(E, correct_index=torch.tensor([0, 2]))
        OffendingAnswer(energy=tensor([0.5000, 1.0000]), index=tensor([1, 1]))
    """
    if not isinstance(energies, Tensor) or energies.ndim != 2 or not energies.is_floating_point():
        shape = tuple(energies.shape) if isinstance(energies, Tensor) else type(energies).__name__
        raise ValueError(f"energies must be a floating tensor of shape (B, M), got {shape}")
    margin = _check_margin(margin, "margin")
    excluded = torch.zeros_like(energies, dtype=torch.bool)  # (B, M)
    if correct_index is not None:
        if correct_index.shape != energies.shape[:1] or correct_index.dtype != torch.int64:
            raise ValueError(
                f"correct_index must be int64 of shape (B,) = ({energies.shape[0]},), "
                f"got {correct_index.dtype} {tuple(correct_index.shape)}"
            )
        excluded.scatter_(1, correct_index.unsqueeze(1), True)
    if distance is not None:
        if distance.shape != energies.shape:
            raise ValueError(
                f"distance must have the shape of energies {tuple(energies.shape)}, got {tuple(distance.shape)}"
            )
        excluded |= distance <= margin
    if bool(excluded.all(dim=1).any()):
        row = int(excluded.all(dim=1).nonzero()[0, 0])
        raise ValueError(f"every candidate answer of example {row} is excluded (correct or within margin={margin})")
    masked = energies.detach().masked_fill(excluded, math.inf)  # (B, M)
    index = masked.argmin(dim=1)  # (B,)
    return OffendingAnswer(energies.gather(1, index.unsqueeze(1)).squeeze(1), index)


# ----------------------------------------------------------------------------------------------- pure functions


def energy_loss(positive: Tensor, *, reduction: str = "mean") -> Tensor:
    """Energy loss: push down the correct answer only, :math:`L = F(y_i)`.

    Without a contrastive term or a regulariser this loss lets the energy collapse to a flat
    surface (see :mod:`ebmlab.models.collapse`).

    Shape:
        positive ``(B,)`` → scalar, or ``(B,)`` with ``reduction="none"``.

    Example:
        >>> import torch
        >>> energy_loss(torch.tensor([1.0, 3.0]))
        tensor(2.)
    """
    _check_reduction(reduction)
    _check_positive(positive)
    return _reduce(positive, reduction)


def nll_loss(
    positive: Tensor, negatives: Tensor, *, beta: float = 1.0, log_volume: float = 0.0, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood under the Gibbs distribution :math:`P(y) \\propto e^{-\\beta F(y)}`.

    .. math::

        L = F(y_i) + \\frac{1}{\\beta} \\Big[\\log\\Big(e^{-\\beta F(y_i)}
            + \\sum_{m=1}^M e^{-\\beta F(\\bar y_m)}\\Big) + \\log V\\Big]

    For a finite answer set, ``negatives`` are the other answers and ``log_volume = 0``: the loss
    is exactly :math:`-\\frac1\\beta \\log \\mathrm{softmax}(-\\beta F)_{y_i}`. With continuous answers,
    ``negatives`` are ``M`` samples from a uniform proposal over a region of volume ``V_0`` and
    ``log_volume = log(V_0 / (M + 1))`` makes the bracket a Monte-Carlo estimate of
    :math:`\\log \\int e^{-\\beta F(y)} dy`.

    Args:
        beta: inverse temperature β > 0 (finite).
        log_volume: additive constant of the log-partition estimate (no effect on gradients).

    Shape:
        positive ``(B,)``, negatives ``(B, M)`` → scalar, or ``(B,)`` with ``reduction="none"``.

    Example:
        >>> import torch
        >>> E = torch.tensor([[0.5, 1.0, 2.0]])
        >>> loss = nll_loss(E[:, 0], E[:, 1:])
        >>> torch.allclose(loss, -torch.log_softmax(-E, dim=1)[0, 0])
        True
    """
    _check_reduction(reduction)
    _check_pair(positive, negatives)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not (0 < beta < math.inf):
        raise ValueError(f"beta must be a finite number > 0, got beta={beta!r}")
    answers = torch.cat([positive.unsqueeze(1), negatives], dim=1)  # (B, 1 + M)
    log_partition = (torch.logsumexp(-beta * answers, dim=1) + float(log_volume)) / beta  # (B,)
    return _reduce(positive + log_partition, reduction)


def perceptron_loss(positive: Tensor, negatives: Tensor, *, reduction: str = "mean") -> Tensor:
    """Perceptron loss: :math:`L = F(y_i) - \\min_{y \\in \\mathcal{Y}} F(y)`, the set being the correct
    answer and the ``M`` negatives; zero when the correct answer already has the lowest energy.

    Shape:
        positive ``(B,)``, negatives ``(B, M)`` → scalar, or ``(B,)``.

    Example:
        >>> import torch
        >>> perceptron_loss(torch.tensor([1.0, 0.0]), torch.tensor([[0.5, 2.0], [1.0, 3.0]]), reduction="none")
        tensor([0.5000, 0.0000])
    """
    _check_reduction(reduction)
    _check_pair(positive, negatives)
    lowest = torch.minimum(positive, _offending(negatives))  # (B,)
    return _reduce(positive - lowest, reduction)


def hinge_loss(positive: Tensor, negatives: Tensor, *, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """Hinge loss on the most offending incorrect answer: :math:`L = [m + F(y_i) - F(\\bar y_i)]^+`.

    Shape:
        positive ``(B,)``, negatives ``(B, M)`` → scalar, or ``(B,)``.

    Example:
        >>> import torch
        >>> hinge_loss(torch.tensor([0.0, 0.0]), torch.tensor([[0.5, 3.0], [2.0, 4.0]]), margin=1.0, reduction="none")
        tensor([0.5000, 0.0000])
    """
    _check_reduction(reduction)
    _check_pair(positive, negatives)
    margin = _check_margin(margin, "margin")
    return _reduce(torch.relu(margin + positive - _offending(negatives)), reduction)


def log_loss(positive: Tensor, negatives: Tensor, *, reduction: str = "mean") -> Tensor:
    """Log loss, a soft hinge with an infinite margin: :math:`L = \\log(1 + e^{F(y_i) - F(\\bar y_i)})`.

    Shape:
        positive ``(B,)``, negatives ``(B, M)`` → scalar, or ``(B,)``.

    Example:
        >>> import math, torch
        >>> math.isclose(float(log_loss(torch.tensor([1.0]), torch.tensor([[1.0, 5.0]]))), math.log(2), rel_tol=1e-6)
        True
    """
    _check_reduction(reduction)
    _check_pair(positive, negatives)
    return _reduce(F.softplus(positive - _offending(negatives)), reduction)


def square_square_loss(positive: Tensor, negatives: Tensor, *, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """Square-square loss: :math:`L = F(y_i)^2 + ([m - F(\\bar y_i)]^+)^2` (energies meant to be ≥ 0).

    Shape:
        positive ``(B,)``, negatives ``(B, M)`` → scalar, or ``(B,)``.

    Example:
        >>> import torch
        >>> square_square_loss(torch.tensor([0.5]), torch.tensor([[0.25, 3.0]]), margin=1.0)
        tensor(0.8125)
    """
    _check_reduction(reduction)
    _check_pair(positive, negatives)
    margin = _check_margin(margin, "margin")
    return _reduce(positive.pow(2) + torch.relu(margin - _offending(negatives)).pow(2), reduction)


def square_exp_loss(positive: Tensor, negatives: Tensor, *, gamma: float = 1.0, reduction: str = "mean") -> Tensor:
    """Square-exponential loss: :math:`L = F(y_i)^2 + \\gamma\\, e^{-F(\\bar y_i)}`.

    Shape:
        positive ``(B,)``, negatives ``(B, M)`` → scalar, or ``(B,)``.

    Example:
        >>> import torch
        >>> square_exp_loss(torch.tensor([1.0]), torch.tensor([[0.0]]), gamma=2.0)
        tensor(3.)
    """
    _check_reduction(reduction)
    _check_pair(positive, negatives)
    gamma = _check_margin(gamma, "gamma")
    return _reduce(positive.pow(2) + gamma * torch.exp(-_offending(negatives)), reduction)


def mce_loss(positive: Tensor, negatives: Tensor, *, reduction: str = "mean") -> Tensor:
    """Minimum classification error loss: :math:`L = \\sigma(F(y_i) - F(\\bar y_i))`, a smooth 0/1 count.

    Shape:
        positive ``(B,)``, negatives ``(B, M)`` → scalar, or ``(B,)``.

    Example:
        >>> import torch
        >>> mce_loss(torch.tensor([1.0]), torch.tensor([[1.0]]))
        tensor(0.5000)
    """
    _check_reduction(reduction)
    _check_pair(positive, negatives)
    return _reduce(torch.sigmoid(positive - _offending(negatives)), reduction)


def simple_contrastive_loss(
    positive: Tensor, negatives: Tensor, *, margin: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """Simple contrastive loss: :math:`L = [F(y_i)]^+ + [m - F(\\bar y_i)]^+`: push the correct answer
    down to zero and the most offending incorrect one up to the margin.

    Shape:
        positive ``(B,)``, negatives ``(B, M)`` → scalar, or ``(B,)``.

    Example:
        >>> import torch
        >>> simple_contrastive_loss(torch.tensor([0.5, -1.0]), torch.tensor([[0.25], [2.0]]), reduction="none")
        tensor([1.2500, 0.0000])
    """
    _check_reduction(reduction)
    _check_pair(positive, negatives)
    margin = _check_margin(margin, "margin")
    return _reduce(torch.relu(positive) + torch.relu(margin - _offending(negatives)), reduction)


def contrastive_divergence_loss(positive: Tensor, negatives: Tensor, *, reduction: str = "mean") -> Tensor:
    """Contrastive-divergence loss: :math:`L = F(y_i) - \\frac1M \\sum_m F(\\bar y_m)`.

    With negatives drawn from the model's own Gibbs distribution (MCMC chains, e.g.
    :func:`ebmlab.samplers.langevin`), its gradient is a stochastic estimate of the gradient of
    the negative log-likelihood at β = 1: :math:`\\partial F(y_i) - \\mathbb{E}_{p}[\\partial F(y)]`.

    Shape:
        positive ``(B,)``, negatives ``(B, M)`` → scalar, or ``(B,)``.

    Example:
        >>> import torch
        >>> contrastive_divergence_loss(torch.tensor([0.0]), torch.tensor([[1.0, 3.0]]))
        tensor(-2.)
    """
    _check_reduction(reduction)
    _check_pair(positive, negatives)
    return _reduce(positive - negatives.mean(dim=1), reduction)


# ----------------------------------------------------------------------------------------------- modules


class _PairLoss(nn.Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class EnergyLoss(_PairLoss):
    """Module form of :func:`energy_loss`: :math:`L = F(y_i)`; ``negatives`` is accepted for a uniform
    call and not used.

    Example:
        >>> import torch
        >>> positive, negatives = torch.tensor([0.5]), torch.tensor([[0.2, 3.0]])  # F(y), F(ȳ) of M = 2 answers
        >>> EnergyLoss()(positive, negatives)
        tensor(0.5000)
    """

    def forward(self, positive: Tensor, negatives: Tensor | None = None) -> Tensor:
        return energy_loss(positive, reduction=self.reduction)


class NLLLoss(_PairLoss):
    """Module form of :func:`nll_loss`.

    Example:
        >>> import torch
        >>> NLLLoss(beta=2.0)(torch.tensor([0.0]), torch.tensor([[0.0]]))  # log(2) / 2
        tensor(0.3466)
    """

    def __init__(self, beta: float = 1.0, log_volume: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.beta, self.log_volume = beta, log_volume

    def forward(self, positive: Tensor, negatives: Tensor) -> Tensor:
        return nll_loss(positive, negatives, beta=self.beta, log_volume=self.log_volume, reduction=self.reduction)


class PerceptronLoss(_PairLoss):
    """Module form of :func:`perceptron_loss`: :math:`L = F(y_i) - \\min(F(y_i), \\min_m F(\\bar y_{im}))`.

    Example:
        >>> import torch
        >>> positive, negatives = torch.tensor([0.5]), torch.tensor([[0.2, 3.0]])  # F(y), F(ȳ) of M = 2 answers
        >>> PerceptronLoss()(positive, negatives)
        tensor(0.3000)
    """

    def forward(self, positive: Tensor, negatives: Tensor) -> Tensor:
        return perceptron_loss(positive, negatives, reduction=self.reduction)


class _MarginLoss(_PairLoss):
    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = _check_margin(margin, "margin")

    def extra_repr(self) -> str:
        return f"margin={self.margin}, reduction={self.reduction!r}"


class HingeLoss(_MarginLoss):
    """Module form of :func:`hinge_loss`.

    Example:
        >>> import torch
        >>> HingeLoss(margin=2.0)(torch.tensor([0.0]), torch.tensor([[1.0, 4.0]]))
        tensor(1.)
    """

    def forward(self, positive: Tensor, negatives: Tensor) -> Tensor:
        return hinge_loss(positive, negatives, margin=self.margin, reduction=self.reduction)


class LogLoss(_PairLoss):
    """Module form of :func:`log_loss`: :math:`L = \\log(1 + e^{F(y_i) - F(\\bar y_i)})`.

    Example:
        >>> import torch
        >>> positive, negatives = torch.tensor([0.5]), torch.tensor([[0.2, 3.0]])  # F(y), F(ȳ) of M = 2 answers
        >>> LogLoss()(positive, negatives)
        tensor(0.8544)
    """

    def forward(self, positive: Tensor, negatives: Tensor) -> Tensor:
        return log_loss(positive, negatives, reduction=self.reduction)


class SquareSquareLoss(_MarginLoss):
    """Module form of :func:`square_square_loss`: :math:`L = F(y_i)^2 + ([m - F(\\bar y_i)]^+)^2`.

    Example:
        >>> import torch
        >>> positive, negatives = torch.tensor([0.5]), torch.tensor([[0.2, 3.0]])  # F(y), F(ȳ) of M = 2 answers
        >>> SquareSquareLoss(margin=1.0)(positive, negatives)
        tensor(0.8900)
    """

    def forward(self, positive: Tensor, negatives: Tensor) -> Tensor:
        return square_square_loss(positive, negatives, margin=self.margin, reduction=self.reduction)


class SquareExpLoss(_PairLoss):
    """Module form of :func:`square_exp_loss`: :math:`L = F(y_i)^2 + \\gamma e^{-F(\\bar y_i)}`.

    Example:
        >>> import torch
        >>> positive, negatives = torch.tensor([0.5]), torch.tensor([[0.2, 3.0]])  # F(y), F(ȳ) of M = 2 answers
        >>> SquareExpLoss(gamma=1.0)(positive, negatives)
        tensor(1.0687)
    """

    def __init__(self, gamma: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.gamma = _check_margin(gamma, "gamma")

    def forward(self, positive: Tensor, negatives: Tensor) -> Tensor:
        return square_exp_loss(positive, negatives, gamma=self.gamma, reduction=self.reduction)


class MCELoss(_PairLoss):
    """Module form of :func:`mce_loss`: :math:`L = \\sigma(F(y_i) - F(\\bar y_i))`.

    Example:
        >>> import torch
        >>> positive, negatives = torch.tensor([0.5]), torch.tensor([[0.2, 3.0]])  # F(y), F(ȳ) of M = 2 answers
        >>> MCELoss()(positive, negatives)
        tensor(0.5744)
    """

    def forward(self, positive: Tensor, negatives: Tensor) -> Tensor:
        return mce_loss(positive, negatives, reduction=self.reduction)


class SimpleContrastiveLoss(_MarginLoss):
    """Module form of :func:`simple_contrastive_loss`: :math:`L = [F(y_i)]^+ + [m - F(\\bar y_i)]^+`.

    Example:
        >>> import torch
        >>> positive, negatives = torch.tensor([0.5]), torch.tensor([[0.2, 3.0]])  # F(y), F(ȳ) of M = 2 answers
        >>> SimpleContrastiveLoss(margin=1.0)(positive, negatives)
        tensor(1.3000)
    """

    def forward(self, positive: Tensor, negatives: Tensor) -> Tensor:
        return simple_contrastive_loss(positive, negatives, margin=self.margin, reduction=self.reduction)


class ContrastiveDivergenceLoss(_PairLoss):
    """Module form of :func:`contrastive_divergence_loss`: :math:`L = F(y_i) - \\frac1M \\sum_m F(\\bar y_{im})`.

    Example:
        >>> import torch
        >>> positive, negatives = torch.tensor([0.5]), torch.tensor([[0.2, 3.0]])  # F(y), F(ȳ) of M = 2 answers
        >>> ContrastiveDivergenceLoss()(positive, negatives)
        tensor(-1.1000)
    """

    def forward(self, positive: Tensor, negatives: Tensor) -> Tensor:
        return contrastive_divergence_loss(positive, negatives, reduction=self.reduction)
