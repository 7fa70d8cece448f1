"""``ebmlab train kmeans``: K-means, the lecture's first latent-variable EBM, E(y, z) = ‖y − Wz‖².

Lloyd's algorithm at β = ∞ (soft k-means at finite β) on ``data``: ``n_init`` restarts of at most
``max_iter`` iterations each, the restart with the lowest inertia :math:`\\sum_b F_\\infty(y_b)` kept.
One unit of the loop is one iteration. The recipe steps :class:`~ebmlab.models.kmeans.KMeansSolver`,
the object :func:`~ebmlab.models.kmeans.k_means` runs, and checkpoints its state (for the
accelerated Lloyd: labels, bounds and float64 cluster sums), so a resumed run continues bit for bit
and ends with the centroids ``k_means`` gives for the same settings.

On N processes (``torchrun``) the solver runs distributed: every rank loads the data, starts from
rank 0's initial centroids and assigns its block of 1/N of the rows; the per-cluster sums, counts
and inertia are all-reduced each iteration, so the centroids and labels are one process's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._validation import check_int, check_positive, resolve_device
from ..data import load_data
from ..models.kmeans import KMeansEnergy, KMeansSolver
from ..training import Diverged, RunError
from ._base import Recipe

__all__ = ["KMeansConfig", "KMeansFit", "KMeansRecipe"]

_INITS = ("k-means++", "random")


@dataclass
class KMeansConfig:
    """Settings of the K-means recipe (``ebmlab train kmeans``).

    ``beta = math.inf`` is Lloyd's algorithm, a finite ``beta`` soft k-means; ``tol`` is relative to
    the data's mean variance (0: a restart ends only when no label changes); ``n_samples`` keeps a
    random subset (None: all; ``blobs`` then draws 2,000).

    Example:
        >>> KMeansConfig(k=0).validated()
        Traceback (most recent call last):
        ...
        ValueError: k must be >= 1, got k=0
    """

    data: str = "blobs"
    k: int = 8
    beta: float = math.inf
    init: str = "k-means++"
    n_init: int = 1
    max_iter: int = 300
    tol: float = 1e-4
    n_samples: int | None = None
    data_root: str | None = None
    download: bool = False
    seed: int = 0
    device: str = "cpu"

    def validated(self) -> KMeansConfig:
        """The settings themselves, once checked (a ValueError naming the field otherwise)."""
        for name in ("k", "n_init", "max_iter"):
            check_int(getattr(self, name), name)
        check_positive(self.beta, "beta")
        check_positive(self.tol, "tol", strict=False)
        if self.init not in _INITS:
            raise ValueError(f"init must be one of {_INITS}, got init={self.init!r}")
        if self.n_samples is not None:
            check_int(self.n_samples, "n_samples")
        resolve_device(self.device)
        return self


@dataclass(frozen=True)
class KMeansFit:
    """A trained K-means for the figures: the energy, the data, the labels, the kept restart's inertia curve.

    The inertia is :math:`\\sum_b F_\\infty(y_b) = \\sum_b \\min_k \\lVert y_b - w_k\\rVert^2`.

    Example:
        >>> from ebmlab.training import train
        >>> recipe = KMeansRecipe(KMeansConfig(data="blobs", k=3, n_samples=200))
        >>> _ = train(recipe, progress=False)
        >>> fit = recipe.fit()
        >>> tuple(fit.data.shape), tuple(fit.labels.shape), fit.inertia == fit.inertia_history[-1], fit.image_shape
        ((200, 2), (200,), True, None)
    """

    energy: KMeansEnergy
    data: Tensor
    labels: Tensor
    inertia: float
    inertia_history: list[float]
    image_shape: tuple[int, int] | None
    beta: float


class KMeansRecipe(Recipe):
    """K-means training: one unit is one Lloyd iteration (at most ``n_init × max_iter`` in all).

    A restart that meets the tolerance ends at that iteration and the next unit starts the next
    restart; the run stops (:meth:`converged`) once the last restart has ended.

    Example:
        >>> from ebmlab.training import train
        >>> recipe = KMeansRecipe(KMeansConfig(data="blobs", k=8, n_samples=400))
        >>> result = train(recipe, progress=False)
        >>> fit = recipe.fit()
        >>> tuple(fit.energy.centroids.shape), result.step == len(fit.inertia_history) < recipe.total
        ((8, 2), True)
    """

    name = "kmeans"
    unit = "iteration"
    setting = "--beta"
    config_class = KMeansConfig
    budget = ("max_iter", "n_init")
    checkpoint_every = 10
    shards_data = True
    divergence_growth = math.inf  # the inertia cannot grow within a restart; a new restart may start far above

    def __init__(self, config: KMeansConfig) -> None:
        self.config = config = config.validated()
        self.device = resolve_device(config.device)
        self.dataset = load_data(
            config.data, n_samples=config.n_samples, seed=config.seed, root=config.data_root, download=config.download
        )
        self.data = torch.from_numpy(self.dataset.data).to(self.device)  # (N, D)
        try:
            self.solver = KMeansSolver(
                self.data,
                config.k,
                beta=config.beta,
                init=config.init,
                n_init=config.n_init,
                max_iter=config.max_iter,
                tol=config.tol,
                random_state=config.seed,
                track_inertia=True,
                distributed=True,  # shares the iterations over torchrun's processes; nothing without them
            )
        except ValueError as exc:
            raise ValueError(f"--data {config.data}: {exc}") from exc

    @property
    def total(self) -> int:
        return self.config.n_init * self.config.max_iter

    def step(self, index: int) -> dict[str, Any]:
        try:
            report = self.solver.step()
        except FloatingPointError as exc:  # soft k-means whose beta x E overflows
            raise Diverged(
                f"{self.name} training diverged at {self.unit} {index + 1}: {exc} "
                f"({self.setting}, now {self.setting_value():g})",
                step=index + 1,
                setting=self.setting,
            ) from exc
        metrics: dict[str, Any] = {"loss": report.inertia, "restart": report.restart + 1, "iteration": report.iteration}
        if report.finished:
            metrics["final_inertia"] = report.final_inertia
        return metrics

    def converged(self) -> bool:
        """True once the last restart has ended (met the tolerance or ``max_iter``)."""
        return self.solver.done

    def state_dict(self) -> dict[str, Any]:
        return {"solver": self.solver.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.solver.load_state_dict(state["solver"])
        done = self.solver.iteration
        if done >= self.config.max_iter:
            raise RunError(
                f"--max-iter {self.config.max_iter}: restart {self.solver.restart + 1} of the run has already "
                f"done {done} iterations; give --max-iter {done + 1} or more"
            )

    # ------------------------------------------------------------------ the finished run

    def model(self) -> KMeansEnergy:
        """The kept restart's centroids as the energy E(y, z) = ‖y − Wz‖² (the current ones before any restart ends)."""
        return KMeansEnergy(self.solver.result().centers)

    def fit(self) -> KMeansFit:
        result = self.solver.result()
        return KMeansFit(
            KMeansEnergy(result.centers.cpu()),
            self.data.cpu(),
            result.labels.cpu(),
            result.inertia,
            list(result.inertia_history),
            self.dataset.image_shape,
            self.config.beta,
        )

    def evaluate(self, **options: Any) -> dict[str, float]:
        """The inertia Σ_b ‖y_b − w_{ž_b}‖² of the kept restart on the data, its iterations and its number."""
        self._no_options(options)
        result = self.solver.result()
        return {"inertia": result.inertia, "n_iter": result.n_iter, "restart": result.restart + 1}

    def summary(self, metrics: dict[str, float]) -> str:
        text = (
            f"K = {self.config.k}: inertia {metrics['inertia']:.6g} after {int(metrics['n_iter'])} iterations "
            f"(restart {int(metrics['restart'])} of {self.config.n_init} kept)"
        )
        if not math.isinf(self.config.beta):
            text += f", soft k-means at beta = {self.config.beta:g}"
        return text

    def plot(self, out: Path) -> list[Path]:
        from ..plotting import kmeans as plots

        return plots.plot_all(self.fit(), out)
