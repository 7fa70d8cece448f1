"""Data: the lecture's ellipse, 2-D toys, scikit-learn's bundled sets, MNIST and Fashion-MNIST.

MNIST-style sets are read from the standard gzipped IDX files. They are looked for in ``root``,
then in the directory named by the environment variable ``EBMLAB_DATA``, then in
``~/.cache/ebmlab``; if absent and ``download=True`` they are downloaded there (md5-checked,
written atomically). Nothing is downloaded unless asked for.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "ArrayDataset",
    "EllipseData",
    "data_home",
    "ellipse_radius",
    "load_data",
    "load_idx",
    "load_mnist",
    "make_ellipse",
]

ALPHA, BETA = 1.5, 2.0
NOISE = 1.0 / 20.0


def ellipse_radius(x: Tensor) -> Tensor:
    """The lecture's radii ρ(x) = [αx + β(1−x), βx + α(1−x)]·exp(2x), α = 1.5, β = 2.

    Shape:
        x ``(B, 1)`` → ``(B, 2)``.

    Example:
        >>> import torch
        >>> ellipse_radius(torch.zeros(1, 1))
        tensor([[2.0000, 1.5000]])
    """
    first = ALPHA * x + BETA * (1 - x)
    second = BETA * x + ALPHA * (1 - x)
    return torch.cat([first, second], dim=1) * torch.exp(2 * x)  # (B, 2)


@dataclass(frozen=True)
class EllipseData:
    """Samples of the ellipse: ``y`` ``(B, 2)``, ``x`` ``(B, 1)``, the true angle ``theta`` ``(B,)``."""

    y: Tensor
    x: Tensor
    theta: Tensor


def make_ellipse(
    n_samples: int = 1000, *, conditional: bool = False, seed: int = 0, dtype: torch.dtype = torch.float32
) -> EllipseData:
    """The lecture's data: y = [ρ₁(x) cos θ + ε, ρ₂(x) sin θ + ε], θ ~ U(0, 2π), ε ~ N(0, (1/20)²).

    Unconditional: x = 0. Conditional: x drawn uniformly from the grid [0 : 1/50 : 1] (51 values).

    Example:
        >>> data = make_ellipse(4, seed=0)
        >>> tuple(data.y.shape), float(data.x.abs().max())
        ((4, 2), 0.0)
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    generator = torch.Generator().manual_seed(seed)
    theta = 2 * math.pi * torch.rand(n_samples, generator=generator, dtype=torch.float64)
    if conditional:
        x = torch.randint(0, 51, (n_samples, 1), generator=generator).double() / 50
    else:
        x = torch.zeros(n_samples, 1, dtype=torch.float64)
    radius = ellipse_radius(x)  # (B, 2)
    clean = radius * torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)
    noise = NOISE * torch.randn(n_samples, 2, generator=generator, dtype=torch.float64)
    return EllipseData((clean + noise).to(dtype), x.to(dtype), theta.to(dtype))


# ----------------------------------------------------------------------------------------- MNIST

_MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}
_MD5 = {
    ("mnist", "train-images-idx3-ubyte.gz"): "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ("mnist", "train-labels-idx1-ubyte.gz"): "d53e105ee54ea40749a09fcbcd1e9432",
    ("mnist", "t10k-images-idx3-ubyte.gz"): "9fb629c4189551a2d022fa330f9573f3",
    ("mnist", "t10k-labels-idx1-ubyte.gz"): "ec29112dd5afa0611ce80d1b7f02629c",
    ("fashion-mnist", "train-images-idx3-ubyte.gz"): "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ("fashion-mnist", "train-labels-idx1-ubyte.gz"): "25c81989df183df01b3e8a0aad5dffbe",
    ("fashion-mnist", "t10k-images-idx3-ubyte.gz"): "bef4ecab320f06d8554ea6380940ec79",
    ("fashion-mnist", "t10k-labels-idx1-ubyte.gz"): "bb300cfdad3c16e7a12a480ee83cd310",
}


def data_home(root: str | os.PathLike[str] | None = None) -> Path:
    """``root`` if given, else ``$EBMLAB_DATA``, else ``~/.cache/ebmlab``."""
    if root is not None:
        return Path(root)
    env = os.environ.get("EBMLAB_DATA")
    return Path(env) if env else Path.home() / ".cache" / "ebmlab"


