"""Images: scikit-learn's bundled photographs (``china.jpg``, ``flower.jpg``) as grey images and
patches, stacks of grey images by name or ``.npy`` path (:func:`load_images`), and the local
contrast normalisation that prepares them (:func:`local_contrast_normalize`).

The photographs ship with scikit-learn, so nothing is read from the data root and nothing is downloaded.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .._validation import check_int
from ._files import DataFileError, read_npy
from .arrays import load_data
from .mnist import MNIST_NAMES

__all__ = ["IMAGE_NAMES", "SAMPLE_IMAGES", "image_patches", "load_images", "local_contrast_normalize", "sample_images"]

SAMPLE_IMAGES = ("china.jpg", "flower.jpg")
#: the image stacks :func:`load_images` knows by name (besides ``PATH.npy``)
IMAGE_NAMES = ("photos", "digits", *MNIST_NAMES)


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

    The normalisation is :func:`local_contrast_normalize`.

    Shape:
        → ``(len(names), 1, size, W)``, W = round(640 · size / 427) for the bundled 427 × 640 photographs.

    Example:
        >>> tuple(sample_images(32).shape)
        (2, 1, 32, 48)
    """
    from sklearn.datasets import load_sample_image

    check_int(size, "size")
    names = tuple(names)
    _check_names(names, "names")
    out = []
    for name in names:
        grey = torch.from_numpy(load_sample_image(name).astype(np.float32).mean(axis=2) / 255.0)[None, None]
        width = int(round(grey.shape[3] * size / grey.shape[2]))
        out.append(F.interpolate(grey, size=(size, width), mode="area"))  # (1, 1, size, W)
    return local_contrast_normalize(torch.cat(out))


def local_contrast_normalize(images: Tensor, sigma: float = 2.0) -> Tensor:
    """Subtract a Gaussian-blurred local mean and divide by the local standard deviation.

    .. math:: \\tilde y = \\frac{y - g_\\sigma * y}{\\max\\big(\\sqrt{g_\\sigma * (y - g_\\sigma * y)^2},\\ c\\big)}

    with :math:`g_\\sigma` a Gaussian of width ``sigma`` px (reflected at the borders) and c the mean
    local deviation, so flat regions are not blown up. The usual preprocessing before learning
    filters on photographs: it removes the low frequencies that would otherwise take most of the energy.

    Shape:
        images ``(B, 1, H, W)`` → same; H, W > 3·sigma.

    Example:
        >>> images = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> out = local_contrast_normalize(images, sigma=1.0)
        >>> tuple(out.shape), abs(float(out.mean())) < 0.1
        ((2, 1, 16, 16), True)
    """
    radius = max(1, int(math.ceil(3 * sigma)))
    grid = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel1d = torch.exp(-0.5 * (grid / sigma) ** 2)
    kernel1d = kernel1d / kernel1d.sum()
    kernel = (kernel1d[:, None] * kernel1d[None, :])[None, None]  # (1, 1, r, r)
    padded = F.pad(images, (radius,) * 4, mode="reflect")
    centred = images - F.conv2d(padded, kernel)
    spread = F.conv2d(F.pad(centred.pow(2), (radius,) * 4, mode="reflect"), kernel).sqrt()
    return centred / torch.clamp(spread, min=float(spread.mean()))


def _read_images(spec: str) -> np.ndarray:
    """A ``.npy`` file holding a real ``(N, H, W)`` array, checked; a bad file is a :class:`DataFileError`."""
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"data file {spec!r} does not exist")
    expected = "expected one (N, H, W) array of grey images saved by np.save"
    data = read_npy(path, expected)
    if np.iscomplexobj(data) or data.dtype.kind not in "biuf":
        raise DataFileError(f"data file {spec} holds values of dtype {data.dtype}; {expected} of real numbers")
    if data.ndim != 3 or data.size == 0:
        raise DataFileError(f"data file {spec} holds an array of shape {data.shape}; {expected}, none empty")
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported just below
        data = np.ascontiguousarray(data, dtype=np.float32)  # (N, H, W)
    if not np.isfinite(data).all():
        bad = int((~np.isfinite(data)).sum())
        raise DataFileError(f"data file {spec} contains {bad} NaN or infinite value(s) (as float32) out of {data.size}")
    return data


def load_images(
    spec: str,
    *,
    n_samples: int | None = None,
    seed: int = 0,
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> Tensor:
    """A stack of grey images by name or path, for convolutional models.

    * ``photos``: scikit-learn's two photographs, 256 px high, contrast-normalised (:func:`sample_images`);
    * ``digits``: scikit-learn's 8 × 8 digits in [0, 1];
    * ``mnist`` / ``fashion-mnist``: 28 × 28 images in [0, 1] from the data root (see
      :func:`ebmlab.data.load_data`), then :func:`local_contrast_normalize` with ``sigma = 1``;
    * ``PATH.npy``: a real ``(N, H, W)`` array, used as it is.

    ``n_samples`` keeps a random subset of that size (drawn with ``seed``; not for ``photos``).

    Shape:
        → float32 ``(N, 1, H, W)``.

    Raises:
        FileNotFoundError: the file (or the MNIST files, without ``download``) is missing.
        DataFileError: a file exists but is damaged, not numeric, complex, not 3-D, empty or not finite.

    Example:
        >>> tuple(load_images("digits", n_samples=10).shape)
        (10, 1, 8, 8)
    """
    if not isinstance(spec, str):
        raise TypeError(f"spec must be an image set name or a .npy path (str), got {type(spec).__name__}")
    if spec == "photos":
        return sample_images(256)
    if spec in ("digits", *MNIST_NAMES):
        dataset = load_data(spec, n_samples=n_samples, seed=seed, root=root, download=download)
        images = torch.from_numpy(dataset.data).reshape(-1, 1, *dataset.image_shape)  # (N, 1, H, W)
        return local_contrast_normalize(images, sigma=1.0) if spec in MNIST_NAMES else images
    if not spec.endswith(".npy"):
        raise ValueError(f"data must be one of {IMAGE_NAMES} or a .npy path of (N, H, W) images, got {spec!r}")
    if n_samples is not None:
        n_samples = check_int(n_samples, "n_samples")
    data = _read_images(spec)
    if n_samples is not None and n_samples < len(data):
        data = data[np.sort(np.random.default_rng(seed).choice(len(data), n_samples, replace=False))]
    return torch.from_numpy(np.ascontiguousarray(data))[:, None]  # (N, 1, H, W)
