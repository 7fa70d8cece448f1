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

import numpy as np
import torch
from torch import Tensor, nn

from .._validation import as_tensor, check_finite, check_int, check_matrix, check_positive, resolve_device, to_caller
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


class SparseCoding:
    """Sparse-coding dictionary learning in scikit-learn's conventions.

    Minimises the mean zero-temperature free energy :math:`\\mathrm{mean}_y \\min_z \\|y - Wz\\|^2 +
    \\alpha\\|z\\|_1` over unit-norm atoms (see the module docstring for the algorithm). Same
    optimum as scikit-learn's ``MiniBatchDictionaryLearning(alpha=α/2)``.

    Args:
        n_components: K, the number of atoms.
        alpha: α ≥ 0 of the lecture's energy.
        max_iter: passes (epochs) over the data in :meth:`fit`.
        batch_size: mini-batch size; ``None`` for full-batch alternating minimisation.
        refit: ``None`` or ``"top2"`` (the lecture's top-2 rule).
        fit_encode_max_iter, fit_encode_tol: FISTA budget and tolerance while training.
        fit_encode_step: a fixed FISTA step s on the codes while training; None takes s = 1/L
            with L = 2λ_max(WᵀW) from power iteration on every batch. Steps beyond 1/L may
            diverge (beyond 2/L they do).
        transform_max_iter, transform_tol: the same for :meth:`transform`, :meth:`energy`, :meth:`score`.
        dict_init: initial dictionary ``(D, K)`` (atoms as columns), renormalised; by default K
            distinct data rows.
        seed: shuffling and initialisation.
        device, dtype: where and in which precision to compute.

    Attributes:
        components_: the atoms as rows, numpy ``(K, D)`` (scikit-learn's layout).
        dictionary_: W as a tensor ``(D, K)``.
        objective_: mean energy of the training codes, per epoch.
        n_iter_, n_steps_: epochs and mini-batch steps done.

    Example:
        >>> from sklearn.datasets import load_digits
        >>> X = load_digits().data[:200] / 16
        >>> model = SparseCoding(n_components=32, alpha=0.5, max_iter=2, batch_size=100).fit(X)
        >>> model.components_.shape, model.transform(X[:5]).shape
        ((32, 64), (5, 32))
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
        transform_tol: float = 1e-6,
        dict_init: Any = None,
        seed: int = 0,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
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
        self.seed = seed
        self.device = device
        self.dtype = dtype

    # ----------------------------------------------------------------------------- validation
    def _check_params(self) -> None:
        check_int(self.n_components, "n_components")
        check_positive(self.alpha, "alpha", strict=False)
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

    def _data(self, X: Any, name: str = "X") -> Tensor:
        device = resolve_device(self.device)
        data = as_tensor(X, name, dtype=self.dtype, device=device)
        check_matrix(data, name, columns=self._features if hasattr(self, "_features") else None)
        check_finite(data, name)
        return data

    def _check_fitted(self) -> None:
        if not hasattr(self, "dictionary_"):
            raise ValueError("this SparseCoding is not fitted yet; call fit(X) or partial_fit(X) first")

    # ---------------------------------------------------------------------------------- state
    def _initialise(self, data: Tensor) -> None:
        self._check_params()
        device = data.device
        features = data.shape[1]
        if self.dict_init is not None:
            w = as_tensor(self.dict_init, "dict_init", dtype=self.dtype, device=device)
            if tuple(w.shape) != (features, self.n_components):
                raise ValueError(
                    f"dict_init must have shape (D, K) = {(features, self.n_components)}, got {tuple(w.shape)}"
                )
            check_finite(w, "dict_init")
            check_atoms(w, "dict_init")
        else:
            generator = torch.Generator().manual_seed(self.seed)
            rows = torch.randperm(len(data), generator=generator)[: self.n_components].to(device)
            w = data[rows].T.clone()  # (D, k)
            missing = self.n_components - w.shape[1]
            noise = torch.randn(features, self.n_components, generator=generator, dtype=self.dtype).to(device)
            if missing > 0:
                w = torch.cat([w, noise[:, :missing]], dim=1)  # (D, K)
            weak = w.norm(dim=0) <= 1e-8 * (1 + float(w.norm()))
            w[:, weak] = noise[:, weak]
        self._features = features
        # row-major, the layout a checkpoint restores: the BLAS products then round alike after a resume
        self.dictionary_ = unit_norm_atoms(w).contiguous()  # (D, K)
        self._stat_a = torch.zeros(self.n_components, self.n_components, dtype=self.dtype, device=device)
        self._stat_b = torch.zeros(features, self.n_components, dtype=self.dtype, device=device)
        self._generator = torch.Generator().manual_seed(self.seed + 1)
        self.n_steps_ = 0
        self.n_iter_ = 0
        self.objective_: list[float] = []

    @property
    def components_(self) -> np.ndarray:
        self._check_fitted()
        return self.dictionary_.T.detach().cpu().numpy()

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

        Example:
            >>> X = torch.rand(40, 6, generator=torch.Generator().manual_seed(0))
            >>> a = SparseCoding(4, alpha=0.1, batch_size=8).initialize(X)
            >>> b = SparseCoding(4, alpha=0.1, batch_size=8)
            >>> _ = a.fit_epoch(X)
            >>> b.load_state_dict(a.state_dict())
            >>> _ = a.fit_epoch(X), b.fit_epoch(X)
            >>> torch.equal(a.dictionary_, b.dictionary_)
            True
        """
        device = resolve_device(self.device)
        self._features = state["dictionary"].shape[0]
        self.dictionary_ = state["dictionary"].to(device=device, dtype=self.dtype).clone().contiguous()
        self._stat_a = state["stat_a"].to(device=device, dtype=self.dtype).clone().contiguous()
        self._stat_b = state["stat_b"].to(device=device, dtype=self.dtype).clone().contiguous()
        self._generator = torch.Generator()
        self._generator.set_state(state["generator"].to(torch.uint8).cpu())
        self.n_steps_, self.n_iter_ = int(state["n_steps"]), int(state["n_iter"])
        self.objective_ = [float(value) for value in state["objective"]]

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

    def partial_fit(self, X: Any, y: Any = None) -> SparseCoding:
        """One online step on the mini-batch X ``(B, D)`` (initialises on the first call)."""
        if not hasattr(self, "dictionary_"):
            self._initialise(self._data(X))
        data = self._data(X)
        with torch.no_grad():
            self._step(data, forget=True)
        return self

    def initialize(self, X: Any) -> SparseCoding:
        """Validate X ``(N, D)`` and start training from scratch: the initial dictionary, zero
        statistics, fresh counters (what :meth:`fit` does before its first pass)."""
        self._check_params()
        for name in ("_features", "dictionary_"):
            if hasattr(self, name):
                delattr(self, name)
        self._initialise(self._data(X))
        return self

    def fit_epoch(self, X: Any) -> float:
        """One pass over X ``(N, D)`` (shuffled mini-batches, or one full-batch step when
        ``batch_size`` is None or ≥ N); returns the mean training energy of the pass.

        Used by :meth:`fit` and by ``ebmlab train sparse-coding``, which checkpoints between
        epochs. A mini-batch whose energy is not finite (diverged codes) ends the pass: that
        energy is returned as is, and :meth:`fit` raises on it.
        """
        self._check_fitted()
        data = self._data(X)
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

    def fit(self, X: Any, y: Any = None) -> SparseCoding:
        """Learn the dictionary from X ``(N, D)`` in ``max_iter`` passes (:meth:`initialize`, then
        :meth:`fit_epoch` ``max_iter`` times)."""
        self.initialize(X)
        data = self._data(X)
        for _ in range(self.max_iter):
            value = self.fit_epoch(data)
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"sparse coding diverged at epoch {self.n_iter_} (mean energy {value}); "
                    f"lower fit_encode_step (now {self.fit_encode_step})"
                )
        return self

    # ------------------------------------------------------------------------------ inference
    def encode(self, X: Any) -> SparseCodeResult:
        """ž for every row by FISTA (to ``transform_tol``), with energies and duality gaps.

        With ``refit="top2"`` the codes are ž₂ and the energies E(y, ž₂); the duality gap stays the
        one of the FISTA solution ž.
        """
        self._check_fitted()
        data = self._data(X)
        with torch.no_grad():
            found = sparse_encode(
                data, self.dictionary_, self.alpha, max_iter=self.transform_max_iter, tol=self.transform_tol
            )
            if self.refit == "top2":
                codes, energy = top2_refit(data, self.dictionary_, found.codes, self.alpha)
                return SparseCodeResult(codes, energy, found.duality_gap, found.iterations, found.converged)
        return found

    def as_energy(self) -> SparseCodingEnergy:
        """The fitted model as an :class:`~ebmlab.energy.Energy`: E(y, z) = ‖y − Wz‖² + α‖z‖₁ (a copy of W).

        The top-2 rule is a way of inferring z, not another energy: :meth:`encode` applies it.
        """
        self._check_fitted()
        return SparseCodingEnergy(self.dictionary_, self.alpha)

    def transform(self, X: Any) -> Any:
        """The codes ``(N, K)`` (numpy for numpy input)."""
        return to_caller(self.encode(X).codes, X)

    def energy(self, X: Any) -> Any:
        """F_∞(y) = E(y, ž) per row, ``(N,)`` (E(y, ž₂) with the top-2 rule)."""
        return to_caller(self.encode(X).energy, X)

    def inverse_transform(self, codes: Any) -> Any:
        """ỹ = Dec(z) = Wz for codes ``(N, K)`` → ``(N, D)``."""
        self._check_fitted()
        z = as_tensor(codes, "codes", dtype=self.dtype, device=self.dictionary_.device)
        check_matrix(z, "codes", columns=self.n_components)
        return to_caller(z @ self.dictionary_.T, codes)

    def score(self, X: Any, y: Any = None) -> float:
        """−mean F_∞(y): higher is better, as in scikit-learn."""
        return -float(self.encode(X).energy.double().mean())


