"""2-D EBM: analytic MLP gradient vs autograd, toys and MMD, CD/PCD training quality, divergence, resume, CLI."""

from __future__ import annotations

import pytest
import torch

from ebmlab.cli import main
from ebmlab.data import TOYS, sample_toy
from ebmlab.losses import contrastive_divergence_loss
from ebmlab.metrics import gaussian_mmd
from ebmlab.models.ebm2d import EBM2DConfig, MLPEnergy, _training_step, train_ebm2d
from ebmlab.runs import RunDirectory
from ebmlab.samplers import DivergedChainError


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
        EBM2DConfig(method="nce").validated()
    with pytest.raises(ValueError, match="samples must be a tensor of shape"):
        gaussian_mmd(torch.zeros(1, 2), torch.zeros(5, 2))


@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_training_moves_samples_to_the_density(method):
    config = EBM2DConfig(toy="8gaussians", method=method, iterations=400, hidden=64, n_eval=1000, eval_steps=50)
    fit = train_ebm2d(config, show_progress=False)
    noise = torch.rand(1000, 2, generator=torch.Generator().manual_seed(0)) * 9 - 4.5
    reference = sample_toy("8gaussians", 1000, seed=7)
    # CD-k never runs chains far from the data, so its samples from noise are worse (a known weakness)
    assert fit.mmd < (0.5 if method == "pcd" else 0.8) * gaussian_mmd(noise, reference)
    assert abs(fit.mmd_baseline) < 0.002
    # the energy is lower on the data than on uniform noise
    with torch.no_grad():
        assert fit.model(reference).mean() < fit.model(noise).mean()


def test_divergent_chain_stops_training_with_a_clear_error():
    config = EBM2DConfig(
        iterations=5, hidden=8, buffer_size=64, batch_size=16, step_size=1e30, noise_scale=0.0, n_data=64
    )
    with pytest.raises(DivergedChainError, match=r"step \d+ of 20 with step_size=1e\+30"):
        train_ebm2d(config, show_progress=False)


def test_resume_continues_from_checkpoint(tmp_path):
    small = dict(hidden=8, buffer_size=128, batch_size=16, n_data=128, n_eval=64, eval_steps=2, log_every=5)
    full = train_ebm2d(EBM2DConfig(iterations=20, **small), show_progress=False)
    run = RunDirectory(tmp_path)
    train_ebm2d(EBM2DConfig(iterations=10, checkpoint_every=10, **small), run=run, show_progress=False)
    resumed = train_ebm2d(
        EBM2DConfig(iterations=20, checkpoint_every=10, **small), run=run, resume=True, show_progress=False
    )
    assert len(resumed.losses) == 20 and resumed.losses[:10] == pytest.approx(full.losses[:10])
    assert [row["step"] for row in run.read_metrics() if "loss" in row] == [5, 10, 15, 20]


def test_cli_ebm2d(tmp_path, capsys):
    args = [
        "train",
        "ebm2d",
        "--toy",
        "moons",
        "--iterations",
        "20",
        "--hidden",
        "16",
        "--buffer-size",
        "256",
        "--out",
        str(tmp_path),
        "--no-progress",
    ]
    assert main(args) == 0
    for name in ("energy.png", "samples.png", "training_curve.png", "config.json", "metrics.jsonl"):
        assert (tmp_path / name).exists(), name
    assert "MMD^2" in capsys.readouterr().out
    bad = [
        "train",
        "ebm2d",
        "--iterations",
        "2",
        "--step-size",
        "1e30",
        "--noise-scale",
        "0",
        "--hidden",
        "8",
        "--out",
        str(tmp_path / "bad"),
        "--no-progress",
    ]
    assert main(bad) == 2
    assert "step_size=1e+30" in capsys.readouterr().err
