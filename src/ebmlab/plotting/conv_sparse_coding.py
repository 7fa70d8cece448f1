"""Figures of convolutional sparse coding: the learned filters, the training curve, and one image
with its reconstruction, residual and most active code maps."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from . import pyplot, save_figure, training_curve
from .sparse import plot_filters

__all__ = ["plot_all", "plot_reconstruction"]


def plot_reconstruction(
    image: torch.Tensor,
    reconstruction: torch.Tensor,
    codes: torch.Tensor,
    filters: torch.Tensor,
    path: str | os.PathLike[str],
    *,
    count: int = 6,
) -> Path:
    """Top: the image y, its reconstruction ỹ = Σ_j f_j * ž_j and the residual y − ỹ, on one grey
    scale; bottom: the ``count`` code maps ž_j with the largest ‖ž_j‖₁, each above its filter f_j.

    Shape:
        image, reconstruction ``(1, H, W)``; codes ``(K, H − k + 1, W − k + 1)``; filters ``(K, 1, k, k)``.
    """
    plt = pyplot()
    y = image.detach().cpu()[0].numpy()  # (H, W)
    y_tilde = reconstruction.detach().cpu()[0].numpy()  # (H, W)
    z = codes.detach().cpu().numpy()  # (K, H', W')
    f = filters.detach().cpu()[:, 0].numpy()  # (K, k, k)
    strength = np.abs(z).reshape(len(z), -1).sum(axis=1)  # (K,)
    shown = [int(j) for j in np.argsort(-strength, kind="stable")[: min(count, len(z))]]
    error = float(((y - y_tilde) ** 2).sum() / max(float((y**2).sum()), 1e-30))
    active = float((z != 0).mean())

    columns = max(len(shown), 3)
    fig = plt.figure(figsize=(2.2 * columns, 2.2 * columns / 3 + 3.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[columns / 3, 1.6])
    low, high = float(min(y.min(), y_tilde.min())), float(max(y.max(), y_tilde.max()))
    bound = max(abs(low), abs(high)) or 1.0
    panels = [
        (y, "image y", dict(vmin=low, vmax=high)),
        (y_tilde, "reconstruction ỹ", dict(vmin=low, vmax=high)),
        (y - y_tilde, f"residual y − ỹ, ‖y − ỹ‖²/‖y‖² = {error:.3f}", dict(vmin=-bound, vmax=bound)),
    ]
    for ax, (picture, title, scale) in zip(top.subplots(1, 3), panels, strict=True):
        ax.imshow(picture, cmap="gray", interpolation="nearest", **scale)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    axes = bottom.subplots(2, columns, height_ratios=[1, 0.45], squeeze=False)
    for index in range(columns):
        code_ax, filter_ax = axes[0, index], axes[1, index]
        code_ax.axis("off")
        filter_ax.axis("off")
        if index >= len(shown):
            continue
        j = shown[index]
        code_bound = float(np.abs(z[j]).max()) or 1.0
        code_ax.imshow(z[j], cmap="RdBu_r", vmin=-code_bound, vmax=code_bound, interpolation="nearest")
        code_ax.set_title(f"code map ž_{j}: {(z[j] != 0).mean():.1%} active", fontsize=8)
        filter_bound = float(np.abs(f[j]).max()) or 1.0
        filter_ax.imshow(f[j], cmap="gray", vmin=-filter_bound, vmax=filter_bound, interpolation="nearest")
        filter_ax.set_title(f"filter f_{j}", fontsize=8)
    fig.suptitle(
        f"{y.shape[0]}x{y.shape[1]} image, its reconstruction and the {len(shown)} most active of {len(z)} "
        f"code maps with their filters ({active:.1%} of all codes active)",
        fontsize=10,
    )
    return save_figure(fig, path)


def plot_all(
    filters: torch.Tensor,
    losses: Sequence[float],
    image: torch.Tensor,
    reconstruction: torch.Tensor,
    codes: torch.Tensor,
    out: str | os.PathLike[str],
) -> list[Path]:
    """``filters.png``, ``training_curve.png`` and ``reconstruction.png`` into ``out``."""
    out = Path(out)
    return [
        plot_filters(filters, out / "filters.png"),
        training_curve(list(losses), out / "training_curve.png", ylabel="mean energy E(y, z) per crop"),
        plot_reconstruction(image, reconstruction, codes, filters, out / "reconstruction.png"),
    ]
