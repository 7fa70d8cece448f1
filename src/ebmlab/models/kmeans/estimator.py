"""The scikit-learn style :class:`KMeans` estimator: a thin shell over :class:`~.solver.KMeansSolver`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from torch import Tensor

from ..._validation import check_int, check_matrix, estimator_matrix, random_seeds, resolve_device, to_caller
from ...kernels.argmin import assign_clusters, power_of_two_scale, row_norms, scaled
from . import sparse as _sparse
from .energy import KMeansEnergy
from .lloyd import distances_to, refine_small_distances, total_inertia
from .solver import (
    KMeansSolver,
    KMeansStep,
    _check_beta_schedule,
    _check_centers,
    _check_sample_weight,
    _check_settings,
    _initial_centers,
    minibatch_step,
)

__all__ = ["KMeans"]


def _print_step(step: KMeansStep, tolerance: float) -> None:
    """``verbose`` output of one Lloyd iteration, worded (and counted from 0) as scikit-learn's."""
    if step.iteration == 1:
        print("Initialization complete")
    index = step.iteration - 1
    print(f"Iteration {index}, inertia {step.inertia}.")
    if step.converged and step.strict:
        print(f"Converged at iteration {index}: strict convergence.")
    elif step.converged:
        print(f"Converged at iteration {index}: center shift {step.shift} within tolerance {tolerance}.")


