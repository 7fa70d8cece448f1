"""Where data files live, and the one error a bad data file raises."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["DataFileError", "data_home"]

ENVIRONMENT_VARIABLE = "EBMLAB_DATA"


class DataFileError(ValueError):
    """A data file exists but cannot be used (damaged, wrong format, wrong content) or could not be fetched.

    The message names the file and says what to do. A ``ValueError``, so the CLI reports it in one line.

    Example:
        >>> issubclass(DataFileError, ValueError)
        True
    """


def data_home(root: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``root`` if given (CLI ``--data-root``), else ``$EBMLAB_DATA``, else ``~/.cache/ebmlab``.

    Example:
        >>> data_home("data/somewhere").as_posix()
        'data/somewhere'
    """
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a path (str or os.PathLike) or None, got {type(root).__name__}")
        return Path(root).expanduser()
    env = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ebmlab"


_NPY_MAGIC = b"\x93NUMPY"


def read_npy(path: Path, expected: str) -> np.ndarray:
    """``np.load`` without pickles; a file that is not a readable ``.npy`` is a :class:`DataFileError`
    naming it and saying what was ``expected``."""
    with open(path, "rb") as handle:
        magic = handle.read(len(_NPY_MAGIC))
    if magic != _NPY_MAGIC:
        raise DataFileError(
            f"data file {path} cannot be read as a .npy array (it starts with {magic!r}, not the NumPy magic "
            f"{_NPY_MAGIC!r}); {expected}"
        )
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataFileError(f"data file {path} cannot be read as a .npy array ({exc}); {expected}") from exc
