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
    return "∞" if math.isinf(beta) else f"{beta:.3g}"


def _short(value: float, digits: int) -> str:
    """``value`` with at most ``digits`` decimals, trailing zeros dropped (1.04, 2.5, 15, 100)."""
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _panel_title(beta: float, clusters: int) -> str:
    if math.isinf(beta):
        return "β = ∞: F∞(y) = min_z E(y, z)\nhard assignment: creases where two centroids tie"
    lift = math.log(clusters) / beta
    return f"β = {_beta_label(beta)}: F_β(y) = softmin_β over z\nsmooth, and at most log K / β = {lift:.3g} above F∞"


def plot_energy_surfaces(
    energy: KMeansEnergy,
    data: torch.Tensor,
    path: str | Path,
    *,
    betas: tuple[float, ...] = (math.inf, 1.0),
    labels: torch.Tensor | None = None,
    title: str = "",
) -> Path:
    """2-D data: points (coloured by ž, at most ~800 of them), centroids, and F_β(y) over the plane, one panel per β.

    Each panel has its own colour scale, from its lowest value to a little above the energies at the
    data (higher values, far from the data, share the top colour): the energies reach hundreds at
    the corners, and one scale up to there would hide the difference between the panels, which is
    of order log K / β near the data. White contour lines show the creases of F∞ and the smooth F_β.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> import torch
        >>> from ebmlab.models.kmeans import KMeansEnergy
        >>> energy = KMeansEnergy(torch.tensor([[0.0, 0.0], [3.0, 3.0]]))
        >>> data = torch.cat([torch.randn(50, 2) * 0.3, 3.0 + torch.randn(50, 2) * 0.3])
        >>> plot_energy_surfaces(energy, data, out / "free_energy.png", betas=(math.inf, 1.0)).exists()
        True
    """
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    points = data.detach().cpu().double()
    centers = energy.centroids.detach().cpu().double()
    both = torch.cat([points, centers])
    low, high = both.min(dim=0).values, both.max(dim=0).values
    pad = 0.15 * (high - low).clamp_min(1e-9)
    xlim = (float(low[0] - pad[0]), float(high[0] + pad[0]))
    ylim = (float(low[1] - pad[1]), float(high[1] + pad[1]))
    stride = max(1, len(points) // 800)
    fig, axes = plt.subplots(1, len(betas), figsize=(5.8 * len(betas), 5.4), squeeze=False, layout="constrained")
    for ax, beta in zip(axes[0], betas, strict=True):
        gx, gy, values = energy_grid(
            lambda y, beta=beta: energy.free_energy(y.double(), beta), xlim, ylim, resolution=160, dtype=torch.float64
        )
        with torch.no_grad():
            at_data = energy.free_energy(points, beta).numpy()  # (N,)
        bottom = float(values.min())
        top = bottom + 2.5 * (float(np.quantile(at_data, 0.98)) - bottom)
        top = top if top > bottom else bottom + 1.0
        levels = np.linspace(bottom, top, 25)  # from the panel's own minimum: F_β > F∞ shows in the colour bar
        mesh = ax.contourf(gx, gy, np.clip(values, None, top), levels=levels, cmap="viridis", extend="max")
        ax.contour(gx, gy, values, levels=levels[::2], colors="white", linewidths=0.5, alpha=0.6)
        bar = fig.colorbar(mesh, ax=ax, shrink=0.85, label="F∞(y)" if math.isinf(beta) else f"F_β(y), β = {beta:.3g}")
        ticks = MaxNLocator(7).tick_values(bottom, top)
        ticks = [bottom, *(t for t in ticks if bottom + 0.05 * (top - bottom) < t <= top)]
        digits = max(0, 3 - math.floor(math.log10(top - bottom)))  # the minimum to ~0.1 % of the range
        bar.set_ticks(ticks, labels=[_short(t, digits) for t in ticks])
        shown = points[::stride]  # at most ~800 points: more would hide the surface
        colour = {"color": "white"} if labels is None else {"c": labels.cpu().numpy()[::stride], "cmap": "tab20"}
        ax.scatter(shown[:, 0], shown[:, 1], s=6, edgecolors="black", linewidths=0.2, **colour)
        ax.scatter(
            centers[:, 0], centers[:, 1], s=90, marker="X", color="red", edgecolors="black", label="centroids w_k"
        )
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_aspect("equal")
        ax.set_xlabel("y₁")
        ax.set_ylabel("y₂")
        ax.set_title(_panel_title(beta, centers.shape[0]), fontsize=10)
        ax.legend(loc="upper right", fontsize=8)
    fig.suptitle(
        title
        or f"K-means, K = {centers.shape[0]}: free energy of E(y, z) = ‖y − Wz‖² over the plane, "
        "points coloured by their cluster ž",
        fontsize=11,
    )
    return save_figure(fig, path)


def plot_centroid_images(energy: KMeansEnergy, image_shape: tuple[int, int], path: str | Path) -> Path:
    """Each centroid w_k reshaped to the images' (H, W).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> import torch
        >>> from ebmlab.models.kmeans import KMeansEnergy
        >>> plot_centroid_images(KMeansEnergy(torch.rand(4, 64)), (8, 8), out / "centroids.png").exists()
        True
    """
    centers = energy.centroids.detach().cpu()
    images = centers.reshape(centers.shape[0], *image_shape)
    return image_grid(images, path, title=f"the {centers.shape[0]} K-means centroids w_k, as images")


def plot_inertia(history: list[float], path: str | Path) -> Path:
    """The inertia Σ_b F_∞(y_b) at every assignment step.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> plot_inertia([120.0, 80.0, 75.5, 75.0], out / "inertia.png").exists()
        True
    """
    return training_curve(
        history,
        path,
        xlabel="iteration",
        ylabel="inertia Σ_y F∞(y)",
        title="K-means training: inertia at each iteration (lower is better)",
    )


def plot_all(fit: KMeansFit, out: str | Path) -> list[Path]:
    """The figures that fit the data: centroid images, or points with energy surfaces (2-D), and the inertia.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.kmeans import KMeansConfig, KMeansRecipe
        >>> from ebmlab.training import train
        >>> recipe = KMeansRecipe(KMeansConfig(data="blobs", k=3, n_samples=200))
        >>> _ = train(recipe, progress=False)
        >>> sorted(path.name for path in plot_all(recipe.fit(), out))
        ['free_energy.png', 'inertia.png']
    """
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
