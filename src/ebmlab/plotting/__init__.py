"""Figures. The only part of ebmlab that imports matplotlib, lazily and with the Agg backend.

Shared helpers live here; each model has a module of its own (``ebmlab.plotting.ellipse``, ...).
Every function writes a PNG and returns its path.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["energy_grid", "image_grid", "plot_samples", "pyplot", "save_figure", "training_curve"]


def pyplot() -> Any:
    """matplotlib.pyplot with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Save atomically (temporary file + rename), close the figure, return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(handle)
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp's 0600 would hide the figure from other users
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        pyplot().close(fig)
    return path


def energy_grid(
    function: Callable[[torch.Tensor], torch.Tensor],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    resolution: int = 120,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate ``function`` ((N, 2) → (N,)) on a 2-D grid; returns meshgrid X, Y and values, each (R, R)."""
    xs = torch.linspace(xlim[0], xlim[1], resolution, dtype=dtype)
    ys = torch.linspace(ylim[0], ylim[1], resolution, dtype=dtype)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    points = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1).to(device)  # (R*R, 2)
    with torch.no_grad():
        values = function(points).reshape(resolution, resolution).cpu()
    return grid_x.numpy(), grid_y.numpy(), values.numpy()


def image_grid(
    images: np.ndarray | torch.Tensor,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    columns: int | None = None,
    cmap: str = "gray",
    symmetric: bool = False,
) -> Path:
    """Tile images ``(N, H, W)`` (or ``(N, H, W, 3)``) into one figure, each scaled on its own."""
    plt = pyplot()
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    count = array.shape[0]
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 0.9 + (0.4 if title else 0)))
    for index, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if index < count:
            image = array[index]
            if symmetric:
                bound = float(np.abs(image).max()) or 1.0
                ax.imshow(image, cmap=cmap, vmin=-bound, vmax=bound, interpolation="nearest")
            else:
                ax.imshow(image, cmap=cmap, interpolation="nearest")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def training_curve(
    values: Sequence[float] | dict[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    title: str = "",
    log: bool = False,
) -> Path:
    """Line plot of one or several named series against their index (starting at 1)."""
    plt = pyplot()
    series = values if isinstance(values, dict) else {ylabel: values}
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, ys in series.items():
        ax.plot(np.arange(1, len(ys) + 1), list(ys), label=name, marker="o" if len(ys) < 30 else None, markersize=3)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend()
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_samples(
    samples: np.ndarray | torch.Tensor,
    path: str | os.PathLike[str],
    *,
    image_shape: tuple[int, int] | None = None,
    title: str = "",
) -> Path:
    """Samples ``(S, D)`` as a picture: a scatter plot for D = 2, a grid of images for image data
    (``image_shape`` given, or D a perfect square), else the first two coordinates."""
    array = samples.detach().cpu().numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples)
    dim = array.shape[1]
    side = int(round(math.sqrt(dim)))
    if image_shape is None and dim > 2 and side * side == dim:
        image_shape = (side, side)
    if image_shape is not None:
        return image_grid(array.reshape(len(array), *image_shape), path, title=title)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(array[:, 0], array[:, 1], s=4, alpha=0.6)
    ax.set_xlabel("y₁")
    ax.set_ylabel("y₂")
    ax.set_aspect("equal")
    ax.set_title(title)
    return save_figure(fig, path)
