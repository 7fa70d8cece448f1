"""Langevin dynamics and the replay buffer: statistics against analytic answers, determinism, errors."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ebmlab.samplers import (
    DivergedChainError,
    Langevin,
    ReplayBuffer,
    SampleResult,
    autograd_energy_and_grad,
    langevin,
)


def _gaussian(y: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((y - torch.tensor([1.0, -2.0])) / torch.tensor([1.0, 0.5])).pow(2).sum(1)


def test_sample_result_is_the_fixed_frozen_type():
    assert [f.name for f in dataclasses.fields(SampleResult)] == ["samples", "energy", "steps"]
    result = langevin(_gaussian, torch.zeros(3, 2), steps=2, step_size=0.01)
    assert isinstance(result, SampleResult) and result.steps == 2
    assert result.samples.shape == (3, 2) and result.energy.shape == (3,)
    torch.testing.assert_close(result.energy, _gaussian(result.samples))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.steps = 3


def test_langevin_targets_the_gibbs_distribution():
    # E = ½ Σ ((y − μ)/s)²: p ∝ exp(−E) is N(μ, diag(s²)); the Euler scheme's variance bias is O(η)
    generator = torch.Generator().manual_seed(0)
    result = langevin(_gaussian, torch.zeros(4000, 2), steps=400, step_size=0.02, generator=generator)
    mean, var = result.samples.mean(0), result.samples.var(0)
    torch.testing.assert_close(mean, torch.tensor([1.0, -2.0]), atol=0.06, rtol=0)
    torch.testing.assert_close(var, torch.tensor([1.0, 0.25]), atol=0.08, rtol=0.08)


def test_noise_free_langevin_is_gradient_descent():
    init = torch.tensor([[2.0, -1.0]])
    result = langevin(lambda y: 0.5 * y.pow(2).sum(1), init, steps=10, step_size=0.1, noise_scale=0.0)
    torch.testing.assert_close(result.samples, init * 0.9**10)


class _Analytic:
    """A quadratic energy with a hand-written gradient, to exercise the GradientEnergy path."""

    def __call__(self, y):
        return _gaussian(y)

    def energy_and_grad(self, y):
        return _gaussian(y), (y - torch.tensor([1.0, -2.0])) / torch.tensor([1.0, 0.25])


def test_analytic_and_autograd_paths_agree():
    init = torch.randn(50, 2, generator=torch.Generator().manual_seed(1))
    a = langevin(_Analytic(), init, steps=30, step_size=0.01, generator=torch.Generator().manual_seed(5))
    b = langevin(_gaussian, init, steps=30, step_size=0.01, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a.samples, b.samples)
    value, grad = autograd_energy_and_grad(_gaussian, init)
    torch.testing.assert_close(grad, _Analytic().energy_and_grad(init)[1])


def test_grad_clip_and_bounds():
    init = torch.zeros(4, 2)
    steep = lambda y: 1000.0 * y.sum(1)  # noqa: E731
    result = langevin(steep, init, steps=5, step_size=0.1, noise_scale=0.0, grad_clip=0.5)
    torch.testing.assert_close(result.samples, torch.full((4, 2), -5 * 0.1 * 0.5))
    result = langevin(steep, init, steps=50, step_size=0.1, noise_scale=0.0, bounds=(-1.0, 1.0))
    torch.testing.assert_close(result.samples, torch.full((4, 2), -1.0))


def test_init_is_not_modified_and_seed_reproduces():
    init = torch.ones(8, 2)
    first = langevin(_gaussian, init, steps=5, step_size=0.1, generator=torch.Generator().manual_seed(3))
    second = Langevin(steps=5, step_size=0.1)(_gaussian, init, torch.Generator().manual_seed(3))
    assert torch.equal(init, torch.ones(8, 2))
    torch.testing.assert_close(first.samples, second.samples)


def test_divergent_chain_names_step_and_step_size():
    explosive = lambda y: -y.pow(4).sum(1)  # noqa: E731
    with pytest.raises(DivergedChainError, match=r"step \d+ of 50 with step_size=0.5") as info:
        langevin(explosive, torch.ones(4, 2), steps=50, step_size=0.5, noise_scale=0.0)
    assert isinstance(info.value, ValueError)  # the CLI turns it into a one-line error
    first = int(str(info.value).split("step ")[1].split(" ")[0])
    assert 0 < first < 50


def test_nan_energy_at_start_is_step_zero():
    with pytest.raises(DivergedChainError, match="step 0 of"):
        langevin(_gaussian, torch.full((2, 2), float("nan")), steps=3, step_size=0.1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"steps": 0, "step_size": 0.1}, ValueError, "steps must be >= 1"),
        ({"steps": 2, "step_size": -0.1}, ValueError, "step_size must be > 0"),
        ({"steps": 2, "step_size": 0.1, "noise_scale": -1.0}, ValueError, "noise_scale must be >= 0"),
        ({"steps": 2, "step_size": 0.1, "grad_clip": 0.0}, ValueError, "grad_clip must be > 0"),
        ({"steps": 2, "step_size": 0.1, "bounds": (1.0, -1.0)}, ValueError, "low < high"),
        ({"steps": 2.5, "step_size": 0.1}, TypeError, "steps must be an integer"),
    ],
)
def test_langevin_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        langevin(_gaussian, torch.zeros(2, 2), **kwargs)


def test_langevin_bad_init_shape():
    with pytest.raises(ValueError, match=r"init must be a floating tensor of shape \(S, D\), got \(4,\)"):
        langevin(_gaussian, torch.zeros(4), steps=1, step_size=0.1)


def test_replay_buffer_restart_fraction_and_update():
    buffer = ReplayBuffer(1000, 2, reinit_prob=0.05, low=-1, high=1, seed=0)
    buffer.states.fill_(100.0)  # stored states lie far outside the noise box
    draw = buffer.draw(20_000)
    fresh = (draw.samples.abs() <= 1).all(1).float().mean().item()
    assert abs(fresh - 0.05) < 0.01  # binomial sd ≈ 0.0015
    stored = draw.samples[(draw.samples == 100.0).all(1)]
    assert stored.shape[0] + round(fresh * 20_000) == 20_000
    assert int(draw.index.max()) < 1000 and int(draw.index.min()) >= 0
    buffer.update(torch.zeros(5, 2), torch.arange(5))
    assert buffer.states[:5].abs().sum() == 0 and (buffer.states[5:] == 100.0).all()


def test_replay_buffer_without_restarts_and_initial_noise():
    buffer = ReplayBuffer(500, 3, reinit_prob=0.0, low=-2, high=3, seed=1)
    assert buffer.states.min() >= -2 and buffer.states.max() <= 3 and len(buffer) == 500
    draw = buffer.draw(64)
    torch.testing.assert_close(draw.samples, buffer.states[draw.index])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"capacity": 0, "dim": 2}, "capacity must be >= 1"),
        ({"capacity": 10, "dim": 2, "reinit_prob": 1.5}, "reinit_prob must be a probability"),
        ({"capacity": 10, "dim": 2, "low": 1.0, "high": 0.0}, "low < high"),
    ],
)
def test_replay_buffer_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReplayBuffer(**kwargs)


def test_replay_buffer_update_shape_checked():
    buffer = ReplayBuffer(10, 2)
    with pytest.raises(ValueError, match=r"samples must have shape \(3, 2\)"):
        buffer.update(torch.zeros(3, 3), torch.arange(3))
