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


_FLOATS = (torch.float32, torch.float64)


def float_tensor(data: Any, name: str) -> Tensor:
    """A tensor of ``data`` (numpy or torch), float32 or float64: other floats and integers become float32."""
    tensor = as_tensor(data, name)
    return tensor if tensor.dtype in _FLOATS else tensor.to(torch.float32)


def random_seeds(random_state: Any, count: int) -> list[int]:
    """``count`` integer seeds from a scikit-learn ``random_state`` (int, RandomState, torch.Generator, None).

    An int or a :class:`numpy.random.RandomState` goes through :func:`sklearn.utils.check_random_state`
    (a RandomState is advanced, as in scikit-learn; the first m seeds do not depend on ``count``); a
    torch.Generator is drawn from; None draws fresh entropy from the operating system, never numpy's
    global state.
    """
    if isinstance(random_state, torch.Generator):
        return [int(torch.randint(2**62, (1,), generator=random_state)) for _ in range(count)]
    if random_state is None:
        return [int(seed) for seed in np.random.SeedSequence().generate_state(count, dtype=np.uint64) >> 2]
    from sklearn.utils import check_random_state

    rng = check_random_state(random_state)
    return [int(seed) for seed in rng.randint(0, 2**31 - 1, size=count)]


def estimator_matrix(
    estimator: Any,
    X: Any,
    *,
    reset: bool,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
) -> Tensor:
    """X for a scikit-learn style estimator as a finite ``(B, D)`` float tensor.

    Tensors are checked here (float32/float64 kept, other dtypes become float32, ``device`` None keeps
    theirs); anything else goes through scikit-learn's ``validate_data`` (float64/float32 kept, the
    rest float64). With ``reset`` the number of features is recorded in ``n_features_in_``, else it
    must match. ``dtype`` None computes in the input's precision.
    """
    if isinstance(X, Tensor):
        data = float_tensor(X, "X")
        check_matrix(data, "X")
        if reset:
            estimator.n_features_in_ = data.shape[1]
        elif data.shape[1] != estimator.n_features_in_:
            raise ValueError(
                f"X has {data.shape[1]} features, but {type(estimator).__name__} is expecting "
                f"{estimator.n_features_in_} features as input."
            )
        check_finite(data, "X")
    else:
        from sklearn.utils.validation import validate_data

        array = validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32], order="C")
        if not array.flags.writeable:
            array = array.copy()
        data = torch.from_numpy(array)
    target = resolve_device(device) if device is not None else data.device
    return data.to(device=target, dtype=dtype if dtype is not None else data.dtype)
