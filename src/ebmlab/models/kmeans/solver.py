"""K-means' restarts and iterations: k-means++ seeding, :class:`KMeansSolver`, :func:`k_means`, mini-batch steps.

:class:`KMeansSolver` is the one implementation of the restarts and iterations behind
:func:`k_means`, :meth:`~ebmlab.models.kmeans.KMeans.fit` and the ``ebmlab train kmeans`` recipe; it
steps the Lloyd iterations of :mod:`.lloyd` and saves their state between steps.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..._validation import (
    as_tensor,
    check_finite,
    check_int,
    check_matrix,
    check_positive,
    random_seeds,
    resolve_device,
    to_caller,
)
from ...kernels.argmin import (
    assign_clusters,
    gather_rows,
    power_of_two_scale,
    row_norms,
    row_slice,
    scaled,
)
from . import sparse as _sparse
from .lloyd import (
    LloydRun,
    _AcceleratedLloyd,
    _LloydIteration,
    _PlainLloyd,
    _Rows,
    _SoftLloyd,
    column_mean,
    distances_to,
    total_inertia,
    weighted_sums,
)

__all__ = ["KMeansResult", "KMeansSolver", "KMeansStep", "k_means", "kmeans_plusplus", "minibatch_step"]

_ALGORITHMS = ("auto", "lloyd", "elkan", "accelerated")
_AUTO_ACCELERATED = 1 << 16  # B·K from which "auto" picks the accelerated Lloyd


def _check_sample_weight(sample_weight: Any, count: int, device: torch.device | None = None) -> Tensor | None:
    """Sample weights as a float64 ``(B,)`` tensor; None when absent or all ones (the unweighted code then runs).

    A weight of 0 means the point is absent; negative weights and all-zero weights are refused.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        weights = torch.full((count,), float(sample_weight), dtype=torch.float64, device=device)
    else:
        weights = as_tensor(sample_weight, "sample_weight", dtype=torch.float64, device=device)
    if weights.ndim != 1 or weights.shape[0] != count:
        raise ValueError(
            f"sample_weight must have shape (n_samples,) = ({count},), one weight per row of X, "
            f"got shape {tuple(weights.shape)}"
        )
    check_finite(weights, "sample_weight")
    negative = int((weights < 0).sum())
    if negative:
        raise ValueError(f"sample_weight must be >= 0 (0: the point is absent), got {negative} negative value(s)")
    if not bool((weights > 0).any()):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if bool((weights == 1).all()):
        return None
    return weights


def _weighted_draws(mass: Tensor, draws: Tensor) -> Tensor:
    """Indices drawn with probability ∝ ``mass`` (float64 on CPU) for uniform ``draws`` in [0, 1): never one of
    zero mass (the first index whose cumulative mass exceeds the draw)."""
    cumulative = torch.cumsum(mass, dim=0)
    last = int(torch.nonzero(mass > 0)[-1])
    return torch.searchsorted(cumulative, draws * cumulative[-1], right=True).clamp_(max=last)


