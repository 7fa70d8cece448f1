"""The scikit-learn style :class:`RBM` estimator, and :class:`BernoulliRBM`, the same class under scikit-learn's name:
a thin shell over this package's functions."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import Tensor

from ..._validation import check_int, resolve_device
from ...samplers import RandomSource, SampleResult
from .energy import BernoulliVisible, RBMParameters, VisibleUnits, _free_energy, _hidden_input
from .partition import exact_log_partition, pseudo_likelihood
from .sampling import _draw_visible, gibbs_chain
from .training import RBMSettings, RBMVelocity, _contrastive_epoch, data_visible_bias

__all__ = ["RBM", "BernoulliRBM", "RBMDivergedError"]

_BLOCK_ROWS = 4096  # rows of sparse input densified at a time by transform and score_samples


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


def _random_state(seed: Any) -> np.random.RandomState:
    """scikit-learn's ``check_random_state``, except ``None``: a fresh ``RandomState`` seeded from OS entropy (never
    numpy's global one)."""
    if isinstance(seed, np.random.RandomState):
        return seed
    return np.random.RandomState(None if seed is None else check_int(seed, "random_state", minimum=0))


def _training_source(seed: Any) -> np.random.RandomState | np.random.Generator:
    """The training's draws: a ``RandomState`` given is drawn from as scikit-learn draws; an int (or ``None``: OS
    entropy) seeds numpy's SFC64, whose raw words make the Bernoulli draws ~3× faster."""
    if isinstance(seed, np.random.RandomState):
        return seed
    return np.random.Generator(np.random.SFC64(None if seed is None else check_int(seed, "random_state", minimum=0)))


def _draws(source: np.random.RandomState | np.random.Generator, device: torch.device) -> RandomSource:
    """What the kernels draw from: on the CPU the RandomState or the SFC64 bit generator, elsewhere a torch generator
    seeded from it."""
    if device.type != "cpu":
        seed = source.randint(0, 2**62) if isinstance(source, np.random.RandomState) else source.integers(0, 2**62)
        return torch.Generator(device).manual_seed(int(seed))
    return source if isinstance(source, np.random.RandomState) else source.bit_generator


def _snapshot(source: np.random.RandomState | np.random.Generator) -> Any:
    return source.get_state() if isinstance(source, np.random.RandomState) else source.bit_generator.state


def _restore(source: np.random.RandomState | np.random.Generator, state: Any) -> None:
    if isinstance(source, np.random.RandomState):
        source.set_state(state)
    else:
        source.bit_generator.state = state


Rows = Tensor | sparse.csr_matrix | sparse.csr_array  # float32: dense on the device, or scipy CSR on the CPU


def _dense(rows: Rows, device: torch.device) -> Tensor:
    """``rows`` ``(B, D)`` as a dense float32 tensor on ``device``."""
    return rows if isinstance(rows, Tensor) else torch.from_numpy(rows.toarray()).to(device)


class _Minibatches:
    """Rows [iB, (i + 1)B) of ``data``, the last minibatch shorter (scikit-learn's ``gen_even_slices`` of
    ⌈N / B⌉ · B rows, N = ``data``'s rows, B = ``batch_size``), dense: views of a tensor, or a scipy CSR matrix's
    rows densified when reached (an epoch never densifies the whole matrix)."""

    def __init__(self, data: Rows, batch_size: int, device: torch.device) -> None:
        self.data, self.batch_size, self.device, self.n_rows = data, batch_size, device, data.shape[0]
        self.largest = min(batch_size, self.n_rows)  # rows of the biggest minibatch

    def __len__(self) -> int:
        return math.ceil(self.n_rows / self.batch_size)

    def __iter__(self) -> Iterator[Tensor]:
        for start in range(0, self.n_rows, self.batch_size):
            yield _dense(self.data[start : start + self.batch_size], self.device)


