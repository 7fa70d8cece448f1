"""Lloyd's iterations, one per ``step()``: plain, soft (finite β) and accelerated, with their row-block helpers.

Private workers of :class:`~ebmlab.models.kmeans.KMeansSolver`; they assume validated input, centred
when far from the origin.
Each is a :class:`_LloydIteration`: :meth:`step` runs one assignment and one centroid update,
:meth:`result` gives the run, :meth:`state_dict` holds what the next step reads. The assignment is
the core's nearest-codeword kernel, :func:`ebmlab.kernels.argmin.assign_clusters`, fused with the
cluster sums chunk by chunk (:func:`assign_and_sum`, as scikit-learn's Lloyd), or, once few labels
change, its accelerated mode :class:`ebmlab.kernels.argmin_bounds.BoundedNearest` (same assignments,
most distances skipped) with the cluster sums kept per searched block while the rows are in cache.

The plain and soft iterations also take sample weights (``weights``, float64 ``(B,)``, None for all
ones: then the unweighted code runs) and sparse CSR data (their per-entry sums in :mod:`.sparse`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor

from ...kernels.argmin import assign_clusters, cache_rows, gather_rows, row_slice, squared_distance_blocks
from ...kernels.argmin_bounds import BoundedNearest
from ...kernels.free_energy import softmin
from ...training import distributed as _processes
from . import sparse as _sparse

__all__: list[str] = []

# The inertia from the float64 cluster sums, Σ‖y‖² − 2Σ_k w_k·S_k + Σ_k n_k‖w_k‖², loses about
# (Σ‖y‖² / inertia) × 1e-9 to cancellation (row norms are float32, summed in float64); it is used
# only when that factor is below this bound, else the caller makes an exact pass.
_SUMS_INERTIA_MAX_RATIO = 1e3
# The inertia as the sum of an assignment's distances ‖y‖² − 2y·w + ‖w‖² (in the data's dtype) loses at most
# (Σ‖y‖² / inertia) × ε relative; it is used when that is at most this (float32: Σ‖y‖² ≤ 8 × inertia, MNIST 2–4).
_DISTANCES_INERTIA_MAX_ERROR = 1e-6

# The accelerated iteration runs plain passes until one changes at most this fraction of the labels: on MNIST from
# random rows 28 %, 14 %, 9 %, 8 %, ... change at iterations 2, 3, 4, 5 (K = 10 and 256 alike), and while more than
# about a tenth move the bounds' upkeep costs more than the distances they skip.
_BOUNDS_AFTER = 0.1


class LloydRun(NamedTuple):
    """What one Lloyd run returns: centroids ``(K, D)``, labels ``(B,)``, iterations, convergence, history.

    ``inertia`` is the final Σ_b ‖y_b − w_{ž_b}‖² when the run could give it accurately without another
    pass over the data, else None.
    """

    centers: Tensor
    labels: Tensor
    n_iter: int
    converged: bool
    history: tuple[float, ...]
    inertia: float | None = None


# ---------------------------------------------------------------------------------- row blocks


def distances_to(y: Tensor, y_sq: Tensor, points: Tensor) -> Tensor:
    """Squared distances of all rows to a few points. ``(B, D)``, ``(T, D)`` → ``(B, T)``."""
    out = torch.empty(y.shape[0], points.shape[0], dtype=y.dtype, device=y.device)
    for rows, block in squared_distance_blocks(y, points, y_sq=y_sq):
        out[rows] = block
    return out


def _is_csr(y: Tensor) -> bool:
    return y.layout == torch.sparse_csr


def assigned_distances(y: Tensor, centers: Tensor, labels: Tensor) -> Tensor:
    """‖y_b − w_{ž_b}‖², computed directly (not in the matrix form), by cache-sized blocks. ``(B,)``."""
    if _is_csr(y):
        return _sparse.assigned_distances(y, centers, labels)
    out = torch.empty(y.shape[0], dtype=y.dtype, device=y.device)
    step = cache_rows(y.shape[1])
    for start in range(0, y.shape[0], step):
        diff = y[start : start + step] - centers[labels[start : start + step]]  # (b, D)
        out[start : start + step] = torch.einsum("bd,bd->b", diff, diff)
    return out


def refine_small_distances(y: Tensor, centers: Tensor, distances: Tensor, y_sq: Tensor) -> Tensor:
    """Recompute directly, in place, the squared distances ``(B, K)`` that the matrix form cannot resolve.

    An entry of ‖y‖² − 2y·w + ‖w‖² below 32·√D·ε·(‖y‖² + ‖w‖²) is round-off of that size: it becomes
    Σ_d (y_d − w_d)², exact zero for a point equal to a centroid (as scikit-learn's distances of
    identical rows). Few entries are that small; each costs one difference of two rows.
    """
    c_sq = (centers * centers).sum(dim=1)  # (K,)
    scale = 32.0 * math.sqrt(max(y.shape[1], 1)) * torch.finfo(distances.dtype).eps
    rows, cols = torch.nonzero(distances <= scale * (y_sq.unsqueeze(1) + c_sq), as_tuple=True)  # (m,), (m,)
    step = cache_rows(y.shape[1])
    for start in range(0, rows.numel(), step):
        r, c = rows[start : start + step], cols[start : start + step]
        diff = gather_rows(y, r) - centers[c]  # (m, D)
        distances[r, c] = torch.einsum("md,md->m", diff, diff)
    return distances


def total_inertia(y: Tensor, centers: Tensor, labels: Tensor, weights: Tensor | None = None) -> float:
    """Σ_b ‖y_b − w_{ž_b}‖² (each term times its sample weight when ``weights`` is given), summed in float64."""
    distances = assigned_distances(y, centers, labels)  # (B,)
    if weights is None:
        return float(distances.sum(dtype=torch.float64))
    return float(distances.double() @ weights)


def column_mean(y: Tensor) -> Tensor:
    """Mean of each column, float32 partial sums accumulated in float64. ``(B, D)`` → ``(D,)``."""
    total = torch.zeros(y.shape[1], dtype=torch.float64, device=y.device)
    for start in range(0, y.shape[0], 4096):
        total += y[start : start + 4096].sum(dim=0).double()
    return total / y.shape[0]


_ASSIGN_ROWS = 2048  # rows per assignment chunk of assign_and_sum (a multiple of every _sum_rows)


def _sum_rows(count: int) -> int:
    """Rows per float32 partial cluster sum for ``count`` clusters: a power of two from 512 to 2,048, about four
    rows per cluster, so that a partial sum adds few rows per cluster (a small float32 error) while the float64
    additions of the ``(K, D)`` partial sums cost little next to the rows' (fewer rows per chunk cost more calls)."""
    return min(_ASSIGN_ROWS, max(512, 1 << (4 * count - 1).bit_length()))


