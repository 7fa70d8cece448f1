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

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> import torch
        >>> filters, codes = torch.randn(3, 1, 3, 3), torch.relu(torch.randn(3, 6, 6))  # K = 3 filters of 3 × 3
        >>> image = torch.conv_transpose2d(codes.unsqueeze(0), filters)[0]  # ỹ = Σ_j f_j * ž_j, (1, 8, 8)
        >>> plot_reconstruction(image, 0.9 * image, codes, filters, out / "reconstruction.png").exists()
        True
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
    width = max(11.0, 2.2 * columns)  # inches: the top row's three pictures are each about a third of it
    fig = plt.figure(figsize=(width, width / 3 + 3.8), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[width / 3, 3.4])
    low, high = float(min(y.min(), y_tilde.min())), float(max(y.max(), y_tilde.max()))
    bound = float(np.abs(y - y_tilde).max()) or 1.0
    panels = [
        (y, "image y", dict(vmin=low, vmax=high), None),
        (y_tilde, "reconstruction ỹ = Σ_j f_j ∗ ž_j", dict(vmin=low, vmax=high), "pixel value"),
        (y - y_tilde, f"residual y − ỹ\n‖y − ỹ‖² / ‖y‖² = {error:.3f}", dict(vmin=-bound, vmax=bound), "y − ỹ"),
    ]
    top_axes = top.subplots(1, 3)
    for ax, (picture, title, scale, label) in zip(top_axes, panels, strict=True):
        shown_image = ax.imshow(picture, cmap="gray", interpolation="nearest", **scale)
        ax.set_title(title, fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
        if label is not None:
            top.colorbar(shown_image, ax=ax, shrink=0.85, label=label)
    axes = bottom.subplots(2, columns, height_ratios=[1, 0.55], squeeze=False)
    for index in range(columns):
        code_ax, filter_ax = axes[0, index], axes[1, index]
        code_ax.axis("off")
        filter_ax.axis("off")
        if index >= len(shown):
            continue
        j = shown[index]
        code_bound = float(np.abs(z[j]).max()) or 1.0
        code_ax.imshow(z[j], cmap="RdBu_r", vmin=-code_bound, vmax=code_bound, interpolation="nearest")
        code_ax.set_title(f"code map ž_{j}\n{(z[j] != 0).mean():.1%} non-zero", fontsize=9)
        filter_bound = float(np.abs(f[j]).max()) or 1.0
        filter_ax.imshow(f[j], cmap="gray", vmin=-filter_bound, vmax=filter_bound, interpolation="nearest")
        filter_ax.set_title(f"filter f_{j}", fontsize=9)
    bottom.suptitle(
        f"the {len(shown)} most active of the {len(z)} code maps (red > 0 > blue), each above its filter",
        fontsize=10,
    )
    fig.suptitle(
        f"convolutional sparse coding of one {y.shape[0]}x{y.shape[1]} image: "
        f"{active:.1%} of all code entries are non-zero",
        fontsize=12,
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
    """``filters.png``, ``training_curve.png`` and ``reconstruction.png`` into ``out``.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> import torch
        >>> filters, codes = torch.randn(3, 1, 3, 3), torch.relu(torch.randn(3, 6, 6))  # K = 3 filters of 3 × 3
        >>> image = torch.conv_transpose2d(codes.unsqueeze(0), filters)[0]  # ỹ = Σ_j f_j * ž_j, (1, 8, 8)
        >>> sorted(p.name for p in plot_all(filters, [3.0, 2.0], image, image, codes, out))
        ['filters.png', 'reconstruction.png', 'training_curve.png']
    """
    out = Path(out)
    return [
        plot_filters(filters, out / "filters.png"),
        training_curve(
            list(losses),
            out / "training_curve.png",
            ylabel="mean energy E(y, ž) per crop",
            title="convolutional sparse coding training: energy per epoch (lower is better)",
        ),
        plot_reconstruction(image, reconstruction, codes, filters, out / "reconstruction.png"),
    ]
