"""Sparse data for K-means: scipy/torch sparse matrices as torch CSR tensors, and Lloyd's per-entry reductions.

Private workers of :mod:`.lloyd` and :class:`~ebmlab.models.kmeans.KMeansSolver`. The distance products
y·wᵀ of a CSR tensor are torch's sparse matrix products (:func:`ebmlab.kernels.argmin.squared_distances`);
what Lloyd's iterations need beyond them — per-cluster sums, the distance of each row to its own
centroid, column sums, responsibility-weighted sums — is computed here over the stored entries only,
by row blocks of about a million entries (O(nnz) work and memory, never a dense ``(B, D)`` copy).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ...kernels.argmin import csr_row_ids, row_slice

__all__: list[str] = []

_BLOCK_ENTRIES = 1 << 20  # stored entries per block of rows


def is_sparse(data: Any) -> bool:
    """Whether ``data`` is a scipy sparse matrix/array or a sparse torch tensor."""
    if isinstance(data, Tensor):
        return data.layout != torch.strided
    import scipy.sparse

    return scipy.sparse.issparse(data)


def csr_tensor(data: Any, device: torch.device | None = None) -> Tensor:
    """A sparse torch CSR tensor of ``data`` (scipy sparse of any format, or a sparse torch tensor).

    Canonical (repeated entries summed), sharing the scipy arrays when they already are CSR. Integer
    and boolean entries become float32 (ebmlab's rule for tensors); float32/float64 are kept.
    """
    if isinstance(data, Tensor):
        tensor = data if data.layout in (torch.sparse_csr, torch.sparse_csc) else data.to_sparse_coo().coalesce()
        tensor = tensor if tensor.layout == torch.sparse_csr else tensor.to_sparse_csr()
    else:
        matrix = data.tocsr() if data.format != "csr" else data
        if not matrix.has_canonical_format:
            matrix = matrix.copy()
            matrix.sum_duplicates()
        index = np.int32 if max(matrix.nnz, matrix.shape[1]) < 2**31 - 1 else np.int64
        with warnings.catch_warnings():  # torch's "sparse CSR support is in beta" notice
            warnings.simplefilter("ignore", UserWarning)
            tensor = torch.sparse_csr_tensor(
                torch.from_numpy(np.asarray(matrix.indptr, dtype=index)),
                torch.from_numpy(np.asarray(matrix.indices, dtype=index)),
                torch.from_numpy(np.asarray(matrix.data)),
                size=matrix.shape,
                check_invariants=False,
            )
    if tensor.dtype not in (torch.float32, torch.float64):
        tensor = tensor.to(torch.float32)
    return tensor if device is None else tensor.to(device)


def _blocks(y: Tensor) -> list[tuple[int, Tensor]]:
    """Row blocks of a CSR tensor with about :data:`_BLOCK_ENTRIES` stored entries each: (first row, block)."""
    rows = y.shape[0]
    step = max(1, _BLOCK_ENTRIES * rows // max(y.values().numel(), 1))
    return [(start, row_slice(y, slice(start, min(start + step, rows)))) for start in range(0, rows, step)]


def _per_entry(block: Tensor, per_row: Tensor) -> Tensor:
    """``per_row`` ``(b, ...)`` repeated for each stored entry of the CSR ``block``: ``(m, ...)``."""
    crow = block.crow_indices()
    return torch.repeat_interleave(per_row, (crow[1:] - crow[:-1]).long(), dim=0)


def add_rows(sums: Tensor, labels: Tensor, y: Tensor, *, alpha: float = 1.0, weights: Tensor | None = None) -> None:
    """sums[labels[b]] += alpha · weights[b] · y_b in float64, over the stored entries of the CSR ``y``.

    Shape:
        sums ``(K, D)`` float64, labels ``(B,)``, y ``(B, D)`` CSR, weights ``(B,)`` float64 or None.
    """
    flat = sums.view(-1)
    for start, block in _blocks(y):
        rows = slice(start, start + block.shape[0])
        index = torch.add(block.col_indices(), _per_entry(block, labels[rows]), alpha=y.shape[1])  # (m,) k·D + d
        values = block.values().double()
        if weights is not None:
            values = values * _per_entry(block, weights[rows])
        flat.index_add_(0, index, values, alpha=alpha)


def assigned_distances(y: Tensor, centers: Tensor, labels: Tensor) -> Tensor:
    """‖y_b − w_{ž_b}‖² of the CSR rows, as ‖w‖² + Σ_stored ((y_j − w_j)² − w_j²). ``(B,)``, y's dtype."""
    out = torch.zeros(y.shape[0], dtype=y.dtype, device=y.device)
    flat = centers.reshape(-1)
    for start, block in _blocks(y):
        rows = slice(start, start + block.shape[0])
        w = flat[torch.add(block.col_indices(), _per_entry(block, labels[rows]), alpha=y.shape[1])]  # (m,) w_{ž, d}
        out[rows].index_add_(0, csr_row_ids(block), (block.values() - w).pow(2) - w * w)
    out += (centers * centers).sum(dim=1)[labels]
    return out.clamp_min_(0.0)


def column_sums(y: Tensor) -> Tensor:
    """Σ_b y_b of a CSR tensor, in float64. ``(B, D)`` → ``(D,)``."""
    out = torch.zeros(y.shape[1], dtype=torch.float64, device=y.device)
    return out.index_add_(0, y.col_indices().long(), y.values().double())


def responsibility_sums(y: Tensor, responsibilities: Tensor) -> Tensor:
    """rᵀ y for CSR rows ``y`` ``(b, D)`` and responsibilities ``(b, K)``: ``(K, D)`` in float64."""
    count = responsibilities.shape[1]
    out = torch.zeros(y.shape[1], count, dtype=torch.float64, device=y.device)  # (D, K)
    step = max(1, _BLOCK_ENTRIES // max(count, 1) * y.shape[0] // max(y.values().numel(), 1))
    for start in range(0, y.shape[0], step):
        block = row_slice(y, slice(start, min(start + step, y.shape[0])))
        ids = csr_row_ids(block) + start
        out.index_add_(0, block.col_indices().long(), responsibilities[ids].double() * block.values().double()[:, None])
    return out.T
