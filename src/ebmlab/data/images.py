"""scikit-learn's bundled sample photographs (``china.jpg``, ``flower.jpg``) as grey images and patches.

They ship with scikit-learn, so nothing is read from the data root and nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .._validation import check_int

__all__ = ["SAMPLE_IMAGES", "image_patches", "sample_images"]

SAMPLE_IMAGES = ("china.jpg", "flower.jpg")


def _check_names(names: tuple[str, ...], argument: str) -> None:
    unknown = [name for name in names if name not in SAMPLE_IMAGES]
    if unknown or not names:
        raise ValueError(f"{argument} must name scikit-learn sample images from {SAMPLE_IMAGES}, got {names!r}")


def image_patches(n_patches: int, size: int = 8, *, image: str = "china.jpg", seed: int = 0) -> np.ndarray:
    """Random ``size × size`` grey patches of a scikit-learn sample image, each centred and scaled to unit norm.

    Patches with (almost) no contrast are dropped before scaling, so slightly fewer than
    ``n_patches`` may come back.

    Shape:
        → float32 ``(N, size²)``, N ≤ ``n_patches``.

    Example:
        >>> image_patches(100, 8).shape[1]
        64
    """
    from sklearn.datasets import load_sample_image
    from sklearn.feature_extraction.image import extract_patches_2d

    check_int(n_patches, "n_patches")
    check_int(size, "size", minimum=2)
    _check_names((image,), "image")
    grey = load_sample_image(image).astype(np.float64).mean(axis=2) / 255.0  # (H, W)
    patches = extract_patches_2d(grey, (size, size), max_patches=n_patches, random_state=seed)
    patches = patches.reshape(len(patches), -1)  # (N, size²)
    patches = patches - patches.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(patches, axis=1)  # (N,)
    keep = norms > 1e-2
    return np.ascontiguousarray(patches[keep] / norms[keep, None], dtype=np.float32)


def sample_images(size: int = 256, *, names: tuple[str, ...] = SAMPLE_IMAGES) -> Tensor:
    """scikit-learn's bundled photographs in grey, downsampled to ``size`` px high, contrast-normalised.

    The normalisation is :func:`ebmlab.models.conv_sparse_coding.local_contrast_normalize`.

    Shape:
        → ``(len(names), 1, size, W)``, W = round(640 · size / 427) for the bundled 427 × 640 photographs.

    Example:
        >>> tuple(sample_images(32).shape)
        (2, 1, 32, 48)
    """
    from sklearn.datasets import load_sample_image

    from ..models.conv_sparse_coding import local_contrast_normalize

    check_int(size, "size")
    names = tuple(names)
    _check_names(names, "names")
    out = []
    for name in names:
        grey = torch.from_numpy(load_sample_image(name).astype(np.float32).mean(axis=2) / 255.0)[None, None]
        width = int(round(grey.shape[3] * size / grey.shape[2]))
        out.append(F.interpolate(grey, size=(size, width), mode="area"))  # (1, 1, size, W)
    return local_contrast_normalize(torch.cat(out))
