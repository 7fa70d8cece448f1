"""Binarised MNIST: grey values in [0, 1] read as the probabilities of black-and-white pixels.

Each pixel becomes 1 with probability its grey value, :math:`y_j \\sim \\mathrm{Bernoulli}(x_j)`:

* **static** binarisation draws the binary images once, from a seed (:func:`binarize_static`): every
  epoch sees the same images, as in the fixed binarisation of Salakhutdinov & Murray (2008);
* **dynamic** binarisation draws fresh binary images for every minibatch (:func:`binarize_dynamic`),
  as in Burda et al. (2016): a regulariser, since the model never sees one binary image twice.

:data:`BINARIZATIONS` names the choices a recipe offers (``"none"`` keeps the grey values).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["BINARIZATIONS", "binarize_dynamic", "binarize_static"]

BINARIZATIONS = ("none", "static", "dynamic")


def _check_probabilities(values: np.ndarray | Tensor, name: str) -> None:
    low, high = float(values.min()), float(values.max())
    if not (0.0 <= low and high <= 1.0):
        raise ValueError(
            f"{name} must hold grey values in [0, 1] to be binarised, got values in [{low:.4g}, {high:.4g}]"
        )


def binarize_static(data: np.ndarray, seed: int = 0) -> np.ndarray:
    """One binary draw of every pixel, :math:`y_j \\sim \\mathrm{Bernoulli}(x_j)`, fixed by ``seed``.

    Args:
        data: grey values in [0, 1], float ``(N, D)``.
        seed: the draw (the same seed gives the same binary images).

    Shape:
        ``(N, D)`` → ``(N, D)`` float32 of zeros and ones.

    Example:
        >>> import numpy as np
        >>> binary = binarize_static(np.full((2, 3), 0.5, dtype=np.float32), seed=0)
        >>> binary.dtype, sorted(set(binary.ravel().tolist())) <= [0.0, 1.0]
        (dtype('float32'), True)
        >>> bool((binarize_static(np.eye(3), seed=1) == np.eye(3)).all())  # 0 and 1 stay as they are
        True
    """
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.dtype.kind != "f":
        shape = data.shape if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"data must be a float (N, D) numpy array, got {shape}")
    if data.size:
        _check_probabilities(data, "data")
    uniform = np.random.default_rng(seed).random(data.shape, dtype=np.float32)  # (N, D)
    return (uniform < data).astype(np.float32)


def binarize_dynamic(batch: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """A fresh binary draw of a minibatch, :math:`y_j \\sim \\mathrm{Bernoulli}(x_j)`, from ``generator``
    (on the batch's device; a resumed run restores its state and draws the same images).

    Grey values are not checked here (this runs for every minibatch): check the data once before training.

    Shape:
        ``(B, D)`` → ``(B, D)``, same dtype, zeros and ones.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> binarize_dynamic(torch.tensor([[0.0, 1.0, 1.0]]), g)
        tensor([[0., 1., 1.]])
    """
    return torch.bernoulli(batch, generator=generator)