def _add_chunk(sums: Tensor, partial: Tensor | None, labels: Tensor, rows: Tensor, alpha: float = 1.0) -> None:
    """sums[labels[b]] += alpha · rows_b: float64 ``rows`` directly, float32 ones summed in ``partial`` ``(K, D)``
    first (scikit-learn's float32 sums, over one chunk only) and that added in float64."""
    if partial is None:
        sums.index_add_(0, labels, rows, alpha=alpha)
    else:
        sums.add_(partial.zero_().index_add_(0, labels, rows), alpha=alpha)


def add_rows(sums: Tensor, labels: Tensor, y: Tensor, *, alpha: float = 1.0, weights: Tensor | None = None) -> None:
    """sums[labels[b]] += alpha · y_b (times weights[b] if given), into float64 ``sums`` ``(K, D)``; over the
    stored entries for sparse CSR ``y``. Float32 rows are summed per chunk of :func:`_sum_rows` rows in float32 (as
    scikit-learn sums them, but never over more than a chunk) and the chunk sums added in float64: casting every row
    to float64 first costs ~3× more; float64, weighted or few rows (fewer than 4 K: the moved rows of an
    accelerated step) go straight into float64. On the digits, centroids
    are within 6e-6 of the exact means (scikit-learn's float32 sums: 1e-5)."""
    if _is_csr(y):
        _sparse.add_rows(sums, labels, y, alpha=alpha, weights=weights)
        return
    step = _sum_rows(sums.shape[0])
    few = y.shape[0] < 4 * sums.shape[0]  # a few rows (moved ones): casting them costs less than (K, D) partials
    partial = None if y.dtype == sums.dtype or weights is not None or few else torch.empty_like(sums, dtype=y.dtype)
    for start in range(0, y.shape[0], step):
        rows = y[start : start + step]
        if partial is None:
            rows = rows.to(sums.dtype)  # y itself when float64: never written to
        if weights is not None:
            rows = rows * weights[start : start + step].unsqueeze(1)
        _add_chunk(sums, partial, labels[start : start + step], rows, alpha)


