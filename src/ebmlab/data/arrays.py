"""Data matrices by name or path, for the estimators and the CLI: :func:`load_data` → :class:`ArrayDataset`."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import check_int
from ._files import DataFileError, read_npy
from .mnist import MNIST_NAMES, load_mnist

__all__ = ["DATA_NAMES", "ArrayDataset", "load_data"]

DATA_NAMES = ("blobs", "digits", *MNIST_NAMES)


@dataclass(frozen=True)
class ArrayDataset:
    """A data matrix for the estimators and the CLI.

    Attributes:
        data: float32 ``(N, D)``; images are flattened and scaled to [0, 1].
        labels: int64 ``(N,)`` or None.
        image_shape: ``(H, W)`` when the rows are images, else None.
        name: what was loaded.

    Example:
        >>> dataset = load_data("digits", n_samples=50)
        >>> dataset.data.shape, dataset.data.dtype, dataset.labels.shape, dataset.image_shape, dataset.name
        ((50, 64), dtype('float32'), (50,), (8, 8), 'digits')
    """

    data: np.ndarray
    labels: np.ndarray | None
    image_shape: tuple[int, int] | None
    name: str


def _read_csv(path: Path) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an empty file is reported below instead
            return np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as exc:  # also UnicodeDecodeError, a ValueError
        raise DataFileError(
            f"data file {path} cannot be read as numbers ({exc}); "
            "expected comma-separated numbers, one sample a line, the same count on every line, no header"
        ) from exc


def _read_file(spec: str) -> np.ndarray:
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"data file {spec!r} does not exist")
    data = read_npy(path, "expected one 2-D array saved by np.save") if spec.endswith(".npy") else _read_csv(path)
    if np.iscomplexobj(data):
        raise DataFileError(f"data file {spec} holds complex values; expected real numbers")
    if data.dtype.kind not in "biuf":
        raise DataFileError(f"data file {spec} holds values of dtype {data.dtype}; expected real numbers")
    if data.ndim != 2:
        raise DataFileError(f"data file {spec} must hold a 2-D array (n_samples, n_features), got shape {data.shape}")
    if data.size == 0:
        raise DataFileError(f"data file {spec} holds no values (shape {data.shape}); expected a 2-D array of numbers")
    return data


def load_data(
    spec: str,
    *,
    n_samples: int | None = None,
    seed: int = 0,
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
    split: str = "train",
) -> ArrayDataset:
    """Load a data matrix by name: ``blobs``, ``digits``, ``mnist``, ``fashion-mnist``, or a path.

    * ``blobs``: scikit-learn's Gaussian blobs in 2-D (8 centres; ``n_samples`` default 2,000);
    * ``digits``: scikit-learn's bundled 8 × 8 digits (1,797), scaled to [0, 1];
    * ``mnist`` / ``fashion-mnist``: 28 × 28 images scaled to [0, 1], read from the data root
      ``root`` (CLI ``--data-root``, then ``$EBMLAB_DATA``, then ``~/.cache/ebmlab``) and
      downloaded there only with ``download=True`` (see :func:`ebmlab.data.load_mnist`);
    * ``PATH.npy`` (a 2-D real array, no pickles) or ``PATH.csv`` (comma-separated numbers, no header).

    ``n_samples`` keeps a random subset of that size (drawn with ``seed``). ``split`` (``"train"``
    or ``"test"``) applies to the MNIST-style sets.

    Shape:
        → ``data`` ``(N, D)`` float32, ``labels`` ``(N,)`` int64 or None.

    Raises:
        FileNotFoundError: the file (or the MNIST files, without ``download``) is missing.
        DataFileError: a file exists but is damaged, not numeric, complex, not 2-D, empty, or not finite
            (also a damaged MNIST file).

    Example:
        >>> ds = load_data("digits", n_samples=100)
        >>> ds.data.shape, ds.image_shape
        ((100, 64), (8, 8))
    """
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a data set name or a .npy/.csv path (str), got {type(spec).__name__}")
    if n_samples is not None:
        n_samples = check_int(n_samples, "n_samples")
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, got {type(download).__name__} {download!r}")
    labels: np.ndarray | None = None
    image_shape: tuple[int, int] | None = None
    if spec == "blobs":
        from sklearn.datasets import make_blobs

        data, labels = make_blobs(n_samples=n_samples or 2000, centers=8, n_features=2, random_state=seed)
        n_samples = None
    elif spec == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        data, labels, image_shape = bunch.data / 16.0, bunch.target, (8, 8)
    elif spec in MNIST_NAMES:
        images, labels = load_mnist(split, name=spec, root=root, download=download)
        data, image_shape = images.reshape(len(images), -1) / 255.0, images.shape[1:]  # (N, H·W)
    elif spec.endswith(".npy") or spec.endswith(".csv"):
        data = _read_file(spec)
    else:
        raise ValueError(f"data must be one of {DATA_NAMES} or a .npy/.csv path, got {spec!r}")
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported just below
        data = np.ascontiguousarray(data, dtype=np.float32)  # (N, D)
    if not np.isfinite(data).all():  # only a file can hold these; float32 overflow counts too
        bad = int((~np.isfinite(data)).sum())
        raise DataFileError(f"data file {spec} contains {bad} NaN or infinite value(s) (as float32) out of {data.size}")
    if n_samples is not None and n_samples < len(data):
        keep = np.sort(np.random.default_rng(seed).choice(len(data), n_samples, replace=False))
        data = data[keep]
        labels = None if labels is None else labels[keep]
    if labels is not None:
        labels = np.asarray(labels, dtype=np.int64)
    return ArrayDataset(data, labels, image_shape, spec)
