"""The scikit-learn style :class:`RBM` estimator: a thin shell over this package's functions."""

from __future__ import annotations

import math
from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from torch import Tensor

from ..._validation import as_tensor, check_finite, check_int, check_matrix, resolve_device, to_caller
from ...samplers import SampleResult
from .energy import BernoulliVisible, RBMEnergy, RBMParameters, VisibleUnits, _free_energy, _hidden_input
from .partition import AISResult, ais_log_partition, base_visible_bias, exact_log_partition, pseudo_likelihood
from .sampling import _draw_visible, gibbs_chain
from .training import RBMSettings, RBMVelocity, _contrastive_epoch, data_visible_bias

__all__ = ["RBM", "RBMDivergedError"]


class RBMDivergedError(FloatingPointError):
    """:meth:`RBM.fit_epoch` met NaN/inf at ``epoch`` after ``minibatch`` of ``n_batches`` with ``learning_rate``."""

    def __init__(self, epoch: int, minibatch: int, n_batches: int, learning_rate: float) -> None:
        super().__init__(
            f"RBM training diverged: NaN/inf statistics at epoch {epoch}, minibatch {minibatch} of {n_batches}, "
            f"with step size learning_rate={learning_rate}; lower the learning rate "
            "(parameters restored to the start of the epoch)"
        )
        self.epoch, self.minibatch, self.n_batches, self.learning_rate = epoch, minibatch, n_batches, learning_rate


