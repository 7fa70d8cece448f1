"""2-D EBM: analytic MLP gradient vs autograd, toys and MMD, CD/PCD training quality, divergence, resume, CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from ebmlab.cli import main
from ebmlab.data import TOYS, sample_toy
from ebmlab.losses import contrastive_divergence_loss
from ebmlab.metrics import gaussian_mmd
from ebmlab.models.ebm2d import MLPEnergy, _training_step
from ebmlab.recipes import load_run
from ebmlab.recipes.ebm2d import EBM2DConfig, EBM2DRecipe
from ebmlab.training import Diverged, RunDirectory, train

SMALL = dict(hidden=8, buffer_size=128, batch_size=16, n_data=128, n_eval=64, eval_steps=2)


def train_ebm2d(config, **kwargs):
    recipe = EBM2DRecipe(config)
    train(recipe, progress=False, log_every=recipe.log_every, **kwargs)
    return recipe


@pytest.mark.parametrize("hidden", [(7,), (16, 16), (8, 12, 5)])
def test_analytic_gradient_matches_autograd(hidden):
    energy = MLPEnergy(3, hidden, seed=1).double()
    y = torch.randn(11, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    value, grad = energy.energy_and_grad(y)
    y_auto = y.clone().requires_grad_(True)
    auto_value = energy(y_auto)
    (auto_grad,) = torch.autograd.grad(auto_value.sum(), y_auto)
    torch.testing.assert_close(value, auto_value.detach())
    torch.testing.assert_close(grad, auto_grad)
    assert all(p.grad is None for p in energy.parameters())  # no parameter gradients were built


@pytest.mark.parametrize("energy_reg", [0.0, 0.1])
def test_hand_written_training_step_equals_autograd(energy_reg):
    positive, negative = torch.randn(32, 2), torch.randn(32, 2) * 2
    ours, reference = MLPEnergy(2, (16, 8), seed=3), MLPEnergy(2, (16, 8), seed=3)
    sgd = torch.optim.SGD(ours.parameters(), lr=0.1)
    loss = _training_step(ours, sgd, positive, negative, energy_reg)
    energies = reference(torch.cat([positive, negative]))
    e_pos, e_neg = energies.split(32)
    expected = contrastive_divergence_loss(e_pos, e_neg.unsqueeze(1)) + energy_reg * 2 * energies.pow(2).mean()
    expected.backward()
    assert torch.allclose(loss, expected.detach(), atol=1e-6)
    for mine, theirs in zip(ours.parameters(), reference.parameters(), strict=True):
        assert torch.allclose(mine.grad, theirs.grad, atol=1e-6)
        assert torch.allclose(mine.detach(), (theirs - 0.1 * theirs.grad).detach(), atol=1e-6)  # the step taken


@pytest.mark.parametrize("toy", TOYS)
def test_toys_are_seeded_and_distinct(toy):
    a, b = sample_toy(toy, 600, seed=0), sample_toy(toy, 600, seed=0)
    assert a.shape == (600, 2) and torch.equal(a, b)
    assert a.abs().max() < 5.0
    other = sample_toy(toy, 600, seed=1)
    assert abs(gaussian_mmd(a, other)) < 0.01
    different = sample_toy("moons" if toy != "moons" else "rings", 600, seed=0)
    assert gaussian_mmd(a, different) > 5 * abs(gaussian_mmd(a, other))


def test_mmd_matches_direct_formula():
    a = torch.randn(7, 2, generator=torch.Generator().manual_seed(0))
    b = torch.randn(5, 2, generator=torch.Generator().manual_seed(1)) + 0.5
    k = lambda u, v: torch.exp(-((u - v) ** 2).sum() / (2 * 0.7**2))  # noqa: E731
    aa = sum(k(a[i], a[j]) for i in range(7) for j in range(7) if i != j) / 42
    bb = sum(k(b[i], b[j]) for i in range(5) for j in range(5) if i != j) / 20
    ab = sum(k(a[i], b[j]) for i in range(7) for j in range(5)) / 35
    assert gaussian_mmd(a, b, bandwidth=0.7) == pytest.approx(float(aa + bb - 2 * ab), rel=1e-6)


def test_bad_toy_and_config():
    with pytest.raises(ValueError, match="toy must be one of"):
        sample_toy("swissroll", 10)
    with pytest.raises(ValueError, match="method must be one of"):
        EBM2DRecipe(EBM2DConfig(method="nce"))
    with pytest.raises(ValueError, match="step_size must be > 0"):
        EBM2DRecipe(EBM2DConfig(step_size=0.0))
    with pytest.raises(ValueError, match="n_eval must be >= 2"):
        EBM2DRecipe(EBM2DConfig(n_eval=1))
    with pytest.raises(ValueError, match="samples must be a tensor of shape"):
        gaussian_mmd(torch.zeros(1, 2), torch.zeros(5, 2))


@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_training_moves_samples_to_the_density(method):
    config = EBM2DConfig(toy="8gaussians", method=method, steps=400, hidden=64, n_eval=1000, eval_steps=50)
    fit = train_ebm2d(config).fit()
    noise = torch.rand(1000, 2, generator=torch.Generator().manual_seed(0)) * 9 - 4.5
    reference = sample_toy("8gaussians", 1000, seed=7)
    # CD-k never runs chains far from the data, so its samples from noise are worse (a known weakness)
    assert fit.mmd < (0.5 if method == "pcd" else 0.8) * gaussian_mmd(noise, reference)
    assert abs(fit.mmd_baseline) < 0.002
    assert len(fit.losses) == 400 and fit.samples.shape == (1000, 2)
    # the energy is lower on the data than on uniform noise
    with torch.no_grad():
        assert fit.model(reference).mean() < fit.model(noise).mean()


def test_step_returns_a_device_tensor_and_keeps_every_loss():
    recipe = EBM2DRecipe(EBM2DConfig(steps=3, **SMALL))
    metrics = recipe.step(0)
    assert isinstance(metrics["loss"], torch.Tensor) and metrics["loss"].ndim == 0  # no host sync per step
    assert metrics["epoch"] == pytest.approx(16 / 128)
    recipe.step(1)
    assert recipe.losses().shape == (2,) and float(recipe.losses()[0]) == float(metrics["loss"])


def test_non_finite_chain_names_the_step_size():
    recipe = EBM2DRecipe(EBM2DConfig(steps=5, step_size=1e3, noise_scale=0.0, **SMALL))
    with torch.no_grad():
        recipe.energy.output.weight.mul_(1e36)  # energies and gradients overflow after one Langevin step
    recipe.initial_scale *= 1e36  # (as if the model had been initialised so)
    message = r"diverged at step 1: a Langevin chain reached a NaN or infinite energy at step \d+ of 20; lower --step"
    with pytest.raises(Diverged, match=message) as error:
        train(recipe, progress=False)
    assert error.value.setting == "--step-size" and error.value.step == 1


@pytest.mark.parametrize("step_size", [1e6, 1e30])
def test_escaping_chains_name_the_step_size(step_size):
    """Huge Langevin steps may keep the energies finite but throw the chains far off: caught before the
    update that would use them (which would turn the parameters to NaN)."""
    config = EBM2DConfig(steps=60, step_size=step_size, noise_scale=0.0, **SMALL)
    message = r"diverged at step 1: Langevin chains ran to \|y\| = .*, beyond 450; lower --step-size \(now "
    with pytest.raises(Diverged, match=message + re.escape(f"{step_size:g})")) as error:
        train_ebm2d(config)
    assert error.value.setting == "--step-size"


def test_exploding_parameters_name_the_learning_rate():
    """With lr = 1e6 the chains diverge too, but only because Adam blew the energy up."""
    with pytest.raises(Diverged, match=r"parameters grew .*; lower --lr \(now 1e\+06\)") as error:
        train_ebm2d(EBM2DConfig(steps=60, lr=1e6, **SMALL))
    assert error.value.setting == "--lr"


@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_extended_budget_resumes_exactly(tmp_path, method):
    """20 steps straight equal 10 steps, a checkpoint, and 10 more (generators, buffer, Adam restored)."""
    straight = train_ebm2d(EBM2DConfig(method=method, steps=20, **SMALL))
    config = EBM2DConfig(method=method, steps=10, **SMALL)
    run = RunDirectory.create(tmp_path / "run", model="ebm2d", config=config)
    train_ebm2d(config, run=run, checkpoint_every=5)
    resumed = EBM2DRecipe(EBM2DConfig(method=method, steps=20, **SMALL))
    train(resumed, run=run, resume_from=run.load_checkpoint(), log_every=5, progress=False)
    for key, tensor in straight.energy.state_dict().items():
        assert torch.equal(tensor, resumed.energy.state_dict()[key]), key
    assert torch.equal(straight.losses(), resumed.losses())
    if method == "pcd":
        assert torch.equal(straight.buffer.states, resumed.buffer.states)
    assert torch.equal(straight.sample(8, seed=3), resumed.sample(8, seed=3))


def test_cli_ebm2d(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "ebm2d", "--toy", "moons", "--steps", "20", "--hidden", "16", "--buffer-size", "256"]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    for name in ("energy.png", "samples.png", "training_curve.png", "config.json", "metrics.jsonl", "summary.json"):
        assert (out / name).exists(), name
    printed = capsys.readouterr().out
    assert "ebm2d: 20 steps; MMD^2 of 2000 samples to the true moons density" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["unit"] == "step" and "mmd" in summary["metrics"]
    assert load_run(out).model.layers[0].weight.shape == (16, 2)
    assert main(["sample", str(out), "-n", "16", "--out", str(tmp_path / "s.png")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (16, 2)
    bad = ["train", "ebm2d", "--steps", "2", "--step-size", "1e30", "--noise-scale", "0", "--hidden", "8"]
    assert main([*bad, "--out", str(tmp_path / "bad"), "--no-progress"]) == 1
    assert "lower --step-size (now 1e+30)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:  # --iterations became --steps
        main(["train", "ebm2d", "--iterations", "5"])
    assert stopped.value.code == 2
