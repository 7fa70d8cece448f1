"""Dictionary learning for the lecture's sparse-coding energy.

.. math:: E(y, z) = \\|y - W z\\|_2^2 + \\alpha \\|z\\|_1, \\qquad \\|w_j\\|_2 = 1,
          \\qquad \\mathcal{L} = \\mathrm{mean}_y F_\\infty(y) = \\mathrm{mean}_y E(y, \\check z)

Training alternates inference (ž by FISTA, :func:`ebmlab.sparse_encode`) with a dictionary update,
online in mini-batches as in Mairal et al. (2010) and scikit-learn's
``MiniBatchDictionaryLearning``: the sufficient statistics :math:`A = \\sum \\check z \\check z^\\top`
``(K, K)`` and :math:`B = \\sum y \\check z^\\top` ``(D, K)`` are accumulated with scikit-learn's
forgetting schedule, and one sweep of block coordinate descent minimises
:math:`\\sum \\|y - W\\check z\\|^2` over each atom in turn,
:math:`w_j \\leftarrow w_j + (B_j - W A_j) / A_{jj}`, followed by the lecture's column
renormalisation :math:`w_j \\leftarrow w_j / \\|w_j\\|_2` (exactly 1, where scikit-learn projects
onto ``≤ 1``). An atom no code uses is re-drawn from the data.

The lecture's variants:

* ``refit="top2"``: ž → t = top2(ž), ž₂ = argmin over the atoms t of C[y, Dec(t)], and training
  (and :meth:`SparseCoding.energy`) uses F = E(y, ž₂) (:func:`ebmlab.kernels.proximal.top2_refit`).
* the anti-collapse example (:func:`lecture_setup`, :func:`lecture_example`): 2-D data on the
  ellipse, 50 points. Any two atoms span the plane, so without augmentation every y is
  reconstructed and the energy collapses to ≈ 0 everywhere; with ẏ = [1; y] and W = [1; W] the
  reconstruction must also hit the height 1, so only points near the segments between atoms, i.e.
  the data manifold, have low energy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from sklearn.base import BaseEstimator, TransformerMixin
from torch import Tensor, nn

from .._validation import (
    as_tensor,
    check_finite,
    check_int,
    check_matrix,
    check_positive,
    estimator_matrix,
    float_tensor,
    random_seeds,
    resolve_device,
    to_caller,
)
from ..data import make_ellipse
from ..energy import Energy, RealLatent
from ..inference.proximal import ProximalSplit
from ..kernels.proximal import (
    SparseCodeResult,
    _DenseGradientStep,
    _validate,
    check_atoms,
    duality_gap,
    lipschitz_constant,
    sparse_encode,
    sparse_energy,
    top2_refit,
    unit_norm_atoms,
)

__all__ = [
    "LectureExample",
    "SparseCoding",
    "SparseCodingEnergy",
    "augment_with_ones",
    "lecture_example",
    "lecture_setup",
]

REFITS = (None, "top2")


def augment_with_ones(y: Tensor) -> Tensor:
    """ẏ = [1; y]: prepend a constant 1 to every observation (the homework's anti-collapse trick).

    Shape:
        y ``(B, D)`` → ``(B, D + 1)``.

    Example:
        >>> augment_with_ones(torch.tensor([[2.0, 3.0]]))
        tensor([[1., 2., 3.]])
    """
    return torch.cat([torch.ones_like(y[:, :1]), y], dim=1)


class SparseCodingEnergy(Energy):
    """The lecture's sparse-coding energy as an :class:`~ebmlab.energy.Energy`, z ∈ ℝ^K.

    .. math:: E(y, z) = \\|y - W z\\|_2^2 + \\alpha \\|z\\|_1

    A thin shell over :func:`ebmlab.sparse_energy` (the formula's one copy). It is a
    :class:`~ebmlab.inference.ProximalEnergy`: :class:`~ebmlab.inference.ProximalGradient` minimises
    it with the same gradient step as :func:`ebmlab.sparse_encode`, and reports the certified
    :func:`~ebmlab.kernels.proximal.duality_gap`.

    Args:
        dictionary: W ``(D, K)``, atoms as columns (copied into a parameter).
        alpha: α ≥ 0.

    Shape:
        y ``(B, D)``, z ``(B, K)`` → ``(B,)``.

    Example:
        >>> from ebmlab.inference import ProximalGradient
        >>> energy = SparseCodingEnergy(torch.eye(2), alpha=0.5)
        >>> y = torch.tensor([[1.0, 2.0]])
        >>> energy(y, torch.tensor([[1.0, 1.0]]))  # ‖(0, 1)‖² + 0.5·2
        tensor([2.], grad_fn=<AddBackward0>)
        >>> ProximalGradient()(energy, y).latent  # soft(y, α/2) for W = I
        tensor([[0.7500, 1.7500]])
    """

    def __init__(self, dictionary: Tensor, alpha: float) -> None:
        super().__init__()
        w = as_tensor(dictionary, "dictionary")
        if w.ndim != 2:
            raise ValueError(f"dictionary must be 2-D (D, K) with atoms as columns, got shape {tuple(w.shape)}")
        check_finite(w, "dictionary")
        self.alpha = check_positive(alpha, "alpha", strict=False)
        if not math.isfinite(self.alpha):
            raise ValueError(f"alpha must be finite, got alpha={self.alpha}")
        self.dictionary = nn.Parameter(w.detach().clone())  # (D, K)
        self.data_dim = w.shape[0]
        self.latent = RealLatent(w.shape[1])

    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        return sparse_energy(y, self.dictionary.to(y.dtype), z, self.alpha)  # (B,)

    def proximal_split(self, y: Tensor, x: Tensor | None = None) -> ProximalSplit:
        """The gradient step on ‖y − Wz‖² with s = 1/L, L = 2λ_max(WᵀW), and the threshold α/L."""
        y, w, alpha = _validate(y, self.dictionary.detach().to(y.dtype), self.alpha)
        lipschitz = lipschitz_constant(w)
        if not math.isfinite(lipschitz):
            raise ValueError(f"dictionary is too large for {w.dtype}: L = 2·λ_max(WᵀW) = {lipschitz} overflows")
        return ProximalSplit(_DenseGradientStep(w, lipschitz).for_rows(y), alpha / lipschitz)

    def duality_gap(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        """Certified bound on E(y, z) − F_∞(y) (:func:`ebmlab.kernels.proximal.duality_gap`), shape ``(B,)``."""
        return duality_gap(y, self.dictionary.detach().to(y.dtype), z, self.alpha)

    def decode(self, z: Tensor) -> Tensor:
        """ỹ = Dec(z) = Wz. Shape: z ``(B, K)`` → ``(B, D)``."""
        return z @ self.dictionary.to(z.dtype).T


_FLOATS = (torch.float32, torch.float64)


def _check_dtype(dtype: Any) -> None:
    if dtype is not None and dtype not in _FLOATS:
        raise ValueError(f"dtype must be None, torch.float32 or torch.float64, got dtype={dtype!r}")


class SparseCoding(TransformerMixin, BaseEstimator):
    """Sparse-coding dictionary learning, a scikit-learn estimator (fit/transform/inverse_transform/score).

    Minimises the mean zero-temperature free energy over unit-norm atoms

    .. math:: \\mathcal{L}(W) = \\mathrm{mean}_y \\min_z \\|y - Wz\\|_2^2 + \\alpha\\|z\\|_1,
              \\qquad \\|w_j\\|_2 = 1

    (see the module docstring for the algorithm). Same optimum as scikit-learn's
    ``MiniBatchDictionaryLearning(alpha=α/2)``. Accepts numpy arrays and torch tensors and returns the
    caller's kind: numpy in, numpy out; a tensor in, a tensor out.

    Args:
        n_components: K, the number of atoms.
        alpha: α ≥ 0 of the lecture's energy.
        max_iter: the number of epochs of :meth:`fit`, each one pass over the data (shuffled
            mini-batches, or one full-batch step).
        batch_size: mini-batch size; ``None`` for full-batch alternating minimisation.
        refit: ``None`` or ``"top2"`` (the lecture's top-2 rule).
        fit_encode_max_iter, fit_encode_tol: FISTA budget and tolerance while training (each code's
            duality gap at most tol·‖y‖², :func:`ebmlab.sparse_encode`'s stopping rule).
        fit_encode_step: a fixed FISTA step s on the codes while training; None takes s = 1/L
            with L = 2λ_max(WᵀW) from power iteration on every batch. Steps beyond 1/L may
            diverge (beyond 2/L they do).
        transform_max_iter, transform_tol: the same for :meth:`transform`, :meth:`energy`, :meth:`score`.
        dict_init: initial dictionary ``(D, K)`` (atoms as columns), renormalised; by default K
            distinct data rows.
        random_state: an int, a :class:`numpy.random.RandomState` or None, as in scikit-learn: it
            seeds the initial atoms, the shuffling and the re-drawn unused atoms (torch generators
            seeded through :func:`sklearn.utils.check_random_state`); None draws fresh entropy on
            every :meth:`fit`.
        device: where to compute; None: the device of a tensor ``X`` (the CPU for other input).
        dtype: ``torch.float32`` or ``torch.float64``; None: the precision of ``X`` (float32 or
            float64 stay; other arrays become float64, other tensors float32).

    Attributes:
        components_: the atoms as rows ``(K, D)`` (scikit-learn's layout), of the kind of the ``X``
            the last training call had (numpy or torch); a copy, renewed by every training call.
        dictionary_: W as a tensor ``(D, K)``, atoms as columns: what training updates.
        n_features_in_: D.
        objective_: mean energy of the training codes, per epoch.
        n_iter_, n_steps_: epochs and mini-batch steps done.

    Shape:
        X ``(B, D)`` → :meth:`transform` ``(B, K)``; codes ``(B, K)`` → :meth:`inverse_transform` ``(B, D)``.

    Example:
        >>> from sklearn.datasets import load_digits
        >>> X = load_digits().data[:200] / 16
        >>> model = SparseCoding(n_components=32, alpha=0.5, max_iter=2, batch_size=100, random_state=0).fit(X)
        >>> model.components_.shape, model.transform(X[:5]).shape, model.transform(X[:5]).dtype
        ((32, 64), (5, 32), dtype('float64'))
        >>> bool(model.objective_[-1] < model.objective_[0])
        True
    """

    def __init__(
        self,
        n_components: int = 64,
        *,
        alpha: float = 0.2,
        max_iter: int = 10,
        batch_size: int | None = 256,
        refit: str | None = None,
        fit_encode_max_iter: int = 100,
        fit_encode_tol: float = 1e-3,
        fit_encode_step: float | None = None,
        transform_max_iter: int = 1000,
        transform_tol: float = 1e-4,
        dict_init: Any = None,
        random_state: Any = None,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.n_components = n_components
        self.alpha = alpha
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.refit = refit
        self.fit_encode_max_iter = fit_encode_max_iter
        self.fit_encode_tol = fit_encode_tol
        self.fit_encode_step = fit_encode_step
        self.transform_max_iter = transform_max_iter
        self.transform_tol = transform_tol
        self.dict_init = dict_init
        self.random_state = random_state
        self.device = device
        self.dtype = dtype

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn's Tags
        tags = super().__sklearn_tags__()
        if tags.transformer_tags is not None:
            fixed = self.dtype in _FLOATS
            tags.transformer_tags.preserves_dtype = [str(self.dtype)[6:]] if fixed else ["float64", "float32"]
        return tags

    # ----------------------------------------------------------------------------- validation
    def _check_params(self) -> None:
        check_int(self.n_components, "n_components")
        check_positive(self.alpha, "alpha", strict=False)
        if not math.isfinite(self.alpha):
            raise ValueError(f"alpha must be finite, got alpha={self.alpha}")
        check_int(self.max_iter, "max_iter")
        if self.batch_size is not None:
            check_int(self.batch_size, "batch_size")
        if self.refit not in REFITS:
            raise ValueError(f"refit must be one of {REFITS}, got refit={self.refit!r}")
        if self.refit == "top2" and self.n_components < 2:
            raise ValueError(f"refit='top2' needs n_components >= 2, got n_components={self.n_components}")
        check_int(self.fit_encode_max_iter, "fit_encode_max_iter")
        check_positive(self.fit_encode_tol, "fit_encode_tol")
        if self.fit_encode_step is not None:
            check_positive(self.fit_encode_step, "fit_encode_step")
        check_int(self.transform_max_iter, "transform_max_iter")
        check_positive(self.transform_tol, "transform_tol")
        _check_dtype(self.dtype)
        resolve_device(self.device)

    def _input(self, X: Any, *, reset: bool) -> Tensor:
        """X as a finite ``(B, D)`` tensor in the precision and on the device this estimator computes in."""
        return estimator_matrix(self, X, reset=reset, dtype=self.dtype, device=self.device)

    def _training_input(self, X: Any) -> Tensor:
        """X validated against the fitted dictionary, on its device and in its precision."""
        data = self._input(X, reset=False)
        return data.to(device=self.dictionary_.device, dtype=self.dictionary_.dtype)

    def _check_fitted(self) -> None:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "dictionary_")

    # ---------------------------------------------------------------------------------- state
    def _initialise(self, data: Tensor) -> None:
        """The initial dictionary, zero statistics and counters for validated ``data`` ``(N, D)``."""
        device, dtype = data.device, data.dtype
        features = data.shape[1]
        init_seed, shuffle_seed = random_seeds(self.random_state, 2)
        if self.dict_init is not None:
            w = as_tensor(self.dict_init, "dict_init", dtype=dtype, device=device).clone()
            if tuple(w.shape) != (features, self.n_components):
                raise ValueError(
                    f"dict_init must have shape (D, K) = {(features, self.n_components)}, got {tuple(w.shape)}"
                )
            check_finite(w, "dict_init")
            check_atoms(w, "dict_init")
        else:
            generator = torch.Generator().manual_seed(init_seed)
            rows = torch.randperm(len(data), generator=generator)[: self.n_components].to(device)
            w = data[rows].T.clone()  # (D, k)
            missing = self.n_components - w.shape[1]
            noise = torch.randn(features, self.n_components, generator=generator, dtype=dtype).to(device)
            if missing > 0:
                w = torch.cat([w, noise[:, :missing]], dim=1)  # (D, K)
            weak = w.norm(dim=0) <= 1e-8 * (1 + float(w.norm()))
            w[:, weak] = noise[:, weak]
        # row-major, the layout a checkpoint restores: the BLAS products then round alike after a resume
        self.dictionary_ = unit_norm_atoms(w).contiguous()  # (D, K)
        self._stat_a = torch.zeros(self.n_components, self.n_components, dtype=dtype, device=device)
        self._stat_b = torch.zeros(features, self.n_components, dtype=dtype, device=device)
        self._generator = torch.Generator().manual_seed(shuffle_seed)
        self.n_steps_ = 0
        self.n_iter_ = 0
        self.objective_: list[float] = []

    def _set_components(self, like: Any) -> None:
        """``components_`` = Wᵀ ``(K, D)``, a C-ordered copy of the kind of ``like`` (numpy or torch)."""
        self.components_ = to_caller(self.dictionary_.T.clone(memory_format=torch.contiguous_format), like)

    def state_dict(self) -> dict[str, Any]:
        """Everything training continues from: W, the statistics A and B, the shuffling generator's
        state, the step counters and the objective history (copies)."""
        self._check_fitted()
        return {
            "dictionary": self.dictionary_.clone(),
            "stat_a": self._stat_a.clone(),
            "stat_b": self._stat_b.clone(),
            "generator": self._generator.get_state(),
            "n_steps": self.n_steps_,
            "n_iter": self.n_iter_,
            "objective": list(self.objective_),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned: training then goes on exactly as it would have.

        The tensors go to ``device`` (None: where they are) in ``dtype`` (None: theirs);
        ``components_`` is then a tensor.

        Example:
            >>> X = torch.rand(40, 6, generator=torch.Generator().manual_seed(0))
            >>> a = SparseCoding(4, alpha=0.1, batch_size=8, random_state=0).initialize(X)
            >>> b = SparseCoding(4, alpha=0.1, batch_size=8)
            >>> _ = a.fit_epoch(X)
            >>> b.load_state_dict(a.state_dict())
            >>> _ = a.fit_epoch(X), b.fit_epoch(X)
            >>> torch.equal(a.dictionary_, b.dictionary_)
            True
        """
        self._check_params()
        dictionary = state["dictionary"]
        device = resolve_device(self.device) if self.device is not None else dictionary.device
        dtype = self.dtype if self.dtype is not None else dictionary.dtype
        self.n_features_in_ = dictionary.shape[0]
        self.dictionary_ = dictionary.to(device=device, dtype=dtype).clone().contiguous()
        self._stat_a = state["stat_a"].to(device=device, dtype=dtype).clone().contiguous()
        self._stat_b = state["stat_b"].to(device=device, dtype=dtype).clone().contiguous()
        self._generator = torch.Generator()
        self._generator.set_state(state["generator"].to(torch.uint8).cpu())
        self.n_steps_, self.n_iter_ = int(state["n_steps"]), int(state["n_iter"])
        self.objective_ = [float(value) for value in state["objective"]]
        self._set_components(self.dictionary_)

    # ------------------------------------------------------------------------------- training
    def _codes_for_training(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        step = self.fit_encode_step
        lipschitz = lipschitz_constant(self.dictionary_) if step is None else 1.0 / step
        found = sparse_encode(
            batch,
            self.dictionary_,
            self.alpha,
            max_iter=self.fit_encode_max_iter,
            tol=self.fit_encode_tol,
            lipschitz=lipschitz,
        )
        if self.refit == "top2":
            return top2_refit(batch, self.dictionary_, found.codes, self.alpha)
        return found.codes, found.energy

    def _step(self, batch: Tensor, forget: bool) -> float:
        """Code one mini-batch, update the statistics, one BCD sweep over the atoms; mean energy."""
        codes, energy = self._codes_for_training(batch)  # (b, K), (b,)
        size = batch.shape[0]
        if forget:
            # scikit-learn's MiniBatchDictionaryLearning forgetting schedule
            step, n = self.n_steps_, self.batch_size or size
            theta = (step + 1) * n if step < n - 1 else n * n + step + 1 - n
            beta = (theta + 1 - n) / (theta + 1)
        else:
            beta = 0.0
        self._stat_a.mul_(beta).add_(codes.T @ codes, alpha=1.0 / size)  # (K, K)
        self._stat_b.mul_(beta).add_(batch.T @ codes, alpha=1.0 / size)  # (D, K)
        self._update_dictionary(batch)
        self.n_steps_ += 1
        return float(energy.mean())

    def _update_dictionary(self, batch: Tensor) -> None:
        w, a, b = self.dictionary_, self._stat_a, self._stat_b
        diagonal = a.diagonal().tolist()
        for j in range(w.shape[1]):
            if diagonal[j] > 1e-10:
                w[:, j] += (b[:, j] - w @ a[:, j]) / diagonal[j]
            else:  # an unused atom: re-draw it from the batch, with a little noise
                row = int(torch.randint(batch.shape[0], (1,), generator=self._generator))
                noise = torch.randn(w.shape[0], generator=self._generator, dtype=w.dtype).to(w.device)
                w[:, j] = batch[row] + 0.01 * noise * (batch[row].norm() + 1e-3)
            w[:, j] /= w[:, j].norm().clamp_min(torch.finfo(w.dtype).tiny)  # the lecture's ‖w_j‖ = 1

    def _epoch(self, data: Tensor) -> float:
        """One pass over validated ``data`` ``(N, D)``; its mean training energy (see :meth:`fit_epoch`)."""
        with torch.no_grad():
            if self.batch_size is None or self.batch_size >= len(data):
                value = self._step(data, forget=False)
            else:
                order = torch.randperm(len(data), generator=self._generator).to(data.device)
                total = 0.0
                for start in range(0, len(data), self.batch_size):
                    rows = order[start : start + self.batch_size]
                    energy = self._step(data[rows], forget=True)
                    if not math.isfinite(energy):
                        total = energy * len(data)
                        break
                    total += energy * len(rows)
                value = total / len(data)
        self.objective_.append(value)
        self.n_iter_ += 1
        return value

    def partial_fit(self, X: Any, y: Any = None) -> SparseCoding:
        """One online step on the mini-batch X ``(B, D)`` (the first call initialises on it); ``y`` is ignored."""
        self._check_params()
        if hasattr(self, "dictionary_"):
            data = self._training_input(X)
        else:
            data = self._input(X, reset=True)
            self._initialise(data)
        with torch.no_grad():
            self._step(data, forget=True)
        self._set_components(X)
        return self

    def initialize(self, X: Any) -> SparseCoding:
        """Validate X ``(N, D)`` and start training from scratch: the initial dictionary, zero
        statistics, fresh counters (what :meth:`fit` does before its first pass)."""
        self._check_params()
        self._initialise(self._input(X, reset=True))
        self._set_components(X)
        return self

    def fit_epoch(self, X: Any) -> float:
        """One pass over X ``(N, D)`` (shuffled mini-batches, or one full-batch step when
        ``batch_size`` is None or ≥ N); returns the mean training energy of the pass.

        Used by :meth:`fit` and by ``ebmlab train sparse-coding``, which checkpoints between
        epochs. A mini-batch whose energy is not finite (diverged codes) ends the pass: that
        energy is returned as is, and :meth:`fit` raises on it.
        """
        self._check_fitted()
        value = self._epoch(self._training_input(X))
        self._set_components(X)
        return value

    def fit(self, X: Any, y: Any = None) -> SparseCoding:
        """Learn the dictionary from X ``(N, D)`` in ``max_iter`` epochs (:meth:`initialize`, then
        :meth:`fit_epoch` ``max_iter`` times); ``y`` is ignored (scikit-learn convention).

        Raises:
            FloatingPointError: an epoch's mean energy is not finite (lower ``fit_encode_step``).
        """
        self._check_params()
        data = self._input(X, reset=True)
        self._initialise(data)
        for _ in range(self.max_iter):
            value = self._epoch(data)
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"sparse coding diverged at epoch {self.n_iter_} (mean energy {value}); "
                    f"lower fit_encode_step (now {self.fit_encode_step})"
                )
        self._set_components(X)
        return self

    # ------------------------------------------------------------------------------ inference
    def encode(self, X: Any) -> SparseCodeResult:
        """ž for every row of X ``(B, D)`` by FISTA (to ``transform_tol``), with energies and duality gaps (tensors).

        With ``refit="top2"`` the codes are ž₂ and the energies E(y, ž₂); the duality gap stays the
        one of the FISTA solution ž.
        """
        self._check_fitted()
        data = self._input(X, reset=False)
        w = self.dictionary_.to(device=data.device, dtype=data.dtype)  # (D, K)
        with torch.no_grad():
            found = sparse_encode(data, w, self.alpha, max_iter=self.transform_max_iter, tol=self.transform_tol)
            if self.refit == "top2":
                codes, energy = top2_refit(data, w, found.codes, self.alpha)
                return SparseCodeResult(codes, energy, found.duality_gap, found.iterations, found.converged)
        return found

    def as_energy(self) -> SparseCodingEnergy:
        """The fitted model as an :class:`~ebmlab.energy.Energy`: E(y, z) = ‖y − Wz‖² + α‖z‖₁ (a copy of W).

        The top-2 rule is a way of inferring z, not another energy: :meth:`encode` applies it.
        """
        self._check_fitted()
        return SparseCodingEnergy(self.dictionary_, self.alpha)

    def transform(self, X: Any) -> Any:
        """The codes ž ``(B, K)`` of X ``(B, D)``, of X's kind (numpy or torch)."""
        return to_caller(self.encode(X).codes, X)

    def energy(self, X: Any) -> Any:
        """F_∞(y) = E(y, ž) per row, ``(B,)`` (E(y, ž₂) with the top-2 rule), of X's kind."""
        return to_caller(self.encode(X).energy, X)

    def inverse_transform(self, codes: Any) -> Any:
        """ỹ = Dec(z) = Wz for codes ``(B, K)`` → ``(B, D)``, of the codes' kind (numpy or torch)."""
        self._check_fitted()
        z = float_tensor(codes, "codes")
        check_matrix(z, "codes", columns=self.n_components)
        check_finite(z, "codes")
        device = resolve_device(self.device) if self.device is not None else z.device
        z = z.to(device=device, dtype=self.dtype if self.dtype is not None else z.dtype)
        return to_caller(z @ self.dictionary_.to(device=z.device, dtype=z.dtype).T, codes)

    def score(self, X: Any, y: Any = None) -> float:
        """−mean F_∞(y) over the rows of X: higher is better, as in scikit-learn; ``y`` is ignored."""
        return -float(self.encode(X).energy.double().mean())


# ---------------------------------------------------------------------------- lecture example


@dataclass(frozen=True)
class LectureExample:
    """The anti-collapse example: a sparse coder, its 2-D data y, and whether it codes y or ẏ = [1; y].

    Its energy surface is the free energy under the top-2 rule, on the augmented point when
    ``augmented`` (ẏ = [1; y], W = [1; W]):

    .. math:: F(y) = E(\\dot y, \\check z_2) = \\|\\dot y - W \\check z_2\\|_2^2 + \\alpha \\|\\check z_2\\|_1

    Without the augmentation any two atoms reconstruct every y, so F collapses to about α‖ž₂‖₁
    everywhere; with it, F is low only near the data.

    Args:
        model: the :class:`SparseCoding` (fitted for :meth:`energy` and :meth:`reconstruction_cost`).
        data: y ``(N, 2)``.
        augmented: whether the model codes ẏ = [1; y] ``(N, 3)`` rather than y.

    Example:
        >>> example = lecture_example(augmented=True, epochs=5)
        >>> tuple(example.inputs.shape), tuple(example.energy(example.data).shape)
        ((50, 3), (50,))
        >>> off_data = 3 * example.data  # far from the ellipse: a higher energy than on it
        >>> bool(example.energy(off_data).mean() > example.energy(example.data).mean())
        True
    """

    model: SparseCoding
    data: Tensor
    augmented: bool

    @property
    def inputs(self) -> Tensor:
        """What the model is trained on: ẏ = [1; y] ``(N, 3)`` when augmented, else y ``(N, 2)``."""
        return augment_with_ones(self.data) if self.augmented else self.data

    def _model_inputs(self, points: Tensor) -> Tensor:
        """2-D points ``(N, 2)`` in the model's precision, augmented when the model is: ``(N, 2|3)``."""
        points = points.to(self.model.dictionary_.dtype)
        return augment_with_ones(points) if self.augmented else points

    def energy(self, points: Tensor) -> Tensor:
        """F(y) = E(y, ž₂) at 2-D points ``(N, 2)`` → ``(N,)`` (augmented first when the model is)."""
        return self.model.energy(self._model_inputs(points))

    def reconstruction_cost(self, points: Tensor) -> Tensor:
        """C[y, Dec(ž₂)] = ‖y − Wž₂‖² alone, ``(N,)``."""
        inputs = self._model_inputs(points)
        codes = self.model.transform(inputs)  # (N, K)
        return (inputs.to(codes.device) - self.model.inverse_transform(codes)).pow(2).sum(dim=1)


def lecture_setup(
    augmented: bool,
    *,
    n_samples: int = 50,
    n_components: int = 12,
    alpha: float = 0.02,
    epochs: int = 200,
    fit_encode_step: float | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> LectureExample:
    """The slides' sparse coder, untrained, on its 50 ellipse points, with or without ẏ = [1; y].

    Top-2 rule, full batch, float64, FISTA to 1e-6 while training; the dictionary starts from
    K data points (with a leading 1 when augmented, W = [1; W]), renormalised. ``model.fit(inputs)``
    (or :meth:`SparseCoding.initialize` and ``epochs`` calls of :meth:`SparseCoding.fit_epoch`)
    trains it; :func:`lecture_example` does.

    Example:
        >>> example = lecture_setup(augmented=True)
        >>> tuple(example.inputs.shape), example.model.refit
        ((50, 3), 'top2')
    """
    data = make_ellipse(n_samples, seed=seed).y.double()  # (N, 2)
    inputs = augment_with_ones(data) if augmented else data  # (N, 2|3)
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randperm(n_samples, generator=generator)[:n_components]
    model = SparseCoding(
        n_components,
        alpha=alpha,
        max_iter=epochs,
        batch_size=None,
        refit="top2",
        fit_encode_max_iter=500,
        fit_encode_tol=1e-6,
        fit_encode_step=fit_encode_step,
        dict_init=inputs[rows].T,
        random_state=seed,
        device=device,
        dtype=torch.float64,
    )
    return LectureExample(model, data, augmented)


def lecture_example(
    augmented: bool,
    *,
    n_samples: int = 50,
    n_components: int = 12,
    alpha: float = 0.02,
    epochs: int = 200,
    seed: int = 0,
) -> LectureExample:
    """Train the slides' sparse coder with the top-2 rule on 50 ellipse points, with or without ẏ = [1; y].

    :func:`lecture_setup`, then ``epochs`` full-batch steps on F = E(y, ž₂).

    Example:
        >>> example = lecture_example(augmented=True, epochs=1)
        >>> tuple(example.model.dictionary_.shape), tuple(example.data.shape)
        ((3, 12), (50, 2))
    """
    example = lecture_setup(
        augmented, n_samples=n_samples, n_components=n_components, alpha=alpha, epochs=epochs, seed=seed
    )
    example.model.fit(example.inputs)
    return example