@dataclass(eq=False, repr=False)
class RBM(RBMSettings, TransformerMixin, BaseEstimator):
    """An RBM trained by persistent (or plain) contrastive divergence, a drop-in for scikit-learn's ``BernoulliRBM``
    (parameters, update, initialisation W ~ N(0, 0.01²), chains from h = 0, ``score_samples``) plus Gaussian units,
    CD-k, the quality recipe (:class:`RBMSettings`' fields), log-likelihoods and long chains. ``n_iter`` epochs;
    ``visible`` units; ``random_state`` seeds the initialisation, ``generator_`` (each epoch's seed; on the CPU
    the draws come from numpy's SFC64) and ``score_samples``' flips. Fitted: ``components_`` W ``(K, D)``,
    ``intercept_visible_``, ``intercept_hidden_``, ``h_samples_`` ``(B, K)``, ``velocity_``, views ``params_``,
    ``energy_``. Callers time :meth:`fit_epoch`; the estimator neither times nor synchronises.

    Example:
        >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float32)
        >>> model = RBM(n_components=2, n_iter=5, random_state=0).fit(X)
        >>> model.transform(X).shape, model.score_samples(X).shape
        ((4, 2), (4,))
        >>> quality = RBM(2, learning_rate=0.01, n_iter=5, momentum=0.9, initial_momentum=0.5,  # Hinton 2010
        ...               weight_decay=1e-4, final_learning_rate=0.0, init_visible_bias="data", random_state=0)
        >>> quality.fit(X).components_.shape
        torch.Size([2, 3])
    """

    _: KW_ONLY
    n_iter: int = 10
    visible: VisibleUnits | None = None
    random_state: int | None = None

    def _units(self) -> VisibleUnits:
        return BernoulliVisible() if self.visible is None else self.visible

    def _as_data(self, X: Any, name: str = "X", *, fitted: bool = True) -> Tensor:  # checked, float32, on device
        tensor = as_tensor(X, name, dtype=torch.float32, device=resolve_device(self.device))
        check_matrix(tensor, name, columns=self.components_.shape[1] if fitted else None)
        check_finite(tensor, name)
        if self._units().discrete and bool(((tensor < 0) | (tensor > 1)).any()):
            raise ValueError(
                f"{name} must lie in [0, 1] for Bernoulli visible units (binary ideally); got values in "
                f"[{float(tensor.min()):.3g}, {float(tensor.max()):.3g}]; use GaussianVisible for real data"
            )
        return tensor.contiguous()

    def _data(self, X: Any, device: torch.device, fitted: bool = True) -> Tensor:  # trusts float32 tensors there
        trusted = isinstance(X, Tensor) and X.dtype == torch.float32 and X.device == device
        return X if trusted else self._as_data(X, fitted=fitted)

    def initialize(self, n_features: int, X: Any = None) -> RBM:
        """Fresh parameters for ``n_features`` visible units; ``init_visible_bias="data"`` needs the data ``X``."""
        self.check_settings(self._units())
        check_int(self.n_iter, "n_iter", minimum=0)
        check_int(n_features, "n_features")
        device, seed = resolve_device(self.device), self.random_state
        if seed is None:  # a seed from the operating system's entropy, never numpy's global state
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        check_int(seed, "random_state", minimum=0)
        init = torch.Generator().manual_seed(seed)
        self.components_ = (0.01 * torch.randn(self.n_components, n_features, generator=init)).to(device)
        self.intercept_hidden_ = torch.zeros(self.n_components, device=device)
        self.intercept_visible_ = torch.zeros(n_features, device=device)
        if self.init_visible_bias == "data":
            if X is None:
                raise ValueError("init_visible_bias='data' needs the training data: call initialize(n_features, X)")
            data = self._data(X, device, fitted=False)
            if data.ndim != 2 or data.shape[1] != n_features:
                raise ValueError(f"X must have shape (B, n_features={n_features}), got {tuple(data.shape)}")
            self.intercept_visible_.copy_(data_visible_bias(data, self._units()))
        self.h_samples_ = torch.zeros(self.batch_size, self.n_components, device=device)
        self.velocity_ = RBMVelocity.zeros_like(self.params_)
        self.generator_ = torch.Generator(device=device).manual_seed(seed + 1)
        self.n_features_in_ = n_features
        return self

    @property
    def params_(self) -> RBMParameters:
        if not hasattr(self, "components_"):
            raise ValueError("this RBM is not fitted yet: call fit(X) first")
        return RBMParameters(self.components_, self.intercept_visible_, self.intercept_hidden_, self._units())

    @property
    def energy_(self) -> RBMEnergy:
        return RBMEnergy(self.params_)

    def fit(self, X: Any, y: Any = None) -> RBM:
        """Train on ``X`` ``(B, D)`` for ``n_iter`` epochs from a fresh initialisation."""
        self.check_settings(self._units())
        data = self._as_data(X, fitted=False)
        self.initialize(data.shape[1], data)
        for epoch in range(self.n_iter):
            self.fit_epoch(data, epoch=epoch + 1)
        return self

    def fit_epoch(self, X: Any, *, epoch: int = 1) -> RBM:
        """One pass over ``X`` in ``ceil(N / batch_size)`` even minibatches in order (``epoch``, 1-based, sets μ
        and η); :class:`RBMDivergedError` names the first bad minibatch, the parameters restored. GPU work may
        still be queued on return."""
        params = self.params_
        data = self._data(X, params.weight.device)
        matmul_dtype = self.check_settings(params.visible)
        velocity = self.velocity_ if self.uses_momentum() else None
        state = [params.weight, params.visible_bias, params.hidden_bias, self.h_samples_, *(velocity or ())]
        backup = [t.clone() for t in state]
        n_batches = math.ceil(data.shape[0] / self.batch_size)
        batches, total = list(torch.tensor_split(data, n_batches)), self.n_iter * n_batches
        rates = [self.learning_rate_at((epoch - 1) * n_batches + index, total) for index in range(n_batches)]
        # the epoch's draws come from a seed drawn from generator_: resumable per epoch, a replay draws the same
        seed = int(torch.randint(2**62, (1,), generator=self.generator_, device=self.generator_.device))
        run = (params, batches, rates, self.h_samples_ if self.persistent else None, self.n_gibbs_steps)
        recipe = (self.momentum_at(epoch), self.weight_decay, velocity)
        with torch.no_grad():
            for check in (False, True):  # a divergent epoch is replayed checking each minibatch, to name it
                source = np.random.SFC64(seed) if data.is_cpu else torch.Generator(data.device).manual_seed(seed)
                chain, bad = _contrastive_epoch(*run, source, *recipe, matmul_dtype=matmul_dtype, check=check)
                if check or all(bool(torch.isfinite(tensor).all()) for tensor in state):
                    break
                for tensor, saved in zip(state, backup, strict=True):
                    tensor.copy_(saved)
        if bad:
            for tensor, saved in zip(state, backup, strict=True):
                tensor.copy_(saved)
            raise RBMDivergedError(epoch, bad, n_batches, self.learning_rate)
        if self.persistent:
            self.h_samples_ = chain
        return self

    def _apply(self, function: Any, X: Any) -> Any:  # function(params, data) on checked data, as X's type
        params = self.params_
        with torch.no_grad():
            return to_caller(function(params, self._as_data(X)), X)

    def transform(self, X: Any) -> Any:
        """Hidden probabilities p(h = 1 | v) = σ(c + W x(v)), ``(B, K)``."""
        return self._apply(lambda params, v: torch.sigmoid(_hidden_input(params, v)), X)

    def free_energy(self, X: Any) -> Any:
        """F(v) of each row, ``(B,)`` (:func:`rbm_free_energy`)."""
        return self._apply(_free_energy, X)

    def score_samples(self, X: Any) -> Any:
        """:func:`pseudo_likelihood` ``(B,)`` at scikit-learn's flips ``RandomState(random_state).randint(0, D, B)``."""
        draw = np.random.RandomState(self.random_state).randint  # OS entropy for None: no global state
        flips = lambda v: torch.as_tensor(draw(0, v.shape[1], v.shape[0]), device=v.device)  # noqa: E731
        return self._apply(lambda params, v: pseudo_likelihood(params, v, flips(v)), X)

    def gibbs(self, X: Any) -> Any:
        """One Gibbs sweep v → h → v from each row (scikit-learn's ``gibbs``), ``(B, D)``."""
        return self._apply(lambda params, v: gibbs_chain(params, v, 1, generator=self.generator_).samples, X)

    def sample(self, n_samples: int, n_steps: int = 1000, *, init: Any = None, seed: int = 0) -> SampleResult:
        """``n_samples`` chains of ``n_steps`` Gibbs sweeps from ``init`` or from v ~ p(v | h = 0)."""
        params, generator = self.params_, torch.Generator(device=self.components_.device).manual_seed(seed)
        check_int(n_samples, "n_samples")
        if init is None:
            pre = (params.visible_bias / params.visible.scale).expand(n_samples, -1).clone()  # (S, D)
            start = _draw_visible(params.visible, pre, generator, torch.empty_like(pre)) * params.visible.scale
        elif (start := self._as_data(init, "init")).shape[0] != n_samples:
            raise ValueError(f"init must have n_samples={n_samples} rows, got shape {tuple(start.shape)}")
        return gibbs_chain(params, start, n_steps, generator=generator)

    def log_partition(self) -> float:
        """Exact log Z (:func:`exact_log_partition`, ≤ 20 units in the smaller layer)."""
        return float(exact_log_partition(self.params_))

    def ais(self, X: Any = None, *, n_chains: int = 100, n_betas: int = 10000, seed: int = 0) -> AISResult:
        """AIS estimate of log Z (:func:`ais_log_partition`), the base model's visible biases fitted to ``X``."""
        base = None if X is None else self._apply(base_visible_bias, torch.as_tensor(X))
        return ais_log_partition(self.params_, n_chains=n_chains, n_betas=n_betas, base_bias=base, seed=seed)

    def log_likelihood(self, X: Any, log_partition: float | None = None) -> Any:
        """log p(v) = −F(v) − log Z per row, ``(B,)``; log Z exact unless given (e.g. from :meth:`ais`)."""
        log_z = self.log_partition() if log_partition is None else float(log_partition)
        return self._apply(lambda params, v: -_free_energy(params, v) - log_z, X)