def kmeans_plusplus(
    y: Tensor,
    n_clusters: int,
    *,
    generator: torch.Generator | None = None,
    n_local_trials: int | None = None,
    sample_weight: Any = None,
) -> Tensor:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007; greedy variant as scikit-learn).

    The first centroid is a uniformly drawn point; each next one is the best (lowest potential
    :math:`\\sum_b s_b \\min_k \\lVert y_b - w_k\\rVert^2`) of ``n_local_trials`` = 2 + ⌊log K⌋ points
    drawn with probability proportional to their current :math:`s_b F_\\infty(y_b)`. With sample weights
    s (``sample_weight``; all 1 by default) the first point is drawn with probability ∝ s_b, and a
    point of weight 0 is never drawn.

    Shape:
        y ``(B, D)`` (dense or sparse CSR), sample_weight ``(B,)`` → centroids ``(K, D)``, each a row of ``y``.

    Example:
        >>> import torch
        >>> y = torch.tensor([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
        >>> centers = kmeans_plusplus(y, 2, generator=torch.Generator().manual_seed(0))
        >>> sorted(round(float(c[0])) for c in centers)
        [0, 10]
        >>> weighted = kmeans_plusplus(y, 2, generator=torch.Generator().manual_seed(0), sample_weight=[0, 1, 0, 1])
        >>> sorted(c[0].item() for c in weighted)  # the points of weight 0 are never drawn
        [0.10000000149011612, 10.100000381469727]
    """
    n, _ = y.shape
    weights = _check_sample_weight(sample_weight, n, y.device)
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(n_clusters))
    y_sq = row_norms(y)
    if weights is None:
        first = int(torch.randint(n, (1,), generator=generator))
    else:
        weights_cpu = weights.cpu()
        first = int(_weighted_draws(weights_cpu, torch.rand(1, generator=generator, dtype=torch.float64))[0])
    chosen = [first]
    closest = distances_to(y, y_sq, gather_rows(y, torch.tensor([first])))[:, 0]  # (B,)
    potential = float(closest.sum(dtype=torch.float64) if weights is None else closest.double() @ weights)
    for _ in range(1, n_clusters):
        if potential > 0 and weights is None:
            cumulative = torch.cumsum(closest.to(torch.float64).cpu(), dim=0)
            draws = torch.rand(n_local_trials, generator=generator, dtype=torch.float64) * cumulative[-1]
            candidates = torch.searchsorted(cumulative, draws).clamp_(max=n - 1)
        elif potential > 0:
            draws = torch.rand(n_local_trials, generator=generator, dtype=torch.float64)
            candidates = _weighted_draws(closest.double().cpu() * weights_cpu, draws)
        elif weights is None:  # every point coincides with a chosen centroid: any point will do
            candidates = torch.randint(n, (n_local_trials,), generator=generator)
        else:  # any point that is present
            candidates = torch.multinomial((weights_cpu > 0).double(), n_local_trials, True, generator=generator)
        candidates = candidates.to(y.device)
        to_candidates = distances_to(y, y_sq, gather_rows(y, candidates))  # (B, trials)
        trial = torch.minimum(closest.unsqueeze(1), to_candidates)  # (B, trials)
        if weights is None:
            potentials = trial.sum(dim=0, dtype=torch.float64)  # (trials,)
        else:
            potentials = weights @ trial.double()  # (trials,)
        best = int(potentials.argmin())
        chosen.append(int(candidates[best]))
        closest = trial[:, best].contiguous()
        potential = float(potentials[best])
    return gather_rows(y, torch.tensor(chosen, device=y.device)).clone()


def minibatch_step(
    centroids: Tensor, counts: Tensor, batch: Tensor, beta: float = math.inf, sample_weight: Any = None
) -> tuple[Tensor, Tensor]:
    """One streaming (mini-batch) k-means update: every centroid stays the running mean of its points.

    .. math:: n_k \\leftarrow n_k + \\textstyle\\sum_b s_b r_{bk},\\qquad
              w_k \\leftarrow w_k + \\frac{1}{n_k}\\textstyle\\sum_b s_b r_{bk}(y_b - w_k)

    with :math:`r_b = \\mathrm{softmin}_\\beta(E(y_b, \\cdot))` (one-hot at β = ∞), i.e. Sculley's
    (2010) per-centroid learning rate 1/n_k, and sample weights s (``sample_weight``, all 1 by default).

    Shape:
        centroids ``(K, D)``, counts ``(K,)`` float64, batch ``(B, D)`` (dense or sparse CSR),
        sample_weight ``(B,)`` → new ``(K, D)`` and ``(K,)``.

    Example:
        >>> import torch
        >>> w, n = minibatch_step(torch.zeros(1, 1), torch.zeros(1, dtype=torch.float64), torch.tensor([[2.0], [4.0]]))
        >>> w, n
        (tensor([[3.]]), tensor([2.], dtype=torch.float64))
    """
    weights = _check_sample_weight(sample_weight, batch.shape[0], batch.device)
    weights, sums = weighted_sums(batch, centroids, beta, weights)  # (K,), (K, D) float64
    new_counts = counts + weights
    step = (sums - weights.unsqueeze(1) * centroids.double()) / new_counts.clamp_min(1e-300).unsqueeze(1)
    updated = torch.where(new_counts.unsqueeze(1) > 0, centroids.double() + step, centroids.double())
    return updated.to(centroids.dtype), new_counts


def _needs_scaling(total: float, count: int, dtype: torch.dtype) -> bool:
    """Whether data with Σ_b ‖y_b − mean‖² = ``total`` over ``count`` entries must be rescaled: squared
    distances (≤ 4·total) overflow, or are so small that their differences fall below the normal range."""
    info = torch.finfo(dtype)
    return not math.isfinite(total) or 4.0 * total > info.max or 0.0 < total < count * info.tiny / info.eps**2


def _near_origin(offset: float, total: float) -> bool:
    """Whether dense data whose mean ȳ gives B‖ȳ‖² = ``offset`` and Σ_b ‖y_b − ȳ‖² = ``total`` are solved as
    given rather than centred: their mean squared norm is then at most twice that of the centred rows, so the
    round-off of ‖y‖² − 2y·w + ‖w‖² at most doubles, and the (B, D) centred copy — a third of a one-iteration
    run's time on MNIST, whose offset is 0.67 × total — is saved. Non-finite sums are centred (then checked)."""
    return math.isfinite(total) and offset <= total  # a non-finite offset leaves total non-finite


def _reversibly_centred(given: Any, data: Tensor, mean: Tensor) -> bool:
    """Whether ``data`` may be centred in place (``copy_x=False``) and restored: writable memory, no gradient,
    a finite mean (so every entry is finite) and no entry near the largest float (no difference overflows)."""
    if (isinstance(given, np.ndarray) and not given.flags.writeable) or data.requires_grad:
        return False
    if not bool(torch.isfinite(mean).all()):
        return False
    return float(torch.linalg.vector_norm(data, ord=math.inf)) < torch.finfo(data.dtype).max / 2


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
        converged: whether its stage met a stopping rule at this step (``strict``: no label changed;
            else the centroid shift Σ_k ‖Δw_k‖², ``shift``, fell within the tolerance).
        strict: see ``converged``.
        shift: Σ_k ‖Δw_k‖² of this step's centroid update, in the data's units.

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
    converged: bool = False
    strict: bool = False
    shift: float = math.nan


def _check_beta_schedule(beta_schedule: Sequence[float] | None) -> tuple[float, ...]:
    if beta_schedule is None:
        return ()
    if isinstance(beta_schedule, (str, bytes)) or not isinstance(beta_schedule, (Sequence, np.ndarray)):
        raise TypeError(f"beta_schedule must be a sequence of positive numbers or None, got {beta_schedule!r}")
    return tuple(check_positive(float(b), "beta_schedule entry") for b in beta_schedule)


def _check_settings(
    n_clusters: int, beta: float, init: Any, n_init: int | str, max_iter: int, tol: float, algorithm: str
) -> None:
    check_int(n_clusters, "n_clusters")
    check_positive(beta, "beta")
    if not (isinstance(n_init, str) and n_init == "auto"):
        if isinstance(n_init, str):
            raise ValueError(f"n_init must be 'auto' or an integer >= 1, got n_init={n_init!r}")
        check_int(n_init, "n_init")
    check_int(max_iter, "max_iter")
    check_positive(tol, "tol", strict=False)
    if algorithm not in _ALGORITHMS:
        raise ValueError(f"algorithm must be one of {_ALGORITHMS}, got algorithm={algorithm!r}")
    if isinstance(init, str) and init not in ("k-means++", "random"):
        raise ValueError(
            f"init must be 'k-means++', 'random', a callable or an array (n_clusters, n_features), got {init!r}"
        )


def _resolve_n_init(n_init: int | str, init: Any) -> int:
    """The number of restarts: ``"auto"`` is 10 for random starts (``"random"``, a callable), else 1 (as
    scikit-learn); an explicit array of centroids gives one start (a RuntimeWarning if more were asked)."""
    explicit = not isinstance(init, str) and not callable(init)
    if n_init == "auto":
        return 10 if (isinstance(init, str) and init == "random") or callable(init) else 1
    if explicit and n_init != 1:
        warnings.warn(
            f"Explicit initial center position passed: performing only one init in KMeans instead of n_init={n_init}.",
            RuntimeWarning,
            stacklevel=4,
        )
        return 1
    return int(n_init)


def _check_centers(centers: Any, n_clusters: int, y: Tensor, name: str = "init") -> Tensor:
    """Initial centroids given by the caller (an array, or what a callable init returned) as a ``(K, D)`` tensor."""
    if _sparse.is_sparse(centers):
        centers = centers.toarray() if not isinstance(centers, Tensor) else centers.to_dense()
    centers = as_tensor(centers, name, dtype=y.dtype, device=y.device)
    shape = tuple(centers.shape)
    if centers.ndim != 2 or shape[0] != n_clusters:
        raise ValueError(
            f"The shape of the initial centers {shape} does not match the number of clusters {n_clusters}: "
            f"{name} must have shape (n_clusters, n_features) = ({n_clusters}, {y.shape[1]})"
        )
    if shape[1] != y.shape[1]:
        raise ValueError(
            f"The shape of the initial centers {shape} does not match the number of features of the data "
            f"{y.shape[1]}: {name} must have shape (n_clusters, n_features) = ({n_clusters}, {y.shape[1]})"
        )
    check_finite(centers, name)
    return centers.clone()


def _initial_centers(
    y: Tensor, n_clusters: int, init: Any, generator: torch.Generator, weights: Tensor | None = None
) -> Tensor:
    if isinstance(init, str):
        if init == "random" and weights is None:  # the lecture's W = Y[torch.randperm(len(Y))[:K]]
            return gather_rows(y, torch.randperm(y.shape[0], generator=generator)[:n_clusters].to(y.device)).clone()
        if init == "random":  # K distinct points, drawn with probability ∝ their weight
            present = int((weights > 0).sum())
            if present < n_clusters:
                raise ValueError(
                    f"init='random' draws n_clusters={n_clusters} distinct points of positive weight, but "
                    f"sample_weight has only {present}"
                )
            drawn = torch.multinomial(weights.cpu(), n_clusters, replacement=False, generator=generator)
            return gather_rows(y, drawn.to(y.device)).clone()
        return kmeans_plusplus(y, n_clusters, generator=generator, sample_weight=weights)
    return _check_centers(init, n_clusters, y)


class KMeansSolver:
    """k-means as a resumable iteration: ``n_init`` restarts, one Lloyd (or soft k-means) iteration per :meth:`step`.

    The one implementation of the restarts and iterations behind :func:`k_means`, :meth:`KMeans.fit`
    and the ``ebmlab train kmeans`` recipe: ``k_means`` runs :meth:`run`; a training loop calls
    :meth:`step` and saves :meth:`state_dict` between steps, from which :meth:`load_state_dict`
    continues bit for bit (the accelerated Lloyd's labels, bounds and float64 cluster sums included).
    The arguments are :func:`k_means`'s, validated the same way (``y`` may be a numpy array, a
    tensor, or a scipy or torch sparse matrix; the result is in tensors). A restart that meets a
    stopping rule ends at that step, and the next :meth:`step` starts the next restart; :attr:`done`
    once the last one has ended.

    Dense data far from the origin (B‖ȳ‖² above Σ_b ‖y_b − ȳ‖², see :func:`_near_origin`) are centred
    (a copy, or in place with ``copy_x=False``: then :meth:`run` restores them when it returns); dense
    data nearer the origin are used as given (no copy), and so are sparse data (held as a torch CSR
    tensor), whose distance products are sparse matrix products. Sparse data, or sample weights other
    than all ones, run the plain Lloyd (``"elkan"`` and ``"accelerated"`` included: the same assignments).

    ``distributed=True`` under a process group of N (torchrun, :mod:`ebmlab.training.distributed`;
    without one it changes nothing): every process passes the whole data and the same settings,
    and iterates on its block of B/N rows. Each iteration all-reduces the per-cluster sums and
    counts (and the inertia, and whether any label changed), so every process moves the centroids
    alike; the initial centroids are rank 0's (k-means++ on the whole data, broadcast); the labels
    of a restart are gathered when it ends. The centroids and labels are one process's, up to the
    order of the float64 sums; the plain Lloyd runs (the accelerated one is single-process).
    :meth:`step`, :meth:`state_dict` and :meth:`run` must then be called on every process alike;
    :meth:`result` uses no communication. Distributed runs take dense data without sample weights.

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
        sample_weight: Any = None,
        copy_x: bool = True,
    ) -> None:
        _check_settings(n_clusters, beta, init, n_init, max_iter, tol, algorithm)
        self.schedule = _check_beta_schedule(beta_schedule)
        dev = resolve_device(device) if device is not None else (y.device if isinstance(y, Tensor) else None)
        if _sparse.is_sparse(y):
            data = _sparse.csr_tensor(y, dev)  # (B, D) torch CSR
        else:
            data = as_tensor(y, "y", device=dev)
            if data.dtype not in (torch.float32, torch.float64):
                data = data.to(torch.float32)
        check_matrix(data, "y")
        if data.shape[0] < n_clusters:
            raise ValueError(f"n_samples={data.shape[0]} should be >= n_clusters={n_clusters}.")
        self.sparse = data.layout == torch.sparse_csr
        self.weights = _check_sample_weight(sample_weight, data.shape[0], data.device)  # (B,) float64 or None
        n_init = _resolve_n_init(n_init, init)
        if not isinstance(init, str) and not callable(init):
            init = _initial_centers(data, n_clusters, init, torch.Generator())
        if algorithm == "elkan" and n_clusters == 1:
            warnings.warn(
                "algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead.",
                RuntimeWarning,
                stacklevel=3,
            )
            algorithm = "lloyd"
        self.source = y  # what a callable init is given
        self.n_clusters, self.beta, self.init, self.max_iter = n_clusters, beta, init, max_iter
        self.track_inertia = track_inertia
        self.scale = 1.0  # the solver works on y / scale, a power of two (1 unless squares over/underflow)
        self._centred_in_place: Tensor | None = None  # data centred in place (copy_x=False), until run() ends
        count = data.shape[0] * data.shape[1]
        if self.sparse:
            self.mean, total = self._sparse_moments(data)  # the sparse data are not centred: mean 0
            self.y = data
        else:
            total = self._dense_moments(data, y if not copy_x else None)
        if _needs_scaling(total, count, data.dtype):
            self._restore()
            check_finite(data.values() if self.sparse else data, "y")
            # huge (or tiny) finite data: solve on y / 2^e, exactly the same problem in floating point
            self.scale = power_of_two_scale(data)
            self.y = scaled(data, self.scale)  # (B, D), the solver's own copy
            if self.sparse:
                self.mean, total = self._sparse_moments(self.y)
            else:
                total = self._dense_moments(self.y, self.y, own=True)
        self.tol = tol * total / count  # tol × mean_d Var(y_d), as scikit-learn's tolerance
        self.rows = _Rows(data.shape[0], distributed)  # this process's rows (all of them on one)
        if self.rows.several and (self.sparse or self.weights is not None):
            self._restore()
            raise ValueError(
                f"distributed=True on {self.rows.size} processes takes dense data without sample_weight; "
                f"got {'sparse data' if self.sparse else 'sample_weight'}"
            )
        if algorithm in ("accelerated", "elkan") and self.rows.several:
            self._restore()
            raise ValueError(
                f"algorithm={algorithm!r} runs on one process; with distributed=True on {self.rows.size} "
                "processes pass algorithm='lloyd' or 'auto'"
            )
        plain_only = self.sparse or self.weights is not None  # the bounded search holds dense, unweighted sums
        self.accelerated = not plain_only and (
            algorithm in ("accelerated", "elkan")
            or (algorithm == "auto" and data.shape[0] * n_clusters >= _AUTO_ACCELERATED and not self.rows.several)
        )
        self.seeds = random_seeds(random_state, n_init)
        self.restart = 0  # the restart under way, or the next one
        self._stage = 0  # annealing stage of this restart (len(schedule): the final β)
        self._stage_start: Tensor | None = None  # the centroids the next stage starts from (stage > 0)
        self._iteration: _LloydIteration | None = None  # the stage's iteration, None between stages
        self._n_iter, self._history = 0, []  # of this restart's finished stages
        self._best: LloydRun | None = None
        self._best_inertia, self._best_restart = math.inf, -1

    def _dense_moments(self, data: Tensor, in_place: Any = None, *, own: bool = False) -> float:
        """Set :attr:`y` (``data`` as given when near the origin, see :func:`_near_origin`, else centred: in place
        when ``in_place`` (the caller's array, ``copy_x=False``) may be restored or the memory is the solver's
        ``own``, else a copy), :attr:`mean` (0 when not centred) and :attr:`y_sq`; return Σ_b ‖y_b − ȳ‖² (not
        finite for non-finite y)."""
        self.mean = column_mean(data)  # (D,) float64, in the solver's units
        self.y_sq = row_norms(data)  # (B,)
        offset = data.shape[0] * float(self.mean @ self.mean)  # B‖ȳ‖²
        total = float(self.y_sq.sum(dtype=torch.float64)) - offset
        if _near_origin(offset, total):  # used as given: no copy, no pass to centre
            self.y = data.contiguous()
            self.mean = torch.zeros_like(self.mean)
            return total
        if in_place is not None and (own or _reversibly_centred(in_place, data, self.mean)):
            self.y = data.sub_(self.mean.to(data.dtype))
            if not own:
                self._centred_in_place = self.y
        else:
            self.y = data - self.mean.to(data.dtype)  # (B, D) one centred copy, for round-off (as scikit-learn)
        self.y_sq = row_norms(self.y)  # (B,)
        return float(self.y_sq.sum(dtype=torch.float64))  # also the finiteness check of y

    def _sparse_moments(self, data: Tensor) -> tuple[Tensor, float]:
        """For sparse data (not centred): the zero mean ``(D,)`` and Σ_b ‖y_b − ȳ‖² = Σ_b ‖y_b‖² − B‖ȳ‖²;
        sets :attr:`y_sq`."""
        self.y_sq = row_norms(data)  # (B,)
        column = _sparse.column_sums(data) / data.shape[0]  # (D,) float64
        total = float(self.y_sq.sum(dtype=torch.float64)) - data.shape[0] * float(column @ column)
        return torch.zeros(data.shape[1], dtype=torch.float64, device=data.device), max(total, 0.0)

    def _restore(self) -> None:
        """Undo the in-place centring of ``copy_x=False`` (once)."""
        if self._centred_in_place is not None:
            self._centred_in_place.add_(self.mean.to(self._centred_in_place.dtype))
            self._centred_in_place = None

    @property
    def done(self) -> bool:
        """True once every restart has ended."""
        return self.restart >= len(self.seeds)

    @property
    def n_init(self) -> int:
        """The number of restarts (``n_init="auto"`` resolved)."""
        return len(self.seeds)

    @property
    def tolerance(self) -> float:
        """The absolute tolerance on Σ_k ‖Δw_k‖²: ``tol`` × mean_d Var(y_d), in the data's units."""
        return self.tol * self.scale**2

    @property
    def iteration(self) -> int:
        """Iterations done in the current restart (0 between restarts)."""
        return self._n_iter + (self._iteration.iteration if self._iteration is not None else 0)

    def _start_stage(self, centers: Tensor) -> _LloydIteration:
        beta = (*self.schedule, self.beta)[self._stage] * self.scale**2  # β·E is unchanged by the scaling
        y, rows, weights = row_slice(self.y, self.rows.rows), self.rows, self.weights
        if not math.isinf(beta):
            return _SoftLloyd(
                y, centers, beta, tol=self.tol, track_inertia=self.track_inertia, rows=rows, weights=weights
            )
        if self.accelerated:
            budget = self.max_iter - self._n_iter  # iterations left in this restart
            return _AcceleratedLloyd(self.y, self.y_sq, centers, tol=self.tol, track_inertia=self.track_inertia,
                                     budget=budget)
        return _PlainLloyd(
            y, self.y_sq[rows.rows], centers, tol=self.tol, track_inertia=self.track_inertia, rows=rows, weights=weights
        )

    def _first_centers(self) -> Tensor:
        if isinstance(self.init, str):
            generator = torch.Generator().manual_seed(self.seeds[self.restart])
            return self.rows.same(_initial_centers(self.y, self.n_clusters, self.init, generator, self.weights))
        init = self.init
        if callable(init):  # init(X, n_clusters, random_state) -> (K, D), on the data as given
            random_state = np.random.RandomState(self.seeds[self.restart] % 2**32)
            centers = init(self.source, self.n_clusters, random_state=random_state)
            init = _check_centers(centers, self.n_clusters, self.y)
        return init / self.scale - self.mean.to(self.y.dtype)

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
            converged=iteration.converged,
            strict=iteration.strict,
            shift=iteration.shift * self.scale**2,
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
        inertia = run.inertia
        if inertia is None:
            inertia = rows.total(total_inertia(row_slice(self.y, rows.rows), run.centers, run.labels, self.weights))
        if inertia < self._best_inertia or self._best is None:
            labels = rows.gather(run.labels)  # (B,): every process's labels
            self._best = LloydRun(run.centers, labels, self._n_iter, run.converged, tuple(self._history))
            self._best_inertia, self._best_restart = inertia, self.restart
        self.restart += 1
        self._stage, self._stage_start, self._n_iter, self._history = 0, None, 0, []
        return replace(report, finished=True, final_inertia=inertia * self.scale**2)

    def run(self, on_step: Callable[[KMeansStep], None] | None = None) -> KMeansResult:
        """Step until every restart has ended (``on_step`` sees each :class:`KMeansStep`); the kept restart.

        Warns (:class:`~sklearn.exceptions.ConvergenceWarning`, as scikit-learn) when its labels use fewer
        than K clusters, as with fewer distinct points than K.
        """
        try:
            while not self.done:
                report = self.step()
                if on_step is not None:
                    on_step(report)
        finally:
            self._restore()
        result = self.result()
        distinct = int(torch.unique(result.labels).numel())
        if distinct < self.n_clusters:
            from sklearn.exceptions import ConvergenceWarning

            reason = (
                "Possibly due to duplicate points in X."
                if math.isinf(self.beta)
                else f"Soft k-means at beta={self.beta:g} merged centroids; a larger beta separates them."
            )
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({self.n_clusters}). {reason}",
                ConvergenceWarning,
                stacklevel=3,
            )
        return result

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
            inertia, restart = total_inertia(self.y, centers, labels, self.weights), self.restart
        factor = self.scale**2  # inertia and history back in the data's units
        centers = ((run.centers.double() + self.mean) * self.scale).to(self.y.dtype)
        history = tuple(value * factor for value in run.history)
        return KMeansResult(centers, run.labels, inertia * factor, run.n_iter, run.converged, history, restart)

    def state_dict(self) -> dict[str, Any]:
        """The position (restart, stage, iteration state) and the kept restart: all a resume needs.

        Centroids are held as the solver uses them: less the mean of centred data, divided by :attr:`scale` for
        huge data.
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
    sample_weight: Any = None,
    copy_x: bool = True,
) -> KMeansResult:
    """Fit K centroids by minimising :math:`\\sum_b s_b F_\\beta(y_b)` (Lloyd's algorithm at β = ∞).

    .. math:: \\min_W \\sum_b s_b \\min_k \\lVert y_b - w_k \\rVert^2 \\quad (\\beta = \\infty)

    At β = ∞: alternately ž_b = argmin_k ‖y_b − w_k‖² and w_k = Σ_{ž_b = k} s_b y_b / Σ_{ž_b = k} s_b
    (the mean of its points, with sample weights s, all 1 by default). At finite β:
    w_k = Σ_b s_b r_bk y_b / Σ_b s_b r_bk with r_b = softmin_β(‖y_b − w_·‖²). ``beta_schedule`` (annealing)
    runs each listed β to convergence first, then ``beta``. Stops when no label changes or when
    Σ_k ‖Δw_k‖² ≤ tol · mean_d Var(y_d). Empty clusters are re-seeded with the points farthest from
    their centroids. Dense data far from the origin are centred internally (as scikit-learn centres all) for
    round-off; data whose squared mean is at most their spread, as MNIST, are used as given (no copy).

    Args:
        y: data ``(B, D)``: numpy array or torch tensor, float32 or float64 (others become floating), or
            a scipy sparse matrix or sparse torch tensor (held as torch CSR; sparse matrix products).
        n_clusters: K ≤ B.
        beta: inverse temperature of the final stage (``math.inf``: hard k-means).
        beta_schedule: inverse temperatures run before ``beta`` (e.g. increasing, for annealing).
        init: ``"k-means++"`` (greedy, as scikit-learn; weighted by ``sample_weight``), ``"random"``
            (the lecture's randperm of the data; with weights, K distinct points drawn ∝ their weight),
            an array ``(K, D)``, or a callable ``init(y, n_clusters, random_state=RandomState)`` returning one.
        n_init: restarts with different seeds; the one with the lowest inertia is kept. ``"auto"``: 10
            for ``"random"`` or a callable, else 1 (scikit-learn's rule); an array gives one start.
        max_iter: iterations per stage.
        tol: relative tolerance on the centroid shift (0: stop only when labels stop changing).
        algorithm: ``"lloyd"`` (plain: every distance, by :func:`ebmlab.exhaustive_argmin`),
            ``"accelerated"`` (exact triangle-inequality filtering, same assignments; ``"elkan"`` is its
            scikit-learn name), or ``"auto"``. Sparse or weighted data always run the plain Lloyd.
        random_state: int, numpy RandomState, torch.Generator or None (fresh entropy from the operating system).
        device: torch device; default: the tensor's device, or CPU for numpy input.
        track_inertia: record the inertia of every assignment step (one extra pass per iteration).
        distributed: under torchrun's process group, share the iterations over its processes, each
            passing the whole ``y`` and working on its block of rows (see :class:`KMeansSolver`);
            nothing changes without a group.
        sample_weight: s, one non-negative weight per row (0: the point is absent); None: all 1.
        copy_x: False centres dense float data far from the origin in place while it runs (no copy) and
            restores them after (data nearer the origin are never copied).

    Returns:
        :class:`KMeansResult`; ``centers`` and ``labels`` are of the caller's kind (numpy or torch).

    Raises:
        ValueError: bad settings or data (not finite, fewer than K rows, values whose squares overflow,
            negative sample weights).
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
        sample_weight=sample_weight,
        copy_x=copy_x,
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
