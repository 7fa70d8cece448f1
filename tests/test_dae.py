"""Denoising autoencoder: corruptions' statistics, denoising on 2-D and digits, resume, CLI."""

from __future__ import annotations

import pytest
import torch

from ebmlab.cli import main
from ebmlab.models.dae import (
    DAEConfig,
    GaussianCorruption,
    MaskingCorruption,
    SaltAndPepperCorruption,
    make_corruption,
    train_dae,
)
from ebmlab.runs import RunDirectory


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


def test_corruption_bad_input():
    with pytest.raises(ValueError, match="p must be a probability"):
        MaskingCorruption(1.5)
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        GaussianCorruption(-1.0)
    with pytest.raises(ValueError, match="corruption must be one of"):
        make_corruption("blur", 0.1)
    with pytest.raises(ValueError, match="corruption must be one of"):
        DAEConfig(corruption="blur").resolved()


@pytest.fixture(scope="module")
def moons_fit():
    return train_dae(DAEConfig(data="moons", epochs=40, n_samples=2000, hidden=64, noise=0.4), show_progress=False)


def test_dae_field_points_back_to_the_manifold(moons_fit):
    generator = torch.Generator().manual_seed(1)
    clean = moons_fit.data[:500]
    noisy = clean + 0.4 * torch.randn(clean.shape, generator=generator)
    with torch.no_grad():
        denoised = moons_fit.model(noisy)
        # energy: low on the data, higher off it
        on, off = moons_fit.model.reconstruction_energy(clean), moons_fit.model.reconstruction_energy(noisy)
    # distance to the manifold (the nearest of 2,000 data points) shrinks
    before, nearest = torch.cdist(noisy, moons_fit.data).min(dim=1)
    after = torch.cdist(denoised, moons_fit.data).min(dim=1).values
    assert after.mean() < 0.5 * before.mean()
    assert off.mean() > 2 * on.mean()
    # the arrows Dec(Enc(ỹ)) − ỹ point towards the manifold
    far = before > 0.2
    towards = moons_fit.data[nearest] - noisy
    cosine = torch.nn.functional.cosine_similarity((denoised - noisy)[far], towards[far], dim=1)
    assert cosine.mean() > 0.7
    assert moons_fit.losses[-1] < moons_fit.losses[0]


def test_dae_on_digits_denoises_masking():
    fit = train_dae(DAEConfig(data="digits", corruption="masking", epochs=20, hidden=128), show_progress=False)
    assert fit.image_shape == (8, 8)
    generator = torch.Generator().manual_seed(2)
    clean = fit.data[:300]
    noisy = fit.corruption(clean, generator)
    with torch.no_grad():
        recon = fit.model(noisy)
    assert ((recon - clean).pow(2).sum(1).mean()) < 0.5 * ((noisy - clean).pow(2).sum(1).mean())


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    config = DAEConfig(data="rings", epochs=4, n_samples=256, hidden=16, checkpoint_every=2)
    full = train_dae(config, show_progress=False)
    run = RunDirectory(tmp_path)
    train_dae(DAEConfig(**{**config.__dict__, "epochs": 2}), run=run, show_progress=False)
    resumed = train_dae(config, run=run, resume=True, show_progress=False)
    assert resumed.losses == pytest.approx(full.losses, rel=1e-5)
    assert [row["epoch"] for row in run.read_metrics()] == [1, 2, 3, 4]


def test_cli_dae_2d_and_images(tmp_path, capsys):
    out = tmp_path / "toy"
    args = ["train", "dae", "--data", "moons", "--epochs", "2", "--n-samples", "200", "--out", str(out)]
    assert main([*args, "--no-progress"]) == 0
    assert (out / "reconstruction_field.png").exists() and (out / "config.json").exists()
    out = tmp_path / "digits"
    args = ["train", "dae", "--data", "digits", "--corruption", "salt-pepper", "--epochs", "1", "--out", str(out)]
    assert main([*args, "--no-progress"]) == 0
    assert (out / "reconstructions.png").exists() and (out / "checkpoint.safetensors").exists()
    assert main(["train", "dae", "--data", "blobs", "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert "image set" in capsys.readouterr().err
