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

__all__ = [
    "energy_grid",
    "image_grid",
    "plot_samples",
    "pyplot",
    "save_figure",
    "training_curve",
    "unit_scale",
]


def pyplot() -> Any:
    """matplotlib.pyplot with the non-interactive Agg backend.

    Example:
        >>> plt = pyplot()
        >>> import matplotlib
        >>> matplotlib.get_backend().lower()
        'agg'
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Save atomically (temporary file + rename), close the figure, return the path.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> fig, ax = pyplot().subplots()
        >>> _ = ax.plot([0, 1], [1, 0])
        >>> save_figure(fig, out / "line.png").stat().st_size > 0
        True
    """
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
    """Evaluate ``function`` ((N, 2) → (N,)) on a 2-D grid; returns meshgrid X, Y and values, each (R, R).

    Example:
        >>> gx, gy, values = energy_grid(lambda y: y.pow(2).sum(1), (-1.0, 1.0), (-1.0, 1.0), resolution=3)
        >>> values
        array([[2., 1., 2.],
               [1., 0., 1.],
               [2., 1., 2.]], dtype=float32)
    """
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
    vmin: float | None = None,
    vmax: float | None = None,
    row_labels: Sequence[str] | None = None,
) -> Path:
    """Tile images ``(N, H, W)`` (or ``(N, H, W, 3)``) into one figure.

    Each tile is scaled on its own (``symmetric``: on ±max|tile|, so 0 is the colour map's middle),
    unless ``vmin``/``vmax`` are given: then every tile shares that one scale, so tiles compare.
    ``row_labels`` name the rows at their left. Small grids get larger tiles, so a handful of
    images is not drawn as thumbnails.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> image_grid(np.random.default_rng(0).random((6, 8, 8)), out / "tiles.png", columns=3).name
        'tiles.png'
    """
    plt = pyplot()
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    count = array.shape[0]
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    tile = min(1.6, max(0.75, 6.5 / columns))  # inches per tile: ~6.5 in wide, no tile under 0.75 in
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(columns * tile, rows * tile + (0.5 if title else 0)),
        squeeze=False,
        layout="constrained",
    )
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.03, hspace=0.03)
    for index, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if index < count:
            image = array[index]
            if vmin is not None or vmax is not None:
                scale = dict(vmin=vmin, vmax=vmax)
            elif symmetric:
                bound = float(np.abs(image).max()) or 1.0
                scale = dict(vmin=-bound, vmax=bound)
            else:
                scale = {}
            ax.imshow(image, cmap=cmap, interpolation="nearest", **scale)
    for row, label in enumerate(row_labels or ()):
        if row < rows:
            axes[row, 0].text(-0.08, 0.5, label, transform=axes[row, 0].transAxes, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, path)


def unit_scale(array: np.ndarray | torch.Tensor) -> dict[str, float]:
    """``{"vmin": 0, "vmax": 1}`` when every value lies in [0, 1] (pixel intensities, probabilities),
    else ``{}``: images of probabilities are then drawn on one fixed grey scale, and a faint
    reconstruction is not stretched to look as crisp as its input.

    Example:
        >>> unit_scale(np.array([0.0, 0.5, 1.0])), unit_scale(np.array([-1.0, 2.0]))
        ({'vmin': 0.0, 'vmax': 1.0}, {})
    """
    values = array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)
    inside = values.size and float(values.min()) >= 0.0 and float(values.max()) <= 1.0
    return {"vmin": 0.0, "vmax": 1.0} if inside else {}


def training_curve(
    values: Sequence[float] | dict[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    title: str = "",
    log: bool = False,
) -> Path:
    """Line plot of one or several named series against their index (starting at 1).

    Up to 60 points, every point is marked, so a run of one epoch shows its one value (with a note
    saying so); a longer, noisy series is drawn faint with its running mean over it. The
    x-axis has integer ticks. ``log`` asks for a logarithmic y-axis, used when the values are positive
    and span more than a factor of 10 (a narrower range reads better on a linear axis). A curve that
    changes by less than 0.1 % is drawn flat on a ±1 % axis, with a note, rather than magnified into
    noise that looks like a trend. Without a ``title``, the figure is titled "``ylabel`` per ``xlabel``".

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> training_curve({"train": [3.0, 2.0, 1.5], "held-out": [3.2, 2.4, 2.0]}, out / "loss.png").exists()
        True
    """
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    series = values if isinstance(values, dict) else {ylabel: values}
    fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    longest = max((len(ys) for ys in series.values()), default=0)
    finite = [float(v) for ys in series.values() for v in ys if math.isfinite(float(v))]
    for name, ys in series.items():
        xs, ys = np.arange(1, len(ys) + 1), np.asarray(list(ys), dtype=float)
        if len(ys) <= 60:
            ax.plot(xs, ys, label=name, marker="o", markersize=7 if len(ys) == 1 else 4)
            continue
        width = max(3, len(ys) // 30)  # a noisy per-step curve: the raw values faint, their running mean bold
        (raw,) = ax.plot(xs, ys, lw=0.8, alpha=0.35)
        mean = np.convolve(ys, np.ones(width) / width, mode="valid")
        ax.plot(xs[width - 1 :], mean, color=raw.get_color(), lw=1.8, label=f"{name}, mean of the last {width}")
    notes = []
    if log and finite and min(finite) > 0 and max(finite) > 10 * min(finite):
        ax.set_yscale("log")
    else:
        ax.ticklabel_format(axis="y", useOffset=False)
        low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
        middle = (low + high) / 2
        if longest > 1 and middle and high - low < 1e-3 * abs(middle):  # a flat curve: say so, draw it flat
            ax.set_ylim(middle - 0.01 * abs(middle), middle + 0.01 * abs(middle))
            notes.append("nearly constant: the values change by less than 0.1 %")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if longest == 1:
        ax.set_xlim(0.5, 1.5)
        ax.set_xticks([1])
        notes.append(f"one {xlabel} only: a single point, no curve yet\n(train for more {xlabel}s to see the trend)")
    if notes:
        ax.text(
            0.5, 0.08, "\n".join(notes), transform=ax.transAxes, ha="center", va="bottom", fontsize=9, color="dimgray"
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(series) > 1 or longest > 60:
        ax.legend(fontsize=9)
    ax.set_title(title or f"{ylabel} per {xlabel}", fontsize=11)
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
    (``image_shape`` given, or D a perfect square; on one 0-1 grey scale when the values lie in [0, 1]),
    else the first two coordinates.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> plot_samples(torch.randn(100, 2), out / "points.png").exists()
        True
        >>> plot_samples(torch.rand(9, 64), out / "images.png").exists()  # D = 64: 8 × 8 images
        True
    """
    array = samples.detach().cpu().numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples)
    dim = array.shape[1]
    side = int(round(math.sqrt(dim)))
    if image_shape is None and dim > 2 and side * side == dim:
        image_shape = (side, side)
    if image_shape is not None:
        return image_grid(array.reshape(len(array), *image_shape), path, title=title, **unit_scale(array))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    ax.scatter(array[:, 0], array[:, 1], s=6, alpha=0.6)
    first = "" if dim == 2 else f" (first 2 of {dim} coordinates)"
    ax.set_xlabel("y₁" + first)
    ax.set_ylabel("y₂")
    ax.set_aspect("equal")
    ax.set_title(title or f"{len(array)} samples")
    return save_figure(fig, path)
