"""Figures of the contrastive methods: DAE reconstruction fields, 2-D EBM energies and samples, collapse."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from . import energy_grid, image_grid, pyplot, save_figure, training_curve

__all__ = [
    "plot_collapse",
    "plot_dae",
    "plot_dae_field",
    "plot_dae_images",
    "plot_ebm2d",
    "plot_ebm2d_energy",
    "plot_ebm2d_samples",
]


def _window(points: np.ndarray, pad: float = 0.15) -> tuple[tuple[float, float], tuple[float, float]]:
    low, high = points.min(0), points.max(0)
    span = (high - low) * pad
    return (float(low[0] - span[0]), float(high[0] + span[0])), (float(low[1] - span[1]), float(high[1] + span[1]))


# ----------------------------------------------------------------------------------------------- DAE


def plot_dae_field(fit, path: Path, resolution: int = 25) -> Path:
    """Reconstruction field Dec(Enc(y)) − y on a grid over the reconstruction energy, with the data."""
    plt = pyplot()
    data = fit.data.numpy()
    xlim, ylim = _window(data)
    fig, ax = plt.subplots(figsize=(6, 5.5))
    gx, gy, energy = energy_grid(fit.model.reconstruction_energy, xlim, ylim, resolution=150)
    mesh = ax.contourf(gx, gy, np.log10(energy + 1e-4), levels=30, cmap="viridis")
    fig.colorbar(mesh, ax=ax, shrink=0.8, label="log10 ‖y − Dec(Enc(y))‖²")
    ax.scatter(data[:, 0], data[:, 1], s=2, color="white", alpha=0.35)
    xs, ys = np.linspace(*xlim, resolution), np.linspace(*ylim, resolution)
    qx, qy = np.meshgrid(xs, ys)
    points = torch.tensor(np.stack([qx.ravel(), qy.ravel()], 1), dtype=torch.float32)
    with torch.no_grad():
        arrows = (fit.model(points) - points).numpy()
    ax.quiver(
        qx.ravel(),
        qy.ravel(),
        arrows[:, 0],
        arrows[:, 1],
        color="tab:red",
        angles="xy",
        scale_units="xy",
        scale=1.0,
        width=0.003,
    )
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_aspect("equal")
    ax.set_title(f"DAE ({fit.corruption!r}): arrows Dec(Enc(y)) − y point back to the data")
    return save_figure(fig, path)


def plot_dae_images(fit, path: Path, count: int = 16, seed: int = 0) -> Path:
    """Three rows of images: clean y, corrupted ỹ, reconstruction Dec(Enc(ỹ))."""
    generator = torch.Generator().manual_seed(seed)
    pick = torch.randperm(fit.data.shape[0], generator=generator)[:count]
    clean = fit.data[pick]
    noisy = fit.corruption(clean, generator)
    with torch.no_grad():
        recon = fit.model(noisy)
    height, width = fit.image_shape
    rows = torch.cat([clean, noisy.clamp(0, 1), recon]).reshape(-1, height, width)
    return image_grid(rows, path, columns=count, title="clean / corrupted / reconstructed")


def plot_dae(fit, out: Path) -> list[Path]:
    """Every DAE figure into ``out``."""
    out = Path(out)
    paths = [training_curve(fit.losses, out / "training_curve.png", ylabel="mean ‖y − Dec(Enc(ỹ))‖²", log=True)]
    if fit.image_shape is None:
        paths.append(plot_dae_field(fit, out / "reconstruction_field.png"))
    else:
        paths.append(plot_dae_images(fit, out / "reconstructions.png"))
    return paths


# ----------------------------------------------------------------------------------------------- 2-D EBM


def plot_ebm2d_energy(fit, path: Path) -> Path:
    """The learned energy E(y) and the unnormalised density exp(−E(y)) over the toy's window."""
    plt = pyplot()
    data = fit.data.numpy()
    xlim = ylim = (-4.5, 4.5)
    gx, gy, energy = energy_grid(fit.model, xlim, ylim, resolution=200)
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    mesh = axes[0].contourf(gx, gy, energy, levels=40, cmap="viridis")
    fig.colorbar(mesh, ax=axes[0], shrink=0.8)
    axes[0].scatter(data[:2000, 0], data[:2000, 1], s=1, color="white", alpha=0.3)
    axes[0].set_title("energy E(y) with data")
    density = np.exp(-(energy - energy.min()))
    axes[1].imshow(density, origin="lower", extent=(*xlim, *ylim), cmap="magma")
    axes[1].set_title("exp(−E(y)) (unnormalised)")
    for ax in axes:
        ax.set_aspect("equal")
    fig.suptitle(f"{fit.config.toy}: {fit.config.method.upper()}, {fit.config.langevin_steps} Langevin steps")
    return save_figure(fig, path)


def plot_ebm2d_samples(fit, path: Path) -> Path:
    """Langevin samples of the model beside samples of the true density."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    data, samples = fit.data.numpy()[: len(fit.samples)], fit.samples.numpy()
    axes[0].scatter(data[:, 0], data[:, 1], s=2, alpha=0.5)
    axes[0].set_title("true density")
    axes[1].scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5, color="tab:red")
    axes[1].set_title(f"model samples (MMD² = {fit.mmd:.4f}, true vs true {fit.mmd_baseline:.4f})")
    for ax in axes:
        ax.set_xlim(-4.5, 4.5)
        ax.set_ylim(-4.5, 4.5)
        ax.set_aspect("equal")
    return save_figure(fig, path)


def plot_ebm2d(fit, out: Path) -> list[Path]:
    """Every 2-D EBM figure into ``out``."""
    out = Path(out)
    return [
        plot_ebm2d_energy(fit, out / "energy.png"),
        plot_ebm2d_samples(fit, out / "samples.png"),
        training_curve(fit.losses, out / "training_curve.png", xlabel="step", ylabel="CD loss + regulariser"),
    ]


# ----------------------------------------------------------------------------------------------- collapse


def plot_collapse(fits: Sequence, path: Path) -> Path:
    """One panel per trained collapse model: F(y) over the plane with the data and the energy spread."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(fits), figsize=(4.6 * len(fits), 4.4))
    titles = {
        "energy": "energy loss only: collapsed",
        "contrastive": "simple contrastive loss",
        "regularised": "energy loss, ‖w_j‖ = 1 (regularised)",
    }
    grids = [energy_grid(fit.model.free_energy, (-3, 3), (-3, 3), resolution=120) for fit in fits]
    top = max(1e-3, max(float(values.max()) for _, _, values in grids))  # one colour scale: flat looks flat
    for ax, fit, (gx, gy, values) in zip(np.atleast_1d(axes), fits, grids, strict=True):
        mesh = ax.contourf(gx, gy, values, levels=np.linspace(0, top, 30), cmap="viridis")
        fig.colorbar(mesh, ax=ax, shrink=0.75)
        data = fit.data.numpy()
        ax.scatter(data[:, 0], data[:, 1], s=2, color="white", alpha=0.5)
        ax.set_aspect("equal")
        ax.set_title(f"{titles.get(fit.shaping, fit.shaping)}\nspread off manifold = {fit.spread:.4f}", fontsize=9)
    fig.suptitle("F(y) = min_z ‖y − Wz − b‖² + λ‖z‖² after training")
    return save_figure(fig, path)
