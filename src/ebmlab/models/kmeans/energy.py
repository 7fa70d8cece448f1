"""The K-means energy E(y, z) = ‖y − Wz‖², z one-hot: a codebook energy searched by the nearest-codeword kernel."""

from __future__ import annotations

import math

from torch import Tensor, nn

from ..._validation import check_positive
from ...energy import Energy, OneHotLatent
from ...inference import ArgminResult
from ...kernels.argmin import assign_clusters, row_norms, squared_distances
from ...kernels.free_energy import blocked_free_energy

__all__ = ["KMeansEnergy"]


class KMeansEnergy(Energy):
    """E(y, z) = ‖y − Wz‖², z one-hot in 𝕀_K: the lecture's K-means energy.

    Args:
        centroids: the decoder W as a ``(K, D)`` tensor (row k = centroid k = Dec(e_k)).

    Its latent inference is :class:`~ebmlab.ExhaustiveSearch`, which sees :attr:`codebook` and runs the
    nearest-codeword kernel :func:`~ebmlab.kernels.argmin.assign_clusters` (blocked; exact also where
    the squares overflow).

    Shape:
        y ``(B, D)``, z ``(B, K)`` one-hot → ``(B,)``; :meth:`pairwise` → ``(B, K')``.

    Example:
        >>> import math, torch
        >>> from ebmlab import ExhaustiveSearch
        >>> energy = KMeansEnergy(torch.tensor([[0.0, 0.0], [4.0, 0.0]]))
        >>> y = torch.tensor([[1.0, 0.0]])
        >>> energy(y, torch.tensor([[0.0, 1.0]])).item(), energy.free_energy(y).item()
        (9.0, 1.0)
        >>> ExhaustiveSearch()(energy, y).latent  # its inference: the nearest-codeword search
        tensor([[1., 0.]])
        >>> round(energy.free_energy(y, beta=1.0).item(), 4)  # −log((e^−1 + e^−9) / 2)
        1.6928
    """

    def __init__(self, centroids: Tensor) -> None:
        super().__init__()
        if centroids.ndim != 2:
            raise ValueError(f"centroids must be 2-D (K, D), got shape {tuple(centroids.shape)}")
        self.centroids = nn.Parameter(centroids.detach().clone(), requires_grad=False)
        self.data_dim = centroids.shape[1]
        self.latent = OneHotLatent(centroids.shape[0])

    def _check_y(self, y: Tensor, name: str = "y") -> None:
        """Require a floating ``(B, D)`` tensor with this energy's D."""
        count, dim = self.centroids.shape
        if not isinstance(y, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape (B, D) = (B, {dim}), got {type(y).__name__}")
        if not y.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor of shape (B, {dim}), got dtype={y.dtype}")
        if y.ndim != 2 or y.shape[1] != dim:
            raise ValueError(
                f"{name} must have shape (B, D) = (B, {dim}) for these {count} centroids of dimension D={dim}, "
                f"got shape {tuple(y.shape)}"
            )

    def _check_z(self, z: Tensor, name: str, rows: int | None = None) -> None:
        """Require a ``(B, K)`` tensor of codes (``rows`` = B when it must match y's)."""
        count = self.centroids.shape[0]
        if not isinstance(z, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape (B, K) = (B, {count}), got {type(z).__name__}")
        if z.ndim != 2 or z.shape[1] != count or (rows is not None and z.shape[0] != rows):
            expected = f"({rows if rows is not None else 'B'}, {count})"
            raise ValueError(f"{name} must have shape (B, K) = {expected}, one code per row of y, got {tuple(z.shape)}")

    @property
    def codebook(self) -> Tensor:
        """The decoded latent values Dec(e_k) = w_k, ``(K, D)``: E(y, e_k) = ‖y − w_k‖²."""
        return self.centroids

    def decode(self, z: Tensor) -> Tensor:
        """ỹ = Dec(z) = Wz. Shape: z ``(B, K)`` → ``(B, D)``."""
        self._check_z(z, "z")
        return z.to(self.centroids.dtype) @ self.centroids

    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        self._check_y(y)
        self._check_z(z, "z", rows=y.shape[0])
        return (y - self.decode(z)).pow(2).sum(dim=1)  # (B,)

    def pairwise(self, y: Tensor, z_values: Tensor, x: Tensor | None = None) -> Tensor:
        self._check_y(y)
        return squared_distances(y, self.decode(z_values).to(y.dtype))  # (B, K')

    def assign(self, y: Tensor) -> ArgminResult:
        """ž as cluster indices and F_∞(y), without forming one-hot codes. Shape: ``(B, D)`` → ``(B,)``, ``(B,)``."""
        self._check_y(y)
        return assign_clusters(y, self.centroids.to(y.dtype))

    def free_energy(self, y: Tensor, beta: float = math.inf, x: Tensor | None = None) -> Tensor:
        """F_β(y): min_k ‖y − w_k‖² at β = ∞, else the soft-min over the K centroids. ``(B, D)`` → ``(B,)``."""
        beta = check_positive(beta, "beta")
        self._check_y(y)
        if math.isinf(beta):
            return self.assign(y).energy
        if y.shape[0] == 0:
            return y.new_zeros(0)
        centroids = self.centroids.to(y.dtype)
        y_sq, c_sq = row_norms(y), (centroids * centroids).sum(dim=1)

        def pairwise(rows: slice, latents: slice) -> Tensor:
            return squared_distances(y[rows], centroids[latents], y_sq=y_sq[rows], centroids_sq=c_sq[latents])

        return blocked_free_energy(pairwise, y.shape[0], centroids.shape[0], beta)
