"""K-means as an energy-based model: the lecture's first regularised latent-variable EBM.

The latent is one-hot, :math:`z \\in \\mathbb{I}_K`; the decoder is linear, :math:`\\tilde y = Wz`
(row k of the ``(K, D)`` matrix ``W`` is centroid k); the energy is the reconstruction cost

.. math:: E(y, z) = \\lVert y - Wz \\rVert^2 .

Zero temperature (β = ∞): :math:`F_\\infty(y) = \\min_k \\lVert y - w_k \\rVert^2`, ž = argmin, and
minimising :math:`\\sum_y F_\\infty(y)` by alternating ž and W is Lloyd's algorithm (the lecture's
``E = cdist(Y, W)²; F, z = E.min(-1); W[k] = Y[z == k].mean(0)``). Finite β: the responsibilities
are :math:`\\mathrm{softmin}_\\beta(E(y, \\cdot))` and the centroids their weighted means (soft
k-means), with an optional annealing schedule of β.

Three layers, as in scikit-learn: the public function :func:`k_means`, the estimator
:class:`KMeans` (fit/predict/transform/score/partial_fit), and private workers that assume valid
input. Both run :class:`KMeansSolver`, the restarts and iterations as a resumable object (one
iteration per ``step()``, its state saved between steps), which the training recipe steps too.
Distances are computed block by block as ‖y‖² − 2y·wᵀ + ‖w‖², so memory stays bounded; the
assignment step is the core's :func:`ebmlab.exhaustive_argmin`. The default algorithm for large
problems is an exact accelerated Lloyd (triangle-inequality filtering, :mod:`._kmeans_accel`)
that gives the same assignments while skipping most distance computations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from torch import Tensor, nn

from .._validation import as_tensor, check_finite, check_int, check_matrix, check_positive, resolve_device, to_caller
from ..energy import Energy, OneHotLatent
from ..inference import ArgminResult, InferenceResult, exhaustive_argmin
from ..kernels.free_energy import free_energy, softmin
from ..training import distributed as _processes
from ._kmeans_accel import AcceleratedLloyd, LloydRun

__all__ = [
    "KMeans",
    "KMeansEnergy",
    "KMeansResult",
    "KMeansSolver",
    "KMeansStep",
    "assign_clusters",
    "k_means",
    "kmeans_plusplus",
    "lecture_demo_data",
    "minibatch_step",
    "squared_distances",
]

_BLOCK_ELEMENTS = 1 << 22  # 4 Mi entries per (rows × K) block
_ALGORITHMS = ("auto", "lloyd", "accelerated")
_AUTO_ACCELERATED = 1 << 16  # B·K from which "auto" picks the accelerated Lloyd


# ------------------------------------------------------------------------------- functional core


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
        y_sq = (y * y).sum(dim=1)
    if centroids_sq is None:
        centroids_sq = (centroids * centroids).sum(dim=1)
    energies = torch.addmm(centroids_sq, y, centroids.T, alpha=-2.0)  # (B, K)
    energies += y_sq.unsqueeze(1)
    return energies.clamp_min_(0.0)


def assign_clusters(
    y: Tensor, centroids: Tensor, *, y_sq: Tensor | None = None, row_block: int | None = None
) -> ArgminResult:
    """The assignment step ž_b = argmin_k ‖y_b − w_k‖², by the core's blocked argmin kernel.

    Memory is bounded by one ``(row_block, K)`` block (about 4 Mi energies by default). Where the
    squared distances overflow (data near the largest float), ``y`` and the centroids are divided by
    a power of two first — exact in floating point — so the assignments stay right; the energies are
    then scaled back (and may be ``inf`` when they exceed the dtype's range).

    Shape:
        y ``(B, D)``, centroids ``(K, D)`` → :class:`~ebmlab.ArgminResult` of ``(B,)`` energies and indices.

    Example:
        >>> import torch
        >>> found = assign_clusters(torch.tensor([[0.1, 0.0], [2.0, 2.1]]), torch.tensor([[0.0, 0.0], [2.0, 2.0]]))
        >>> found.index.tolist(), [round(v, 4) for v in found.energy.tolist()]
        ([0, 1], [0.01, 0.01])
    """
    if y_sq is None:
        y_sq = _row_norms(y)
    c_sq = (centroids * centroids).sum(dim=1)  # (K,)

    def pairwise(rows: slice, latents: slice) -> Tensor:
        return squared_distances(y[rows], centroids[latents], y_sq=y_sq[rows], centroids_sq=c_sq[latents])

    count = centroids.shape[0]
    latent_block = min(count, 4096)
    if row_block is None:
        row_block = max(1, _BLOCK_ELEMENTS // latent_block)
    found = exhaustive_argmin(pairwise, y.shape[0], count, row_block=row_block, latent_block=latent_block)
    if bool(torch.isfinite(found.energy).all()):
        return found
    scale = _power_of_two_scale(y, centroids)  # squared distances overflowed: solve on y / 2^e, exactly
    if scale == 1.0:
        return found
    rescaled = assign_clusters(y / scale, centroids / scale, row_block=row_block)
    return ArgminResult(rescaled.energy * scale**2, rescaled.index)


def kmeans_plusplus(
    y: Tensor, n_clusters: int, *, generator: torch.Generator | None = None, n_local_trials: int | None = None
) -> Tensor:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007; greedy variant as scikit-learn).

    The first centroid is a uniformly drawn point; each next one is the best (lowest potential
    :math:`\\sum_b \\min_k \\lVert y_b - w_k\\rVert^2`) of ``n_local_trials`` = 2 + ⌊log K⌋ points drawn
    with probability proportional to their current :math:`F_\\infty(y)`.

    Shape:
        y ``(B, D)`` → centroids ``(K, D)``, each a row of ``y``.

    Example:
        >>> import torch
        >>> y = torch.tensor([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
        >>> centers = kmeans_plusplus(y, 2, generator=torch.Generator().manual_seed(0))
        >>> sorted(round(float(c[0])) for c in centers)
        [0, 10]
    """
    n, _ = y.shape
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(n_clusters))
    y_sq = _row_norms(y)
    first = int(torch.randint(n, (1,), generator=generator))
    chosen = [first]
    closest = _distances_to(y, y_sq, y[first : first + 1])[:, 0]  # (B,)
    potential = float(closest.sum(dtype=torch.float64))
    for _ in range(1, n_clusters):
        if potential > 0:
            cumulative = torch.cumsum(closest.to(torch.float64).cpu(), dim=0)
            draws = torch.rand(n_local_trials, generator=generator, dtype=torch.float64) * cumulative[-1]
            candidates = torch.searchsorted(cumulative, draws).clamp_(max=n - 1)
        else:  # every point coincides with a chosen centroid: any point will do
            candidates = torch.randint(n, (n_local_trials,), generator=generator)
        candidates = candidates.to(y.device)
        to_candidates = _distances_to(y, y_sq, y[candidates])  # (B, trials)
        trial = torch.minimum(closest.unsqueeze(1), to_candidates)  # (B, trials)
        potentials = trial.sum(dim=0, dtype=torch.float64)  # (trials,)
        best = int(potentials.argmin())
        chosen.append(int(candidates[best]))
        closest = trial[:, best].contiguous()
        potential = float(potentials[best])
    return y[torch.tensor(chosen, device=y.device)].clone()


