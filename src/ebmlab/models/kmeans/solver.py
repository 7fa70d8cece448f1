"""K-means' restarts and iterations: k-means++ seeding, :class:`KMeansSolver`, :func:`k_means`, mini-batch steps.

:class:`KMeansSolver` is the one implementation of the restarts and iterations behind
:func:`k_means`, :meth:`~ebmlab.models.kmeans.KMeans.fit` and the ``ebmlab train kmeans`` recipe; it
steps the Lloyd iterations of :mod:`.lloyd` and saves their state between steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from ...kernels.argmin import assign_clusters, power_of_two_scale, row_norms
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

_ALGORITHMS = ("auto", "lloyd", "accelerated")
_AUTO_ACCELERATED = 1 << 16  # B·K from which "auto" picks the accelerated Lloyd


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
    y_sq = row_norms(y)
    first = int(torch.randint(n, (1,), generator=generator))
    chosen = [first]
    closest = distances_to(y, y_sq, y[first : first + 1])[:, 0]  # (B,)
    potential = float(closest.sum(dtype=torch.float64))
    for _ in range(1, n_clusters):
        if potential > 0:
            cumulative = torch.cumsum(closest.to(torch.float64).cpu(), dim=0)
            draws = torch.rand(n_local_trials, generator=generator, dtype=torch.float64) * cumulative[-1]
            candidates = torch.searchsorted(cumulative, draws).clamp_(max=n - 1)
        else:  # every point coincides with a chosen centroid: any point will do
            candidates = torch.randint(n, (n_local_trials,), generator=generator)
        candidates = candidates.to(y.device)
        to_candidates = distances_to(y, y_sq, y[candidates])  # (B, trials)
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
    weights, sums = weighted_sums(batch, centroids, beta)  # (K,), (K, D) float64
    new_counts = counts + weights
    step = (sums - weights.unsqueeze(1) * centroids.double()) / new_counts.clamp_min(1e-300).unsqueeze(1)
    updated = torch.where(new_counts.unsqueeze(1) > 0, centroids.double() + step, centroids.double())
    return updated.to(centroids.dtype), new_counts


def _needs_scaling(total: float, count: int, dtype: torch.dtype) -> bool:
    """Whether data with Σ_b ‖y_b − mean‖² = ``total`` over ``count`` entries must be rescaled: squared
    distances (≤ 4·total) overflow, or are so small that their differences fall below the normal range."""
    info = torch.finfo(dtype)
    return not math.isfinite(total) or 4.0 * total > info.max or 0.0 < total < count * info.tiny / info.eps**2


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
        self.mean = column_mean(data)  # (D,) float64, in the solver's units
        self.y = data - self.mean.to(data.dtype)  # (B, D) one centred copy, for round-off (as scikit-learn)
        self.y_sq = row_norms(self.y)  # (B,)
        total = float(self.y_sq.sum(dtype=torch.float64))  # also the finiteness check of y, at no extra pass
        if _needs_scaling(total, data.numel(), data.dtype):
            check_finite(data, "y")
            # huge (or tiny) finite data: solve on y / 2^e, exactly the same problem in floating point
            self.scale = power_of_two_scale(data)
            self.y = data / self.scale  # (B, D)
            self.mean = column_mean(self.y)
            self.y -= self.mean.to(data.dtype)
            self.y_sq = row_norms(self.y)
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
        self.seeds = random_seeds(random_state, n_init)
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
            return _AcceleratedLloyd(y, self.y_sq, centers, tol=self.tol, track_inertia=self.track_inertia)
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
        inertia = run.inertia
        if inertia is None:
            inertia = rows.total(total_inertia(self.y[rows.rows], run.centers, run.labels))
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
            inertia, restart = total_inertia(self.y, centers, labels), self.restart
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
        random_state: int, numpy RandomState, torch.Generator or None (fresh entropy from the operating system).
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