# ---------------------------------------------------------------------------- lecture example


@dataclass(frozen=True)
class LectureExample:
    """The anti-collapse example: a model, its 2-D data, whether y is augmented to [1; y]."""

    model: SparseCoding
    data: Tensor
    augmented: bool

    @property
    def inputs(self) -> Tensor:
        """What the model is trained on: ẏ = [1; y] ``(N, 3)`` when augmented, else y ``(N, 2)``."""
        return augment_with_ones(self.data) if self.augmented else self.data

    def energy(self, points: Tensor) -> Tensor:
        """F(y) = E(y, ž₂) at 2-D points ``(N, 2)`` → ``(N,)`` (augmented first when the model is)."""
        points = points.to(self.model.dtype)
        inputs = augment_with_ones(points) if self.augmented else points
        return torch.as_tensor(self.model.energy(inputs))

    def reconstruction_cost(self, points: Tensor) -> Tensor:
        """C[y, Dec(ž₂)] = ‖y − Wž₂‖² alone, ``(N,)``."""
        points = points.to(self.model.dtype)
        inputs = augment_with_ones(points) if self.augmented else points
        codes = torch.as_tensor(self.model.transform(inputs))
        inputs = inputs.to(codes.device)
        return (inputs - codes @ self.model.dictionary_.T).pow(2).sum(dim=1)


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
        seed=seed,
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
