"""Collapse: the energy loss alone flattens the energy; a contrastive loss or a regulariser does not."""

from __future__ import annotations

import pytest
import torch

from ebmlab.cli import main
from ebmlab.inference import GradientDescent
from ebmlab.losses import energy_loss, simple_contrastive_loss
from ebmlab.models.collapse import (
    BOX,
    SHAPINGS,
    LinearLatentEnergy,
    energy_spread,
    line_data,
    shaping_loss,
    uniform_negatives,
)
from ebmlab.recipes.collapse import CollapseConfig, CollapseRecipe
from ebmlab.training import Diverged, RunDirectory, train


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
def trained(tmp_path_factory):
    """The default run (300 epochs of all three shapings), with its metrics.jsonl."""
    config = CollapseConfig()
    run = RunDirectory.create(tmp_path_factory.mktemp("collapse") / "run", model="collapse", config=config)
    recipe = CollapseRecipe(config)
    train(recipe, run=run, checkpoint_every=100, log_every=recipe.log_every, progress=False)
    return recipe, run.read_metrics()


def test_energy_loss_alone_collapses(trained):
    recipe, _ = trained
    spreads = recipe.evaluate()
    assert spreads["spread_energy"] < 0.02  # flat: off-manifold energy ≈ on-manifold energy ≈ 0
    assert float(recipe.losses()[-1, SHAPINGS.index("energy")]) < 1e-2
    assert float(recipe.model()["energy"].weight.detach().norm()) > 10  # the decoder grew to reach the whole plane


@pytest.mark.parametrize("shaping", ["contrastive", "regularised"])
def test_contrast_or_regulariser_keep_energy_shaped(trained, shaping):
    spreads = trained[0].evaluate()
    assert spreads[f"spread_{shaping}"] > 0.5
    assert spreads[f"spread_{shaping}"] > 25 * spreads["spread_energy"]


def test_spread_shrinks_while_training_with_energy_loss(trained):
    recipe, rows = trained
    spreads = {row["step"]: row["spread_energy"] for row in rows}
    assert spreads[20] > spreads[100] > spreads[300]
    assert energy_spread(LinearLatentEnergy(seed=0)) > spreads[300]
    assert spreads[300] == pytest.approx(energy_spread(recipe.model()["energy"]), rel=1e-6)
    assert [row["step"] for row in rows] == list(range(10, 301, 10))


def test_regulariser_turns_columns_to_the_manifold(trained):
    weight = trained[0].model()["regularised"].weight.detach()
    direction = torch.tensor([0.8660254, 0.5])
    torch.testing.assert_close(weight.norm(dim=0), torch.ones(2))
    assert (direction @ weight).abs().min() > 0.95


def test_shapings_trained_side_by_side_match_a_plain_loop():
    """Each shaping of the recipe is exactly a plain full-batch Adam loop on its own loss."""
    epochs, n_samples, n_negatives = 15, 60, 4
    recipe = CollapseRecipe(CollapseConfig(epochs=epochs, n_samples=n_samples, n_negatives=n_negatives))
    train(recipe, progress=False)
    data = line_data(n_samples, seed=0)
    for shaping in SHAPINGS:
        model = LinearLatentEnergy(2, 2, ridge=0.5, seed=0)
        if shaping == "regularised":
            model.normalise_columns()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.1, betas=(0.9, 0.9))
        generator = torch.Generator().manual_seed(1)
        for _ in range(epochs):
            positive = model.free_energy(data)
            if shaping == "contrastive":
                negatives = (2 * torch.rand(n_samples * n_negatives, 2, generator=generator) - 1) * BOX
                negative = model.free_energy(negatives).reshape(n_samples, n_negatives)
                loss = simple_contrastive_loss(positive, negative, margin=1.0)
            else:
                loss = energy_loss(positive)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if shaping == "regularised":
                model.normalise_columns()
        trained_model = recipe.model()[shaping]
        assert torch.equal(trained_model.weight, model.weight) and torch.equal(trained_model.bias, model.bias), shaping


def test_large_learning_rate_diverges_naming_it():
    with pytest.raises(Diverged, match=r"diverged at epoch \d+: .*; lower --lr \(now ") as error:
        train(CollapseRecipe(CollapseConfig(epochs=30, n_samples=50, lr=1e6)), progress=False)
    assert error.value.setting == "--lr"


def test_bad_input():
    with pytest.raises(ValueError, match="shaping must be one of"):
        shaping_loss(LinearLatentEnergy(), line_data(4), "magic")
    with pytest.raises(ValueError, match="needs negatives of shape"):
        shaping_loss(LinearLatentEnergy(), line_data(4), "contrastive", uniform_negatives(6))
    with pytest.raises(ValueError, match="beta=inf only"):
        LinearLatentEnergy().free_energy(torch.zeros(1, 2), beta=1.0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        CollapseRecipe(CollapseConfig(lr=0.0))


def test_cli_collapse(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "collapse", "--epochs", "30", "--n-samples", "100", "--out", str(out), "--no-progress"]) == 0
    assert (out / "collapse.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "collapse: 30 epochs; energy spread off the manifold" in printed
    assert all(shaping in printed for shaping in SHAPINGS)
    with pytest.raises(SystemExit) as stopped:  # the demo left ebm2d
        main(["train", "ebm2d", "--collapse-demo"])
    assert stopped.value.code == 2
