"""MNIST and Fashion-MNIST from their gzipped IDX files, with an opt-in, md5-checked download.

The files are looked for in ``ROOT/NAME/`` and then ``ROOT/``, where ``ROOT`` is resolved by
:func:`ebmlab.data.data_home` (``root`` argument, then ``$EBMLAB_DATA``, then ``~/.cache/ebmlab``).
Nothing is downloaded unless ``download=True`` (CLI ``--download``); a download goes to
``ROOT/NAME/``, is checked against the published md5 and is written atomically (a temporary file in
the same folder, renamed into place), so an interrupted or corrupted download leaves nothing behind.

Every damaged file (truncated or corrupt gzip, wrong magic number, header disagreeing with the
content) raises :class:`ebmlab.data.DataFileError` naming the file.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import struct
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from ._files import ENVIRONMENT_VARIABLE, DataFileError, data_home

__all__ = ["MNIST_NAMES", "load_idx", "load_mnist"]

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
MNIST_NAMES = tuple(_MIRRORS)

_GZIP_MAGIC = b"\x1f\x8b"
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_DOWNLOAD_TIMEOUT_S = 60.0
_REDOWNLOAD_HINT = "; delete it and run again with --download (Python: download=True)"


def _damaged(path: Path, reason: str, hint: str) -> DataFileError:
    return DataFileError(f"{path} is damaged ({reason}){hint}")


def _read_bytes(path: Path, hint: str) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic (or is named ``*.gz``)."""
    with open(path, "rb") as raw:  # a missing file is a FileNotFoundError, not a damaged one
        head = raw.read(2)
        raw.seek(0)
        if head != _GZIP_MAGIC:
            if path.suffix == ".gz":
                raise _damaged(path, f"not a gzip file: it starts with {head!r}, expected {_GZIP_MAGIC!r}", hint)
            return raw.read()
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as handle:
                return handle.read()
        except EOFError:
            reason = "truncated gzip stream"
        except (gzip.BadGzipFile, zlib.error) as exc:
            reason = f"corrupt gzip stream: {exc}"
        except OSError as exc:
            reason = f"unreadable gzip stream: {exc}"
    raise _damaged(path, reason, hint)


def _parse_idx(path: Path, data: bytes, hint: str) -> np.ndarray:
    if len(data) < 4:
        raise _damaged(path, f"{len(data)} bytes, shorter than the 4-byte IDX magic number", hint)
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        magic = int.from_bytes(data[:4], "big")
        raise _damaged(path, f"not an IDX file: bad magic number 0x{magic:08x}, expected 0x0000TTNN", hint)
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    ndim = data[3]
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise _damaged(
            path, f"the IDX header of {ndim} dimensions needs {offset} bytes, the file holds {len(data)}", hint
        )
    shape = struct.unpack(f">{ndim}I", data[4:offset])
    count = int(np.prod(shape, dtype=np.int64))
    expected, found = count * dtype.itemsize, len(data) - offset
    if found != expected:
        raise _damaged(
            path, f"the header says shape {shape}, i.e. {expected} bytes of data, but the file holds {found}", hint
        )
    return np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)


def _read_idx(path: Path, hint: str) -> np.ndarray:
    return _parse_idx(path, _read_bytes(path, hint), hint)


