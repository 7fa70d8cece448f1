"""The energy contract and latent spaces.

Every ebmlab model is an energy :math:`E(x, y, z)`: a scalar per batch element measuring the
incompatibility of an observation ``y``, an optional input ``x`` and a latent ``z``. Latents are
always batched as ``(B, d)``; a finite latent space lists its values as a ``(K, d)`` tensor. An
energy without latent, :math:`E(y)`, has the :class:`EmptyLatent`: one value, the empty vector
(``d = 0``), so that :math:`F_\\beta(y) = E(y)` for every β and exhaustive search is one evaluation.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
from torch import Tensor, nn

from .kernels.free_energy import blocked_free_energy

__all__ = ["EmptyLatent", "Energy", "FiniteLatent", "GridLatent", "LatentSpace", "OneHotLatent", "RealLatent"]


class LatentSpace(ABC):
    """Where ``z`` lives. ``dim`` is the length ``d`` of one latent vector.

    Example:
        >>> RealLatent(3).dim, RealLatent(3).is_finite, OneHotLatent(3).is_finite
        (3, False, True)
    """

    dim: int

    @property
    def is_finite(self) -> bool:
        return isinstance(self, FiniteLatent)


class FiniteLatent(LatentSpace):
    """A finite set of latent values, enumerable by exhaustive search.

    Shape:
        :meth:`values` → ``(K, d)``.

    Example:
        >>> latent = GridLatent(0.0, 1.0, 0.25)
        >>> isinstance(latent, FiniteLatent), latent.size, latent.values()[:, 0].tolist()
        (True, 4, [0.0, 0.25, 0.5, 0.75])
    """

    @abstractmethod
    def values(self, device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
        """All latent values, shape ``(K, d)``."""

    @property
    @abstractmethod
    def size(self) -> int:
        """The number ``K = |Z|`` of latent values."""


class GridLatent(FiniteLatent):
    """A 1-D grid ``[start : step : stop)``, e.g. the lecture's ``z = [0 : π/24 : 2π)`` (48 values).

    Example:
        >>> import math
        >>> grid = GridLatent(0.0, 2 * math.pi, math.pi / 24)
        >>> grid.size, tuple(grid.values().shape)
        (48, (48, 1))
    """

    def __init__(self, start: float, stop: float, step: float) -> None:
        if not step > 0:
            raise ValueError(f"step must be > 0, got step={step}")
        if not stop > start:
            raise ValueError(f"stop must be > start, got start={start}, stop={stop}")
        self.start, self.stop, self.step = float(start), float(stop), float(step)
        # tolerate rounding: [0 : π/24 : 2π) has exactly 48 points
        self._size = max(1, math.ceil((self.stop - self.start) / self.step - 1e-9))
        self.dim = 1

    @property
    def size(self) -> int:
        return self._size

    def values(self, device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
        index = torch.arange(self._size, device=device, dtype=torch.float64)
        return (self.start + self.step * index).to(dtype).unsqueeze(1)  # (K, 1)

    def __repr__(self) -> str:
        return f"GridLatent(start={self.start}, stop={self.stop}, step={self.step})"


class OneHotLatent(FiniteLatent):
    """One-hot codes :math:`z \\in \\mathbb{I}_K` (K-means' latent).

    Example:
        >>> OneHotLatent(3).values()
        tensor([[1., 0., 0.],
                [0., 1., 0.],
                [0., 0., 1.]])
    """

    def __init__(self, num_values: int) -> None:
        if num_values < 1:
            raise ValueError(f"num_values must be >= 1, got {num_values}")
        self.dim = int(num_values)

    @property
    def size(self) -> int:
        return self.dim

    def values(self, device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
        return torch.eye(self.dim, device=device, dtype=dtype)  # (K, K)

    def __repr__(self) -> str:
        return f"OneHotLatent({self.dim})"


class EmptyLatent(FiniteLatent):
    """No latent: one value, the empty vector, so z is ``(B, 0)`` and :math:`F_\\beta(y) = E(y)`.

    The latent space of deterministic energies :math:`E(y)` (an autoencoder's reconstruction error,
    an MLP energy), stated so that they meet the same contract as latent-variable energies.

    Example:
        >>> EmptyLatent().size, tuple(EmptyLatent().values().shape)
        (1, (1, 0))
    """

    dim = 0

    @property
    def size(self) -> int:
        return 1

    def values(self, device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
        return torch.zeros(1, 0, device=device, dtype=dtype)  # (1, 0)

    def __repr__(self) -> str:
        return "EmptyLatent()"


class RealLatent(LatentSpace):
    """Continuous latents :math:`z \\in \\mathbb{R}^d`, searched by gradient methods.

    Example:
        >>> RealLatent(2)
        RealLatent(2)
    """

    def __init__(self, dim: int) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.dim = int(dim)

    def __repr__(self) -> str:
        return f"RealLatent({self.dim})"


class Energy(nn.Module, ABC):
    """Contract: ``energy(y, z, x=None)`` returns one scalar per batch element.

    Subclasses set :attr:`latent` and implement :meth:`forward` for paired ``(y_b, z_b)``; they may
    override :meth:`pairwise` (every ``y_b`` against every latent value) when a faster form exists,
    and should state :attr:`data_dim` so that inference can check the width of y.

    Attributes:
        latent: the :class:`LatentSpace` z lives in (:class:`EmptyLatent` when there is none).
        data_dim: ``D``, the width of y this energy accepts, or None when it does not say.

    Shape:
        y ``(B, D)``, z ``(B, d)``, x ``(B, D_x)`` or None → ``(B,)``.

    Example:
        >>> class Shift(Energy):  # E(y, z) = ‖y − z‖², z one-hot among 2 values
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.latent, self.data_dim = OneHotLatent(2), 2
        ...     def forward(self, y, z, x=None):
        ...         return (y - z).pow(2).sum(dim=1)
        >>> energy, y = Shift(), torch.tensor([[1.0, 0.0], [0.5, 0.5]])
        >>> energy(y, torch.tensor([[1.0, 0.0], [0.0, 1.0]])), energy.free_energy(y)
        (tensor([0.0000, 0.5000]), tensor([0.0000, 0.5000]))
    """

    latent: LatentSpace
    data_dim: int | None = None

    @abstractmethod
    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        """E(y, z[, x]) of shape ``(B,)``."""

    def pairwise(self, y: Tensor, z_values: Tensor, x: Tensor | None = None) -> Tensor:
        """Energies of every observation against every latent value.

        Shape:
            y ``(B, D)``, z_values ``(K, d)``, x ``(B, D_x)`` or None → ``(B, K)``.
        """
        batch, count = y.shape[0], z_values.shape[0]
        y_rep = y.unsqueeze(1).expand(batch, count, y.shape[1]).reshape(batch * count, -1)  # (B*K, D)
        z_rep = z_values.unsqueeze(0).expand(batch, count, z_values.shape[1]).reshape(batch * count, -1)
        x_rep = None
        if x is not None:
            x_rep = x.unsqueeze(1).expand(batch, count, x.shape[1]).reshape(batch * count, -1)
        return self.forward(y_rep, z_rep, x_rep).reshape(batch, count)  # (B, K)

    def free_energy(self, y: Tensor, beta: float = math.inf, x: Tensor | None = None) -> Tensor:
        """:math:`F_\\beta(y)` over a finite latent space, normalised by its size (see :func:`ebmlab.free_energy`).

        .. math:: F_\\beta(y) = -\\frac{1}{\\beta} \\log \\frac{1}{|Z|} \\sum_{z \\in Z} e^{-\\beta E(y, z)}

        so F_β → min_z E as β → ∞ and → the mean energy as β → 0. Computed by the blocked marginaliser
        :func:`~ebmlab.kernels.free_energy.blocked_free_energy` on :meth:`pairwise`: memory stays at
        one block of about 4 Mi energies however large Z is. Energies whose latent sum has a closed
        form (the RBM's hidden units) override this and say how their normalisation differs.

        Shape:
            y ``(B, D)`` → ``(B,)``.
        """
        if not isinstance(self.latent, FiniteLatent):
            raise TypeError(
                f"free_energy over z needs a finite latent space, this energy has {self.latent!r}; "
                "use a latent inference method for F_inf instead"
            )
        z_values = self.latent.values(device=y.device, dtype=y.dtype)  # (K, d)
        if y.shape[0] == 0:
            return y.new_zeros(0)

        def pairwise(rows: slice, latents: slice) -> Tensor:
            return self.pairwise(y[rows], z_values[latents], None if x is None else x[rows])  # (b, k)

        return blocked_free_energy(pairwise, y.shape[0], self.latent.size, beta)
