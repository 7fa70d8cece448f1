"""Figures of K-means: points, centroids and the free-energy surfaces; centroid images; inertia curve."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..models.kmeans import KMeansEnergy
from ..recipes.kmeans import KMeansFit
from . import energy_grid, image_grid, pyplot, save_figure, training_curve

__all__ = ["plot_all", "plot_centroid_images", "plot_energy_surfaces", "plot_inertia"]


def _beta_label(beta: float) -> str:
    return "∞" if math.isinf(beta) else f"{beta:g}"


def plot_energy_surfaces(
    energy: KMeansEnergy,
    data: torch.Tensor,
    path: str | Path,
    *,
    betas: tuple[float, ...] = (math.inf, 1.0),
    labels: torch.Tensor | None = None,
    title: str = "",
) -> Path:
    """2-D data: points (coloured by ž), centroids, and F_β(y) over the plane, one panel per β."""
    plt = pyplot()
    points = data.detach().cpu().double()
    centers = energy.centroids.detach().cpu().double()
    both = torch.cat([points, centers])
    low, high = both.min(dim=0).values, both.max(dim=0).values
    pad = 0.15 * (high - low).clamp_min(1e-9)
    xlim = (float(low[0] - pad[0]), float(high[0] + pad[0]))
    ylim = (float(low[1] - pad[1]), float(high[1] + pad[1]))
    fig, axes = plt.subplots(1, len(betas), figsize=(5.2 * len(betas), 4.6))
    for ax, beta in zip(np.atleast_1d(axes), betas, strict=True):
        gx, gy, values = energy_grid(
            lambda y, beta=beta: energy.free_energy(y.double(), beta), xlim, ylim, resolution=160, dtype=torch.float64
        )
        mesh = ax.contourf(gx, gy, values, levels=30, cmap="viridis")
        fig.colorbar(mesh, ax=ax, shrink=0.8)
        colour = None if labels is None else labels.cpu().numpy()
        ax.scatter(points[:, 0], points[:, 1], s=12, c=colour, cmap="tab20", edgecolors="white", linewidths=0.4)
        ax.scatter(centers[:, 0], centers[:, 1], s=90, marker="X", color="red", edgecolors="black", label="centroids W")
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_aspect("equal")
        ax.set_title(f"$F_\\beta(y)$, β = {_beta_label(beta)}")
        ax.legend(loc="upper right", fontsize=8)
    fig.suptitle(title or f"K-means, K = {centers.shape[0]}: E(y, z) = ‖y − Wz‖², F_β(y) = softmin_β over z")
    return save_figure(fig, path)


def plot_centroid_images(energy: KMeansEnergy, image_shape: tuple[int, int], path: str | Path) -> Path:
    """Each centroid w_k reshaped to the images' (H, W)."""
    centers = energy.centroids.detach().cpu()
    images = centers.reshape(centers.shape[0], *image_shape)
    return image_grid(images, path, title=f"{centers.shape[0]} centroids (rows of W)")


def plot_inertia(history: list[float], path: str | Path) -> Path:
    """The inertia Σ_b F_∞(y_b) at every assignment step."""
    return training_curve(history, path, xlabel="iteration", ylabel="inertia  Σ F∞(y)", title="Lloyd iterations")


def plot_all(fit: KMeansFit, out: str | Path) -> list[Path]:
    """The figures that fit the data: centroid images, or points with energy surfaces (2-D), and the inertia."""
    out = Path(out)
    paths = []
    if fit.image_shape is not None:
        paths.append(plot_centroid_images(fit.energy, fit.image_shape, out / "centroids.png"))
    if fit.data.shape[1] == 2:
        betas = (math.inf, fit.beta) if not math.isinf(fit.beta) else (math.inf, _default_beta(fit))
        paths.append(
            plot_energy_surfaces(fit.energy, fit.data, out / "free_energy.png", betas=betas, labels=fit.labels)
        )
    if fit.inertia_history:
        paths.append(plot_inertia(fit.inertia_history, out / "inertia.png"))
    return paths


def _default_beta(fit: KMeansFit) -> float:
    """A finite β on the data's scale: 1 / (mean F_∞ per point)."""
    per_point = fit.inertia / max(fit.data.shape[0], 1)
    return 1.0 / per_point if per_point > 0 else 1.0