def load_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a read-only numpy array of its stored dtype and shape.

    IDX: magic ``0x0000TTNN`` (element type TT, N dimensions), N big-endian uint32 sizes, then the
    values in row-major order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataFileError: the file is damaged (truncated or corrupt gzip, not IDX, header and content disagree).

    Example:
        >>> import gzip, os, struct, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "tiny-idx1-ubyte.gz")
        >>> with gzip.open(path, "wb") as handle:
        ...     _ = handle.write(struct.pack(">BBBBI", 0, 0, 0x08, 1, 3) + bytes([7, 8, 9]))
        >>> load_idx(path)
        array([7, 8, 9], dtype=uint8)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    return _read_idx(Path(path), "; replace it with an intact copy")


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(name: str, filename: str, target: Path) -> None:
    """Download ``filename`` of set ``name`` to ``target``: each mirror in turn, md5-checked, atomic."""
    target.parent.mkdir(parents=True, exist_ok=True)
    expected = _MD5[(name, filename)]
    errors = []
    for mirror in _MIRRORS[name]:
        url = mirror + filename
        handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{filename}.", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                # the URL comes from the fixed mirror table above, never from user input
                with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:  # noqa: S310
                    shutil.copyfileobj(response, out)
                out.flush()
                os.fsync(out.fileno())
            found = _md5(Path(tmp))
            if found != expected:
                errors.append(f"{url}: md5 mismatch, expected {expected}, found {found}")
                continue
            os.replace(tmp, target)
            return
        except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError is an OSError
            errors.append(f"{url}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise DataFileError(
        f"could not download {filename} into {target.parent} (nothing was written): "
        + "; ".join(errors)
        + "; or place the IDX files there by hand"
    )


def _root_source(root: str | os.PathLike[str] | None) -> str:
    if root is not None:
        return "set by the root argument, CLI --data-root"
    if os.environ.get(ENVIRONMENT_VARIABLE):
        return f"set by ${ENVIRONMENT_VARIABLE}"
    return f"the default, as neither --data-root nor ${ENVIRONMENT_VARIABLE} is set"


def load_mnist(
    split: str = "train",
    *,
    name: str = "mnist",
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST as ``(images, labels)``: uint8 ``(N, 28, 28)`` and uint8 ``(N,)``.

    Files (``train-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``, ...) are looked for in
    ``ROOT/name/`` and then ``ROOT/``, ``ROOT`` being :func:`~ebmlab.data.data_home` of ``root``.

    Args:
        split: ``"train"`` (60,000) or ``"test"`` (10,000).
        name: ``"mnist"`` or ``"fashion-mnist"``.
        root: directory holding the IDX files (CLI ``--data-root``); see the resolution order above.
        download: fetch missing files from the public mirrors into ``ROOT/name/`` (md5-checked, atomic).

    Shape:
        → images ``(N, 28, 28)``, labels ``(N,)``.

    Raises:
        FileNotFoundError: a file is missing and ``download`` is False; the message says where it
            looked and how to get the files.
        DataFileError: a file is damaged, or the download failed.

    Example:
        >>> import tempfile
        >>> try:
        ...     load_mnist("test", root=tempfile.mkdtemp())
        ... except FileNotFoundError as error:
        ...     print("--download" in str(error))
        True
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if name not in _MIRRORS:
        raise ValueError(f"name must be one of {sorted(_MIRRORS)}, got {name!r}")
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, got {type(download).__name__} {download!r}")
    prefix = "train" if split == "train" else "t10k"
    home = data_home(root)
    paths, arrays = [], []
    for kind in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"):
        filename = f"{prefix}-{kind}"
        candidates = [home / name / filename, home / filename]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            if not download:
                raise FileNotFoundError(
                    f"{name} file {filename} not found in {home / name} or {home} "
                    f"(the data root, {_root_source(root)}); "
                    "pass --download (Python: download=True) or --data-root DIR holding the IDX files"
                )
            found = candidates[0]
            _fetch(name, filename, found)
        paths.append(found)
        arrays.append(_read_idx(found, _REDOWNLOAD_HINT))
    (images, labels), (images_path, labels_path) = arrays, paths
    if images.ndim != 3:
        raise DataFileError(f"{images_path} holds shape {images.shape}; expected images (N, H, W){_REDOWNLOAD_HINT}")
    if labels.shape != images.shape[:1]:
        raise DataFileError(
            f"{labels_path} holds shape {labels.shape} but {images_path} holds {len(images)} images; "
            f"expected labels ({len(images)},){_REDOWNLOAD_HINT}"
        )
    return images, labels
