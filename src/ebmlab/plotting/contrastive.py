"""Figures of the contrastive methods: 2-D EBM energies and samples, collapse."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch

from . import energy_grid, pyplot, save_figure, training_curve

__all__ = [
    "plot_collapse",
    "plot_ebm2d",
    "plot_ebm2d_energy",
    "plot_ebm2d_samples",
]


# ----------------------------------------------------------------------------------------------- 2-D EBM


def _label_plane(ax) -> None:
    ax.set_xlabel("y₁")
    ax.set_ylabel("y₂")
    ax.set_aspect("equal")


def plot_ebm2d_energy(fit, path: Path) -> Path:
    """The learned energy E(y) and the unnormalised density exp(−E(y)) over the toy's window.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.ebm2d import EBM2DConfig, EBM2DRecipe
        >>> fit = EBM2DRecipe(EBM2DConfig(steps=1, hidden=8, buffer_size=64, batch_size=16, n_data=64)).fit()
        >>> plot_ebm2d_energy(fit, out / "energy.png").exists()
        True
    """
    plt = pyplot()
    data = fit.data.numpy()
    xlim = ylim = (-4.5, 4.5)
    gx, gy, energy = energy_grid(fit.model, xlim, ylim, resolution=200)
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), layout="constrained")
    mesh = axes[0].contourf(gx, gy, energy, levels=40, cmap="viridis")
    fig.colorbar(mesh, ax=axes[0], shrink=0.85, label="energy E(y)")
    axes[0].scatter(data[:2000, 0], data[:2000, 1], s=1, color="white", alpha=0.3)
    axes[0].set_title("learned energy E(y), training data in white", fontsize=11)
    density = np.exp(-(energy - energy.min()))
    shown = axes[1].imshow(density, origin="lower", extent=(*xlim, *ylim), cmap="magma", vmin=0, vmax=1)
    fig.colorbar(shown, ax=axes[1], shrink=0.85, label="exp(−(E(y) − min E))")
    axes[1].set_title("the model's density exp(−E(y)), unnormalised", fontsize=11)
    for ax in axes:
        _label_plane(ax)
    fig.suptitle(
        f"2-D EBM on {fit.config.toy}: {fit.config.method.upper()} with {fit.config.langevin_steps} Langevin steps "
        "(low energy = high density)",
        fontsize=12,
    )
    return save_figure(fig, path)


def plot_ebm2d_samples(fit, path: Path) -> Path:
    """Langevin samples of the model beside samples of the true density.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.ebm2d import EBM2DConfig, EBM2DRecipe
        >>> fit = EBM2DRecipe(EBM2DConfig(steps=1, hidden=8, buffer_size=64, batch_size=16, n_data=64)).fit()
        >>> plot_ebm2d_samples(fit, out / "samples.png").exists()
        True
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2), layout="constrained")
    data, samples = fit.data.numpy()[: len(fit.samples)], fit.samples.numpy()
    axes[0].scatter(data[:, 0], data[:, 1], s=2, alpha=0.5)
    axes[0].set_title(f"{len(data)} samples of the true density", fontsize=11)
    axes[1].scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5, color="tab:red")
    axes[1].set_title(f"{len(samples)} Langevin samples of the model", fontsize=11)
    for ax in axes:
        ax.set_xlim(-4.5, 4.5)
        ax.set_ylim(-4.5, 4.5)
        _label_plane(ax)
    fig.suptitle(
        f"{fit.config.toy}: the model's samples beside the true density's\n"
        f"MMD² between them = {fit.mmd:.3g}, lower is better (two true sample sets: {fit.mmd_baseline:.3g})",
        fontsize=11,
    )
    return save_figure(fig, path)


def plot_ebm2d(fit, out: Path) -> list[Path]:
    """Every 2-D EBM figure into ``out``.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.ebm2d import EBM2DConfig, EBM2DRecipe
        >>> fit = EBM2DRecipe(EBM2DConfig(steps=1, hidden=8, buffer_size=64, batch_size=16, n_data=64)).fit()
        >>> all(path.exists() for path in plot_ebm2d(fit, out))
        True
    """
    out = Path(out)
    return [
        plot_ebm2d_energy(fit, out / "energy.png"),
        plot_ebm2d_samples(fit, out / "samples.png"),
        training_curve(
            fit.losses,
            out / "training_curve.png",
            xlabel="step",
            ylabel="CD loss + regulariser",
            title="2-D EBM training: E(data) − E(samples) + regulariser per step",
        ),
    ]


# ----------------------------------------------------------------------------------------------- collapse


def plot_collapse(
    free_energies: Mapping[str, Callable[[torch.Tensor], torch.Tensor]],
    data: torch.Tensor,
    spreads: Mapping[str, float],
    path: Path,
) -> Path:
    """One panel per trained collapse model (shaping → its F, on the CPU): F(y) over the plane with the
    data ``(S, 2)`` and the energy spread off the manifold, on one colour scale.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> import torch
        >>> data = torch.randn(40, 2)
        >>> shaped = {"none": lambda y: torch.zeros(len(y)), "contrastive": lambda y: y.pow(2).sum(1)}
        >>> plot_collapse(shaped, data, {"none": 0.0, "contrastive": 2.0}, out / "collapse.png").exists()
        True
    """
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(free_energies), figsize=(4.8 * len(free_energies), 4.8), layout="constrained")
    titles = {
        "energy": "energy loss only: collapsed",
        "contrastive": "simple contrastive loss",
        "regularised": "energy loss, ‖w_j‖ = 1 (regularised)",
    }
    grids = [energy_grid(function, (-3, 3), (-3, 3), resolution=120) for function in free_energies.values()]
    top = max(1e-3, max(float(values.max()) for _, _, values in grids))  # one colour scale: flat looks flat
    points = data.detach().cpu().numpy()
    for ax, shaping, (gx, gy, values) in zip(np.atleast_1d(axes), free_energies, grids, strict=True):
        levels = MaxNLocator(30).tick_values(0, top)
        mesh = ax.contourf(gx, gy, np.clip(values, None, levels[-1]), levels=levels, cmap="viridis")
        fig.colorbar(mesh, ax=ax, shrink=0.75, label="free energy F(y)")
        ax.scatter(points[:, 0], points[:, 1], s=2, color="white", alpha=0.5)
        _label_plane(ax)
        ax.set_title(
            f"{titles.get(shaping, shaping)}\nF 1 unit off the data − F on it = {spreads[shaping]:.3f}", fontsize=10
        )
    fig.suptitle(
        "F(y) = min_z ‖y − Wz − b‖² + λ‖z‖² after training, data in white, one colour scale\n"
        "pushing down on the data alone flattens F (collapse); contrast or a regulariser keeps it shaped",
        fontsize=11,
    )
    return save_figure(fig, path)
