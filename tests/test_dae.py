"""Denoising autoencoder: corruptions' statistics, denoising on 2-D and digits, held-out data, resume, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ebmlab.cli import main
from ebmlab.models.dae import GaussianCorruption, MaskingCorruption, SaltAndPepperCorruption, make_corruption
from ebmlab.recipes.dae import DAEConfig, DAERecipe
from ebmlab.training import RunDirectory, train


def train_dae(config, **kwargs):
    recipe = DAERecipe(config)
    train(recipe, progress=False, **kwargs)
    return recipe


def test_corruption_statistics():
    generator = torch.Generator().manual_seed(0)
    y = torch.full((400, 50), 0.5)
    noise = GaussianCorruption(0.3)(y, generator) - y
    assert abs(noise.std().item() - 0.3) < 0.01 and abs(noise.mean().item()) < 0.01
    masked = MaskingCorruption(0.25)(y, generator)
    assert abs((masked == 0).float().mean().item() - 0.25) < 0.01
    assert set(masked.unique().tolist()) == {0.0, 0.5}
    salted = SaltAndPepperCorruption(0.2)(y, generator)
    assert abs((salted != 0.5).float().mean().item() - 0.2) < 0.01
    assert abs((salted == 1.0).float().mean().item() - 0.1) < 0.01


def test_corruptions_describe_themselves():
    assert str(GaussianCorruption(0.5)) == "Gaussian noise, σ = 0.5"
    assert str(make_corruption("masking", 0.25)) == "masking noise, p = 0.25"
    assert "salt-and-pepper noise, p = 0.2" in str(SaltAndPepperCorruption(0.2))
    assert repr(GaussianCorruption(0.5)) == "GaussianCorruption(sigma=0.5)"


def test_corruption_bad_input():
    with pytest.raises(ValueError, match="p must be a probability"):
        MaskingCorruption(1.5)
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        GaussianCorruption(-1.0)
    with pytest.raises(ValueError, match="corruption must be one of"):
        make_corruption("blur", 0.1)
    with pytest.raises(ValueError, match="corruption must be one of"):
        DAEConfig(corruption="blur").resolved()


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("epochs", 0, "epochs must be >= 1"),
        ("lr", -1.0, "lr must be > 0"),
        ("noise", 1.5, "p must be a probability"),  # masking: a probability
        ("data", "nosuch", "data must be a 2-D toy"),
        ("n_samples", 0, "n_samples must be >= 1"),
    ],
)
def test_bad_config(field, value, message):
    with pytest.raises(ValueError, match=message):
        DAERecipe(DAEConfig(corruption="masking", **{field: value}))


@pytest.fixture(scope="module")
def moons_fit():
    return train_dae(DAEConfig(data="moons", epochs=40, n_samples=2000, hidden=64, noise=0.4)).fit()


def test_dae_field_points_back_to_the_manifold(moons_fit):
    generator = torch.Generator().manual_seed(1)
    clean = moons_fit.data[:500]
    noisy = clean + 0.4 * torch.randn(clean.shape, generator=generator)
    with torch.no_grad():
        denoised = moons_fit.model(noisy)
        # energy: low on the data, higher off it
        on, off = moons_fit.model.reconstruction_energy(clean), moons_fit.model.reconstruction_energy(noisy)
    # distance to the manifold (the nearest of 2,000 data points) shrinks; over seeds 0-2 it falls
    # to 0.41-0.52 of what it was, and the mean cosine below is 0.58-0.75 (0 for random directions)
    before, nearest = torch.cdist(noisy, moons_fit.data).min(dim=1)
    after = torch.cdist(denoised, moons_fit.data).min(dim=1).values
    assert after.mean() < 0.65 * before.mean()
    assert off.mean() > 2 * on.mean()
    # the arrows Dec(Enc(ỹ)) − ỹ point towards the manifold
    far = before > 0.2
    towards = moons_fit.data[nearest] - noisy
    cosine = torch.nn.functional.cosine_similarity((denoised - noisy)[far], towards[far], dim=1)
    assert cosine.mean() > 0.5
    assert moons_fit.losses[-1] < moons_fit.losses[0]


def test_dae_on_digits_denoises_masking():
    recipe = train_dae(DAEConfig(data="digits", corruption="masking", epochs=20, hidden=128))
    fit = recipe.fit()
    assert fit.image_shape == (8, 8)
    # a fifth of the 1,797 digits is held out, disjoint from the training images
    assert len(recipe.heldout) == round(0.2 * 1797) and len(fit.data) + len(recipe.heldout) == 1797
    assert torch.cdist(recipe.heldout, recipe.data).min() > 0
    generator = torch.Generator().manual_seed(2)
    clean = fit.data[:300]
    noisy = fit.corruption(clean, generator)
    with torch.no_grad():
        recon = fit.model(noisy)
    assert ((recon - clean).pow(2).sum(1).mean()) < 0.5 * ((noisy - clean).pow(2).sum(1).mean())
    # the held-out denoising loss is near the training loss (no overfitting at this size)
    metrics = recipe.evaluate()
    assert metrics["denoising_loss"] < 1.5 * fit.losses[-1]
    assert recipe.evaluate() == metrics  # the evaluation's corruptions do not change between calls


def test_evaluate_on_fresh_toy_points():
    recipe = DAERecipe(DAEConfig(data="rings", epochs=1, n_samples=300, hidden=16))
    assert tuple(recipe.data.shape) == (300, 2) and tuple(recipe.heldout.shape) == (1000, 2)
    with torch.no_grad():
        expected = recipe.model().reconstruction_energy(recipe.heldout).mean()
    assert recipe.evaluate()["reconstruction_energy"] == pytest.approx(float(expected), rel=1e-5)


def test_data_file_is_split_and_trained_on(tmp_path):
    points = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    np.save(tmp_path / "points.npy", points)
    recipe = train_dae(DAEConfig(data=str(tmp_path / "points.npy"), epochs=2, hidden=8, n_samples=30))
    assert tuple(recipe.data.shape) == (30, 3) and tuple(recipe.heldout.shape) == (10, 3)
    assert recipe.image_shape is None and recipe.plot(tmp_path / "figures")[0].name == "training_curve.png"


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    config = DAEConfig(data="rings", epochs=4, n_samples=256, hidden=16)
    full = train_dae(config)
    run = RunDirectory.create(tmp_path / "run", model="dae", config=config)
    train_dae(DAEConfig(**{**config.__dict__, "epochs": 2}), run=run)
    resumed = DAERecipe(config)
    train(resumed, run=run, resume_from=run.load_checkpoint(), progress=False)
    assert resumed.fit().losses == full.fit().losses
    for key, tensor in full.model().state_dict().items():
        assert torch.equal(tensor, resumed.model().state_dict()[key])
    assert [row["step"] for row in run.read_metrics()] == [1, 2, 3, 4]


def test_cli_dae_2d_and_images(tmp_path, capsys):
    out = tmp_path / "toy"
    args = ["train", "dae", "--data", "moons", "--epochs", "2", "--n-samples", "200", "--out", str(out)]
    assert main([*args, "--no-progress"]) == 0
    assert (out / "reconstruction_field.png").exists() and (out / "config.json").exists()
    assert "held-out points: reconstruction energy" in capsys.readouterr().out
    metrics = json.loads((out / "summary.json").read_text())["metrics"]
    assert {"loss", "reconstruction_energy", "denoising_loss"} <= set(metrics)
    out = tmp_path / "digits"
    args = ["train", "dae", "--data", "digits", "--corruption", "salt-pepper", "--epochs", "1", "--out", str(out)]
    assert main([*args, "--no-progress"]) == 0
    assert (out / "reconstructions.png").exists() and (out / "checkpoint.safetensors").exists()
    assert main(["train", "dae", "--data", "blobs.txt", "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert "data must be a 2-D toy" in capsys.readouterr().err


def test_cli_divergence_names_the_learning_rate(tmp_path, capsys):
    args = ["train", "dae", "--epochs", "5", "--n-samples", "256", "--hidden", "16", "--lr", "1e6"]
    assert main([*args, "--out", str(tmp_path / "run"), "--no-progress", "--no-plots"]) == 1
    assert "--lr" in capsys.readouterr().err
