"""The scikit-learn style :class:`RBM` estimator: a thin shell over this package's functions."""

from __future__ import annotations

import math
import warnings
from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import Tensor

from ..._validation import check_int, random_seeds, resolve_device
from ...samplers import SampleResult
from .energy import BernoulliVisible, RBMParameters, VisibleUnits, _free_energy, _hidden_input
from .partition import exact_log_partition, pseudo_likelihood
from .sampling import _draw_visible, gibbs_chain
from .training import RBMSettings, RBMVelocity, _contrastive_epoch, data_visible_bias

__all__ = ["RBM", "RBMDivergedError"]


class RBMDivergedError(FloatingPointError):
    """:meth:`RBM.fit_epoch` met NaN/inf at ``epoch`` after ``minibatch`` of ``n_batches`` with ``learning_rate``
    (the update θ ← θ + Δθ left the floats), the parameters restored to the start of the epoch.

    Example:
        >>> error = RBMDivergedError(epoch=3, minibatch=7, n_batches=10, learning_rate=1e30)
        >>> error.minibatch, isinstance(error, FloatingPointError), str(error).split(":")[0]
        (7, True, 'RBM training diverged')
    """

    def __init__(self, epoch: int, minibatch: int, n_batches: int, learning_rate: float) -> None:
        super().__init__(f"RBM training diverged: NaN/inf statistics at epoch {epoch}, minibatch {minibatch} of "
                         f"{n_batches}, with step size learning_rate={learning_rate}; lower the learning rate "
                         "(parameters restored to the start of the epoch)")
        self.epoch, self.minibatch, self.n_batches, self.learning_rate = epoch, minibatch, n_batches, learning_rate


def _as_caller(tensor: Tensor, kind: np.dtype | torch.dtype) -> Any:
    """``tensor`` as the caller's array type: a numpy array of dtype ``kind`` or a tensor of dtype ``kind``."""
    return tensor.to(kind) if isinstance(kind, torch.dtype) else tensor.detach().cpu().numpy().astype(kind, copy=False)