def minibatch_step(centroids: Tensor, counts: Tensor, batch: Tensor, beta: float = math.inf) -> tuple[Tensor, Tensor]:
    """One streaming (mini-batch) k-means update: every centroid stays the running mean of its points.

    .. math:: n_k \\leftarrow n_k + \\textstyle\\sum_b r_{bk},\\qquad
              w_k \\leftarrow w_k + \\frac{1}{n_k}\\textstyle\\sum_b r_{bk}(y_b - w_k)

    with :math:`r_b = \\mathrm{softmin}_\\beta(E(y_b, \\cdot))` (one-hot at β = ∞), i.e. Sculley's
    (2010) per-centroid learning rate 1/n_k.

    Shape:
        centroids ``(K, D)``, counts ``(K,)`` float64, batch ``(B, D)`` → new ``(K, D)`` and ``(K,)``.

    Example:
        >>> import torch
        >>> w, n = minibatch_step(torch.zeros(1, 1), torch.zeros(1, dtype=torch.float64), torch.tensor([[2.0], [4.0]]))
        >>> w, n
        (tensor([[3.]]), tensor([2.], dtype=torch.float64))
    """
    weights, sums = _weighted_sums(batch, centroids, beta)  # (K,), (K, D) float64
    new_counts = counts + weights
    step = (sums - weights.unsqueeze(1) * centroids.double()) / new_counts.clamp_min(1e-300).unsqueeze(1)
    updated = torch.where(new_counts.unsqueeze(1) > 0, centroids.double() + step, centroids.double())
    return updated.to(centroids.dtype), new_counts


# ------------------------------------------------------------------------------------ the energy


