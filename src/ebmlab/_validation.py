"""Input checks shared by the public entry points. Private helpers downstream assume valid input."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "as_tensor",
    "check_finite",
    "check_int",
    "check_matrix",
    "check_positive",
    "resolve_device",
    "to_caller",
]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` → CPU; ``"cuda"`` fails with a clear message when CUDA is absent."""
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available on this machine")
    return dev


def as_tensor(data: Any, name: str, *, dtype: torch.dtype | None = None, device: torch.device | None = None) -> Tensor:
    """Convert an array-like to a floating tensor without silent reshaping.

    Integer and boolean input becomes float32; float16/bfloat16 stay as given unless ``dtype`` is set.
    """
    if isinstance(data, Tensor):
        tensor = data
    else:
        try:
            tensor = torch.as_tensor(np.asarray(data))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a numpy array or torch tensor, got {type(data).__name__}") from exc
    if dtype is None and not tensor.is_floating_point():
        if tensor.is_complex():
            raise TypeError(f"{name} must be real, got dtype={tensor.dtype}")
        dtype = torch.float32
    return tensor.to(device=device, dtype=dtype)


def check_matrix(tensor: Tensor, name: str, *, columns: int | None = None, min_rows: int = 1) -> None:
    """Require a 2-D ``(B, D)`` tensor, optionally with ``D == columns`` and ``B >= min_rows``."""
    if tensor.ndim != 2:
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features), got shape {tuple(tensor.shape)}")
    if columns is not None and tensor.shape[1] != columns:
        raise ValueError(f"{name} must have {columns} features (columns), got shape {tuple(tensor.shape)}")
    if tensor.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} sample(s), got shape {tuple(tensor.shape)}")


def check_finite(tensor: Tensor, name: str) -> None:
    """Reject NaN and infinity, saying how many entries are bad.

    A finite sum proves every entry finite without a boolean copy of the data; only when the sum is
    not finite (bad entries, or an overflow of large ones) are the entries inspected one by one.
    """
    if tensor.numel() == 0 or bool(torch.isfinite(tensor.sum())):
        return
    bad = ~torch.isfinite(tensor)
    if bool(bad.any()):  # the sum overflowed on finite entries otherwise
        raise ValueError(f"{name} contains {int(bad.sum())} NaN or infinite value(s) out of {tensor.numel()}")


def check_positive(value: float, name: str, *, strict: bool = True) -> float:
    """A real number > 0 (or >= 0 with ``strict=False``), infinity allowed (temperatures); never NaN.

    Python and numpy numbers alike (``np.float32(2)`` is a number); the result is a Python float.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    ok = value > 0 if strict else value >= 0
    if not ok:
        raise ValueError(f"{name} must be {'>' if strict else '>='} 0, got {name}={value}")
    return value


def check_int(value: int, name: str, *, minimum: int = 1) -> int:
    """An integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {name}={value}")
    return int(value)


def to_caller(tensor: Tensor, like: Any) -> Any:
    """Return ``tensor`` as the caller's kind: a numpy array if ``like`` was not a tensor."""
    if isinstance(like, Tensor):
        return tensor
    return tensor.detach().cpu().numpy()
