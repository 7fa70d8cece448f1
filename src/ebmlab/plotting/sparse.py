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
    components: np.ndarray, image_shape: tuple[int, int], path: str | os.PathLike[str], title: str = ""
) -> Path:
    """Atoms ``(K, D)`` as image tiles ``(K, H, W)``, each on a symmetric grey scale."""
    tiles = np.asarray(components).reshape(len(components), *image_shape)
    return image_grid(tiles, path, title=title or f"{len(tiles)} atoms", symmetric=True)


def plot_filters(filters: torch.Tensor, path: str | os.PathLike[str], title: str = "") -> Path:
    """Convolutional filters ``(K, 1, k, k)`` as tiles."""
    tiles = filters.detach().cpu()[:, 0].numpy()
    return image_grid(
        tiles, path, title=title or f"{len(tiles)} learned {tiles.shape[1]}x{tiles.shape[2]} filters", symmetric=True
    )


def plot_reconstructions(
    data: np.ndarray,
    reconstructions: np.ndarray,
    image_shape: tuple[int, int],
    path: str | os.PathLike[str],
    count: int = 10,
) -> Path:
    """Top row: y; bottom row: ỹ = Wž."""
    count = min(count, len(data))
    tiles = np.concatenate([data[:count], reconstructions[:count]]).reshape(2 * count, *image_shape)
    return image_grid(tiles, path, title="data (top) and reconstructions Wz (bottom)", columns=count)


def plot_code_sparsity(codes: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Histogram of the number of non-zero code entries per sample."""
    plt = pyplot()
    counts = (np.asarray(codes) != 0).sum(axis=1)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(counts, bins=min(50, max(5, int(counts.max()) + 1)))
    ax.set_xlabel("non-zero codes per sample")
    ax.set_ylabel("samples")
    ax.set_title(f"code sparsity: mean {counts.mean():.1f} of {np.asarray(codes).shape[1]} atoms")
    return save_figure(fig, path)


def plot_code_error_curves(
    curves: dict[str, tuple[Sequence[int], Sequence[float]]], path: str | os.PathLike[str], title: str = ""
) -> Path:
    """Held-out code error ‖z − ž‖²/‖ž‖² against iterations (ISTA, FISTA) or layers (LISTA), log-log."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, (steps, errors) in curves.items():
        ax.plot(list(steps), [max(e, 1e-16) for e in errors], marker="o", markersize=3, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("iterations / layers")
    ax.set_ylabel("held-out code error ||z - z*||^2 / ||z*||^2")
    ax.set_title(title or "ISTA, FISTA and LISTA on the same dictionary")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return save_figure(fig, path)


def plot_collapse(examples: Sequence, path: str | os.PathLike[str], resolution: int = 80) -> Path:
    """Energy surfaces F(y) of the lecture's example without and with ẏ = [1; y], data on top."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(examples), figsize=(5 * len(examples), 4.3))
    for ax, example in zip(np.atleast_1d(axes), examples, strict=True):
        gx, gy, values = energy_grid(example.energy, (-3, 3), (-3, 3), resolution, dtype=torch.float64)
        image = ax.contourf(gx, gy, values, levels=30, cmap="viridis")
        fig.colorbar(image, ax=ax)
        data = example.data.cpu().numpy()
        ax.scatter(data[:, 0], data[:, 1], s=8, c="white", edgecolors="black", linewidths=0.3)
        w = example.model.dictionary_.detach().cpu().numpy()
        if example.augmented:  # atoms [w0; w] sit at w / w0 on the plane of height 1
            atoms = (w[1:] / np.where(np.abs(w[:1]) > 1e-6, w[:1], np.nan)).T
            ax.scatter(atoms[:, 0], atoms[:, 1], marker="x", c="red", s=30, label="atoms / w0")
            ax.legend(fontsize=7, loc="lower right")
        name = "with y' = [1; y], W = [1; W]" if example.augmented else "without augmentation: collapse"
        ax.set_title(f"F(y) = E(y, z2), top-2 rule\n{name}", fontsize=9)
        ax.set_aspect("equal")
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
    return save_figure(fig, path)


def tile_shape(features: int) -> tuple[int, int] | None:
    """(s, s) when ``features`` is a square, else None."""
    side = int(round(math.sqrt(features)))
    return (side, side) if side * side == features else None