def assign_and_sum(y: Tensor, y_sq: Tensor, centers: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Lloyd's assignment and the sums of its update in one pass over dense data, as scikit-learn's Lloyd: per
    chunk of rows (still in cache), ž = argmin_k ‖y − w_k‖² by the core's :func:`assign_clusters` and the chunk's
    rows added to their clusters' float64 sums — bit for bit :func:`cluster_sums` of those labels.

    Shape:
        y ``(B, D)``, y_sq ``(B,)``, centers ``(K, D)`` → labels ``(B,)``, sums ``(K, D)``, counts ``(K,)``.
    """
    count = centers.shape[0]
    labels = torch.empty(y.shape[0], dtype=torch.long, device=y.device)
    sums = torch.zeros(count, y.shape[1], dtype=torch.float64, device=y.device)
    partial = None if y.dtype == sums.dtype else torch.empty_like(sums, dtype=y.dtype)
    step = _sum_rows(count)
    for start in range(0, y.shape[0], _ASSIGN_ROWS):
        rows = slice(start, start + _ASSIGN_ROWS)
        labels[rows] = assign_clusters(y[rows], centers, y_sq=y_sq[rows]).index
        for first in range(start, min(start + _ASSIGN_ROWS, y.shape[0]), step):  # add_rows' chunks, in its order
            _add_chunk(sums, partial, labels[first : first + step], y[first : first + step])
    return labels, sums, torch.bincount(labels, minlength=count).to(torch.float64)


def cluster_sums(y: Tensor, labels: Tensor, count: int, weights: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Per-cluster (weighted) sums (float64, ``(K, D)``) and sizes or weights (float64, ``(K,)``)."""
    sums = torch.zeros(count, y.shape[1], dtype=torch.float64, device=y.device)
    add_rows(sums, labels, y, weights=weights)
    return sums, torch.bincount(labels, weights=weights, minlength=count).to(torch.float64)


def weighted_sums(y: Tensor, centers: Tensor, beta: float, weights: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Σ_b s_b r_bk and Σ_b s_b r_bk y_b with r_b = softmin_β(E(y_b, ·)) and sample weights s (1 if None),
    in float64. ``(K,)``, ``(K, D)``."""
    count = centers.shape[0]
    if math.isinf(beta):
        sums, counts = cluster_sums(y, assign_clusters(y, centers).index, count, weights)
        return counts, sums
    mass = torch.zeros(count, dtype=torch.float64, device=y.device)
    sums = torch.zeros(count, y.shape[1], dtype=torch.float64, device=y.device)
    for rows, block in squared_distance_blocks(y, centers):
        resp = softmin(block, beta)  # (b, K)
        if weights is not None:
            resp = resp * weights[rows].unsqueeze(1).to(resp.dtype)
        mass += resp.sum(dim=0, dtype=torch.float64)
        if _is_csr(y):
            sums += _sparse.responsibility_sums(row_slice(y, rows), resp)
        else:
            sums += (resp.T @ y[rows]).double()
    return mass, sums


class _Rows:
    """The rows of the data this process iterates on, and the sums that join every process's rows.

    One process: all B rows, and every method gives back its input. ``distributed`` under a
    process group of N (:mod:`ebmlab.training.distributed`): rank r's contiguous block
    ``[B·r/N, B·(r+1)/N)``; per-cluster sums, counts and inertia are all-reduced, labels and
    far points all-gathered, initial centroids broadcast from rank 0.
    """

    def __init__(self, count: int, distributed: bool) -> None:
        self.size = _processes.world_size() if distributed else 1
        self.bounds = [count * r // self.size for r in range(self.size + 1)]
        where = _processes.rank() if self.size > 1 else 0
        self.rows = slice(self.bounds[where], self.bounds[where + 1])

    @property
    def several(self) -> bool:
        return self.size > 1

    def sum_(self, *tensors: Tensor) -> None:
        """Each tensor summed over the processes, in place."""
        if self.several:
            for tensor in tensors:
                _processes.all_reduce(tensor, "sum")

    def total(self, value: float) -> float:
        """A float summed over the processes (in float64)."""
        if not self.several:
            return value
        return float(_processes.all_reduce(torch.tensor([value], dtype=torch.float64), "sum"))

    def anywhere(self, flag: bool) -> bool:
        """True when ``flag`` is true on any process."""
        return _processes.any_rank(flag)[0] if self.several else flag

    def gather(self, labels: Tensor) -> Tensor:
        """Every process's rows in order: ``(rows of this process,)`` → ``(B,)``."""
        if not self.several:
            return labels
        sizes = [stop - start for start, stop in zip(self.bounds, self.bounds[1:], strict=False)]
        return _processes.gather_rows(labels, sizes)

    def same(self, centers: Tensor) -> Tensor:
        """``centers`` as rank 0 has them (round-off on another device cannot split the processes)."""
        return _processes.broadcast(centers, 0) if self.several else centers

    def farthest(self, distances: Tensor, rows: Tensor, labels: Tensor, count: int) -> tuple[Tensor, Tensor]:
        """The ``count`` farthest points of all processes, given each process's own farthest ones
        (their squared distances ``(m,)``, rows ``(m, D)`` and labels ``(m,)``, m ≤ count)."""
        pad = count - distances.shape[0]
        if pad:
            distances = torch.cat([distances, distances.new_full((pad,), -math.inf)])
            rows = torch.cat([rows, rows.new_zeros(pad, rows.shape[1])])
            labels = torch.cat([labels, labels.new_zeros(pad)])
        sizes = [count] * self.size
        distances = _processes.gather_rows(distances, sizes)  # (N·count,)
        rows, labels = _processes.gather_rows(rows, sizes), _processes.gather_rows(labels, sizes)
        far = distances.topk(count).indices
        return rows[far], labels[far]


def _relocate(
    y: Tensor,
    centers: Tensor,
    labels: Tensor,
    sums: Tensor,
    counts: Tensor,
    rows: _Rows | None = None,
    weights: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Re-seed empty clusters with the points farthest from their centroids (as scikit-learn).

    Each far point becomes the sum of the empty cluster and leaves its own cluster's sum; the
    labels are not changed (the next assignment step does that). Works on the given tensors.
    Sharded (``rows``): ``y`` and ``labels`` are this process's rows, ``sums`` and ``counts`` the
    joined ones; the far points are chosen among every process's, so all make the same change.
    With sample ``weights`` (one process), ``counts`` are the clusters' weights, a point of weight 0
    (absent) is never moved, and the moved point carries its weight.
    """
    empty = torch.nonzero(counts == 0).squeeze(1)
    distances = assigned_distances(y, centers, labels)  # (B,)
    if weights is not None:
        distances = distances.masked_fill(weights == 0, -math.inf)
    far = distances.topk(min(empty.numel(), y.shape[0])).indices
    far_rows, far_labels = gather_rows(y, far), labels[far]
    if rows is not None and rows.several:
        far_rows, far_labels = rows.farthest(distances[far], far_rows, far_labels, empty.numel())
    if weights is None:
        for point, old, cluster in zip(far_rows, far_labels.tolist(), empty.tolist(), strict=False):
            if counts[old] > 1:  # never empty the donor: a point already alone stays where it is
                sums[old] -= point.double()
                counts[old] -= 1
                sums[cluster] = point.double()
                counts[cluster] = 1
        return sums, counts
    sizes = torch.bincount(labels[weights > 0], minlength=counts.numel())  # (K,) present points per cluster
    moved = zip(far_rows, far_labels.tolist(), empty.tolist(), weights[far].tolist(), strict=False)
    for point, old, cluster, weight in moved:
        if weight > 0 and sizes[old] > 1:  # never empty the donor, never move an absent point
            sums[old] -= weight * point.double()
            counts[old] -= weight
            sizes[old] -= 1
            sums[cluster] = weight * point.double()
            counts[cluster] = weight
    return sums, counts


def _means(sums: Tensor, counts: Tensor, fallback: Tensor) -> Tensor:
    """sums / counts, keeping ``fallback`` where a cluster is (still) empty: never a NaN centroid."""
    means = sums / counts.clamp_min(1e-300).unsqueeze(1)
    return torch.where(counts.unsqueeze(1) > 0, means, fallback.double()).to(fallback.dtype)


class _LloydIteration:
    """One stage of one restart, iterated by :class:`KMeansSolver`: :meth:`step` runs one iteration
    (setting ``converged`` when a stopping rule is met; ``strict`` when no label changed),
    :meth:`result` is called once at the end, and :meth:`state_dict` between steps holds everything
    the next step reads. Subclasses set ``y`` and ``centers`` and extend the state."""

    y: Tensor
    centers: Tensor  # (K, D)
    iteration: int = 0
    converged: bool = False
    strict: bool = False
    shift: float = math.nan  # Σ_k ‖Δw_k‖² of the last step

    def __init__(self) -> None:
        self.history: list[float] = []

    def step(self) -> None:
        raise NotImplementedError

    def result(self) -> LloydRun:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "converged": self.converged,
            "strict": self.strict,
            "history": torch.tensor(self.history, dtype=torch.float64),
            "centers": self.centers,
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.iteration = int(saved["iteration"])
        self.converged, self.strict = bool(saved["converged"]), bool(saved.get("strict", False))
        self.history = [float(value) for value in saved["history"].tolist()]
        self.centers = saved["centers"].to(device=self.y.device, dtype=self.y.dtype, copy=True)


class _PlainLloyd(_LloydIteration):
    """Lloyd's algorithm exactly as the lecture, one iteration per :meth:`step`: every distance, then means.

    A step stops the iteration on strict convergence (no label changed) or when Σ_k ‖Δw_k‖² ≤ tol;
    :meth:`result` then, unless strict, re-assigns so the labels match the final centroids
    (scikit-learn's rule, kept for agreement). ``y`` and ``y_sq`` are the process's ``rows`` of the
    data; the cluster sums, counts, inertia and "no label changed" are joined over the processes,
    so every process computes the same centroids; labels are the process's own (whole in the state).
    """

    def __init__(
        self,
        y: Tensor,
        y_sq: Tensor,
        centers: Tensor,
        *,
        tol: float,
        track_inertia: bool,
        rows: _Rows,
        weights: Tensor | None = None,
    ) -> None:
        self.y, self.y_sq, self.tol, self.track_inertia, self.rows = y, y_sq, tol, track_inertia, rows
        self.weights = weights  # (B,) float64 sample weights, None: all ones
        self.centers = centers  # (K, D)
        self.labels: Tensor | None = None  # ž of the last assignment step, (B,)
        super().__init__()

    def step(self) -> None:
        y, centers, rows, weights = self.y, self.centers, self.rows, self.weights
        self.iteration += 1
        if weights is None and not _is_csr(y):  # ž = argmin_k E(y, k) and the sums, in one pass
            labels, sums, counts = assign_and_sum(y, self.y_sq, centers)
        else:
            labels = assign_clusters(y, centers, y_sq=self.y_sq).index
            sums, counts = cluster_sums(y, labels, centers.shape[0], weights)
        if self.track_inertia:
            self.history.append(rows.total(total_inertia(y, centers, labels, weights)))
        rows.sum_(sums, counts)
        if bool((counts == 0).any()):
            sums, counts = _relocate(y, centers, labels, sums, counts, rows, weights)
        self.centers = _means(sums, counts, centers)  # W[k] = (weighted) mean of Y[ž == k]
        self.shift = float((self.centers.double() - centers.double()).pow(2).sum())
        if self.labels is not None and not rows.anywhere(not torch.equal(labels, self.labels)):
            self.strict = self.converged = True
        elif self.shift <= self.tol:
            self.converged = True
        self.labels = labels

    def result(self) -> LloydRun:
        labels = self.labels if self.strict else assign_clusters(self.y, self.centers, y_sq=self.y_sq).index
        return LloydRun(self.centers, labels, self.iteration, self.converged, tuple(self.history))

    def state_dict(self) -> dict[str, Any]:
        labels = None if self.labels is None else self.rows.gather(self.labels)
        return {**super().state_dict(), "labels": labels}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        super().load_state_dict(saved)
        labels = saved["labels"]
        self.labels = None if labels is None else labels[self.rows.rows].to(self.y.device, copy=True)


class _SoftLloyd(_LloydIteration):
    """Soft k-means at inverse temperature β, one iteration per :meth:`step`: responsibilities
    softmin_β(E), weighted means; stops when Σ_k ‖Δw_k‖² ≤ tol. A β so large that β·E overflows
    raises FloatingPointError (the responsibilities would be NaN). ``y`` is the process's ``rows``;
    the weighted sums and inertia are joined over the processes."""

    def __init__(
        self,
        y: Tensor,
        centers: Tensor,
        beta: float,
        *,
        tol: float,
        track_inertia: bool,
        rows: _Rows,
        weights: Tensor | None = None,
    ) -> None:
        self.y, self.beta, self.tol, self.track_inertia, self.rows = y, beta, tol, track_inertia, rows
        self.weights = weights  # (B,) float64 sample weights, None: all ones
        self.centers = centers  # (K, D)
        super().__init__()

    def step(self) -> None:
        y, centers, rows, weights = self.y, self.centers, self.rows, self.weights
        self.iteration += 1
        if self.track_inertia:
            self.history.append(rows.total(total_inertia(y, centers, assign_clusters(y, centers).index, weights)))
        mass, sums = weighted_sums(y, centers, self.beta, weights)
        rows.sum_(mass, sums)
        if bool((~(mass > 0)).any()):  # responsibilities underflowed to zero: re-seed like empty clusters
            if not bool(torch.isfinite(mass).all()):  # NaN: β·E overflowed to -inf for some points
                raise FloatingPointError(
                    f"soft k-means at beta={self.beta:g}: the responsibilities softmin_beta(E) are not finite "
                    f"(beta x squared distance overflows {y.dtype}); lower beta"
                )
            labels = assign_clusters(y, centers).index
            sums, mass = _relocate(y, centers, labels, sums, torch.where(mass > 0, mass, 0.0), rows, weights)
        self.centers = _means(sums, mass, centers)
        self.shift = float((self.centers.double() - centers.double()).pow(2).sum())
        if self.shift <= self.tol:
            self.converged = True

    def result(self) -> LloydRun:
        labels = assign_clusters(self.y, self.centers).index
        return LloydRun(self.centers, labels, self.iteration, self.converged, tuple(self.history))


class _AcceleratedLloyd(_LloydIteration):
    """Exact Lloyd iterations: plain fused passes (:func:`assign_and_sum`) while many labels change, then the
    assignment of :class:`~ebmlab.kernels.argmin_bounds.BoundedNearest`.

    The bounds pay only once most rows keep their label: their set-up and upkeep cost a pass each, so the first
    iterations (and all of a short budget) are plain passes, one read of the data each, as scikit-learn's; the
    bounds take over at the first iteration after one that changed at most ``_BOUNDS_AFTER`` of the labels, unless
    fewer than two iterations of the ``budget`` would follow (they would not repay the bounds' set-up).
    The same stopping rules as :class:`_PlainLloyd` (no label changed, or Σ_k ‖Δw_k‖² ≤ ``tol``). The float64
    cluster sums are fresh after a plain pass and after the bounds' first (exhaustive) search; later ones move only
    the rows whose label changed, in the searched blocks. Between steps the state (centroids, labels, the search's
    bounds, the sums) is :meth:`state_dict`, so a resumed iteration continues bit for bit. Runs on one process
    (``y`` is all rows).
    """

    def __init__(
        self, y: Tensor, y_sq: Tensor, centers: Tensor, *, tol: float, track_inertia: bool, budget: int | None = None
    ) -> None:
        self.y, self.y_sq, self.tol, self.track_inertia, self.budget = y, y_sq, tol, track_inertia, budget
        self.centers = centers  # (K, D)
        self.search: BoundedNearest | None = None  # started once few labels change
        self.labels: Tensor | None = None  # ž of the last assignment step, (B,)
        self.sums = torch.zeros(centers.shape[0], y.shape[1], dtype=torch.float64, device=y.device)
        self.counts = torch.zeros(centers.shape[0], dtype=torch.float64, device=y.device)
        self.changed = 0  # labels changed in the current assignment step
        self.fresh = False  # the sums are cluster_sums of the labels (no incremental move since)
        super().__init__()

    def _moved(self, rows: Tensor, old: Tensor | None, new: Tensor) -> None:
        """Keep the sums and counts as ``rows`` go from clusters ``old`` to ``new`` (the first, exhaustive search
        has ``old`` None: the sums are then made from scratch)."""
        if old is None:
            return
        moved = torch.nonzero(old != new).squeeze(1)
        self.changed += moved.numel()
        if moved.numel():
            count = self.counts.numel()
            self.fresh = False
            add_rows(self.sums, new[moved], rows.index_select(0, moved))
            add_rows(self.sums, old[moved], rows.index_select(0, moved), alpha=-1.0)
            self.counts += torch.bincount(new[moved], minlength=count)
            self.counts -= torch.bincount(old[moved], minlength=count)

    def _assign(self) -> Tensor:
        """This step's labels, with the sums and counts that go with them."""
        if self.search is not None:  # the bounds' filtered search; the observer moves the sums
            self.changed = 0
            return self.search.update(self.centers)
        left = math.inf if self.budget is None else self.budget - self.iteration  # iterations after this one
        if self.labels is None or self.changed > _BOUNDS_AFTER * self.y.shape[0] or left < 2:  # a plain pass
            labels, self.sums, self.counts = assign_and_sum(self.y, self.y_sq, self.centers)
        else:  # the bounds take over: their first search is exhaustive, the sums made from scratch
            self.search = BoundedNearest(self.y, self.y_sq, self.centers, observer=self._moved)
            labels = self.search.update(self.centers)
            self.sums, self.counts = cluster_sums(self.y, labels, self.counts.numel())
        self.changed = labels.numel() if self.labels is None else int((labels != self.labels).sum())
        self.fresh = True
        return labels

    def step(self) -> None:
        """One assignment step (plain or filtered) and one centroid update."""
        self.iteration += 1
        labels = self.labels = self._assign()
        if self.track_inertia:
            self.history.append(total_inertia(self.y, self.centers, labels))
        sums, counts = self.sums, self.counts
        if bool((counts == 0).any()):
            sums, counts = _relocate(self.y, self.centers, labels, sums.clone(), counts.clone())
        previous, self.centers = self.centers, _means(sums, counts, self.centers)
        self.shift = float((self.centers.double() - previous.double()).pow(2).sum())
        if self.iteration > 1 and self.changed == 0:
            self.strict = self.converged = True
        elif self.shift <= self.tol:
            self.converged = True

    def _inertia_from_sums(self) -> float | None:
        """Σ_b ‖y_b − w_{ž_b}‖² from the float64 sums (no pass over the data), or None if inaccurate."""
        centers = self.centers.double()
        total_sq = float(self.y_sq.sum(dtype=torch.float64))
        value = total_sq - 2.0 * float((centers * self.sums).sum()) + float((self.counts * centers.pow(2).sum(1)).sum())
        return self._trusted(value, _SUMS_INERTIA_MAX_RATIO)

    def _trusted(self, inertia: float, max_ratio: float) -> float | None:
        """``inertia`` computed in the matrix form, or None when Σ‖y‖² exceeds ``max_ratio`` × inertia (its
        cancellation error may then be too large)."""
        if inertia <= 0 or float(self.y_sq.sum(dtype=torch.float64)) > max_ratio * inertia:
            return None
        return inertia

    def result(self) -> LloydRun:
        """The run so far; unless strictly converged, labels are re-assigned to the final centroids first
        (the inertia then comes from that assignment's distances or from the search's sums: no other pass).

        After incremental moves, the final centroids are first recomputed from fresh float64 sums of the last
        step's labels (one pass over the data), the plain Lloyd's own arithmetic: no round-off drift of the
        incremental sums is left in them (unless that step re-seeded an empty cluster).
        """
        if self.iteration and not self.fresh:
            sums, counts = cluster_sums(self.y, self.labels, self.counts.numel())
            if not bool((counts == 0).any()):
                self.sums, self.counts = sums, counts
                self.centers = _means(sums, counts, self.centers)
        if self.strict:
            labels, inertia = self.labels, self._inertia_from_sums()
        elif self.search is not None:
            labels, inertia = self.search.update(self.centers), self._inertia_from_sums()
        else:  # scikit-learn's last assignment: its distances give the inertia, no sums are needed
            found = assign_clusters(self.y, self.centers, y_sq=self.y_sq)
            max_ratio = _DISTANCES_INERTIA_MAX_ERROR / torch.finfo(found.energy.dtype).eps
            labels, inertia = found.index, self._trusted(float(found.energy.sum(dtype=torch.float64)), max_ratio)
        return LloydRun(self.centers, labels, self.iteration, self.converged, tuple(self.history), inertia)

    def state_dict(self) -> dict[str, Any]:
        search = self.search.state_dict() if self.search is not None else None
        return {
            **super().state_dict(),
            "search": search,
            "labels": self.labels,
            "changed": self.changed,
            "fresh": self.fresh,
            "sums": self.sums,
            "counts": self.counts,
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        super().load_state_dict(saved)
        device = self.y.device
        self.search = None
        if saved["search"] is not None:
            self.search = BoundedNearest(self.y, self.y_sq, self.centers, observer=self._moved)
            self.search.load_state_dict(saved["search"])
        labels = saved.get("labels")
        self.labels = None if labels is None else labels.to(device, copy=True)
        if self.labels is None and self.search is not None:  # a state saved before the plain passes existed
            self.labels = self.search.labels
        self.changed, self.fresh = int(saved.get("changed", 0)), bool(saved.get("fresh", False))
        self.sums = saved["sums"].to(device=device, dtype=torch.float64, copy=True)
        self.counts = saved["counts"].to(device=device, dtype=torch.float64, copy=True)