@dataclass(eq=False, repr=False)
class RBM(RBMSettings, TransformerMixin, BaseEstimator):
    """An RBM, p(v) = e^{−F(v)} / Z, trained by persistent (or plain) contrastive divergence: a drop-in for
    scikit-learn's ``BernoulliRBM`` (its parameters — ``n_iter`` counts epochs, the name kept for that —, update,
    initialisation W ~ N(0, 0.01²), chains from h = 0, ``score_samples``) plus Gaussian ``visible`` units, CD-k and
    the quality recipe (:class:`RBMSettings`' fields). Numpy in, numpy out, torch in, torch out, in X's float dtype
    (computing in float32): ``transform``, ``score_samples``, ``gibbs``, ``log_likelihood``, and ``components_`` W
    ``(K, D)``, ``intercept_hidden_`` c, ``intercept_visible_`` b as :meth:`fit`'s data (torch after
    :meth:`initialize`). Bernoulli units take any real data, as scikit-learn's, warning outside [0, 1]. Training
    state, torch on ``device``: ``params_``, ``h_samples_`` ``(B, K)``, ``velocity_``, ``generator_`` (epoch seeds;
    CPU draws from numpy's SFC64), seeded by ``random_state`` like ``score_samples``' flips. Callers time epochs.

    Example:
        >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64)
        >>> model = RBM(n_components=2, n_iter=5, random_state=0).fit(X)
        >>> model.transform(X).shape, model.score_samples(X).dtype, type(model.components_).__name__
        ((4, 2), dtype('float64'), 'ndarray')
        >>> quality = RBM(2, learning_rate=0.01, n_iter=5, momentum=0.9, initial_momentum=0.5,  # Hinton 2010
        ...               weight_decay=1e-4, final_learning_rate=0.0, init_visible_bias="data", random_state=0)
        >>> quality.fit(torch.from_numpy(X)).components_.dtype
        torch.float64
    """

    _: KW_ONLY
    n_iter: int = 10
    visible: VisibleUnits | None = None
    random_state: int | np.random.RandomState | None = None

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn's Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _units(self) -> VisibleUnits:
        return BernoulliVisible() if self.visible is None else self.visible

    def _input(self, X: Any, *, reset: bool, trusted: bool = False) -> tuple[Tensor, np.dtype | torch.dtype]:
        """X checked by scikit-learn's ``validate_data`` (tensors too; ``trusted``: float32 ones on ``device`` as they
        are) as float32 ``(B, D)`` on ``device``, and the answers' dtype: X's float32/float64, else float32/64."""
        if trusted and isinstance(X, Tensor) and X.dtype == torch.float32 and X.device == resolve_device(self.device):
            return X, torch.float32
        if not reset:
            check_is_fitted(self)
        kind = None
        if isinstance(X, Tensor):
            kind, X = X.dtype if X.dtype in (torch.float32, torch.float64) else torch.float32, X.detach().cpu()
        array = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32], accept_sparse="csr")
        array, kind = array.toarray() if sparse.issparse(array) else array, kind or array.dtype
        data = torch.from_numpy(np.require(array, np.float32, ["C", "W"])).to(resolve_device(self.device))
        if self._units().discrete and bool(((data < 0) | (data > 1)).any()):  # scikit-learn's BernoulliRBM takes it
            warnings.warn(f"X has values in [{float(data.min()):.3g}, {float(data.max()):.3g}]: Bernoulli visible "
                          "units model data in [0, 1], binary ideally; use GaussianVisible for real data", stacklevel=3)
        return data.contiguous(), kind

    def initialize(self, n_features: int, X: Any = None) -> RBM:
        """Fresh parameters for ``n_features`` visible units; ``init_visible_bias="data"`` needs the data ``X``."""
        units, device, seed = self._units(), resolve_device(self.device), self.random_state
        self.check_settings(units)
        check_int(self.n_iter, "n_iter", minimum=0)
        if seed is None or isinstance(seed, np.random.RandomState):  # OS entropy (never numpy's global state)
            seed = random_seeds(seed, 1)[0]  # or a draw from the given RandomState
        check_int(seed, "random_state", minimum=0)
        start = RBMParameters.random(check_int(n_features, "n_features"), self.n_components, seed=seed)
        tensors = (start.weight, start.visible_bias, start.hidden_bias)  # W ~ N(0, 0.01²), b = c = 0
        self.params_ = RBMParameters(*(tensor.to(device) for tensor in tensors), units)
        if self.init_visible_bias == "data":
            if X is None:
                raise ValueError("init_visible_bias='data' needs the training data: call initialize(n_features, X)")
            if (data := self._input(X, reset=True, trusted=True)[0]).shape[1] != n_features:
                raise ValueError(f"X must have shape (B, n_features={n_features}), got {tuple(data.shape)}")
            self.params_.visible_bias.copy_(data_visible_bias(data, units))
        self.h_samples_ = torch.zeros(self.batch_size, self.n_components, device=device)
        self.velocity_ = RBMVelocity.zeros_like(self.params_)
        self.generator_ = torch.Generator(device=device).manual_seed(seed + 1)
        self.n_features_in_, self._kind = n_features, torch.float32
        return self

    components_ = property(lambda self: self._fitted("weight"), doc="W ``(K, D)``, in the fitted data's type.")
    intercept_hidden_ = property(lambda self: self._fitted("hidden_bias"), doc="c ``(K,)``, as ``components_``.")
    intercept_visible_ = property(lambda self: self._fitted("visible_bias"), doc="b ``(D,)``, as ``components_``.")

    def _fitted(self, name: str) -> Any:
        check_is_fitted(self)
        return _as_caller(getattr(self.params_, name), self._kind)

    def fit(self, X: Any, y: Any = None) -> RBM:
        """Train on ``X`` ``(B, D)`` for ``n_iter`` epochs from a fresh initialisation; ``y`` is ignored."""
        data, kind = self._input(X, reset=True)
        self.initialize(data.shape[1], data)._kind = kind
        for epoch in range(1, self.n_iter + 1):
            self.fit_epoch(data, epoch=epoch)
        return self

    def fit_epoch(self, X: Any, *, epoch: int = 1) -> RBM:
        """One pass over ``X`` in ``ceil(N / batch_size)`` even minibatches in order (``epoch``, 1-based, sets μ
        and η); :class:`RBMDivergedError` names the first bad minibatch, the parameters restored. Float32 tensors on
        ``device`` are trusted as they are. GPU work may still be queued on return."""
        params, data = self.params_, self._input(X, reset=False, trusted=True)[0]
        matmul_dtype = self.check_settings(params.visible)
        velocity = self.velocity_ if self.momentum > 0 or (self.initial_momentum or 0.0) > 0 else None
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
            for check in (False, True):  # a divergent epoch is replayed, checking each minibatch, to name it
                source = np.random.SFC64(seed) if data.is_cpu else torch.Generator(data.device).manual_seed(seed)
                chain, bad = _contrastive_epoch(*run, source, *recipe, matmul_dtype=matmul_dtype, check=check)
                if not check and all(bool(torch.isfinite(tensor).all()) for tensor in state):
                    break
                for tensor, saved in zip(state, backup, strict=True):
                    tensor.copy_(saved)
            else:
                raise RBMDivergedError(epoch, bad, n_batches, self.learning_rate)
        if self.persistent:
            self.h_samples_ = chain
        return self

    def _apply(self, function: Any, X: Any) -> Any:  # function(params, data) on checked data, as X's type
        data, kind = self._input(X, reset=False)
        with torch.no_grad():
            return _as_caller(function(self.params_, data), kind)

    def transform(self, X: Any) -> Any:
        """Hidden probabilities p(h = 1 | v) = σ(c + W x(v)), ``(B, K)``."""
        return self._apply(lambda params, v: torch.sigmoid(_hidden_input(params, v)), X)

    def score_samples(self, X: Any) -> Any:
        """scikit-learn's :func:`pseudo_likelihood` estimate, ``(B,)``, flipping unit ``RandomState(random_state)
        .randint(0, D, B)[n]`` of row n (Bernoulli units)."""
        state = self.random_state  # OS entropy for None: no global state
        draw = (state if isinstance(state, np.random.RandomState) else np.random.RandomState(state)).randint
        flips = lambda v: torch.as_tensor(draw(0, v.shape[1], v.shape[0]), device=v.device)  # noqa: E731
        return self._apply(lambda params, v: pseudo_likelihood(params, v, flips(v)), X)

    def gibbs(self, X: Any) -> Any:
        """One Gibbs sweep v → h → v from each row (scikit-learn's ``gibbs``), ``(B, D)``."""
        return self._apply(lambda params, v: gibbs_chain(params, v, 1, generator=self.generator_).samples, X)

    def sample(self, n_samples: int, n_steps: int = 1000, *, seed: int = 0) -> SampleResult:
        """``n_samples`` chains of ``n_steps`` Gibbs sweeps from v ~ p(v | h = 0), as torch tensors (chains from data:
        :func:`gibbs_chain` on ``params_``)."""
        check_is_fitted(self)
        params, generator = self.params_, torch.Generator(device=self.params_.weight.device).manual_seed(seed)
        pre = (params.visible_bias / params.visible.scale).expand(check_int(n_samples, "n_samples"), -1).clone()
        start = _draw_visible(params.visible, pre, generator, torch.empty_like(pre)) * params.visible.scale  # (S, D)
        return gibbs_chain(params, start, n_steps, generator=generator)

    def log_likelihood(self, X: Any, log_partition: float | None = None) -> Any:
        """log p(v) = −F(v) − log Z per row, ``(B,)``; log Z exact (:func:`exact_log_partition`, ≤ 20 units in the
        smaller layer) unless given (e.g. from :func:`ais_log_partition`)."""
        check_is_fitted(self)
        log_z = float(exact_log_partition(self.params_) if log_partition is None else log_partition)
        return self._apply(lambda params, v: -_free_energy(params, v) - log_z, X)