class KMeansEnergy(Energy):
    """E(y, z) = ‖y − Wz‖², z one-hot in 𝕀_K: the lecture's K-means energy.

    Args:
        centroids: the decoder W as a ``(K, D)`` tensor (row k = centroid k = Dec(e_k)).

    Shape:
        y ``(B, D)``, z ``(B, K)`` one-hot → ``(B,)``; :meth:`pairwise` → ``(B, K')``.

    Example:
        >>> import math, torch
        >>> energy = KMeansEnergy(torch.tensor([[0.0, 0.0], [4.0, 0.0]]))
        >>> y = torch.tensor([[1.0, 0.0]])
        >>> energy(y, torch.tensor([[0.0, 1.0]])).item(), energy.free_energy(y).item()
        (9.0, 1.0)
        >>> energy.infer(y).latent
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

    def infer(self, y: Tensor) -> InferenceResult:
        """ž = argmin_z E(y, z) as one-hot codes ``(B, K)``; ``decode(ž)`` = W[ž] is ỹ."""
        found = self.assign(y)
        one_hot = torch.zeros(y.shape[0], self.latent.size, dtype=y.dtype, device=y.device)
        one_hot.scatter_(1, found.index.unsqueeze(1), 1.0)
        return InferenceResult(one_hot, found.energy, iterations=1, converged=True)

    def free_energy(self, y: Tensor, beta: float = math.inf, x: Tensor | None = None) -> Tensor:
        """F_β(y): min_k ‖y − w_k‖² at β = ∞, else the soft-min over the K centroids. ``(B, D)`` → ``(B,)``."""
        beta = check_positive(beta, "beta")
        self._check_y(y)
        if math.isinf(beta):
            return self.assign(y).energy
        centroids = self.centroids.to(y.dtype)
        step = max(1, _BLOCK_ELEMENTS // centroids.shape[0])
        parts = [free_energy(squared_distances(y[s : s + step], centroids), beta) for s in range(0, len(y), step)]
        return torch.cat(parts) if parts else y.new_zeros(0)


# ------------------------------------------------------------------------------ private workers


def _row_norms(y: Tensor) -> Tensor:
    """‖y_b‖² by blocks (no ``(B, D)`` temporary). Shape ``(B, D)`` → ``(B,)``."""
    out = torch.empty(y.shape[0], dtype=y.dtype, device=y.device)
    step = _cache_rows(y.shape[1])
    for start in range(0, y.shape[0], step):
        block = y[start : start + step]
        out[start : start + step] = torch.einsum("bd,bd->b", block, block)
    return out


def _distances_to(y: Tensor, y_sq: Tensor, points: Tensor) -> Tensor:
    """Squared distances of all rows to a few points, by row blocks. ``(B, D)``, ``(T, D)`` → ``(B, T)``."""
    p_sq = (points * points).sum(dim=1)
    out = torch.empty(y.shape[0], points.shape[0], dtype=y.dtype, device=y.device)
    step = max(1, _BLOCK_ELEMENTS // max(points.shape[0], y.shape[1], 1))
    for start in range(0, y.shape[0], step):
        rows = slice(start, start + step)
        out[rows] = squared_distances(y[rows], points, y_sq=y_sq[rows], centroids_sq=p_sq)
    return out


def _power_of_two_scale(*tensors: Tensor) -> float:
    """2^e such that the largest |entry| of the tensors divided by it lies in [½, 1); 1.0 for all-zero input.

    Dividing by a power of two is exact in floating point (unless a result falls below the normal
    range, where it only loses digits that are negligible next to the largest entry), so k-means on
    ``y / 2^e`` gives the same labels as on ``y``, with centroids ×2^e and inertia ×4^e to map back.
    """
    largest = max((float(torch.linalg.vector_norm(t, ord=math.inf)) for t in tensors if t.numel()), default=0.0)
    if largest == 0.0 or not math.isfinite(largest):
        return 1.0
    return math.ldexp(1.0, math.frexp(largest)[1])


def _needs_scaling(total: float, count: int, dtype: torch.dtype) -> bool:
    """Whether data with Σ_b ‖y_b − mean‖² = ``total`` over ``count`` entries must be rescaled: squared
    distances (≤ 4·total) overflow, or are so small that their differences fall below the normal range."""
    info = torch.finfo(dtype)
    return not math.isfinite(total) or 4.0 * total > info.max or 0.0 < total < count * info.tiny / info.eps**2


def _cache_rows(dim: int) -> int:
    """Rows per block for elementwise passes and float64 casts: about 1 MiB, so it stays in cache."""
    return max(16, (1 << 18) // max(dim, 1))


def _column_mean(y: Tensor) -> Tensor:
    """Mean of each column, float32 partial sums accumulated in float64. ``(B, D)`` → ``(D,)``."""
    total = torch.zeros(y.shape[1], dtype=torch.float64, device=y.device)
    for start in range(0, y.shape[0], 4096):
        total += y[start : start + 4096].sum(dim=0).double()
    return total / y.shape[0]


def _inertia(y: Tensor, centers: Tensor, labels: Tensor) -> float:
    """Σ_b ‖y_b − w_{ž_b}‖², computed directly (not in the matrix form) and summed in float64."""
    total = torch.zeros((), dtype=torch.float64, device=y.device)
    step = _cache_rows(y.shape[1])
    for start in range(0, y.shape[0], step):
        diff = y[start : start + step] - centers[labels[start : start + step]]  # (b, D)
        total += torch.einsum("bd,bd->b", diff, diff).sum(dtype=torch.float64)
    return float(total)


def _cluster_sums(y: Tensor, labels: Tensor, count: int) -> tuple[Tensor, Tensor]:
    """Per-cluster sums (float64, ``(K, D)``) and sizes (float64, ``(K,)``)."""
    sums = torch.zeros(count, y.shape[1], dtype=torch.float64, device=y.device)
    step = _cache_rows(y.shape[1])
    for start in range(0, y.shape[0], step):
        sums.index_add_(0, labels[start : start + step], y[start : start + step].double())
    return sums, torch.bincount(labels, minlength=count).to(torch.float64)


def _weighted_sums(y: Tensor, centers: Tensor, beta: float) -> tuple[Tensor, Tensor]:
    """Σ_b r_bk and Σ_b r_bk y_b with r_b = softmin_β(E(y_b, ·)), in float64. ``(K,)``, ``(K, D)``."""
    count = centers.shape[0]
    if math.isinf(beta):
        labels = assign_clusters(y, centers).index
        sums, counts = _cluster_sums(y, labels, count)
        return counts, sums
    weights = torch.zeros(count, dtype=torch.float64, device=y.device)
    sums = torch.zeros(count, y.shape[1], dtype=torch.float64, device=y.device)
    step = max(1, _BLOCK_ELEMENTS // max(count, y.shape[1]))
    c_sq = (centers * centers).sum(dim=1)
    for start in range(0, y.shape[0], step):
        block = y[start : start + step]
        resp = softmin(squared_distances(block, centers, centroids_sq=c_sq), beta)  # (b, K)
        weights += resp.sum(dim=0, dtype=torch.float64)
        sums += (resp.T @ block).double()
    return weights, sums


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
    y: Tensor, centers: Tensor, labels: Tensor, sums: Tensor, counts: Tensor, rows: _Rows | None = None
) -> tuple[Tensor, Tensor]:
    """Re-seed empty clusters with the points farthest from their centroids (as scikit-learn).

    Each far point becomes the sum of the empty cluster and leaves its own cluster's sum; the
    labels are not changed (the next assignment step does that). Works on the given tensors.
    Sharded (``rows``): ``y`` and ``labels`` are this process's rows, ``sums`` and ``counts`` the
    joined ones; the far points are chosen among every process's, so all make the same change.
    """
    empty = torch.nonzero(counts == 0).squeeze(1)
    distances = torch.empty(y.shape[0], dtype=y.dtype, device=y.device)
    step = _cache_rows(y.shape[1])
    for start in range(0, y.shape[0], step):
        diff = y[start : start + step] - centers[labels[start : start + step]]
        distances[start : start + step] = torch.einsum("bd,bd->b", diff, diff)
    far = distances.topk(min(empty.numel(), y.shape[0])).indices
    far_rows, far_labels = y[far], labels[far]
    if rows is not None and rows.several:
        far_rows, far_labels = rows.farthest(distances[far], far_rows, far_labels, empty.numel())
    for point, old, cluster in zip(far_rows, far_labels.tolist(), empty.tolist(), strict=False):
        if counts[old] > 1:  # never empty the donor: a point already alone stays where it is
            sums[old] -= point.double()
            counts[old] -= 1
            sums[cluster] = point.double()
            counts[cluster] = 1
    return sums, counts


def _means(sums: Tensor, counts: Tensor, fallback: Tensor) -> Tensor:
    """sums / counts, keeping ``fallback`` where a cluster is (still) empty: never a NaN centroid."""
    means = sums / counts.clamp_min(1e-300).unsqueeze(1)
    return torch.where(counts.unsqueeze(1) > 0, means, fallback.double()).to(fallback.dtype)


class _LloydIteration(Protocol):
    """One stage of one restart, iterated by :class:`KMeansSolver`: :meth:`step` runs one iteration
    (setting ``converged`` when a stopping rule is met), :meth:`result` is called once at the end, and
    :meth:`state_dict` between steps holds everything the next step reads."""

    iteration: int
    converged: bool
    history: list[float]

    @property
    def centers(self) -> Tensor: ...

    def step(self) -> None: ...

    def result(self) -> LloydRun: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, saved: dict[str, Any]) -> None: ...


class _PlainLloyd:
    """Lloyd's algorithm exactly as the lecture, one iteration per :meth:`step`: every distance, then means.

    A step stops the iteration on strict convergence (no label changed) or when Σ_k ‖Δw_k‖² ≤ tol;
    :meth:`result` then, unless strict, re-assigns so the labels match the final centroids
    (scikit-learn's rule, kept for agreement). ``y`` and ``y_sq`` are the process's ``rows`` of the
    data; the cluster sums, counts, inertia and "no label changed" are joined over the processes,
    so every process computes the same centroids; labels are the process's own (whole in the state).
    """

    def __init__(
        self, y: Tensor, y_sq: Tensor, centers: Tensor, *, tol: float, track_inertia: bool, rows: _Rows
    ) -> None:
        self.y, self.y_sq, self.tol, self.track_inertia, self.rows = y, y_sq, tol, track_inertia, rows
        self.centers = centers  # (K, D)
        self.labels: Tensor | None = None  # ž of the last assignment step, (B,)
        self.iteration = 0
        self.converged = self.strict = False
        self.history: list[float] = []

    def step(self) -> None:
        y, centers, rows = self.y, self.centers, self.rows
        self.iteration += 1
        labels = assign_clusters(y, centers, y_sq=self.y_sq).index  # ž = argmin_k E(y, k)
        if self.track_inertia:
            self.history.append(rows.total(_inertia(y, centers, labels)))
        sums, counts = _cluster_sums(y, labels, centers.shape[0])
        rows.sum_(sums, counts)
        if bool((counts == 0).any()):
            sums, counts = _relocate(y, centers, labels, sums, counts, rows)
        self.centers = _means(sums, counts, centers)  # W[k] = mean of Y[ž == k]
        shift = float((self.centers.double() - centers.double()).pow(2).sum())
        if self.labels is not None and not rows.anywhere(not torch.equal(labels, self.labels)):
            self.strict = self.converged = True
        elif shift <= self.tol:
            self.converged = True
        self.labels = labels

    def result(self) -> LloydRun:
        labels = self.labels if self.strict else assign_clusters(self.y, self.centers, y_sq=self.y_sq).index
        return LloydRun(self.centers, labels, self.iteration, self.converged, tuple(self.history))

    def state_dict(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "converged": self.converged,
            "strict": self.strict,
            "history": torch.tensor(self.history, dtype=torch.float64),
            "centers": self.centers,
            "labels": None if self.labels is None else self.rows.gather(self.labels),
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        device = self.y.device
        self.iteration = int(saved["iteration"])
        self.converged, self.strict = bool(saved["converged"]), bool(saved["strict"])
        self.history = [float(value) for value in saved["history"].tolist()]
        self.centers = saved["centers"].to(device=device, dtype=self.y.dtype, copy=True)
        self.labels = None if saved["labels"] is None else saved["labels"][self.rows.rows].to(device, copy=True)


class _SoftLloyd:
    """Soft k-means at inverse temperature β, one iteration per :meth:`step`: responsibilities
    softmin_β(E), weighted means; stops when Σ_k ‖Δw_k‖² ≤ tol. A β so large that β·E overflows
    raises FloatingPointError (the responsibilities would be NaN). ``y`` is the process's ``rows``;
    the weighted sums and inertia are joined over the processes."""

    def __init__(
        self, y: Tensor, centers: Tensor, beta: float, *, tol: float, track_inertia: bool, rows: _Rows
    ) -> None:
        self.y, self.beta, self.tol, self.track_inertia, self.rows = y, beta, tol, track_inertia, rows
        self.centers = centers  # (K, D)
        self.iteration = 0
        self.converged = False
        self.history: list[float] = []

    def step(self) -> None:
        y, centers, rows = self.y, self.centers, self.rows
        self.iteration += 1
        if self.track_inertia:
            self.history.append(rows.total(_inertia(y, centers, assign_clusters(y, centers).index)))
        weights, sums = _weighted_sums(y, centers, self.beta)
        rows.sum_(weights, sums)
        if bool((~(weights > 0)).any()):  # responsibilities underflowed to zero: re-seed like empty clusters
            if not bool(torch.isfinite(weights).all()):  # NaN: β·E overflowed to -inf for some points
                raise FloatingPointError(
                    f"soft k-means at beta={self.beta:g}: the responsibilities softmin_beta(E) are not finite "
                    f"(beta x squared distance overflows {y.dtype}); lower beta"
                )
            labels = assign_clusters(y, centers).index
            sums, weights = _relocate(y, centers, labels, sums, torch.where(weights > 0, weights, 0.0), rows)
        self.centers = _means(sums, weights, centers)
        shift = float((self.centers.double() - centers.double()).pow(2).sum())
        if shift <= self.tol:
            self.converged = True

    def result(self) -> LloydRun:
        labels = assign_clusters(self.y, self.centers).index
        return LloydRun(self.centers, labels, self.iteration, self.converged, tuple(self.history))

    def state_dict(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "converged": self.converged,
            "history": torch.tensor(self.history, dtype=torch.float64),
            "centers": self.centers,
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.iteration = int(saved["iteration"])
        self.converged = bool(saved["converged"])
        self.history = [float(value) for value in saved["history"].tolist()]
        self.centers = saved["centers"].to(device=self.y.device, dtype=self.y.dtype, copy=True)


# --------------------------------------------------------------------------------- public function


@dataclass(frozen=True)
class KMeansResult:
    """The outcome of :func:`k_means` (the best of the ``n_init`` restarts).

    Attributes:
        centers: the centroids W, ``(K, D)``.
        labels: ž of every training point, ``(B,)`` int64.
        inertia: :math:`\\sum_b F_\\infty(y_b) = \\sum_b \\lVert y_b - w_{\\check z_b}\\rVert^2`.
        n_iter: iterations of the kept restart (all annealing stages together).
        converged: whether the kept restart met a stopping rule before ``max_iter``.
        inertia_history: inertia of each assignment step of the kept restart (empty unless tracked).
        restart: which restart was kept (0-based).

    Example:
        >>> import numpy as np
        >>> y = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
        >>> result = k_means(y, 2, n_init=3, random_state=0, track_inertia=True)
        >>> result.inertia, result.converged, result.inertia_history[-1], bool(result.labels[0] == result.labels[1])
        (1.0, True, 1.0, True)
    """

    centers: Any
    labels: Any
    inertia: float
    n_iter: int
    converged: bool
    inertia_history: tuple[float, ...] = field(default=())
    restart: int = 0


@dataclass(frozen=True)
class KMeansStep:
    """What one :meth:`KMeansSolver.step` did.

    Attributes:
        restart: the restart it belongs to (0-based).
        iteration: its iteration within that restart (1-based; annealing stages counted together).
        inertia: Σ_b ‖y_b − w_{ž_b}‖² at its assignment step (``nan`` unless the solver tracks inertia).
        finished: whether the restart ended with it (a stopping rule was met, or ``max_iter``).
        final_inertia: the restart's inertia with its final centroids when it ended here, else ``nan``.

    Example:
        >>> import numpy as np
        >>> solver = KMeansSolver(np.array([[0.0], [1.0], [10.0], [11.0]]), 2, random_state=0, track_inertia=True)
        >>> steps = []
        >>> while not solver.done:
        ...     steps.append(solver.step())
        >>> [(step.iteration, step.inertia, step.finished) for step in steps], steps[-1].final_inertia
        ([(1, 2.0, False), (2, 1.0, True)], 1.0)
    """

    restart: int
    iteration: int
    inertia: float
    finished: bool
    final_inertia: float = math.nan


def _check_beta_schedule(beta_schedule: Sequence[float] | None) -> tuple[float, ...]:
    if beta_schedule is None:
        return ()
    if isinstance(beta_schedule, (str, bytes)) or not isinstance(beta_schedule, (Sequence, np.ndarray)):
        raise TypeError(f"beta_schedule must be a sequence of positive numbers or None, got {beta_schedule!r}")
    return tuple(check_positive(float(b), "beta_schedule entry") for b in beta_schedule)


def _check_settings(
    n_clusters: int, beta: float, init: Any, n_init: int, max_iter: int, tol: float, algorithm: str
) -> None:
    check_int(n_clusters, "n_clusters")
    check_positive(beta, "beta")
    check_int(n_init, "n_init")
    check_int(max_iter, "max_iter")
    check_positive(tol, "tol", strict=False)
    if algorithm not in _ALGORITHMS:
        raise ValueError(f"algorithm must be one of {_ALGORITHMS}, got algorithm={algorithm!r}")
    if isinstance(init, str):
        if init not in ("k-means++", "random"):
            raise ValueError(f"init must be 'k-means++', 'random' or an array (n_clusters, n_features), got {init!r}")
    elif n_init != 1:
        raise ValueError(f"an explicit init array gives one start: pass n_init=1, got n_init={n_init}")


def _initial_centers(y: Tensor, n_clusters: int, init: Any, generator: torch.Generator) -> Tensor:
    if isinstance(init, str):
        if init == "random":  # the lecture's W = Y[torch.randperm(len(Y))[:K]]
            return y[torch.randperm(len(y), generator=generator)[:n_clusters].to(y.device)].clone()
        return kmeans_plusplus(y, n_clusters, generator=generator)
    centers = as_tensor(init, "init", dtype=y.dtype, device=y.device)
    if tuple(centers.shape) != (n_clusters, y.shape[1]):
        raise ValueError(
            f"init must have shape (n_clusters, n_features) = ({n_clusters}, {y.shape[1]}), "
            f"got shape {tuple(centers.shape)}"
        )
    check_finite(centers, "init")
    return centers.clone()


def _seeds(random_state: Any, count: int) -> list[int]:
    """One seed per restart; the first ``m`` seeds do not depend on ``count`` for an int or RandomState."""
    from sklearn.utils import check_random_state

    if isinstance(random_state, torch.Generator):
        return [int(torch.randint(2**62, (1,), generator=random_state)) for _ in range(count)]
    rng = check_random_state(random_state)
    return [int(s) for s in rng.randint(0, 2**31 - 1, size=count)]


class KMeansSolver:
    """k-means as a resumable iteration: ``n_init`` restarts, one Lloyd (or soft k-means) iteration per :meth:`step`.

    The one implementation of the restarts and iterations behind :func:`k_means`, :meth:`KMeans.fit`
    and the ``ebmlab train kmeans`` recipe: ``k_means`` runs :meth:`run`; a training loop calls
    :meth:`step` and saves :meth:`state_dict` between steps, from which :meth:`load_state_dict`
    continues bit for bit (the accelerated Lloyd's labels, bounds and float64 cluster sums included).
    The arguments are :func:`k_means`'s, validated the same way (``y`` may be a numpy array or a
    tensor; the result is in tensors). A restart that meets a stopping rule ends at that step, and
    the next :meth:`step` starts the next restart; :attr:`done` once the last one has ended.

    ``distributed=True`` under a process group of N (torchrun, :mod:`ebmlab.training.distributed`;
    without one it changes nothing): every process passes the whole data and the same settings,
    and iterates on its block of B/N rows. Each iteration all-reduces the per-cluster sums and
    counts (and the inertia, and whether any label changed), so every process moves the centroids
    alike; the initial centroids are rank 0's (k-means++ on the whole data, broadcast); the labels
    of a restart are gathered when it ends. The centroids and labels are one process's, up to the
    order of the float64 sums; the plain Lloyd runs (the accelerated one is single-process).
    :meth:`step`, :meth:`state_dict` and :meth:`run` must then be called on every process alike;
    :meth:`result` uses no communication.

    Shape:
        y ``(B, D)``; :meth:`result` gives centers ``(K, D)`` and labels ``(B,)``.

    Example:
        >>> import numpy as np
        >>> y = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
        >>> solver = KMeansSolver(y, 2, n_init=2, random_state=0, track_inertia=True)
        >>> first = solver.step()
        >>> first.restart, first.iteration, first.inertia
        (0, 1, 2.0)
        >>> state = solver.state_dict()
        >>> resumed = KMeansSolver(y, 2, n_init=2, random_state=0, track_inertia=True)
        >>> resumed.load_state_dict(state)
        >>> resumed.run().inertia, resumed.done
        (1.0, True)
    """

    def __init__(
        self,
        y: Any,
        n_clusters: int,
        *,
        beta: float = math.inf,
        beta_schedule: Sequence[float] | None = None,
        init: Any = "k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        algorithm: str = "auto",
        random_state: Any = None,
        device: str | torch.device | None = None,
        track_inertia: bool = False,
        distributed: bool = False,
    ) -> None:
        _check_settings(n_clusters, beta, init, n_init, max_iter, tol, algorithm)
        self.schedule = _check_beta_schedule(beta_schedule)
        dev = resolve_device(device) if device is not None else (y.device if isinstance(y, Tensor) else None)
        data = as_tensor(y, "y", device=dev)
        if data.dtype not in (torch.float32, torch.float64):
            data = data.to(torch.float32)
        check_matrix(data, "y")
        if data.shape[0] < n_clusters:
            raise ValueError(f"n_samples={data.shape[0]} should be >= n_clusters={n_clusters}.")
        if not isinstance(init, str):
            init = _initial_centers(data, n_clusters, init, torch.Generator())
        self.n_clusters, self.beta, self.init, self.max_iter = n_clusters, beta, init, max_iter
        self.track_inertia = track_inertia
        self.scale = 1.0  # the solver works on y / scale, a power of two (1 unless squares over/underflow)
        self.mean = _column_mean(data)  # (D,) float64, in the solver's units
        self.y = data - self.mean.to(data.dtype)  # (B, D) one centred copy, for round-off (as scikit-learn)
        self.y_sq = _row_norms(self.y)  # (B,)
        total = float(self.y_sq.sum(dtype=torch.float64))  # also the finiteness check of y, at no extra pass
        if _needs_scaling(total, data.numel(), data.dtype):
            check_finite(data, "y")
            # huge (or tiny) finite data: solve on y / 2^e, exactly the same problem in floating point
            self.scale = _power_of_two_scale(data)
            self.y = data / self.scale  # (B, D)
            self.mean = _column_mean(self.y)
            self.y -= self.mean.to(data.dtype)
            self.y_sq = _row_norms(self.y)
            total = float(self.y_sq.sum(dtype=torch.float64))
        self.tol = tol * total / data.numel()  # tol × mean_d Var(y_d), as scikit-learn's tolerance
        self.rows = _Rows(data.shape[0], distributed)  # this process's rows (all of them on one)
        if algorithm == "accelerated" and self.rows.several:
            raise ValueError(
                f"algorithm='accelerated' runs on one process; with distributed=True on {self.rows.size} "
                "processes pass algorithm='lloyd' or 'auto'"
            )
        self.accelerated = algorithm == "accelerated" or (
            algorithm == "auto" and data.shape[0] * n_clusters >= _AUTO_ACCELERATED and not self.rows.several
        )
        self.seeds = _seeds(random_state, n_init)
        self.restart = 0  # the restart under way, or the next one
        self._stage = 0  # annealing stage of this restart (len(schedule): the final β)
        self._stage_start: Tensor | None = None  # the centroids the next stage starts from (stage > 0)
        self._iteration: _LloydIteration | None = None  # the stage's iteration, None between stages
        self._n_iter, self._history = 0, []  # of this restart's finished stages
        self._best: LloydRun | None = None
        self._best_inertia, self._best_restart = math.inf, -1

    @property
    def done(self) -> bool:
        """True once every restart has ended."""
        return self.restart >= len(self.seeds)

    @property
    def iteration(self) -> int:
        """Iterations done in the current restart (0 between restarts)."""
        return self._n_iter + (self._iteration.iteration if self._iteration is not None else 0)

    def _start_stage(self, centers: Tensor) -> _LloydIteration:
        beta = (*self.schedule, self.beta)[self._stage] * self.scale**2  # β·E is unchanged by the scaling
        y, rows = self.y, self.rows
        if not math.isinf(beta):
            return _SoftLloyd(y[rows.rows], centers, beta, tol=self.tol, track_inertia=self.track_inertia, rows=rows)
        if self.accelerated:
            return AcceleratedLloyd(
                y,
                self.y_sq,
                centers,
                tol=self.tol,
                relocate=lambda c, lab, s, n: _relocate(y, c, lab, s, n),
                inertia=(lambda c, lab: _inertia(y, c, lab)) if self.track_inertia else None,
            )
        return _PlainLloyd(
            y[rows.rows], self.y_sq[rows.rows], centers, tol=self.tol, track_inertia=self.track_inertia, rows=rows
        )

    def _first_centers(self) -> Tensor:
        if isinstance(self.init, str):
            generator = torch.Generator().manual_seed(self.seeds[self.restart])
            return self.rows.same(_initial_centers(self.y, self.n_clusters, self.init, generator))
        return self.init / self.scale - self.mean.to(self.y.dtype)

    def step(self) -> KMeansStep:
        """One iteration of the current restart (starting it, or its next annealing stage, if needed)."""
        if self.done:
            raise RuntimeError(f"all n_init={len(self.seeds)} restarts have ended; nothing left to step")
        if self._iteration is None:
            start = self._stage_start if self._stage_start is not None else self._first_centers()
            self._iteration = self._start_stage(start)
        iteration = self._iteration
        iteration.step()
        report = KMeansStep(
            self.restart,
            self._n_iter + iteration.iteration,
            iteration.history[-1] * self.scale**2 if self.track_inertia else math.nan,
            False,
        )
        if not (iteration.converged or iteration.iteration >= self.max_iter):
            return report
        run = iteration.result()
        self._iteration = None
        self._n_iter += run.n_iter
        self._history.extend(run.history)
        if self._stage < len(self.schedule):
            self._stage, self._stage_start = self._stage + 1, run.centers
            return report
        rows = self.rows
        inertia = (
            run.inertia if run.inertia is not None else rows.total(_inertia(self.y[rows.rows], run.centers, run.labels))
        )
        if inertia < self._best_inertia or self._best is None:
            labels = rows.gather(run.labels)  # (B,): every process's labels
            self._best = LloydRun(run.centers, labels, self._n_iter, run.converged, tuple(self._history))
            self._best_inertia, self._best_restart = inertia, self.restart
        self.restart += 1
        self._stage, self._stage_start, self._n_iter, self._history = 0, None, 0, []
        return KMeansStep(report.restart, report.iteration, report.inertia, True, inertia * self.scale**2)

    def run(self) -> KMeansResult:
        """Step until every restart has ended; the kept restart."""
        while not self.done:
            self.step()
        return self.result()

    def result(self) -> KMeansResult:
        """The kept restart (lowest inertia) in the data's coordinates, as tensors.

        Before any restart has ended: the current centroids, with their labels and inertia.
        """
        if self._best is not None:
            run, inertia, restart = self._best, self._best_inertia, self._best_restart
        else:
            iteration = self._iteration
            centers = iteration.centers if iteration is not None else self._stage_start
            if centers is None:
                raise RuntimeError("KMeansSolver.result() before the first step(): nothing is fitted yet")
            labels = assign_clusters(self.y, centers, y_sq=self.y_sq).index
            history = self._history + (iteration.history if iteration is not None else [])
            n_iter = self._n_iter + (iteration.iteration if iteration is not None else 0)
            run = LloydRun(centers, labels, n_iter, False, tuple(history))
            inertia, restart = _inertia(self.y, centers, labels), self.restart
        factor = self.scale**2  # inertia and history back in the data's units
        centers = ((run.centers.double() + self.mean) * self.scale).to(self.y.dtype)
        history = tuple(value * factor for value in run.history)
        return KMeansResult(centers, run.labels, inertia * factor, run.n_iter, run.converged, history, restart)

    def state_dict(self) -> dict[str, Any]:
        """The position (restart, stage, iteration state) and the kept restart: all a resume needs.

        Centroids are held centred (and divided by :attr:`scale` for huge data), as the solver uses them.
        """
        best = None
        if self._best is not None:
            best = {
                "centers": self._best.centers,
                "labels": self._best.labels,
                "n_iter": self._best.n_iter,
                "converged": self._best.converged,
                "history": torch.tensor(self._best.history, dtype=torch.float64),
                "inertia": torch.tensor(self._best_inertia, dtype=torch.float64),
                "restart": self._best_restart,
            }
        return {
            "restart": self.restart,
            "stage": self._stage,
            "stage_start": self._stage_start,
            "n_iter": self._n_iter,
            "history": torch.tensor(self._history, dtype=torch.float64),
            "iteration": None if self._iteration is None else self._iteration.state_dict(),
            "best": best,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` (of a solver with the same data and settings)."""
        device, dtype = self.y.device, self.y.dtype
        self.restart, self._stage = int(state["restart"]), int(state["stage"])
        start = state["stage_start"]
        self._stage_start = None if start is None else start.to(device=device, dtype=dtype, copy=True)
        self._n_iter = int(state["n_iter"])
        self._history = [float(value) for value in state["history"].tolist()]
        self._iteration = None
        if state["iteration"] is not None:
            saved = state["iteration"]
            self._iteration = self._start_stage(saved["centers"].to(device=device, dtype=dtype))
            self._iteration.load_state_dict(saved)
        best = state["best"]
        self._best, self._best_inertia, self._best_restart = None, math.inf, -1
        if best is not None:
            history = tuple(float(value) for value in best["history"].tolist())
            centers = best["centers"].to(device=device, dtype=dtype, copy=True)
            labels = best["labels"].to(device, copy=True)
            self._best = LloydRun(centers, labels, int(best["n_iter"]), bool(best["converged"]), history)
            self._best_inertia, self._best_restart = float(best["inertia"]), int(best["restart"])


def k_means(
    y: Any,
    n_clusters: int,
    *,
    beta: float = math.inf,
    beta_schedule: Sequence[float] | None = None,
    init: Any = "k-means++",
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = 1e-4,
    algorithm: str = "auto",
    random_state: Any = None,
    device: str | torch.device | None = None,
    track_inertia: bool = False,
    distributed: bool = False,
) -> KMeansResult:
    """Fit K centroids by minimising :math:`\\sum_b F_\\beta(y_b)` (Lloyd's algorithm at β = ∞).

    .. math:: \\min_W \\sum_b \\min_k \\lVert y_b - w_k \\rVert^2 \\quad (\\beta = \\infty)

    At β = ∞: alternately ž_b = argmin_k ‖y_b − w_k‖² and w_k = mean{y_b : ž_b = k}. At finite β:
    w_k = Σ_b r_bk y_b / Σ_b r_bk with r_b = softmin_β(‖y_b − w_·‖²). ``beta_schedule`` (annealing)
    runs each listed β to convergence first, then ``beta``. Stops when no label changes or when
    Σ_k ‖Δw_k‖² ≤ tol · mean_d Var(y_d). Empty clusters are re-seeded with the points farthest from
    their centroids. The data are centred internally (as scikit-learn does) for round-off.

    Args:
        y: data ``(B, D)``, numpy array or torch tensor, float32 or float64 (others become floating).
        n_clusters: K ≤ B.
        beta: inverse temperature of the final stage (``math.inf``: hard k-means).
        beta_schedule: inverse temperatures run before ``beta`` (e.g. increasing, for annealing).
        init: ``"k-means++"`` (greedy, as scikit-learn), ``"random"`` (the lecture's randperm of the
            data) or an array ``(K, D)``.
        n_init: restarts with different seeds; the one with the lowest inertia is kept.
        max_iter: iterations per stage.
        tol: relative tolerance on the centroid shift (0: stop only when labels stop changing).
        algorithm: ``"lloyd"`` (plain: every distance, by :func:`ebmlab.exhaustive_argmin`),
            ``"accelerated"`` (exact triangle-inequality filtering, same assignments), or ``"auto"``.
        random_state: int, numpy RandomState, torch.Generator or None.
        device: torch device; default: the tensor's device, or CPU for numpy input.
        track_inertia: record the inertia of every assignment step (one extra pass per iteration).
        distributed: under torchrun's process group, share the iterations over its processes, each
            passing the whole ``y`` and working on its block of rows (see :class:`KMeansSolver`);
            nothing changes without a group.

    Returns:
        :class:`KMeansResult`; ``centers`` and ``labels`` are of the caller's kind (numpy or torch).

    Raises:
        ValueError: bad settings or data (not finite, fewer than K rows, values whose squares overflow).
        FloatingPointError: soft k-means at a β so large that β·‖y − w‖² overflows.

    Example:
        >>> import numpy as np
        >>> y = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
        >>> result = k_means(y, 2, random_state=0)
        >>> sorted(result.centers.tolist()), result.inertia
        ([[0.0, 0.5], [10.0, 0.5]], 1.0)
    """
    result = KMeansSolver(
        y,
        n_clusters,
        beta=beta,
        beta_schedule=beta_schedule,
        init=init,
        n_init=n_init,
        max_iter=max_iter,
        tol=tol,
        algorithm=algorithm,
        random_state=random_state,
        device=device,
        track_inertia=track_inertia,
        distributed=distributed,
    ).run()
    return KMeansResult(
        to_caller(result.centers, y),
        to_caller(result.labels, y),
        result.inertia,
        result.n_iter,
        result.converged,
        result.inertia_history,
        result.restart,
    )


# ---------------------------------------------------------------------------------------- estimator


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """K-means clustering as the lecture's EBM, with scikit-learn's estimator conventions.

    ``fit`` minimises :math:`\\sum_b F_\\beta(y_b)` (see :func:`k_means`); ``predict`` is ž; ``transform``
    gives the distances ‖y − w_k‖ to every centroid; ``score`` is −inertia; ``partial_fit`` is the
    streaming (mini-batch) update :func:`minibatch_step`. Accepts numpy arrays and torch tensors
    (float32/float64) and returns the caller's kind; :meth:`energy` gives the :class:`KMeansEnergy`.

    Attributes:
        cluster_centers_: ``(K, D)``; labels_: ``(B,)`` int64; inertia_: float; n_iter_: int;
        cluster_counts_: ``(K,)`` points (or responsibility mass) per centroid, for ``partial_fit``.

    Example:
        >>> import numpy as np
        >>> y = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
        >>> model = KMeans(n_clusters=2, random_state=0).fit(y)
        >>> model.predict(np.array([[9.0, 0.0]])) == model.labels_[2], model.score(y)
        (array([ True]), -1.0)
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        beta: float = math.inf,
        beta_schedule: Sequence[float] | None = None,
        init: Any = "k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        algorithm: str = "auto",
        random_state: Any = None,
        device: str | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.beta = beta
        self.beta_schedule = beta_schedule
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn's Tags
        tags = super().__sklearn_tags__()
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ---- input handling: numpy/array-likes through scikit-learn's validation, tensors through ours
    def _validate(self, X: Any, *, reset: bool) -> Tensor:
        if isinstance(X, Tensor):
            device = resolve_device(self.device) if self.device is not None else X.device
            data = as_tensor(X, "X", device=device)
            if data.dtype not in (torch.float32, torch.float64):
                data = data.to(torch.float32)
            check_matrix(data, "X")
            if reset:
                self.n_features_in_ = data.shape[1]
            elif data.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {data.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
            check_finite(data, "X")
            return data
        from sklearn.utils.validation import validate_data

        array = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32], order="C")
        if not array.flags.writeable:
            array = array.copy()
        device = resolve_device(self.device) if self.device is not None else None
        return torch.from_numpy(array).to(device)

    def _centers_like(self, data: Tensor) -> Tensor:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return torch.as_tensor(self.cluster_centers_).to(device=data.device, dtype=data.dtype)

    def fit(self, X: Any, y: Any = None) -> KMeans:
        """Fit the centroids on ``X`` ``(B, D)``; ``y`` is ignored (scikit-learn convention)."""
        _check_settings(self.n_clusters, self.beta, self.init, self.n_init, self.max_iter, self.tol, self.algorithm)
        schedule = _check_beta_schedule(self.beta_schedule)
        data = self._validate(X, reset=True)
        result = KMeansSolver(
            data,
            self.n_clusters,
            beta=self.beta,
            beta_schedule=schedule,
            init=self.init,
            n_init=self.n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            algorithm=self.algorithm,
            random_state=self.random_state,
        ).run()
        self.cluster_centers_ = to_caller(result.centers, X)
        self.labels_ = to_caller(result.labels, X)
        self.cluster_counts_ = to_caller(torch.bincount(result.labels, minlength=self.n_clusters).double(), X)
        self.inertia_ = result.inertia
        self.n_iter_ = result.n_iter
        return self

    def partial_fit(self, X: Any, y: Any = None) -> KMeans:
        """One streaming update with the batch ``X``; the first call initialises from it (needs B ≥ K)."""
        _check_settings(self.n_clusters, self.beta, self.init, 1, self.max_iter, self.tol, self.algorithm)
        first = not hasattr(self, "cluster_centers_")
        data = self._validate(X, reset=first)
        if first:
            if data.shape[0] < self.n_clusters:
                raise ValueError(
                    f"the first partial_fit batch needs n_samples >= n_clusters: "
                    f"n_samples={data.shape[0]}, n_clusters={self.n_clusters}."
                )
            generator = torch.Generator().manual_seed(_seeds(self.random_state, 1)[0])
            centers = _initial_centers(data, self.n_clusters, self.init, generator)
            counts = torch.zeros(self.n_clusters, dtype=torch.float64, device=data.device)
            self.n_iter_ = 0
        else:
            centers = self._centers_like(data)
            counts = torch.as_tensor(self.cluster_counts_).to(device=data.device, dtype=torch.float64)
        centers, counts = minibatch_step(centers, counts, data, self.beta)
        self.cluster_centers_ = to_caller(centers, X)
        self.cluster_counts_ = to_caller(counts, X)
        self.n_iter_ += 1
        return self

    def predict(self, X: Any) -> Any:
        """ž = argmin_k ‖y − w_k‖² for each row of ``X``: ``(B, D)`` → ``(B,)`` int64."""
        data = self._validate(X, reset=False)
        return to_caller(assign_clusters(data, self._centers_like(data)).index, X)

    def transform(self, X: Any) -> Any:
        """Distances ‖y − w_k‖ to every centroid: ``(B, D)`` → ``(B, K)``."""
        data = self._validate(X, reset=False)
        centers = self._centers_like(data)
        out = torch.empty(data.shape[0], centers.shape[0], dtype=data.dtype, device=data.device)
        step = max(1, _BLOCK_ELEMENTS // centers.shape[0])
        for start in range(0, data.shape[0], step):
            out[start : start + step] = squared_distances(data[start : start + step], centers).sqrt_()
        if not bool(torch.isfinite(out).all()):  # the squares overflowed: distances of y / 2^e, times 2^e
            scale = _power_of_two_scale(data, centers)
            if scale != 1.0:
                data, centers = data / scale, centers / scale
                for start in range(0, data.shape[0], step):
                    out[start : start + step] = squared_distances(data[start : start + step], centers).sqrt_()
                out *= scale
        return to_caller(out, X)

    def score(self, X: Any, y: Any = None) -> float:
        """−Σ_b F_∞(y_b) = −inertia of ``X`` with the fitted centroids (higher is better)."""
        data = self._validate(X, reset=False)
        centers = self._centers_like(data)
        labels = assign_clusters(data, centers).index
        inertia = _inertia(data, centers, labels)
        if not math.isfinite(inertia):  # the squares overflowed: the inertia of y / 2^e, times 4^e
            scale = _power_of_two_scale(data, centers)
            inertia = _inertia(data / scale, centers / scale, labels) * scale**2
        return -inertia

    def energy(self) -> KMeansEnergy:
        """The fitted model as an :class:`ebmlab.Energy`: E(y, z) = ‖y − Wz‖²."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return KMeansEnergy(torch.as_tensor(self.cluster_centers_))


def lecture_demo_data(n_samples: int = 50, *, seed: int = 0) -> Tensor:
    """The lecture demo's data: 50 points in 2-D from five Gaussian blobs (``(B, 2)`` float32).

    Example:
        >>> tuple(lecture_demo_data().shape)
        (50, 2)
    """
    generator = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [3.0, 0.5], [1.0, 3.0], [-2.0, 2.0], [-1.5, -2.5]])
    which = torch.randint(len(centres), (n_samples,), generator=generator)
    return centres[which] + 0.6 * torch.randn(n_samples, 2, generator=generator)
