"""Figures of the denoising autoencoder: the reconstruction field on 2-D data, reconstructions of images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..recipes.dae import DAEFit
from . import energy_grid, image_grid, pyplot, save_figure, training_curve, unit_scale

__all__ = ["plot_dae", "plot_dae_field", "plot_dae_images"]


def _window(points: np.ndarray, pad: float = 0.15) -> tuple[tuple[float, float], tuple[float, float]]:
    low, high = points.min(0), points.max(0)
    span = (high - low) * pad
    return (float(low[0] - span[0]), float(high[0] + span[0])), (float(low[1] - span[1]), float(high[1] + span[1]))


def _corruption_text(fit: DAEFit) -> str:
    """The corruption in words ("Gaussian noise, σ = 0.5"), never its Python repr."""
    describe = getattr(fit.corruption, "describe", None)
    return describe() if callable(describe) else str(fit.corruption)


def plot_dae_field(fit: DAEFit, path: Path, resolution: int = 17) -> Path:
    """Reconstruction field Dec(Enc(y)) − y on a grid over the reconstruction energy, with the data.

    Arrows show the field's direction; their length is the field's, capped at half a grid step (far
    from the data the field is as long as the distance to it, and true lengths would cover the figure),
    so neighbouring arrows never touch.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.dae import DAEConfig, DAERecipe
        >>> fit = DAERecipe(DAEConfig(data="moons", epochs=1, n_samples=64, hidden=8)).fit()  # untrained
        >>> plot_dae_field(fit, out / "field.png", resolution=9).exists()
        True
    """
    plt = pyplot()
    data = fit.data.numpy()
    xlim, ylim = _window(data)
    fig, ax = plt.subplots(figsize=(7.0, 5.6))
    gx, gy, energy = energy_grid(fit.model.reconstruction_energy, xlim, ylim, resolution=150)
    mesh = ax.contourf(gx, gy, np.log10(energy + 1e-4), levels=30, cmap="viridis")
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    bar = make_axes_locatable(ax).append_axes("right", size="4%", pad=0.1)  # as tall as the plot, beside it
    fig.colorbar(mesh, cax=bar, label="log₁₀ ‖y − Dec(Enc(y))‖²")
    shown = data[:: max(1, len(data) // 1500)]  # at most ~1500 points: more would hide the energy
    ax.scatter(shown[:, 0], shown[:, 1], s=3, color="white", alpha=0.6)
    xs, ys = np.linspace(*xlim, resolution), np.linspace(*ylim, resolution)
    qx, qy = np.meshgrid(xs, ys)
    points = torch.tensor(np.stack([qx.ravel(), qy.ravel()], 1), dtype=torch.float32)  # (R·R, 2)
    with torch.no_grad():
        arrows = (fit.model(points) - points).numpy()  # (R·R, 2)
    longest = 0.5 * min(xs[1] - xs[0], ys[1] - ys[0])
    length = np.linalg.norm(arrows, axis=1, keepdims=True)  # (R·R, 1)
    arrows = arrows * np.minimum(1.0, longest / np.maximum(length, 1e-12))
    ax.quiver(
        qx.ravel(),
        qy.ravel(),
        arrows[:, 0],
        arrows[:, 1],
        color="tab:red",
        angles="xy",
        scale_units="xy",
        scale=1.0,
        width=0.004,
        headwidth=3.5,
        headlength=3.5,
        headaxislength=3,
    )
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_aspect("equal")
    ax.set_xlabel("y₁")
    ax.set_ylabel("y₂")
    ax.set_title(
        f"Denoising autoencoder trained with {_corruption_text(fit)}\n"
        "colour: reconstruction energy, white dots: training data\n"
        "red arrows: where the DAE moves y, Dec(Enc(y)) − y (capped at half a grid step)",
        fontsize=10,
    )
    return save_figure(fig, path)


def plot_dae_images(fit: DAEFit, path: Path, count: int = 12, seed: int = 0) -> Path:
    """Three rows of images: clean y, corrupted ỹ, reconstruction Dec(Enc(ỹ)) (on one 0-1 grey scale,
    clipped to it, when the pixels lie in [0, 1]).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.dae import DAEConfig, DAERecipe
        >>> fit = DAERecipe(DAEConfig(data="digits", epochs=1, n_samples=64)).fit()  # untrained
        >>> plot_dae_images(fit, out / "reconstructions.png", count=4).exists()
        True
    """
    generator = torch.Generator().manual_seed(seed)
    pick = torch.randperm(fit.data.shape[0], generator=generator)[:count]
    clean = fit.data[pick]  # (S, D)
    noisy = fit.corruption(clean, generator)
    with torch.no_grad():
        recon = fit.model(noisy)
    height, width = fit.image_shape
    scale = unit_scale(clean)  # pixels in [0, 1]: one 0-1 grey scale for all three rows
    rows = torch.cat([clean, noisy, recon])
    rows = (rows.clamp(0, 1) if scale else rows).reshape(-1, height, width)
    return image_grid(
        rows,
        path,
        columns=len(pick),
        title=f"Denoising autoencoder on training images corrupted with {_corruption_text(fit)}",
        row_labels=("clean y", "corrupted ỹ", "Dec(Enc(ỹ))"),
        **scale,
    )


def plot_dae(fit: DAEFit, out: Path) -> list[Path]:
    """Every DAE figure into ``out``: the training curve, and the reconstruction field (2-D data) or
    reconstructions (images).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.dae import DAEConfig, DAERecipe
        >>> fit = DAERecipe(DAEConfig(data="moons", epochs=1, n_samples=64, hidden=8)).fit()  # untrained
        >>> all(path.exists() for path in plot_dae(fit, out))
        True
    """
    out = Path(out)
    paths = [
        training_curve(
            fit.losses,
            out / "training_curve.png",
            ylabel="mean ‖y − Dec(Enc(ỹ))‖²",
            title="DAE training: denoising loss per epoch (lower is better)",
            log=True,
        )
    ]
    if fit.image_shape is not None:
        paths.append(plot_dae_images(fit, out / "reconstructions.png"))
    elif fit.data.shape[1] == 2:
        paths.append(plot_dae_field(fit, out / "reconstruction_field.png"))
    return paths