def load_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a numpy array of its stored dtype and shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if data[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{data[2]:02x}")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    array = np.frombuffer(data, dtype=dtypes[data[2]], offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but the file holds {array.size} values")
    return array.reshape(shape)


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(name: str, filename: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for mirror in _MIRRORS[name]:
        url = mirror + filename
        handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{filename}.")
        os.close(handle)
        try:
            urllib.request.urlretrieve(url, tmp)  # noqa: S310 - fixed https/http mirrors above
            if _md5(Path(tmp)) != _MD5[(name, filename)]:
                raise ValueError(f"md5 mismatch for {url}")
            os.replace(tmp, target)
            return
        except Exception as exc:  # try the next mirror, report all at the end
            errors.append(f"{url}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise RuntimeError(f"could not download {filename}: " + "; ".join(errors))


def load_mnist(
    split: str = "train",
    *,
    name: str = "mnist",
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST as ``(images, labels)``: uint8 ``(N, 28, 28)`` and uint8 ``(N,)``.

    Files are looked for in ``root/name/``, ``root/`` (see :func:`data_home`).

    Args:
        split: ``"train"`` (60,000) or ``"test"`` (10,000).
        name: ``"mnist"`` or ``"fashion-mnist"``.
        root: directory holding the IDX files.
        download: fetch missing files from the public mirrors.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if name not in _MIRRORS:
        raise ValueError(f"name must be one of {sorted(_MIRRORS)}, got {name!r}")
    prefix = "train" if split == "train" else "t10k"
    home = data_home(root)
    arrays = []
    for kind in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"):
        filename = f"{prefix}-{kind}"
        candidates = [home / name / filename, home / filename]
        found = next((path for path in candidates if path.exists()), None)
        if found is None:
            if not download:
                raise FileNotFoundError(
                    f"{filename} not found in {home / name} or {home}; pass download=True (CLI: --download), "
                    "or set root / EBMLAB_DATA to a folder that holds the IDX files"
                )
            found = candidates[0]
            _fetch(name, filename, found)
        arrays.append(load_idx(found))
    return arrays[0], arrays[1]


# ------------------------------------------------------------------------------- generic arrays


@dataclass(frozen=True)
class ArrayDataset:
    """A data matrix for the estimators and the CLI.

    Attributes:
        data: float32 ``(N, D)``; images are flattened and scaled to [0, 1].
        labels: int64 ``(N,)`` or None.
        image_shape: ``(H, W)`` when the rows are images, else None.
        name: what was loaded.
    """

    data: np.ndarray
    labels: np.ndarray | None
    image_shape: tuple[int, int] | None
    name: str


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
    * ``mnist`` / ``fashion-mnist``: 28 × 28 images scaled to [0, 1] (see :func:`load_mnist`);
    * ``PATH.npy`` (a 2-D array) or ``PATH.csv`` (comma-separated numbers, no header).

    ``n_samples`` keeps a random subset of that size (drawn with ``seed``).

    Example:
        >>> ds = load_data("digits", n_samples=100)
        >>> ds.data.shape, ds.image_shape
        ((100, 64), (8, 8))
    """
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
    elif spec in ("mnist", "fashion-mnist"):
        images, labels = load_mnist(split, name=spec, root=root, download=download)
        data, image_shape = images.reshape(len(images), -1) / 255.0, (28, 28)
    elif spec.endswith(".npy") or spec.endswith(".csv"):
        path = Path(spec)
        if not path.exists():
            raise FileNotFoundError(f"data file {spec!r} does not exist")
        data = np.load(path) if spec.endswith(".npy") else np.loadtxt(path, delimiter=",", ndmin=2)
        if data.ndim != 2:
            raise ValueError(
                f"data file {spec!r} must hold a 2-D array (n_samples, n_features), got shape {data.shape}"
            )
    else:
        raise ValueError(
            f"data must be one of 'blobs', 'digits', 'mnist', 'fashion-mnist', or a .npy/.csv path, got {spec!r}"
        )
    data = np.ascontiguousarray(data, dtype=np.float32)
    if not np.isfinite(data).all():
        raise ValueError(f"data {spec!r} contains NaN or infinite values")
    if n_samples is not None and n_samples < len(data):
        keep = np.sort(np.random.default_rng(seed).choice(len(data), n_samples, replace=False))
        data = data[keep]
        labels = None if labels is None else labels[keep]
    if labels is not None:
        labels = np.asarray(labels, dtype=np.int64)
    return ArrayDataset(data, labels, image_shape, spec)