@dataclass(eq=False, repr=False)
class RBM(RBMSettings, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """An RBM, p(v) = e^{−F(v)} / Z, trained by persistent (or plain) contrastive divergence: a drop-in for
    scikit-learn's ``BernoulliRBM`` (its parameters — ``n_iter`` counts epochs, the name kept for that —, update,
    minibatches, ``partial_fit``, ``gibbs``, ``score_samples``, ``verbose``, ``get_feature_names_out``) plus Gaussian
    ``visible`` units, CD-k and the quality recipe (:class:`RBMSettings`' fields). W ~ N(0, 0.01²) is drawn as
    scikit-learn draws it (``RandomState(random_state).normal``). The training's draws (per minibatch the uniforms of
    v⁻ ``(S, D)``, then of the chains' h ``(S, K)``) come, on the CPU, from ``random_state`` itself when it is a
    ``RandomState`` — scikit-learn's draws: the same model as ``BernoulliRBM``'s from the same state, to float32
    rounding — and otherwise from numpy's SFC64 seeded with it (``None``: OS entropy, never numpy's global state),
    whose raw words make a large-minibatch epoch ~20 % faster; on CUDA from a torch generator seeded from that source.
    ``gibbs`` and ``score_samples`` draw from ``RandomState(random_state)``, as scikit-learn. Numpy in, numpy out,
    torch in, torch out, in X's float dtype: ``transform``, ``score_samples``, ``gibbs``, ``log_likelihood``, and
    ``components_`` W ``(K, D)``, ``intercept_hidden_`` c, ``intercept_visible_`` b, ``h_samples_`` ``(B, K)`` as
    :meth:`fit`'s data (torch after :meth:`initialize`); scipy sparse input is densified a minibatch (or block of
    rows) at a time. Bernoulli units take any real data, as scikit-learn's, warning outside [0, 1]. Training state,
    torch on ``device``: ``params_``, ``chains_`` ``(B, K)``, ``velocity_``, and ``generator_`` (the training's
    ``RandomState`` or SFC64 ``Generator``). Callers time epochs.

    Example:
        >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64)
        >>> model = RBM(n_components=2, n_iter=5, random_state=0).fit(X)
        >>> model.transform(X).shape, model.score_samples(X).dtype, type(model.components_).__name__
        ((4, 2), dtype('float64'), 'ndarray')
        >>> from sklearn.neural_network import BernoulliRBM as ScikitLearnRBM  # the same draws: the same model
        >>> ours = RBM(n_components=2, n_iter=5, random_state=np.random.RandomState(0)).fit(X)
        >>> theirs = ScikitLearnRBM(n_components=2, n_iter=5, random_state=np.random.RandomState(0)).fit(X)
        >>> bool(np.allclose(ours.components_, theirs.components_, atol=1e-6))
        True
        >>> quality = RBM(2, learning_rate=0.01, n_iter=5, momentum=0.9, initial_momentum=0.5,  # Hinton 2010
        ...               weight_decay=1e-4, final_learning_rate=0.0, init_visible_bias="data", random_state=0)
        >>> quality.fit(torch.from_numpy(X)).components_.dtype
        torch.float64
    """

    _: KW_ONLY
    n_iter: int = 10
    verbose: int = 0
    visible: VisibleUnits | None = None
    random_state: int | np.random.RandomState | None = None

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn's Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    _n_features_out = property(lambda self: self.n_components)  # get_feature_names_out: "<classname>0", ...

    def _units(self) -> VisibleUnits:
        return BernoulliVisible() if self.visible is None else self.visible

    def _input(self, X: Any, *, reset: bool, trusted: bool = False) -> tuple[Rows, np.dtype | torch.dtype]:
        """X checked by scikit-learn's ``validate_data`` (tensors too; ``trusted``: float32 tensors on ``device`` and
        float32 CSR matrices as they are) as float32 ``(B, D)``: a tensor on ``device``, or scipy sparse input as a
        CSR matrix; and the answers' dtype: X's float32/float64, else float64 (float32 for other tensors)."""
        device = resolve_device(self.device)
        if trusted and isinstance(X, Tensor) and X.dtype == torch.float32 and X.device == device:
            return X, torch.float32
        if trusted and sparse.issparse(X) and X.format == "csr" and X.dtype == np.float32:  # checked by fit
            return X, np.dtype(np.float32)
        if not reset:
            check_is_fitted(self)
        kind = None
        if isinstance(X, Tensor):
            kind, X = X.dtype if X.dtype in (torch.float32, torch.float64) else torch.float32, X.detach().cpu()
        array = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32], accept_sparse="csr")
        kind = kind or array.dtype
        if sparse.issparse(array):
            data, values = array.astype(np.float32), array.data
            low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
            if data.nnz < data.shape[0] * data.shape[1]:  # implicit zeros
                low, high = min(low, 0.0), max(high, 0.0)
        else:
            data = torch.from_numpy(np.require(array, np.float32, ["C", "W"])).to(device).contiguous()
            low, high = (float(data.min()), float(data.max())) if data.numel() else (0.0, 0.0)
        if self._units().discrete and (low < 0 or high > 1):  # scikit-learn's BernoulliRBM takes it
            warnings.warn(f"X has values in [{low:.3g}, {high:.3g}]: Bernoulli visible units model data in [0, 1], "
                          "binary ideally; use GaussianVisible for real data", stacklevel=3)
        return data, kind

    def initialize(self, n_features: int, X: Any = None, *, random_state: np.random.RandomState | None = None) -> RBM:
        """Fresh parameters for ``n_features`` visible units (``init_visible_bias="data"`` needs the data ``X``):
        W ~ N(0, 0.01²) drawn by ``random_state.normal`` (default: ``RandomState(self.random_state)``), b = c = 0,
        chains at h = 0; ``generator_``, the training's draws (see the class)."""
        units, device = self._units(), resolve_device(self.device)
        self.check_settings(units)
        check_int(self.n_iter, "n_iter", minimum=0)
        source = _random_state(self.random_state) if random_state is None else random_state
        self.generator_ = _training_source(self.random_state)
        shape = (self.n_components, check_int(n_features, "n_features"))
        weight = torch.from_numpy(source.normal(0.0, 0.01, shape)).to(device, torch.float32)  # scikit-learn's draw
        self.params_ = RBMParameters(weight, weight.new_zeros(shape[1]), weight.new_zeros(shape[0]), units)
        if self.init_visible_bias == "data":
            if X is None:
                raise ValueError("init_visible_bias='data' needs the training data: call initialize(n_features, X)")
            data = self._input(X, reset=True, trusted=True)[0]
            if data.shape[1] != n_features:
                raise ValueError(f"X must have shape (B, n_features={n_features}), got {tuple(data.shape)}")
            if not isinstance(data, Tensor):  # the column means as one row: the same clipped logits
                data = torch.from_numpy(np.asarray(data.mean(axis=0), dtype=np.float32)).to(device)  # (1, D)
            self.params_.visible_bias.copy_(data_visible_bias(data, units))
        self.chains_ = torch.zeros(self.batch_size, self.n_components, device=device)
        self.velocity_ = RBMVelocity.zeros_like(self.params_)
        self.n_features_in_, self._kind = n_features, torch.float32
        return self

    components_ = property(lambda self: self._fitted("weight"), doc="W ``(K, D)``, in the fitted data's type.")
    intercept_hidden_ = property(lambda self: self._fitted("hidden_bias"), doc="c ``(K,)``, as ``components_``.")
    intercept_visible_ = property(lambda self: self._fitted("visible_bias"), doc="b ``(D,)``, as ``components_``.")
    h_samples_ = property(lambda self: self._fitted("chains_"), doc="the chains' h ``(B, K)``, as ``components_``.")

    def _fitted(self, name: str) -> Any:
        check_is_fitted(self)
        return _as_caller(getattr(self, name) if name == "chains_" else getattr(self.params_, name), self._kind)

    def fit(self, X: Any, y: Any = None) -> RBM:
        """Train on ``X`` ``(B, D)`` for ``n_iter`` epochs from a fresh initialisation; ``y`` is ignored. With
        ``verbose``, each epoch prints scikit-learn's line (mean ``score_samples`` of X and the epoch's seconds)."""
        data, kind = self._input(X, reset=True)
        self.initialize(data.shape[1], data)._kind = kind
        begin = time.time()
        for epoch in range(1, self.n_iter + 1):
            self.fit_epoch(data, epoch=epoch)
            if self.verbose:
                end = time.time()
                score = float(self.score_samples(X).mean())
                print(f"[{type(self).__name__}] Iteration {epoch}, pseudo-likelihood = {score:.2f}, "
                      f"time = {end - begin:.2f}s")
                begin = end
        return self

    def partial_fit(self, X: Any, y: Any = None) -> RBM:
        """One update from all of ``X`` ``(B, D)`` as a single minibatch (scikit-learn's ``partial_fit``), at
        ``learning_rate`` and momentum μ; the first call initialises W from ``random_state_``."""
        first = not hasattr(self, "params_")
        data, kind = self._input(X, reset=first)
        if not hasattr(self, "random_state_"):
            self.random_state_ = _random_state(self.random_state)
        if first:
            self.initialize(data.shape[1], data, random_state=self.random_state_)._kind = kind
        batches = _Minibatches(data, max(data.shape[0], 1), resolve_device(self.device))
        epoch = (self.momentum_warmup_epochs if self.initial_momentum is not None else 0) + 1  # μ after warm-up
        return self._train(batches, [float(self.learning_rate)], epoch)

    def fit_epoch(self, X: Any, *, epoch: int = 1) -> RBM:
        """One pass over ``X`` in ``ceil(N / batch_size)`` minibatches in order (``epoch``, 1-based, sets μ and η);
        :class:`RBMDivergedError` names the first bad minibatch, the parameters restored. Float32 tensors on
        ``device`` are trusted as they are. GPU work may still be queued on return."""
        data = self._input(X, reset=False, trusted=True)[0]
        batches = _Minibatches(data, self.batch_size, resolve_device(self.device))
        n_batches, total = len(batches), self.n_iter * len(batches)
        rates = [self.learning_rate_at((epoch - 1) * n_batches + index, total) for index in range(n_batches)]
        return self._train(batches, rates, epoch)

    def _train(self, batches: _Minibatches, rates: list[float], epoch: int) -> RBM:
        """The contrastive updates of ``batches`` at ``rates``, drawing from ``generator_``; a divergent pass is
        replayed from the same draws, checking each minibatch, to name it."""
        params, source = self.params_, self.generator_
        matmul_dtype = self.check_settings(params.visible)
        velocity = self.velocity_ if self.momentum > 0 or (self.initial_momentum or 0.0) > 0 else None
        state = [params.weight, params.visible_bias, params.hidden_bias, self.chains_, *(velocity or ())]
        backup, saved = [t.clone() for t in state], _snapshot(source)
        run = (params, batches, rates, self.chains_ if self.persistent else None, self.n_gibbs_steps)
        recipe = (self.momentum_at(epoch), self.weight_decay, velocity)
        options = {"matmul_dtype": matmul_dtype, "largest": batches.largest}
        with torch.no_grad():
            for check in (False, True):
                _restore(source, saved)
                chain, bad = _contrastive_epoch(*run, _draws(source, params.weight.device), *recipe, **options,
                                                check=check)
                if not check and all(bool(torch.isfinite(tensor).all()) for tensor in state):
                    break
                for tensor, kept in zip(state, backup, strict=True):
                    tensor.copy_(kept)
            else:
                raise RBMDivergedError(epoch, bad, len(rates), self.learning_rate)
        if self.persistent:
            self.chains_ = chain
        return self

    def _apply(self, function: Callable[[RBMParameters, Tensor, slice], Tensor], X: Any, *, blocks: bool = True,
               checked: tuple[Rows, Any] | None = None) -> Any:
        """``function(params, v, rows)`` on checked data ``v`` ``(B, D)`` (rows ``rows`` of X; ``checked``: X already
        through :meth:`_input`), as X's type; sparse X densified ``_BLOCK_ROWS`` rows at a time (``blocks``) or
        whole."""
        data, kind = self._input(X, reset=False) if checked is None else checked
        device = resolve_device(self.device)
        step = _BLOCK_ROWS if blocks and not isinstance(data, Tensor) else max(data.shape[0], 1)
        with torch.no_grad():
            parts = [function(self.params_, _dense(data[start : start + step], device), slice(start, start + step))
                     for start in range(0, data.shape[0], step)]
        return _as_caller(torch.cat(parts) if len(parts) != 1 else parts[0], kind)

    def transform(self, X: Any) -> Any:
        """Hidden probabilities p(h = 1 | v) = σ(c + W x(v)), ``(B, K)``."""
        return self._apply(lambda params, v, rows: torch.sigmoid(_hidden_input(params, v)), X)

    def score_samples(self, X: Any) -> Any:
        """scikit-learn's :func:`pseudo_likelihood` estimate, ``(B,)``, flipping unit ``rng.randint(0, D, B)[n]`` of row
        n, rng = ``RandomState(random_state)`` (the instance itself if one was given; Bernoulli units)."""
        checked = self._input(X, reset=False)
        rows, dim = checked[0].shape
        flips = _random_state(self.random_state).randint(0, dim, rows)  # (B,)
        flips = torch.as_tensor(flips, device=resolve_device(self.device))
        return self._apply(lambda params, v, rows: pseudo_likelihood(params, v, flips[rows]), X, checked=checked)

    def gibbs(self, X: Any) -> Any:
        """One Gibbs sweep v → h → v from each row, ``(B, D)``, drawing from ``random_state_`` (made from
        ``random_state`` at the first call, as scikit-learn's ``gibbs``: h ``(B, K)`` then v)."""
        check_is_fitted(self)
        if not hasattr(self, "random_state_"):
            self.random_state_ = _random_state(self.random_state)
        draws = _draws(self.random_state_, self.params_.weight.device)
        return self._apply(lambda params, v, rows: gibbs_chain(params, v, 1, generator=draws).samples, X, blocks=False)

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
        return self._apply(lambda params, v, rows: -_free_energy(params, v) - log_z, X)


class BernoulliRBM(RBM):
    """:class:`RBM` under scikit-learn's name, so that ``from ebmlab import BernoulliRBM`` replaces
    ``from sklearn.neural_network import BernoulliRBM`` to the letter: the same parameters, the same model for the same
    ``random_state``, and the class name in ``get_feature_names_out`` (``bernoullirbm0``, ...) and ``verbose`` lines.

    Example:
        >>> X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64)
        >>> BernoulliRBM(n_components=2, n_iter=2, random_state=0).fit(X).get_feature_names_out().tolist()
        ['bernoullirbm0', 'bernoullirbm1']
    """
