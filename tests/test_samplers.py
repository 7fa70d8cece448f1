"""Samplers: every transition kernel through the one driver, Langevin dynamics, block Gibbs, AIS, the replay buffer,
and Bernoulli draws: statistics against analytic answers, determinism, errors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from ebmlab.samplers import (
    AISResult,
    BlockGibbsKernel,
    DivergedChainError,
    Langevin,
    LangevinKernel,
    ReplayBuffer,
    SampleResult,
    TransitionKernel,
    ais_betas,
    annealed_importance_sampling,
    autograd_energy_and_grad,
    bernoulli,
    langevin,
    run_chain,
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


# ----------------------------------------------------------------------------- kernels, the driver, AIS


def _gibbs_gaussian(rho: float = 0.6) -> BlockGibbsKernel:
    """(y, z) ~ N(0, [[1, ρ], [ρ, 1]]): each given the other is N(ρ ·, 1 − ρ²); the marginal of y is N(0, 1)."""

    def conditional(other, generator):
        return rho * other + math.sqrt(1 - rho**2) * torch.randn(other.shape, generator=generator)

    return BlockGibbsKernel(conditional, conditional, lambda y: 0.5 * y.pow(2).sum(1))


KERNELS = {
    "langevin": lambda: LangevinKernel(lambda y: 0.5 * y.pow(2).sum(1), step_size=0.02),
    "gibbs": _gibbs_gaussian,
}


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_every_kernel_samples_a_standard_gaussian_through_the_driver(name):
    # the contract test: run_chain of each kernel from a point mass reaches N(0, 1) (4 standard errors, O(η) bias)
    kernel = KERNELS[name]()
    assert isinstance(kernel, TransitionKernel)
    result = run_chain(kernel, torch.full((4000, 1), 3.0), 300, generator=torch.Generator().manual_seed(0))
    assert isinstance(result, SampleResult) and result.steps == 300 and result.samples.shape == (4000, 1)
    assert abs(float(result.samples.mean())) < 4 / math.sqrt(4000)
    assert abs(float(result.samples.var()) - 1.0) < 0.08
    torch.testing.assert_close(result.energy, 0.5 * result.samples.pow(2).sum(1))


def test_the_driver_reproduces_with_the_generator_and_leaves_init_alone():
    init = torch.ones(16, 2)
    runs = [run_chain(_gibbs_gaussian(), init, 5, generator=torch.Generator().manual_seed(1)) for _ in range(2)]
    assert torch.equal(runs[0].samples, runs[1].samples) and torch.equal(init, torch.ones(16, 2))
    assert run_chain(_gibbs_gaussian(), init, 0).samples.equal(init)  # zero steps: the init and its energy
    with pytest.raises(ValueError, match="steps must be >= 0"):
        run_chain(_gibbs_gaussian(), init, -1)
    with pytest.raises(TypeError, match="kernel must have step"):
        run_chain(lambda y: y, init, 1)


def test_the_driver_names_the_first_divergent_step_of_any_kernel():
    def doubling(y, generator):  # y ↦ 1e20 y: float32 overflows at the third step
        return 1e20 * y

    kernel = BlockGibbsKernel(doubling, lambda z, generator: z, lambda y: y.sum(1), advice="shrink the step")
    message = r"^Gibbs chain diverged: NaN or infinite states at step 2 of 5; shrink the step$"
    with pytest.raises(DivergedChainError, match=message):
        run_chain(kernel, torch.ones(3, 2), 5)
    with pytest.raises(DivergedChainError, match="at step 1 of 1"):  # only the final states are bad
        run_chain(kernel, torch.ones(3, 2) * 1e30, 1)


def test_ais_estimates_the_log_partition_of_a_gaussian():
    # p_β ∝ exp(−λ_β y²/2), λ_β = 1 − β + β/σ², drawn exactly at each β: Z_1/Z_0 = σ
    sigma, generator = 2.5, torch.Generator().manual_seed(0)

    def precision(beta):
        return 1 - beta + beta / sigma**2

    def free_energy(y, beta):
        return 0.5 * precision(beta) * y.pow(2).sum(1)

    def exact_kernel(beta):
        def draw(y, g):
            return precision(beta) ** -0.5 * torch.randn(y.shape, generator=g)

        return BlockGibbsKernel(draw, lambda z, g: z, lambda y: free_energy(y, beta))

    init = torch.randn(500, 1, generator=generator)
    result = annealed_importance_sampling(
        free_energy, exact_kernel, init, ais_betas(200), base_log_partition=0.5 * math.log(2 * math.pi),
        generator=generator,
    )
    exact = math.log(sigma * math.sqrt(2 * math.pi))
    assert isinstance(result, AISResult) and result.log_weights.shape == (500,) and result.n_betas == 200
    assert abs(result.log_partition - exact) < 4 * result.log_partition_std + 0.01
    with pytest.raises(ValueError, match="betas must increase"):
        annealed_importance_sampling(free_energy, exact_kernel, init, [0.0, 0.5, 0.5, 1.0], base_log_partition=0.0)


@pytest.mark.parametrize("source", ["torch", "numpy"])
def test_bernoulli_draws_have_the_requested_means(source):
    p = torch.linspace(0.0, 1.0, 5).repeat(8000, 1)  # (8000, 5)
    generator = torch.Generator().manual_seed(0) if source == "torch" else np.random.RandomState(0)
    means = bernoulli(p, generator).mean(0)
    assert torch.allclose(means, p[0], atol=4 * 0.5 / math.sqrt(8000))
    assert means[0] == 0.0 and means[-1] == 1.0
