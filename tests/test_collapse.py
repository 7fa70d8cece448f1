"""Collapse: the energy loss alone flattens the energy; a contrastive loss or a regulariser does not."""

from __future__ import annotations

import pytest
import torch

from ebmlab.cli import main
from ebmlab.inference import GradientDescent
from ebmlab.models.collapse import SHAPINGS, LinearLatentEnergy, energy_spread, train_collapse


def test_closed_form_free_energy_matches_inference():
    energy = LinearLatentEnergy(2, 3, ridge=0.3, seed=2)
    y = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        closed = energy.free_energy(y)
        at_best = energy(y, energy.best_latent(y))
    found = GradientDescent(step_size=0.05, max_iter=5000, tol=1e-7)(energy, y)
    torch.testing.assert_close(closed, at_best, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(closed, found.energy, atol=1e-4, rtol=1e-4)
    # ž minimises E: random perturbations only raise it
    z = energy.best_latent(y).detach()
    with torch.no_grad():
        assert (energy(y, z + 0.1 * torch.randn_like(z)) >= at_best - 1e-6).all()


@pytest.fixture(scope="module")
def fits():
    return {shaping: train_collapse(shaping, seed=0) for shaping in SHAPINGS}


def test_energy_loss_alone_collapses(fits):
    collapsed = fits["energy"]
    assert collapsed.spread < 0.02  # flat: off-manifold energy ≈ on-manifold energy ≈ 0
    assert collapsed.losses[-1] < 1e-2
    assert float(collapsed.model.weight.detach().norm()) > 10  # the decoder grew to reach the whole plane


@pytest.mark.parametrize("shaping", ["contrastive", "regularised"])
def test_contrast_or_regulariser_keep_energy_shaped(fits, shaping):
    assert fits[shaping].spread > 0.5
    assert fits[shaping].spread > 25 * fits["energy"].spread


def test_spread_shrinks_while_training_with_energy_loss():
    spreads = [train_collapse("energy", steps=steps).spread for steps in (20, 100, 300)]
    assert spreads[0] > spreads[1] > spreads[2]
    assert energy_spread(LinearLatentEnergy(seed=0)) > spreads[2]


def test_regulariser_turns_columns_to_the_manifold(fits):
    weight = fits["regularised"].model.weight.detach()
    direction = torch.tensor([0.8660254, 0.5])
    torch.testing.assert_close(weight.norm(dim=0), torch.ones(2))
    assert (direction @ weight).abs().min() > 0.95


def test_bad_input():
    with pytest.raises(ValueError, match="shaping must be one of"):
        train_collapse("magic")
    with pytest.raises(ValueError, match="beta=inf only"):
        LinearLatentEnergy().free_energy(torch.zeros(1, 2), beta=1.0)


def test_cli_collapse_demo(tmp_path, capsys):
    assert main(["train", "ebm2d", "--collapse-demo", "--out", str(tmp_path), "--no-progress"]) == 0
    assert (tmp_path / "collapse.png").stat().st_size > 0
    assert "energy spread" in capsys.readouterr().out
