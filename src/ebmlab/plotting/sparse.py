"""Figures for sparse coding, LISTA and convolutional sparse coding."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from . import energy_grid, image_grid, pyplot, save_figure

__all__ = [
    "plot_atoms",
    "plot_code_error_curves",
    "plot_code_sparsity",
    "plot_collapse",
    "plot_filters",
    "plot_reconstructions",
    "tile_shape",
]


def plot_atoms(
    components: np.ndarray | torch.Tensor, image_shape: tuple[int, int], path: str | os.PathLike[str], title: str = ""
) -> Path:
    """Atoms ``(K, D)`` (a numpy array or a tensor, such as ``components_``) as image tiles ``(K, H, W)``,
    each on a symmetric grey scale.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> plot_atoms(np.random.default_rng(0).normal(size=(6, 64)), (8, 8), out / "atoms.png").exists()
        True
    """
    if isinstance(components, torch.Tensor):
        components = components.detach().cpu().numpy()
    tiles = np.asarray(components).reshape(len(components), *image_shape)
    default = f"the {len(tiles)} dictionary atoms w_j (columns of W), each on its own grey scale, 0 = mid-grey"
    return image_grid(tiles, path, title=title or default, symmetric=True)


def plot_filters(filters: torch.Tensor, path: str | os.PathLike[str], title: str = "") -> Path:
    """Convolutional filters ``(K, 1, k, k)`` as tiles.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> plot_filters(torch.randn(4, 1, 5, 5), out / "filters.png").exists()
        True
    """
    tiles = filters.detach().cpu()[:, 0].numpy()
    default = f"the {len(tiles)} learned {tiles.shape[1]}x{tiles.shape[2]} filters f_j (0 = mid-grey)"
    return image_grid(tiles, path, title=title or default, symmetric=True)


def plot_reconstructions(
    data: np.ndarray,
    reconstructions: np.ndarray,
    image_shape: tuple[int, int],
    path: str | os.PathLike[str],
    count: int = 10,
) -> Path:
    """Top row: y; bottom row: ỹ = Wž; all on one grey scale, so a reconstruction compares with its input.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> data = np.random.default_rng(0).random((5, 64))
        >>> plot_reconstructions(data, 0.9 * data, (8, 8), out / "reconstructions.png", count=5).exists()
        True
    """
    count = min(count, len(data))
    tiles = np.concatenate([data[:count], reconstructions[:count]]).reshape(2 * count, *image_shape)
    return image_grid(
        tiles,
        path,
        title="held-out samples y and their sparse reconstructions ỹ = Wž (one grey scale)",
        columns=count,
        row_labels=("y", "ỹ = Wž"),
        vmin=float(tiles.min()),
        vmax=float(tiles.max()),
    )


def plot_code_sparsity(codes: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Histogram of the number of non-zero code entries per sample.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> codes = np.array([[0.0, 1.0, 0.0], [2.0, 0.5, 0.0], [0.0, 0.0, 0.0]])  # 1, 2 and 0 non-zeros
        >>> plot_code_sparsity(codes, out / "sparsity.png").exists()
        True
    """
    plt = pyplot()
    counts = (np.asarray(codes) != 0).sum(axis=1)
    fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    edges = np.arange(int(counts.min()), int(counts.max()) + 2) - 0.5  # one bar per whole count
    ax.hist(counts, bins=edges, edgecolor="white")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("non-zero entries of the code ž")
    ax.set_ylabel("held-out samples")
    ax.set_title(
        f"code sparsity: on average {counts.mean():.1f} of {np.asarray(codes).shape[1]} atoms used per sample",
        fontsize=11,
    )
    return save_figure(fig, path)


def plot_code_error_curves(
    curves: dict[str, tuple[Sequence[int], Sequence[float]]], path: str | os.PathLike[str], title: str = ""
) -> Path:
    """Held-out code error ‖z − ž‖²/‖ž‖² against iterations (ISTA, FISTA) or layers (LISTA), log-log.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> curves = {"ISTA": ([1, 10, 100], [0.9, 0.3, 0.01]), "LISTA": ([1, 2, 4], [0.5, 0.1, 0.02])}
        >>> plot_code_error_curves(curves, out / "code_error.png").exists()
        True
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.3), layout="constrained")
    for name, (steps, errors) in curves.items():
        ax.plot(list(steps), [max(e, 1e-16) for e in errors], marker="o", markersize=3, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("ISTA / FISTA iterations, LISTA layers")
    ax.set_ylabel("held-out code error ‖z − ž‖² / ‖ž‖²")
    ax.set_title(
        title or "reaching the sparse code ž: ISTA, FISTA and LISTA\non the same dictionary (lower is better)",
        fontsize=11,
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return save_figure(fig, path)


def plot_collapse(examples: Sequence, path: str | os.PathLike[str], resolution: int = 80) -> Path:
    """Energy surfaces F(y) of the lecture's example without and with ẏ = [1; y], data on top, on one
    colour scale (so the collapsed, flat surface looks flat beside the shaped one).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.models.sparse_coding import lecture_example
        >>> examples = [lecture_example(augmented=False, epochs=1), lecture_example(augmented=True, epochs=1)]
        >>> plot_collapse(examples, out / "collapse.png", resolution=4).exists()
        True
    """
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(examples), figsize=(5.4 * len(examples), 5), layout="constrained")
    grids = [energy_grid(example.energy, (-3, 3), (-3, 3), resolution, dtype=torch.float64) for example in examples]
    levels = MaxNLocator(30).tick_values(0.0, max(1e-6, max(float(values.max()) for _, _, values in grids)))
    for ax, example, (gx, gy, values) in zip(np.atleast_1d(axes), examples, grids, strict=True):
        image = ax.contourf(gx, gy, values, levels=levels, cmap="viridis")
        fig.colorbar(image, ax=ax, shrink=0.85, label="free energy F(y)")
        data = example.data.cpu().numpy()
        ax.scatter(data[:, 0], data[:, 1], s=8, c="white", edgecolors="black", linewidths=0.3)
        w = example.model.dictionary_.detach().cpu().numpy()
        if example.augmented:  # atoms [w0; w] sit at w / w0 on the plane of height 1
            atoms = (w[1:] / np.where(np.abs(w[:1]) > 1e-6, w[:1], np.nan)).T
            ax.scatter(atoms[:, 0], atoms[:, 1], marker="x", c="red", s=30, label="atoms w / w₀")
            ax.legend(fontsize=7, loc="lower right")
        name = "with ẏ = [1; y]: low only near the data" if example.augmented else "on y alone: collapse (flat, low)"
        ax.set_title(f"F(y) = E(y, ž₂), the top-2 rule\n{name}", fontsize=10)
        ax.set_xlabel("y₁")
        ax.set_ylabel("y₂")
        ax.set_aspect("equal")
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
    fig.suptitle("sparse coding on the lecture's ellipse data: the [1; y] augmentation prevents collapse", fontsize=11)
    return save_figure(fig, path)


def tile_shape(features: int) -> tuple[int, int] | None:
    """(s, s) when ``features`` is a square, else None.

    Example:
        >>> tile_shape(784), tile_shape(10)
        ((28, 28), None)
    """
    side = int(round(math.sqrt(features)))
    return (side, side) if side * side == features else None