class KMeans(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """K-means clustering as the lecture's EBM, a drop-in replacement for :class:`sklearn.cluster.KMeans`.

    ``fit`` minimises the (weighted) inertia

    .. math:: \\sum_b s_b F_\\beta(y_b), \\qquad F_\\infty(y) = \\min_k \\lVert y - w_k \\rVert^2

    (see :func:`k_means`; s are the sample weights, all 1 by default, 0 for an absent point);
    ``predict`` is ž; ``transform`` gives the distances ‖y − w_k‖ to every centroid; ``score`` is
    −inertia; ``partial_fit`` is the streaming (mini-batch) update :func:`minibatch_step`.

    scikit-learn's parameters, methods and behaviour: ``sample_weight`` in ``fit``, ``partial_fit``,
    ``score``, ``fit_predict`` and ``fit_transform``; scipy sparse input (CSR, CSC, ...: sparse matrix
    products, never densified); ``algorithm="lloyd"`` or ``"elkan"`` (ebmlab's exact accelerated Lloyd)
    beside ebmlab's ``"accelerated"`` and ``"auto"``; ``n_init="auto"``; a callable ``init``;
    ``verbose``; ``copy_x``; its warnings; float32 stays float32 and float64 float64;
    ``get_feature_names_out`` and ``set_output``. ebmlab's own: ``beta`` and ``beta_schedule`` (soft
    k-means), :meth:`energy`, torch tensors in → torch tensors out (CPU or ``device``).

    Args:
        n_clusters: K. beta, beta_schedule: soft k-means' inverse temperatures (``math.inf``: hard).
        init, n_init, max_iter, tol, algorithm, random_state: as :func:`k_means` (``n_init="auto"``: 10
            for ``"random"`` or a callable, else 1; a callable gets X as passed, validated).
        verbose: print scikit-learn's progress lines (each iteration's inertia, the convergence).
        copy_x: False centres dense X in place during ``fit`` (no copy) and restores it afterwards.
        device: torch device of the computation (default: the tensor's, CPU for numpy/scipy input).

    Shape:
        X ``(B, D)``, sample_weight ``(B,)`` → labels ``(B,)``, transform ``(B, K)``.

    Attributes:
        cluster_centers_: ``(K, D)``; labels_: ``(B,)`` int64; inertia_: float; n_iter_: int;
        cluster_counts_: ``(K,)`` points (or weight, or responsibility mass) per centroid, for ``partial_fit``.

    Example:
        >>> import numpy as np
        >>> y = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
        >>> model = KMeans(n_clusters=2, random_state=0).fit(y)
        >>> model.predict(np.array([[9.0, 0.0]])) == model.labels_[2], model.score(y)
        (array([ True]), -1.0)
        >>> weighted = KMeans(2, init=np.array([[0.0, 0.0], [10.0, 0.0]])).fit(y, sample_weight=[3, 1, 1, 1])
        >>> weighted.cluster_centers_[0], weighted.inertia_  # the weighted mean of its points
        (array([0.  , 0.25]), 1.25)
        >>> from scipy.sparse import csr_matrix
        >>> KMeans(2, random_state=0).fit(csr_matrix(y)).inertia_, list(model.get_feature_names_out())
        (1.0, ['kmeans0', 'kmeans1'])
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        beta: float = math.inf,
        beta_schedule: Sequence[float] | None = None,
        init: Any = "k-means++",
        n_init: int | str = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        verbose: int = 0,
        random_state: Any = None,
        copy_x: bool = True,
        algorithm: str = "auto",
        device: str | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.beta = beta
        self.beta_schedule = beta_schedule
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.device = device

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn's Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ---- input handling: numpy/array-likes/scipy sparse through scikit-learn's validation, tensors through ours
    def _validate(self, X: Any, *, reset: bool) -> tuple[Tensor, Any]:
        """X as a dense tensor or a torch CSR tensor, and X as a callable ``init`` sees it (validated)."""
        if not _sparse.is_sparse(X):
            data = estimator_matrix(self, X, reset=reset, device=self.device)
            return data, X if isinstance(X, Tensor) else data.numpy()
        device = resolve_device(self.device) if self.device is not None else None
        if isinstance(X, Tensor):  # a sparse torch tensor: checked here, as estimator_matrix checks dense ones
            data = _sparse.csr_tensor(X, device)
            check_matrix(data, "X")
            if reset:
                self.n_features_in_ = data.shape[1]
            elif data.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {data.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
            if not bool(torch.isfinite(data.values()).all()):
                raise ValueError("X contains NaN or infinite value(s)")
            return data, X
        from sklearn.utils.validation import validate_data

        matrix = validate_data(
            self, X, reset=reset, accept_sparse="csr", dtype=[np.float64, np.float32], accept_large_sparse=False
        )
        return _sparse.csr_tensor(matrix, device), matrix

    def _centers_like(self, data: Tensor) -> Tensor:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        centers = self.cluster_centers_
        if not isinstance(centers, Tensor):
            centers = torch.from_numpy(np.array(centers))  # a copy: read-only (memory-mapped) centroids too
        return centers.to(device=data.device, dtype=data.dtype)

    def _init_for(self, validated: Any) -> Any:
        """``init``, a callable one being given X as the caller passed it (validated), not the solver's tensor."""
        init = self.init
        if not callable(init):
            return init

        def on_callers_data(_: Any, n_clusters: int, random_state: np.random.RandomState) -> Any:
            return init(validated, n_clusters, random_state=random_state)

        return on_callers_data

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> KMeans:
        """Fit the centroids on ``X`` ``(B, D)``, dense or sparse, with optional ``sample_weight`` ``(B,)``.

        ``y`` is ignored (scikit-learn convention). The inertia is Σ_b s_b ‖y_b − w_{ž_b}‖².
        """
        _check_settings(self.n_clusters, self.beta, self.init, self.n_init, self.max_iter, self.tol, self.algorithm)
        schedule = _check_beta_schedule(self.beta_schedule)
        verbose = check_int(self.verbose, "verbose", minimum=0) if not isinstance(self.verbose, bool) else self.verbose
        data, validated = self._validate(X, reset=True)
        solver = KMeansSolver(
            data,
            self.n_clusters,
            beta=self.beta,
            beta_schedule=schedule,
            init=self._init_for(validated),
            n_init=self.n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            algorithm=self.algorithm,
            random_state=self.random_state,
            track_inertia=bool(verbose),
            sample_weight=sample_weight,
            copy_x=bool(self.copy_x),
        )
        self._n_init = solver.n_init
        result = solver.run(on_step=(lambda step: _print_step(step, solver.tolerance)) if verbose else None)
        counts = torch.bincount(result.labels, weights=solver.weights, minlength=self.n_clusters).double()
        self.cluster_centers_ = to_caller(result.centers, X)
        self.labels_ = to_caller(result.labels, X)
        self.cluster_counts_ = to_caller(counts, X)
        self.inertia_ = result.inertia
        self.n_iter_ = result.n_iter
        self._n_features_out = self.n_clusters
        return self

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> KMeans:
        """One streaming update with the batch ``X`` (weighted by ``sample_weight``); the first call
        initialises from it (needs B ≥ K)."""
        _check_settings(self.n_clusters, self.beta, self.init, 1, self.max_iter, self.tol, self.algorithm)
        first = not hasattr(self, "cluster_centers_")
        data, validated = self._validate(X, reset=first)
        weights = _check_sample_weight(sample_weight, data.shape[0], data.device)
        if first:
            if data.shape[0] < self.n_clusters:
                raise ValueError(
                    f"the first partial_fit batch needs n_samples >= n_clusters: "
                    f"n_samples={data.shape[0]}, n_clusters={self.n_clusters}."
                )
            seed = random_seeds(self.random_state, 1)[0]
            if callable(self.init):
                returned = self.init(validated, self.n_clusters, random_state=np.random.RandomState(seed % 2**32))
                centers = _check_centers(returned, self.n_clusters, data)
            else:
                generator = torch.Generator().manual_seed(seed)
                centers = _initial_centers(data, self.n_clusters, self.init, generator, weights)
            counts = torch.zeros(self.n_clusters, dtype=torch.float64, device=data.device)
            self.n_iter_ = 0
        else:
            centers = self._centers_like(data)
            counts = torch.as_tensor(self.cluster_counts_).to(device=data.device, dtype=torch.float64)
        centers, counts = minibatch_step(centers, counts, data, self.beta, weights)
        self.cluster_centers_ = to_caller(centers, X)
        self.cluster_counts_ = to_caller(counts, X)
        self.n_iter_ += 1
        self._n_features_out = self.n_clusters
        return self

    def predict(self, X: Any) -> Any:
        """ž = argmin_k ‖y − w_k‖² for each row of ``X``: ``(B, D)`` → ``(B,)`` int64."""
        data, _ = self._validate(X, reset=False)
        return to_caller(assign_clusters(data, self._centers_like(data)).index, X)

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """:meth:`fit`, then the labels of the training points (``labels_``): ``(B, D)`` → ``(B,)``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X: Any) -> Any:
        """Distances ‖y − w_k‖ to every centroid: ``(B, D)`` → ``(B, K)`` (dense, also for sparse ``X``).

        Dense data are first shifted by the centroids' mean (the distances are unchanged; the matrix form
        ‖y‖² − 2y·w + ‖w‖² then loses few digits, also far from the origin), and the distances below
        its round-off are computed directly: exactly 0 for a point equal to a centroid.
        """
        data, _ = self._validate(X, reset=False)
        centers = self._centers_like(data)
        if data.layout == torch.strided:
            middle = centers.double().mean(dim=0).to(data.dtype)  # (D,)
            data, centers = data - middle, centers - middle
        y_sq = row_norms(data)  # (B,)
        out = refine_small_distances(data, centers, distances_to(data, y_sq, centers), y_sq).sqrt_()  # (B, K)
        if not bool(torch.isfinite(out).all()):  # the squares overflowed: distances of y / 2^e, times 2^e
            scale = power_of_two_scale(data, centers)
            if scale != 1.0:
                small, y_sq = scaled(data, scale), row_norms(scaled(data, scale))
                out = refine_small_distances(small, centers / scale, distances_to(small, y_sq, centers / scale), y_sq)
                out = out.sqrt_().mul_(scale)
        return to_caller(out, X)

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """:meth:`fit`, then :meth:`transform` of the training points: ``(B, D)`` → ``(B, K)``."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """−Σ_b s_b F_∞(y_b) = −(weighted) inertia of ``X`` with the fitted centroids (higher is better)."""
        data, _ = self._validate(X, reset=False)
        weights = _check_sample_weight(sample_weight, data.shape[0], data.device)
        centers = self._centers_like(data)
        labels = assign_clusters(data, centers).index
        inertia = total_inertia(data, centers, labels, weights)
        if not math.isfinite(inertia):  # the squares overflowed: the inertia of y / 2^e, times 4^e
            scale = power_of_two_scale(data, centers)
            inertia = total_inertia(scaled(data, scale), centers / scale, labels, weights) * scale**2
        return -inertia

    def energy(self) -> KMeansEnergy:
        """The fitted model as an :class:`ebmlab.Energy`: E(y, z) = ‖y − Wz‖²."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return KMeansEnergy(torch.as_tensor(self.cluster_centers_))
