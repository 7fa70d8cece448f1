"""The scikit-learn style :class:`KMeans` estimator: a thin shell over :class:`~.solver.KMeansSolver`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from torch import Tensor

from ..._validation import estimator_matrix, random_seeds, to_caller
from ...kernels.argmin import assign_clusters, power_of_two_scale, row_norms
from .energy import KMeansEnergy
from .lloyd import distances_to, total_inertia
from .solver import KMeansSolver, _check_beta_schedule, _check_settings, _initial_centers, minibatch_step

__all__ = ["KMeans"]


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
        return estimator_matrix(self, X, reset=reset, device=self.device)

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
            generator = torch.Generator().manual_seed(random_seeds(self.random_state, 1)[0])
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
        out = distances_to(data, row_norms(data), centers).sqrt_()  # (B, K)
        if not bool(torch.isfinite(out).all()):  # the squares overflowed: distances of y / 2^e, times 2^e
            scale = power_of_two_scale(data, centers)
            if scale != 1.0:
                scaled = data / scale
                out = distances_to(scaled, row_norms(scaled), centers / scale).sqrt_().mul_(scale)
        return to_caller(out, X)

    def score(self, X: Any, y: Any = None) -> float:
        """−Σ_b F_∞(y_b) = −inertia of ``X`` with the fitted centroids (higher is better)."""
        data = self._validate(X, reset=False)
        centers = self._centers_like(data)
        labels = assign_clusters(data, centers).index
        inertia = total_inertia(data, centers, labels)
        if not math.isfinite(inertia):  # the squares overflowed: the inertia of y / 2^e, times 4^e
            scale = power_of_two_scale(data, centers)
            inertia = total_inertia(data / scale, centers / scale, labels) * scale**2
        return -inertia

    def energy(self) -> KMeansEnergy:
        """The fitted model as an :class:`ebmlab.Energy`: E(y, z) = ‖y − Wz‖²."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return KMeansEnergy(torch.as_tensor(self.cluster_centers_))
