"""Loss functionals: each formula against a direct implementation, gradcheck in float64, bad input."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd import gradcheck

from ebmlab import losses as L


def _energies(batch: int = 5, count: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    positive = torch.rand(batch, generator=generator, dtype=torch.float64) * 2
    negatives = torch.rand(batch, count, generator=generator, dtype=torch.float64) * 2
    return positive, negatives


def _loop(positive, negatives, per_example):
    """Direct per-example reference: python floats, explicit most-offending search."""
    out = []
    for i in range(positive.shape[0]):
        f_pos = float(positive[i])
        f_negs = [float(v) for v in negatives[i]]
        out.append(per_example(f_pos, f_negs))
    return torch.tensor(out, dtype=torch.float64)


M, GAMMA, BETA = 0.7, 1.3, 2.0
REFERENCES = {
    "perceptron": (L.perceptron_loss, {}, lambda p, n: p - min([p, *n])),
    "hinge": (L.hinge_loss, {"margin": M}, lambda p, n: max(0.0, M + p - min(n))),
    "log": (L.log_loss, {}, lambda p, n: math.log(1 + math.exp(p - min(n)))),
    "square_square": (L.square_square_loss, {"margin": M}, lambda p, n: p**2 + max(0.0, M - min(n)) ** 2),
    "square_exp": (L.square_exp_loss, {"gamma": GAMMA}, lambda p, n: p**2 + GAMMA * math.exp(-min(n))),
    "mce": (L.mce_loss, {}, lambda p, n: 1 / (1 + math.exp(-(p - min(n))))),
    "simple_contrastive": (L.simple_contrastive_loss, {"margin": M}, lambda p, n: max(0, p) + max(0, M - min(n))),
    "nll": (
        L.nll_loss,
        {"beta": BETA},
        lambda p, n: p + math.log(math.exp(-BETA * p) + sum(math.exp(-BETA * v) for v in n)) / BETA,
    ),
    "contrastive_divergence": (L.contrastive_divergence_loss, {}, lambda p, n: p - sum(n) / len(n)),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_formula_matches_direct_implementation(name):
    function, kwargs, reference = REFERENCES[name]
    positive, negatives = _energies()
    positive[0] = -0.5  # exercise the [F(y)]^+ branch of the simple contrastive loss
    expected = _loop(positive, negatives, reference)
    got = function(positive, negatives, reduction="none", **kwargs)
    assert got.shape == (5,)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(function(positive, negatives, **kwargs), expected.mean())
    torch.testing.assert_close(function(positive, negatives, reduction="sum", **kwargs), expected.sum())


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_gradcheck(name):
    function, kwargs, _ = REFERENCES[name]
    positive, negatives = _energies(3, 4, seed=1)
    # keep the hinges away from their kinks so finite differences are valid
    positive = (positive + 0.05).requires_grad_(True)
    negatives = negatives.requires_grad_(True)
    assert gradcheck(lambda p, n: function(p, n, reduction="none", **kwargs), (positive, negatives))


def test_energy_loss_and_gradcheck():
    positive, _ = _energies()
    torch.testing.assert_close(L.energy_loss(positive), positive.mean())
    assert gradcheck(lambda p: L.energy_loss(p, reduction="none"), (positive.requires_grad_(True),))


def test_nll_over_finite_set_is_log_softmax():
    generator = torch.Generator().manual_seed(3)
    energies = torch.randn(6, 5, generator=generator, dtype=torch.float64)
    correct = torch.tensor([0, 1, 2, 3, 4, 0])
    positive = energies.gather(1, correct.unsqueeze(1)).squeeze(1)
    keep = torch.ones_like(energies, dtype=torch.bool).scatter_(1, correct.unsqueeze(1), False)
    negatives = energies[keep].reshape(6, 4)
    for beta in (0.5, 1.0, 3.0):
        expected = -torch.log_softmax(-beta * energies, dim=1).gather(1, correct.unsqueeze(1)).squeeze(1) / beta
        torch.testing.assert_close(L.nll_loss(positive, negatives, beta=beta, reduction="none"), expected)


def test_nll_sample_estimate_of_partition():
    # F(y) = y^2 / 2 on R: log ∫ exp(-F) = log sqrt(2π). Uniform samples on [-8, 8] with log_volume = log(16/(M+1)).
    generator = torch.Generator().manual_seed(0)
    count = 200_000
    samples = 16 * torch.rand(1, count, generator=generator, dtype=torch.float64) - 8
    positive = torch.zeros(1, dtype=torch.float64)
    loss = L.nll_loss(positive, samples.pow(2) / 2, beta=1.0, log_volume=math.log(16 / (count + 1)))
    assert abs(float(loss) - 0.5 * math.log(2 * math.pi)) < 0.01


def test_hinge_margin_zero_when_satisfied():
    positive = torch.tensor([0.0, 0.0])
    negatives = torch.tensor([[1.0, 5.0], [0.4, 9.0]])
    torch.testing.assert_close(
        L.hinge_loss(positive, negatives, margin=1.0, reduction="none"), torch.tensor([0.0, 0.6])
    )


def test_modules_match_functions():
    positive, negatives = _energies()
    pairs = [
        (L.NLLLoss(beta=BETA), lambda p, n: L.nll_loss(p, n, beta=BETA)),
        (L.PerceptronLoss(), L.perceptron_loss),
        (L.HingeLoss(margin=M), lambda p, n: L.hinge_loss(p, n, margin=M)),
        (L.LogLoss(), L.log_loss),
        (L.SquareSquareLoss(margin=M), lambda p, n: L.square_square_loss(p, n, margin=M)),
        (L.SquareExpLoss(gamma=GAMMA), lambda p, n: L.square_exp_loss(p, n, gamma=GAMMA)),
        (L.MCELoss(), L.mce_loss),
        (L.SimpleContrastiveLoss(margin=M), lambda p, n: L.simple_contrastive_loss(p, n, margin=M)),
        (L.ContrastiveDivergenceLoss(), L.contrastive_divergence_loss),
        (L.EnergyLoss(), lambda p, n: L.energy_loss(p)),
    ]
    for module, function in pairs:
        torch.testing.assert_close(module(positive, negatives), function(positive, negatives))
    assert L.HingeLoss(reduction="none")(positive, negatives).shape == (5,)


def test_most_offending_incorrect_discrete_and_continuous():
    energies = torch.tensor([[0.1, 0.5, 2.0], [3.0, 1.0, 0.2]], requires_grad=True)
    found = L.most_offending_incorrect(energies, correct_index=torch.tensor([0, 2]))
    assert found.index.tolist() == [1, 1]
    found.energy.sum().backward()
    assert energies.grad.tolist() == [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    # continuous: candidates within the distance margin of the correct answer are not incorrect
    distance = torch.tensor([[0.05, 0.2, 1.0], [0.5, 0.01, 0.02]])
    found = L.most_offending_incorrect(energies.detach(), distance=distance, margin=0.1)
    assert found.index.tolist() == [1, 0]
    with pytest.raises(ValueError, match="example 0"):
        L.most_offending_incorrect(energies.detach(), distance=distance, margin=1.0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: L.hinge_loss(torch.zeros(3), torch.zeros(2, 4)), r"negatives must have shape \(B, M\) = \(3"),
        (lambda: L.hinge_loss(torch.zeros(3, 1), torch.zeros(3, 4)), "positive must have shape"),
        (lambda: L.hinge_loss(torch.zeros(3), torch.zeros(3, 4), margin=-1.0), "margin must be"),
        (lambda: L.hinge_loss(torch.zeros(3), torch.zeros(3, 4), reduction="avg"), "reduction must be one of"),
        (lambda: L.nll_loss(torch.zeros(3), torch.zeros(3, 4), beta=0.0), "beta must be"),
        (lambda: L.log_loss(torch.zeros(3), torch.zeros(3, 0)), "M >= 1"),
        (lambda: L.HingeLoss(reduction="max"), "reduction must be one of"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_integer_energies_rejected():
    with pytest.raises(TypeError, match="floating-point"):
        L.perceptron_loss(torch.zeros(2, dtype=torch.int64), torch.zeros(2, 3))
