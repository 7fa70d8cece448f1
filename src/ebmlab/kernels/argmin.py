"""The argmin over a finite latent set, and distances: ž = argmin_k E(y, k) without the whole matrix.

* :func:`exhaustive_argmin` — the blocked minimum of an implicit ``(B, K)`` energy matrix given by a
  ``pairwise(rows, latents)`` callback (the ellipse's grid, :class:`~ebmlab.ExhaustiveSearch`);
* :func:`squared_distances`, :func:`row_norms` — ‖y − w‖² in the matrix form ‖y‖² − 2y·wᵀ + ‖w‖²;
* :func:`squared_distance_blocks` — those distances one row block at a time (memory bounded);
* :func:`assign_clusters` — the nearest-codeword search ž_b = argmin_k ‖y_b − w_k‖² (K-means'
  assignment step, :class:`~ebmlab.models.kmeans.KMeansEnergy`'s inference) on
  :func:`exhaustive_argmin`, exact also for data whose squares overflow.

The observations ``y`` of the distance functions may also be a sparse CSR tensor
(``torch.sparse_csr``, canonical: no repeated entry in a row): the products y·wᵀ are then sparse
matrix products, the row norms sums over the stored entries, and :func:`row_slice` and
:func:`gather_rows` take the rows torch cannot index.

Its accelerated mode, for a search repeated while the codewords move (Lloyd's iterations), keeps
triangle-inequality bounds between searches: :mod:`ebmlab.kernels.argmin_bounds`, whose test oracle
is :func:`assign_clusters`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import NamedTuple

import torch
from torch import Tensor

from . import fast_linear

__all__ = [
    "ArgminResult",
    "assign_clusters",
    "block_sizes",
    "cache_rows",
    "csr_row_ids",
    "exhaustive_argmin",
    "gather_rows",
    "power_of_two_scale",
    "row_slice",
    "row_norms",
    "scaled",
    "squared_distance_blocks",
    "squared_distances",
]

_BLOCK_ELEMENTS = 1 << 22  # 4 Mi energies (16 MiB in float32) per block by default


class ArgminResult(NamedTuple):
    """Minimum and (first) argmin of each row. Shapes ``(B,)`` and ``(B,)`` (int64).

    Example:
        >>> import torch
        >>> ArgminResult(torch.tensor([0.5]), torch.tensor([2])).index
        tensor([2])
    """

    energy: Tensor
    index: Tensor


def block_sizes(
    num_rows: int, num_latents: int, row_block: int | None = None, latent_block: int | None = None
) -> tuple[int, int]:
    """Rows and latent values per block of a ``(B, K)`` energy matrix: the given ones, or about 4 Mi energies.

    Example:
        >>> block_sizes(100_000, 10), block_sizes(10, 10, latent_block=3)
        ((419430, 10), (1398101, 3))
    """
    if num_rows < 0 or num_latents < 1:
        raise ValueError(f"need num_rows >= 0 and num_latents >= 1, got {num_rows} and {num_latents}")
    if latent_block is None:
        latent_block = min(num_latents, max(1, _BLOCK_ELEMENTS // max(1, min(num_rows, 4096))))
    if row_block is None:
        row_block = max(1, _BLOCK_ELEMENTS // latent_block)
    return row_block, latent_block


def exhaustive_argmin(
    pairwise: Callable[[slice, slice], Tensor],
    num_rows: int,
    num_latents: int,
    *,
    row_block: int | None = None,
    latent_block: int | None = None,
) -> ArgminResult:
    """Row-wise minimum of an implicit ``(B, K)`` energy matrix, computed block by block.

    .. math:: \\check z_b = \\arg\\min_k E_{b k}, \\qquad F_\\infty(y_b) = E_{b \\check z_b}

    Args:
        pairwise: ``pairwise(rows, latents)`` returns the energies of the observations ``rows``
            against the latent values ``latents`` as a ``(b, k)`` tensor.
        num_rows: ``B``.
        num_latents: ``K``.
        row_block, latent_block: block sizes; by default blocks of about 4 Mi energies.

    Returns:
        :class:`ArgminResult` with the minimum energies ``(B,)`` and indices ``(B,)``; ties go to
        the lowest index.

    Example:
        >>> import torch
        >>> E = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 0.0]])
        >>> exhaustive_argmin(lambda r, k: E[r, k], 2, 3, row_block=1, latent_block=2)
        ArgminResult(energy=tensor([1., 0.]), index=tensor([1, 0]))
    """
    row_block, latent_block = block_sizes(num_rows, num_latents, row_block, latent_block)
    energies: list[Tensor] = []
    indices: list[Tensor] = []
    for start in range(0, num_rows, row_block):
        rows = slice(start, min(start + row_block, num_rows))
        best = best_index = None
        for k0 in range(0, num_latents, latent_block):
            block = pairwise(rows, slice(k0, min(k0 + latent_block, num_latents)))  # (b, k)
            value, index = block.min(dim=1)  # (b,), (b,)
            if best is None:
                best, best_index = value, index
            else:
                better = value < best  # strict: earlier blocks win ties
                best = torch.where(better, value, best)
                best_index = torch.where(better, index + k0, best_index)
        energies.append(best)
        indices.append(best_index)
    if not energies:
        raise ValueError("num_rows must be >= 1 to search for a minimum")
    return ArgminResult(torch.cat(energies), torch.cat(indices))


def squared_distances(
    y: Tensor, centroids: Tensor, *, y_sq: Tensor | None = None, centroids_sq: Tensor | None = None
) -> Tensor:
    """All squared distances ‖y_b − w_k‖² in the matrix form ‖y‖² − 2y·wᵀ + ‖w‖², clamped at 0.

    .. math:: E_{bk} = \\lVert y_b\\rVert^2 - 2\\, y_b^\\top w_k + \\lVert w_k \\rVert^2

    Shape:
        y ``(B, D)``, centroids ``(K, D)``, y_sq ``(B,)``, centroids_sq ``(K,)`` → ``(B, K)``.

    Example:
        >>> import torch
        >>> squared_distances(torch.tensor([[0.0, 0.0], [3.0, 4.0]]), torch.tensor([[0.0, 0.0]]))
        tensor([[ 0.],
                [25.]])
    """
    if y_sq is None:
        y_sq = row_norms(y) if y.layout == torch.sparse_csr else (y * y).sum(dim=1)
    if centroids_sq is None:
        centroids_sq = (centroids * centroids).sum(dim=1)
    count = centroids.shape[0]
    if y.layout == torch.sparse_csr or not 8 < count < 16 or y.shape[0] < 64 or fast_linear.applies(y, centroids):
        energies = fast_linear.linear(y, centroids, centroids_sq, alpha=-2.0)  # (B, K); sparse product for CSR y
    else:  # 9–15 centroids through torch.addmm: zero rows up to 16 make it ~1.25× faster (MNIST; same values)
        padded = centroids.new_zeros(16, centroids.shape[1])
        padded[:count] = centroids
        energies = torch.mm(y, padded.T)[:, :count].mul_(-2.0).add_(centroids_sq)
    energies += y_sq.unsqueeze(1)
    return energies.clamp_min_(0.0)


def assign_clusters(
    y: Tensor, centroids: Tensor, *, y_sq: Tensor | None = None, row_block: int | None = None
) -> ArgminResult:
    """The assignment step ž_b = argmin_k ‖y_b − w_k‖², by the core's blocked argmin kernel.

    Memory is bounded by one ``(row_block, K)`` block (about 4 Mi energies by default). Where the
    squared distances overflow (data near the largest float), ``y`` and the centroids are divided by
    a power of two first — exact in floating point — so the assignments stay right; the energies are
    then scaled back (and may be ``inf`` when they exceed the dtype's range). ``y`` may be sparse CSR.

    Shape:
        y ``(B, D)``, centroids ``(K, D)`` → :class:`ArgminResult` of ``(B,)`` energies and indices.

    Example:
        >>> import torch
        >>> found = assign_clusters(torch.tensor([[0.1, 0.0], [2.0, 2.1]]), torch.tensor([[0.0, 0.0], [2.0, 2.0]]))
        >>> found.index.tolist(), [round(v, 4) for v in found.energy.tolist()]
        ([0, 1], [0.01, 0.01])
    """
    if y_sq is None:
        y_sq = row_norms(y)
    c_sq = (centroids * centroids).sum(dim=1)  # (K,)

    def pairwise(rows: slice, latents: slice) -> Tensor:
        return squared_distances(row_slice(y, rows), centroids[latents], y_sq=y_sq[rows], centroids_sq=c_sq[latents])

    count = centroids.shape[0]
    latent_block = min(count, 4096)
    if row_block is None:
        row_block = max(1, _BLOCK_ELEMENTS // latent_block)
    found = exhaustive_argmin(pairwise, y.shape[0], count, row_block=row_block, latent_block=latent_block)
    if bool(torch.isfinite(found.energy).all()):
        return found
    scale = power_of_two_scale(y, centroids)  # squared distances overflowed: solve on y / 2^e, exactly
    if scale == 1.0:
        return found
    rescaled = assign_clusters(scaled(y, scale), centroids / scale, row_block=row_block)
    return ArgminResult(rescaled.energy * scale**2, rescaled.index)


def cache_rows(dim: int) -> int:
    """Rows per block for elementwise passes and float64 casts of ``(rows, dim)``: about 1 MiB, in cache.

    Example:
        >>> cache_rows(64), cache_rows(100_000)
        (4096, 16)
    """
    return max(16, (1 << 18) // max(dim, 1))


def row_norms(y: Tensor) -> Tensor:
    """‖y_b‖² of every row, by cache-sized row blocks (no ``(B, D)`` temporary); of sparse CSR rows, Σ of
    their stored entries squared.

    Shape:
        ``(B, D)`` → ``(B,)``.

    Example:
        >>> import torch
        >>> row_norms(torch.tensor([[3.0, 4.0], [1.0, 0.0]]))
        tensor([25.,  1.])
        >>> row_norms(torch.tensor([[3.0, 4.0], [1.0, 0.0]]).to_sparse_csr())
        tensor([25.,  1.])
    """
    if y.layout == torch.sparse_csr:
        values = y.values()
        out = torch.zeros(y.shape[0], dtype=y.dtype, device=y.device)
        return out.index_add_(0, csr_row_ids(y), values * values)
    out = torch.empty(y.shape[0], dtype=y.dtype, device=y.device)
    step = cache_rows(y.shape[1])
    for start in range(0, y.shape[0], step):
        block = y[start : start + step]
        torch.linalg.vecdot(block, block, out=out[start : start + step])  # ~3× faster than einsum on CPU
    return out


def squared_distance_blocks(
    y: Tensor, centroids: Tensor, *, y_sq: Tensor | None = None
) -> Iterator[tuple[slice, Tensor]]:
    """:func:`squared_distances` of ``y`` to ``centroids`` one row block at a time (about 4 Mi entries each).

    Yields ``(rows, E[rows])`` with ``E[rows]`` of shape ``(b, K)``; a block is only valid until the next.

    Example:
        >>> import torch
        >>> y, w = torch.arange(6.0).reshape(3, 2), torch.zeros(1, 2)
        >>> torch.cat([block for _, block in squared_distance_blocks(y, w)]).squeeze(1)
        tensor([ 1., 13., 41.])
    """
    c_sq = (centroids * centroids).sum(dim=1)  # (K,)
    width = centroids.shape[0] if y.layout == torch.sparse_csr else max(centroids.shape[0], y.shape[1])
    step = max(1, _BLOCK_ELEMENTS // max(width, 1))  # sparse rows: only the (b, K) block counts
    for start in range(0, y.shape[0], step):
        rows = slice(start, min(start + step, y.shape[0]))
        block_sq = None if y_sq is None else y_sq[rows]
        yield rows, squared_distances(row_slice(y, rows), centroids, y_sq=block_sq, centroids_sq=c_sq)


def power_of_two_scale(*tensors: Tensor) -> float:
    """2^e such that the largest |entry| of the tensors divided by it lies in [½, 1); 1.0 for all-zero input.

    Dividing by a power of two is exact in floating point (unless a result falls below the normal
    range, where it only loses digits that are negligible next to the largest entry), so a nearest-
    codeword search on ``y / 2^e`` gives the same answer as on ``y``, with squared distances ×4^e.

    Example:
        >>> import torch
        >>> power_of_two_scale(torch.tensor([3.0, -5.0])), power_of_two_scale(torch.zeros(2))
        (8.0, 1.0)
    """
    tensors = tuple(t.values() if t.layout == torch.sparse_csr else t for t in tensors)  # CSR: its stored entries
    largest = max((float(torch.linalg.vector_norm(t, ord=math.inf)) for t in tensors if t.numel()), default=0.0)
    if largest == 0.0 or not math.isfinite(largest):
        return 1.0
    return math.ldexp(1.0, math.frexp(largest)[1])


def scaled(y: Tensor, scale: float) -> Tensor:
    """``y / scale`` for a dense or sparse CSR tensor (a CSR tensor is multiplied by ``1 / scale``, the same
    numbers when ``scale`` is a power of two).

    Example:
        >>> import torch
        >>> scaled(torch.tensor([[2.0, 0.0]]).to_sparse_csr(), 2.0).to_dense()
        tensor([[1., 0.]])
    """
    if y.layout == torch.sparse_csr:
        return y * (1.0 / scale)
    return y / scale


def csr_row_ids(y: Tensor) -> Tensor:
    """The row of every stored entry of a sparse CSR tensor, in storage order. ``(B, D)`` → ``(nnz,)`` int64.

    Example:
        >>> import torch
        >>> csr_row_ids(torch.tensor([[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]]).to_sparse_csr())
        tensor([0, 0, 2])
    """
    crow = y.crow_indices()
    return torch.repeat_interleave(torch.arange(y.shape[0], device=y.device), (crow[1:] - crow[:-1]).long())


def row_slice(y: Tensor, rows: slice) -> Tensor:
    """``y[rows]`` (a contiguous block of rows) of a dense tensor, or of a sparse CSR one, whose rows torch
    cannot slice: a CSR tensor sharing ``y``'s stored entries.

    Shape:
        ``(B, D)`` → ``(b, D)``.

    Example:
        >>> import torch
        >>> y = torch.tensor([[0.0, 2.0], [3.0, 0.0], [0.0, 0.0]]).to_sparse_csr()
        >>> row_slice(y, slice(1, 3)).to_dense()
        tensor([[3., 0.],
                [0., 0.]])
    """
    if y.layout != torch.sparse_csr:
        return y[rows]
    start, stop, _ = rows.indices(y.shape[0])
    stop = max(start, stop)
    crow = y.crow_indices()
    first, last = int(crow[start]), int(crow[stop])
    return torch.sparse_csr_tensor(
        crow[start : stop + 1] - first,
        y.col_indices()[first:last],
        y.values()[first:last],
        size=(stop - start, y.shape[1]),
        check_invariants=False,
    )


def gather_rows(y: Tensor, index: Tensor) -> Tensor:
    """The rows ``index`` of a dense or sparse CSR tensor, as a dense tensor (``y[index]``; a copy).

    Shape:
        y ``(B, D)``, index ``(T,)`` → ``(T, D)``.

    Example:
        >>> import torch
        >>> y = torch.tensor([[0.0, 2.0], [3.0, 0.0], [0.0, 0.0]])
        >>> gather_rows(y.to_sparse_csr(), torch.tensor([1, 0]))
        tensor([[3., 0.],
                [0., 2.]])
    """
    if y.layout != torch.sparse_csr:
        return y[index]
    crow, columns, values = y.crow_indices(), y.col_indices(), y.values()
    index = index.to(device=y.device, dtype=torch.long)
    out = torch.zeros(index.numel(), y.shape[1], dtype=y.dtype, device=y.device)
    starts = crow[index].long()
    lengths = crow[index + 1].long() - starts  # (T,)
    total = int(lengths.sum())
    if total == 0:
        return out
    which = torch.repeat_interleave(torch.arange(index.numel(), device=y.device), lengths)  # (m,) output row
    before = torch.cumsum(lengths, 0) - lengths  # (T,) entries of the earlier wanted rows
    offsets = torch.arange(total, device=y.device) - before[which]  # (m,) position within its row
    positions = starts[which] + offsets  # (m,) storage positions of the wanted entries
    return out.index_put_((which, columns[positions].long()), values[positions], accumulate=True)
