"""The lecture's ellipse: data, energies, and the training targets of the foundation issue."""

import math
import os
import signal

import pytest
import torch

from ebmlab.data import ellipse_radius, make_ellipse
from ebmlab.models.ellipse import ConditionalEllipseEnergy, EllipseEnergy
from ebmlab.recipes.ellipse import EllipseConfig, EllipseRecipe
from ebmlab.training import Interrupted, RunDirectory, train


def train_ellipse(config, **kwargs):
    recipe = EllipseRecipe(config)
    train(recipe, progress=False, **kwargs)
    return recipe.fit()


def test_data_follows_the_lecture_formula():
    data = make_ellipse(20_000, seed=3, dtype=torch.float64)
    clean = torch.tensor([2.0, 1.5]) * torch.stack([data.theta.cos(), data.theta.sin()], 1)
    noise = data.y - clean
    assert abs(float(noise.std()) - 1 / 20) < 1e-3
    assert abs(float(noise.mean())) < 1e-3
    conditional = make_ellipse(5000, conditional=True, seed=1)
    grid = conditional.x * 50
    assert torch.allclose(grid, grid.round(), atol=1e-4) and grid.min() == 0 and grid.max() == 50
    assert torch.allclose(ellipse_radius(torch.ones(1, 1)), torch.tensor([[1.5, 2.0]]) * math.exp(2))


def test_free_energy_matches_enumeration_over_the_grid():
    energy = EllipseEnergy(w=(1.3, 0.7))
    y = torch.randn(9, 2, dtype=torch.float64)
    grid = torch.arange(48, dtype=torch.float64) * math.pi / 24
    brute = torch.stack([(y[:, 0] - 1.3 * math.cos(z)) ** 2 + (y[:, 1] - 0.7 * math.sin(z)) ** 2 for z in grid], 1)
    for beta in (0.5, 3.0):
        expected = -(torch.logsumexp(-beta * brute, 1) - math.log(48)) / beta
        assert torch.allclose(energy.double().free_energy(y, beta).detach(), expected, atol=1e-10)
    assert torch.allclose(energy.free_energy(y, math.inf).detach(), brute.amin(1), atol=1e-10)


def test_unconditional_recovers_the_radii():
    fit = train_ellipse(EllipseConfig())
    w1, w2 = fit.model.w.tolist()
    assert abs(w1 - 2.0) < 0.05 and abs(w2 - 1.5) < 0.05


def test_finite_beta_training_runs_and_is_close():
    fit = train_ellipse(EllipseConfig(beta=10.0, epochs=60))
    w1, w2 = fit.model.w.tolist()
    # at finite β the soft-min pulls the manifold slightly inwards; it stays near the data
    assert abs(w1 - 2.0) < 0.1 and abs(w2 - 1.5) < 0.1


@pytest.mark.slow
def test_conditional_radii_within_5_percent():
    fit = train_ellipse(EllipseConfig(conditional=True))
    x = torch.arange(51, dtype=torch.float32).unsqueeze(1) / 50
    with torch.no_grad():
        radius = fit.model.radius(x).abs()  # the energy is invariant to the sign of f
    relative = (radius - ellipse_radius(x)).abs() / ellipse_radius(x)
    assert float(relative.max()) < 0.05


def test_sigint_checkpoints_and_resume_reproduces_an_uninterrupted_run(tmp_path):
    """SIGINT mid-run: the loop finishes the epoch, checkpoints, raises Interrupted; --resume ends equal."""
    config = EllipseConfig(epochs=20, n_init=2)
    straight = EllipseRecipe(config)
    train(straight, run=RunDirectory.create(tmp_path / "straight", model="ellipse", config=config), progress=False)

    class Interrupting(EllipseRecipe):
        def step(self, index):
            if index == 27:  # in the second restart
                os.kill(os.getpid(), signal.SIGINT)
            return super().step(index)

    run = RunDirectory.create(tmp_path / "interrupted", model="ellipse", config=config)
    with pytest.raises(Interrupted) as stopped:
        train(Interrupting(config), run=run, checkpoint_every=5, progress=False)
    assert stopped.value.step == 28 and run.load_checkpoint().step == 28
    resumed = EllipseRecipe(config)
    train(resumed, run=run, resume_from=run.load_checkpoint(), progress=False)
    assert torch.equal(resumed.model().w, straight.model().w)
    assert resumed.best_losses == straight.best_losses
    assert [row["step"] for row in run.read_metrics()] == list(range(1, 41))


def test_conditional_energy_needs_x():
    with pytest.raises(ValueError, match="needs the input x"):
        ConditionalEllipseEnergy()(torch.zeros(2, 2), torch.zeros(2, 1))


@pytest.mark.parametrize(
    "field,value,message",
    [("beta", 0.0, "beta must be > 0"), ("epochs", 0, "epochs must be >= 1"), ("lr", -1.0, "lr must be > 0")],
)
def test_bad_config(field, value, message):
    with pytest.raises(ValueError, match=message):
        EllipseConfig(**{field: value}).resolved()
