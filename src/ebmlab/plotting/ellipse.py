"""Figures of the ellipse model: manifold, free-energy surfaces for several β, E(y, z) against z."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..energy import GridLatent
from ..models.ellipse import ConditionalEllipseEnergy
from ..recipes.ellipse import EllipseFit
from . import energy_grid, pyplot, save_figure, training_curve

__all__ = ["plot_all", "plot_energy_vs_z", "plot_free_energy_surfaces", "plot_manifold"]

BETAS = (0.1, 1.0, 10.0, math.inf)
X_SHOWN = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # on the data grid k/50


def _limits(y: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    span = np.abs(y).max() * 1.25
    return (-span, span), (-span, span)


def _curve(fit: EllipseFit, x: float) -> np.ndarray:
    z = torch.linspace(0, 2 * math.pi, 400).unsqueeze(1)  # (400, 1)
    with torch.no_grad():
        xs = torch.full((400, 1), x)
        return fit.model.decode(z, xs).cpu().numpy()


def plot_manifold(fit: EllipseFit, path: Path) -> Path:
    """Data and the trained manifold {Dec(z)}; for the conditional model, one colour per x shown.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.ellipse import EllipseConfig, EllipseRecipe
        >>> fit = EllipseRecipe(EllipseConfig(epochs=1)).fit()  # untrained: w = (1, 1)
        >>> plot_manifold(fit, out / "manifold.png").exists()
        True
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5.5), layout="constrained")
    y, x = fit.y.numpy(), fit.x.numpy()[:, 0]
    if isinstance(fit.model, ConditionalEllipseEnergy):
        colours = plt.cm.viridis(np.linspace(0, 1, len(X_SHOWN)))
        for value, colour in zip(X_SHOWN, colours, strict=True):
            near = np.abs(x - value) < 1e-6
            ax.scatter(y[near, 0], y[near, 1], s=6, color=colour, alpha=0.5)
            curve = _curve(fit, value)
            ax.plot(curve[:, 0], curve[:, 1], color=colour, lw=1.5, label=f"x = {value:g}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
        ax.set_title(
            "conditional ellipse: data and trained manifolds\nDec(z; x) = f(x) ⊙ (cos z, sin z), one colour per x",
            fontsize=11,
        )
    else:
        ax.scatter(y[:, 0], y[:, 1], s=6, color="tab:blue", alpha=0.5, label="data y")
        curve = _curve(fit, 0.0)
        ax.plot(curve[:, 0], curve[:, 1], color="tab:red", lw=2, label="trained manifold")
        grid = fit.model.decode(GridLatent(0, 2 * math.pi, math.pi / 24).values()).detach().numpy()
        ax.scatter(grid[:, 0], grid[:, 1], s=14, color="tab:red", zorder=3, label="Dec(z), z on the grid")
        start = np.stack([np.cos(np.linspace(0, 2 * np.pi, 200)), np.sin(np.linspace(0, 2 * np.pi, 200))], 1)
        ax.plot(start[:, 0], start[:, 1], "k--", lw=1, label="initial manifold, w = (1, 1)")
        w1, w2 = fit.model.w.tolist()
        ax.set_title(f"the ellipse model's manifold {{Dec(z)}}: trained w = ({w1:.3f}, {w2:.3f})", fontsize=11)
        ax.legend(loc="center", fontsize=8)
    ax.set_aspect("equal")
    ax.set_xlabel("$y_1$")
    ax.set_ylabel("$y_2$")
    return save_figure(fig, path)


def plot_free_energy_surfaces(fit: EllipseFit, path: Path, betas: tuple[float, ...] = BETAS, x: float = 0.0) -> Path:
    """F_β(y) over a 2-D grid of y, one panel per β: the surface sharpens onto the manifold as β grows.

    .. math:: F_\\beta(y) = -\\frac1\\beta \\log \\frac{1}{48} \\sum_z e^{-\\beta E(y, z)}

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.ellipse import EllipseConfig, EllipseRecipe
        >>> fit = EllipseRecipe(EllipseConfig(epochs=1)).fit()  # untrained: w = (1, 1)
        >>> plot_free_energy_surfaces(fit, out / "free_energy.png", betas=(1.0, math.inf)).exists()
        True
    """
    plt = pyplot()
    y = fit.y.numpy()
    if isinstance(fit.model, ConditionalEllipseEnergy):
        y = y[np.abs(fit.x.numpy()[:, 0] - x) < 1e-6]
    xlim, ylim = _limits(y)
    fig, axes = plt.subplots(1, len(betas), figsize=(4.4 * len(betas), 4.6), layout="constrained")
    for ax, beta in zip(np.atleast_1d(axes), betas, strict=True):

        def surface(points: torch.Tensor, beta: float = beta) -> torch.Tensor:
            xs = torch.full((len(points), 1), x)
            return fit.model.free_energy(points, beta, xs)

        gx, gy, values = energy_grid(surface, xlim, ylim, resolution=150)
        mesh = ax.contourf(gx, gy, values, levels=30, cmap="viridis")
        ax.contour(gx, gy, values, levels=8, colors="white", linewidths=0.4, alpha=0.6)
        ax.scatter(y[:, 0], y[:, 1], s=1, color="tab:red", alpha=0.35, label="data")
        ax.set_aspect("equal")
        ax.set_xlabel("y₁")
        ax.set_ylabel("y₂")
        label = "β = ∞ (F∞ = min_z E)" if math.isinf(beta) else f"β = {beta:g}"
        ax.set_title(label, fontsize=11)
        fig.colorbar(mesh, ax=ax, shrink=0.75, label="F_β(y)")
    fig.suptitle(
        "free energy F_β(y) = −(1/β) log mean_z exp(−β E(y, z)), data in red"
        + (f", at x = {x:g}" if isinstance(fit.model, ConditionalEllipseEnergy) else "")
        + "\nas β grows the surface sharpens onto the trained ellipse (each panel on its own colour scale)",
        fontsize=11,
    )
    return save_figure(fig, path)


def plot_energy_vs_z(fit: EllipseFit, path: Path, y_point: tuple[float, float] = (1.0, 1.0), x: float = 0.0) -> Path:
    """E(y, z) against z for one y: the curve, the 48 grid values, and ž marked.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.ellipse import EllipseConfig, EllipseRecipe
        >>> fit = EllipseRecipe(EllipseConfig(epochs=1)).fit()  # untrained: w = (1, 1)
        >>> plot_energy_vs_z(fit, out / "energy_vs_z.png", y_point=(1.0, 0.5)).exists()
        True
    """
    plt = pyplot()
    y = torch.tensor([y_point])
    xs = torch.full((1, 1), x)
    fine = torch.linspace(0, 2 * math.pi, 500).unsqueeze(1)
    grid = GridLatent(0, 2 * math.pi, math.pi / 24).values()
    with torch.no_grad():
        e_fine = fit.model.pairwise(y, fine, xs)[0].numpy()
        e_grid = fit.model.pairwise(y, grid, xs)[0].numpy()
    best = int(np.argmin(e_grid))
    fig, ax = plt.subplots(figsize=(6.2, 4), layout="constrained")
    ax.plot(fine[:, 0].numpy(), e_fine, color="tab:gray", lw=1, label="E(y, z), z continuous")
    ax.scatter(grid[:, 0].numpy(), e_grid, s=12, color="tab:blue", label="z on the grid [0 : π/24 : 2π)")
    ax.scatter(
        [grid[best, 0].item()],
        [e_grid[best]],
        s=80,
        color="tab:red",
        zorder=3,
        label=f"ž = {grid[best, 0].item():.3f}, F∞ = {e_grid[best]:.3f}",
    )
    ax.set_xlabel("z")
    ax.set_ylabel("E(y, z)")
    ax.set_title(f"energy along the latent for y = ({y_point[0]:g}, {y_point[1]:g})")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_all(fit: EllipseFit, out: Path) -> list[Path]:
    """Every ellipse figure into ``out``: manifold, free energies, energy vs z, training curve.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.ellipse import EllipseConfig, EllipseRecipe
        >>> fit = EllipseRecipe(EllipseConfig(epochs=1)).fit()  # untrained: w = (1, 1)
        >>> [path.name for path in plot_all(fit, out)]  # doctest: +ELLIPSIS
        ['manifold.png', ...]
    """
    out = Path(out)
    paths = [
        plot_manifold(fit, out / "manifold.png"),
        plot_free_energy_surfaces(fit, out / "free_energy.png"),
        plot_energy_vs_z(fit, out / "energy_vs_z.png"),
        training_curve(
            fit.losses,
            out / "training_curve.png",
            ylabel="energy loss: mean F(y)",
            title="ellipse training: energy loss per epoch (lower is better)",
            log=True,
        ),
    ]
    if isinstance(fit.model, ConditionalEllipseEnergy):
        paths.append(plot_free_energy_surfaces(fit, out / "free_energy_x1.png", x=1.0))
    return paths
