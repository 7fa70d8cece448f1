"""Sparse coding inference: the lecture's second regularised latent-variable energy.

.. math:: E(y, z) = \\|y - W z\\|_2^2 + \\alpha \\|z\\|_1, \\qquad \\|w_j\\|_2 = 1

with the dictionary ``W`` of shape ``(D, K)`` whose columns are the atoms. The zero-temperature
free energy is :math:`F_\\infty(y) = \\min_z E(y, z) = E(y, \\check z)`.

**Conventions.** The lecture's energy has no ½ in front of the reconstruction. It is exactly twice
scikit-learn's per-sample objective :math:`\\tfrac12\\|y - Wz\\|^2 + a\\|z\\|_1` with ``a = α/2``
(``SparseCoder(transform_alpha=α/2)``, ``Lasso``/``LassoLars`` on ``X = W`` scaled by
``1/D``), so both have the same minimiser ž.

**Algorithms.** Proximal gradient: the smooth part has gradient :math:`2W^\\top(Wz - y)`, Lipschitz
with :math:`L = 2\\lambda_{\\max}(W^\\top W)` (power iteration), so one ISTA step is

.. math:: z \\leftarrow \\mathrm{soft}\\big(z - \\tfrac{2}{L} W^\\top (W z - y),\\ \\tfrac{\\alpha}{L}\\big).

FISTA adds Nesterov momentum with the gradient-based adaptive restart of O'Donoghue & Candès
(momentum is reset, per sample, whenever it points uphill). Batches are run as matrix products on
the Gram matrix :math:`G = W^\\top W` ``(K, K)`` and the correlations :math:`Y W` ``(B, K)``; the
same loop (:func:`proximal_gradient`) drives convolutional sparse coding with other operators.

**Optimality.** The Fenchel dual of :math:`\\min_z \\|y - Wz\\|^2 + \\alpha\\|z\\|_1` is
:math:`\\max_\\rho 2\\langle \\rho, y\\rangle - \\|\\rho\\|^2` subject to
:math:`\\|2 W^\\top \\rho\\|_\\infty \\le \\alpha`; scaling the residual :math:`r = y - Wz` into the
feasible set gives a certified duality gap ``E(y, z) - D(ρ) ≥ E(y, z) - F_∞(y) ≥ 0`` per sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .._validation import as_tensor, check_finite, check_int, check_matrix, check_positive

__all__ = [
    "SparseCodeResult",
    "check_atoms",
    "duality_gap",
    "gap_test",
    "ista_step",
    "lipschitz_constant",
    "power_iteration",
    "proximal_gradient",
    "soft_threshold",
    "sparse_encode",
    "sparse_energy",
    "top2_refit",
    "unit_norm_atoms",
]

METHODS = ("ista", "fista")
STOPS = ("gap", "change")


@dataclass(frozen=True)
class SparseCodeResult:
    """The outcome of sparse inference.

    Attributes:
        codes: ž, shape ``(B, K)`` (or ``(B, K, H', W')`` for convolutional codes).
        energy: E(y, ž) = F_∞(y), shape ``(B,)``.
        duality_gap: certified upper bound on E(y, ž) − F_∞(y), shape ``(B,)``.
        iterations: iterations run (the largest over row blocks).
        converged: whether every row block met the stopping rule (never when an energy or gap is not finite).

    Example:
        >>> result = sparse_encode(torch.tensor([[1.0, 0.0]]), torch.eye(2), alpha=0.5)
        >>> result.codes, result.energy, result.converged
        (tensor([[0.7500, 0.0000]]), tensor([0.4375]), True)
    """

    codes: Tensor
    energy: Tensor
    duality_gap: Tensor
    iterations: int
    converged: bool


def soft_threshold(x: Tensor, threshold: float | Tensor) -> Tensor:
    """The proximal operator of ``threshold·‖·‖₁``: sign(x)·max(|x| − θ, 0).

    Written as ``x − clamp(x, −θ, θ)``, which is differentiable in x and θ almost everywhere.

    Shape:
        x ``(*)``; threshold a float or a tensor broadcastable to x → ``(*)``.

    Example:
        >>> soft_threshold(torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0]), 1.0)
        tensor([-1.,  0.,  0.,  0.,  2.])
    """
    if isinstance(threshold, Tensor):
        return x - torch.maximum(torch.minimum(x, threshold), -threshold)
    return x - x.clamp(-threshold, threshold)


def _atom_norms(w: Tensor, atom_dim: int) -> Tensor:
    return w.detach().movedim(atom_dim, 0).flatten(1).norm(dim=1)  # (K,)


def unit_norm_atoms(w: Tensor, atom_dim: int = 1) -> Tensor:
    """The lecture's renormalisation: every atom scaled to unit Euclidean norm, ‖w_j‖₂ = 1.

    Atoms lie along ``atom_dim``: the columns of a dictionary ``(D, K)`` (``atom_dim=1``) or the
    first axis of a filter bank ``(K, C, k, k)`` (``atom_dim=0``). A zero atom stays zero.

    Example:
        >>> import torch
        >>> unit_norm_atoms(torch.tensor([[3.0, 0.0], [4.0, 2.0]]))
        tensor([[0.6000, 0.0000],
                [0.8000, 1.0000]])
    """
    norms = w.movedim(atom_dim, 0).flatten(1).norm(dim=1).clamp_min(torch.finfo(w.dtype).tiny)  # (K,)
    shape = [1] * w.ndim
    shape[atom_dim] = -1
    return w / norms.reshape(shape)


def check_atoms(w: Tensor, name: str, atom_dim: int = 1) -> None:
    """Raise a ValueError naming ``name`` and the first zero atoms when an atom has (near) zero norm.

    Example:
        >>> import torch
        >>> check_atoms(torch.tensor([[1.0, 0.0], [0.0, 0.0]]), "dictionary")
        Traceback (most recent call last):
        ...
        ValueError: dictionary has 1 zero atom(s) (atoms [1]); atoms must be non-zero (the lecture's have unit norm)
    """
    zero = (_atom_norms(w, atom_dim) <= 1e-12).nonzero().flatten()
    if len(zero):
        raise ValueError(
            f"{name} has {len(zero)} zero atom(s) (atoms {zero[:5].tolist()}); atoms must be non-zero "
            "(the lecture's have unit norm)"
        )


def sparse_energy(y: Tensor, dictionary: Tensor, codes: Tensor, alpha: float) -> Tensor:
    """E(y, z) = ‖y − Wz‖² + α‖z‖₁ per sample (the lecture's energy, no ½).

    Shape:
        y ``(B, D)``, dictionary ``(D, K)``, codes ``(B, K)`` → ``(B,)``.

    Example:
        >>> W = torch.eye(2)
        >>> sparse_energy(torch.tensor([[1.0, 2.0]]), W, torch.tensor([[1.0, 1.0]]), alpha=0.5)
        tensor([2.])
    """
    return _lasso_energy(y - codes @ dictionary.T, codes, alpha)


def _lasso_energy(residual: Tensor, codes: Tensor, alpha: float) -> Tensor:
    """‖r‖² + α‖z‖₁ per sample from the residual r = y − Dec(z): the one copy of the sparse energy's
    formula, for dense codes ``(B, K)`` and convolutional code maps ``(B, K, H', W')`` alike.

    Shape:
        residual ``(B, *)``, codes ``(B, *)`` → ``(B,)``.
    """
    return residual.flatten(1).pow(2).sum(dim=1) + alpha * codes.flatten(1).abs().sum(dim=1)


def power_iteration(
    apply: Callable[[Tensor], Tensor],
    start: Tensor,
    *,
    max_iter: int = 500,
    tol: float = 1e-7,
) -> float:
    """Largest eigenvalue of a symmetric positive semi-definite linear operator.

    .. math:: v \\leftarrow A v / \\|A v\\|, \\qquad \\lambda \\approx \\|A v\\|

    Args:
        apply: ``v ↦ A v`` (any shape, kept).
        start: a starting vector, not orthogonal to the top eigenvector (a random one).
        max_iter: iteration budget.
        tol: stop when λ changes by less than ``tol`` relative.

    Example:
        >>> A = torch.diag(torch.tensor([3.0, 1.0, 0.5]))
        >>> round(power_iteration(lambda v: A @ v, torch.ones(3)), 4)
        3.0
    """
    with torch.no_grad():
        v = start / start.norm().clamp_min(torch.finfo(start.dtype).tiny)
        value = 0.0
        for _ in range(max_iter):
            w = apply(v)
            new = float(w.norm())
            if new == 0.0:
                return 0.0
            v = w / new
            if abs(new - value) <= tol * new:
                return new
            value = new
    return value


def lipschitz_constant(dictionary: Tensor, *, seed: int = 0, margin: float = 1e-3) -> float:
    """L = 2·λ_max(WᵀW), the Lipschitz constant of ∇_z ‖y − Wz‖², by power iteration on WᵀW.

    Power iteration approaches λ_max from below, so the result is raised by ``margin`` (relative)
    to keep the step 1/L safe.

    Shape:
        dictionary ``(D, K)``.

    Example:
        >>> round(lipschitz_constant(torch.eye(3), margin=0.0), 4)  # λ_max(I) = 1
        2.0
    """
    gram = dictionary.T @ dictionary  # (K, K)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    start = torch.rand(gram.shape[0], generator=generator, dtype=gram.dtype).to(gram.device) + 0.5
    return 2.0 * power_iteration(lambda v: gram @ v, start) * (1.0 + margin)


def ista_step(codes: Tensor, gram: Tensor, correlation: Tensor, alpha: float, lipschitz: float) -> Tensor:
    """One ISTA step for the lecture's energy, batched.

    .. math:: z \\leftarrow \\mathrm{soft}\\big(z - \\tfrac{2}{L}(z G - y W),\\ \\alpha / L\\big)

    where ``G = WᵀW`` and ``yW = (Wᵀy)ᵀ``; ``(2/L)(zG − yW)`` is the gradient step on ‖y − Wz‖².

    Shape:
        codes ``(B, K)``, gram ``(K, K)``, correlation ``(B, K)`` → ``(B, K)``.

    Example:
        >>> z = ista_step(torch.zeros(1, 2), torch.eye(2), torch.tensor([[1.0, 0.1]]), alpha=0.4, lipschitz=2.0)
        >>> z  # one step with W = I solves the problem: soft(y, α/2)
        tensor([[0.8000, 0.0000]])
    """
    gradient = 2.0 * (codes @ gram - correlation)  # (B, K)
    return soft_threshold(codes - gradient / lipschitz, alpha / lipschitz)


class _DenseGradientStep:
    """The gradient step v ↦ v − (1/L)∇_v‖y − Wv‖² = v − (2/L)(vG − yW) of the dense sparse energy.

    Built once per dictionary, then :meth:`for_rows` gives the step for one block of observations.
    It costs one ``(b, K)(K, K)`` product in the Gram form, or two thin products
    v + (2/L)(y − vWᵀ)W in the residual form: fewer multiply-adds when D < K/2.
    """

    def __init__(self, dictionary: Tensor, lipschitz: float) -> None:
        features, atoms = dictionary.shape
        self.step = 2.0 / lipschitz
        self.dictionary = dictionary  # (D, K)
        self.residual_form = 2 * features < atoms
        if self.residual_form:
            self.rows = dictionary.T.contiguous()  # (K, D)
        else:
            identity = torch.eye(atoms, dtype=dictionary.dtype, device=dictionary.device)
            self.propagation = identity - self.step * (dictionary.T @ dictionary)  # (K, K)

    def for_rows(self, y: Tensor) -> Callable[[Tensor], Tensor]:
        """The step for observations y ``(b, D)``: codes ``(b, K)`` → ``(b, K)``."""
        step, w = self.step, self.dictionary
        if self.residual_form:
            rows = self.rows

            def residual_step(v: Tensor) -> Tensor:
                residual = torch.addmm(y, v, rows, alpha=-1.0)  # (b, D): y − vWᵀ
                return torch.addmm(v, residual, w, alpha=step)  # (b, K)

            return residual_step
        drive, propagation = step * (y @ w), self.propagation  # (b, K), (K, K)

        def gram_step(v: Tensor) -> Tensor:
            return torch.addmm(drive, v, propagation)  # (b, K)

        return gram_step


def proximal_gradient(
    forward_step: Callable[[Tensor], Tensor],
    init: Tensor,
    threshold: float,
    *,
    accelerated: bool = True,
    restart: bool = True,
    max_iter: int = 1000,
    tol: float = 1e-6,
    check_every: int = 5,
    done: Callable[[Tensor], Tensor] | None = None,
) -> tuple[Tensor, int, bool]:
    """ISTA (``accelerated=False``) or FISTA on f(z) + (θ/s)‖z‖₁ for a batch of independent problems.

    .. math::
        z_{k+1} = \\mathrm{soft}(v_k - s\\,\\nabla f(v_k),\\ \\theta), \\quad
        t_{k+1} = \\tfrac{1 + \\sqrt{1 + 4 t_k^2}}{2}, \\quad
        v_{k+1} = z_{k+1} + \\tfrac{t_k - 1}{t_{k+1}} (z_{k+1} - z_k)

    With ``restart``, a sample's momentum is reset (t = 1) whenever
    :math:`\\langle v_k - z_{k+1}, z_{k+1} - z_k\\rangle > 0` (O'Donoghue & Candès, 2015).
    Stops when, every ``check_every`` iterations, each sample's relative change
    :math:`\\|z_{k+1} - z_k\\| / \\|z_{k+1}\\|` is below ``tol`` — or, when ``done`` is given,
    when ``done(z_{k+1})`` (a per-sample boolean ``(B,)``, e.g. a duality-gap test) holds for all.

    The iterations are plain tensor operations, so with autograd enabled the result is
    differentiable through the unrolled loop.

    Args:
        forward_step: the gradient step ``v ↦ v − s∇f(v)`` with s = 1/L, same shape as v (a
            callable, so that each model can fuse it: the dense case is one ``addmm``).
        init: z₀, shape ``(B, *)``.
        threshold: θ = s·λ, the threshold of the proximal step for the penalty λ‖z‖₁.

    Returns:
        ``(codes, iterations, converged)``.

    Example:
        >>> y = torch.tensor([[3.0, -0.2]])
        >>> z, n, ok = proximal_gradient(lambda v: v - 0.5 * 2 * (v - y), torch.zeros(1, 2), 0.5)
        >>> z, ok  # min ‖z − y‖² + ‖z‖₁ is soft(y, 1/2)
        (tensor([[2.5000, 0.0000]]), True)
    """
    batch = init.shape[0]
    flat_shape = (batch, -1)
    extra = (1,) * (init.ndim - 1)
    z = init
    v = init
    t = torch.ones((batch, *extra), dtype=init.dtype, device=init.device)
    momentum = torch.zeros_like(t)  # (t_{k-1} − 1)/t_k, so that v_k − z_k = momentum · (z_k − z_{k−1})
    moved_before = None  # z_k − z_{k−1}
    tiny = torch.finfo(init.dtype).tiny
    iterations, converged = 0, False
    for iterations in range(1, max_iter + 1):
        z_new = _shrink(forward_step(v), threshold)
        if accelerated:
            moved = z_new - z
            moved_sq = torch.linalg.vector_norm(moved.reshape(flat_shape), dim=1).square()  # (B,), no temporary
            if restart:
                # ⟨v − z_new, moved⟩ = momentum·⟨moved_before, moved⟩ − ‖moved‖² (v − z = momentum·moved_before)
                slope = -moved_sq
                if moved_before is not None:
                    cross = torch.linalg.vecdot(moved_before.reshape(flat_shape), moved.reshape(flat_shape))  # (B,)
                    slope = slope + momentum.reshape(batch) * cross
                t = torch.where((slope > 0).reshape(t.shape), torch.ones_like(t), t)
            t_new = 0.5 * (1.0 + torch.sqrt(1.0 + 4.0 * t * t))
            momentum = (t - 1.0) / t_new
            v = torch.addcmul(z_new, momentum, moved)
            t, moved_before = t_new, moved
        else:
            v = z_new
        if iterations % check_every == 0 or iterations == max_iter:
            with torch.no_grad():
                if done is not None:
                    if bool(done(z_new.detach()).all()):
                        z = z_new
                        converged = True
                        break
                    z = z_new
                    continue
                if accelerated:
                    change = moved_sq.detach().sqrt()  # (B,)
                else:
                    change = (z_new - z).reshape(flat_shape).norm(dim=1)  # (B,)
                size = z_new.reshape(flat_shape).norm(dim=1).clamp_min(tiny)
                if bool((change <= tol * size).all()):
                    z = z_new
                    converged = True
                    break
        z = z_new
    return z + 0.0, iterations, converged  # + 0.0: softshrink leaves −0.0 where it zeroes a negative entry


def _shrink(x: Tensor, threshold: float | Tensor) -> Tensor:
    """:func:`soft_threshold`; one fused kernel (softshrink) for a float threshold."""
    return soft_threshold(x, threshold) if isinstance(threshold, Tensor) else F.softshrink(x, threshold)


def _dual_gap(y: Tensor, residual: Tensor, correlation: Tensor, codes: Tensor, alpha: float, energy: Tensor) -> Tensor:
    """Gap between the primal energy and the dual value at the scaled residual (see module docstring).

    ``correlation`` is Wᵀr per sample, any shape with batch first.
    """
    batch = y.shape[0]
    peak = 2.0 * correlation.reshape(batch, -1).abs().amax(dim=1)  # (B,)  ‖2Wᵀr‖∞
    if alpha > 0:
        scale = torch.clamp(alpha / peak.clamp_min(torch.finfo(y.dtype).tiny), max=1.0)
    else:
        scale = (peak == 0).to(y.dtype)
    y_flat, r_flat = y.reshape(batch, -1), residual.reshape(batch, -1)
    rho_y = (r_flat * y_flat).sum(dim=1)  # (B,)
    rho_rho = r_flat.pow(2).sum(dim=1)  # (B,)
    dual = 2.0 * scale * rho_y - scale * scale * rho_rho
    return (energy - dual).clamp_min(0.0)


def duality_gap(y: Tensor, dictionary: Tensor, codes: Tensor, alpha: float) -> Tensor:
    """Certified sub-optimality of the codes: E(y, z) − D(ρ) ≥ E(y, z) − min_z E(y, z) ≥ 0.

    .. math::
        D(\\rho) = 2\\langle \\rho, y \\rangle - \\|\\rho\\|^2, \\quad
        \\rho = r \\min\\big(1, \\tfrac{\\alpha}{\\|2 W^\\top r\\|_\\infty}\\big), \\quad r = y - Wz

    It is zero exactly at the minimiser (the KKT conditions 2Wᵀr ∈ α∂‖z‖₁).

    Shape:
        y ``(B, D)``, dictionary ``(D, K)``, codes ``(B, K)`` → ``(B,)``.

    Example:
        >>> y = torch.tensor([[1.0, 0.1]])
        >>> duality_gap(y, torch.eye(2), torch.tensor([[0.8, 0.0]]), alpha=0.4)  # the minimiser
        tensor([0.])
    """
    residual = y - codes @ dictionary.T  # (B, D)
    return _dual_gap(y, residual, residual @ dictionary, codes, alpha, _lasso_energy(residual, codes, alpha))


def _dense_gap_test(y: Tensor, dictionary: Tensor, alpha: float, tol: float) -> Callable[[Tensor], Tensor]:
    rows = dictionary.T.contiguous()  # (K, D)
    return gap_test(y, lambda z: z @ rows, lambda r: r @ dictionary, alpha, tol)


def gap_test(
    y: Tensor, decode: Callable[[Tensor], Tensor], correlate: Callable[[Tensor], Tensor], alpha: float, tol: float
) -> Callable[[Tensor], Tensor]:
    """The ``done`` test of :func:`proximal_gradient` for ``stop="gap"``: duality gap ≤ ``tol``·‖y_b‖².

    ``decode`` maps codes to reconstructions Wz (shape of y), ``correlate`` a residual to Wᵀr (shape
    of the codes); the returned test maps codes ``(b, *)`` to a boolean per sample ``(b,)``.

    Example:
        >>> y = torch.tensor([[1.0, 0.1]])
        >>> test = gap_test(y, lambda z: z, lambda r: r, alpha=0.4, tol=1e-6)  # W = I
        >>> test(torch.tensor([[0.8, 0.0]])).tolist(), test(torch.zeros(1, 2)).tolist()
        ([True], [False])
    """
    bound = tol * y.reshape(y.shape[0], -1).pow(2).sum(dim=1)  # (b,)

    def test(codes: Tensor) -> Tensor:
        residual = y - decode(codes)
        energy = _lasso_energy(residual, codes, alpha)
        return _dual_gap(y, residual, correlate(residual), codes, alpha, energy) <= bound

    return test


def _check_energy_range(y: Tensor, name: str) -> None:
    """Reject observations whose energy ‖y_b‖² (the energy at z = 0) overflows y's dtype.

    Energies, residuals and duality gaps of such rows would be inf or NaN. The check costs one
    reduction; only when the bound D·max|y|² is too large are the row norms computed in float64.
    """
    if y.numel() == 0:
        return
    limit = torch.finfo(y.dtype).max / 16  # room for the dual's 2⟨ρ, y⟩ and the FISTA overshoot
    peak = float(y.detach().abs().max())
    if peak * peak * y[0].numel() <= limit:
        return
    largest = float(y.detach().flatten(1).double().pow(2).sum(dim=1).max())
    if largest > limit:
        raise ValueError(
            f"{name} is too large for {y.dtype}: the largest squared norm ‖{name}_b‖² = {largest:.3g} exceeds "
            f"{limit:.3g} (finfo.max / 16), so energies overflow; scale {name} down (codes scale with it: "
            f"ž(s·y, α) = s·ž(y, α/s)) or use float64"
        )


def _validate(y: object, dictionary: object, alpha: float) -> tuple[Tensor, Tensor, float]:
    alpha = check_positive(alpha, "alpha", strict=False)
    if not math.isfinite(alpha):
        raise ValueError(f"alpha must be finite, got alpha={alpha}")
    w = as_tensor(dictionary, "dictionary")
    if w.ndim != 2:
        raise ValueError(f"dictionary must be 2-D of shape (D, K) with atoms as columns, got shape {tuple(w.shape)}")
    y_t = as_tensor(y, "y", dtype=w.dtype, device=w.device)
    check_matrix(y_t, "y")
    if y_t.shape[1] != w.shape[0]:
        raise ValueError(
            f"y has D={y_t.shape[1]} features but the dictionary has D={w.shape[0]} rows "
            f"(y is (B, D), dictionary is (D, K)); got y {tuple(y_t.shape)}, dictionary {tuple(w.shape)}"
        )
    check_finite(y_t, "y")
    check_finite(w, "dictionary")
    _check_energy_range(y_t, "y")
    check_atoms(w, "dictionary")
    return y_t, w, alpha


def sparse_encode(
    y: object,
    dictionary: object,
    alpha: float,
    *,
    method: str = "fista",
    max_iter: int = 1000,
    tol: float = 1e-4,
    stop: str = "gap",
    init: object | None = None,
    restart: bool = True,
    lipschitz: float | None = None,
    block_size: int = 4096,
) -> SparseCodeResult:
    """ž = argmin_z ‖y − Wz‖² + α‖z‖₁ for every row of y, by ISTA or FISTA.

    The lecture's energy (no ½) is twice scikit-learn's sparse-coding objective at
    ``transform_alpha = α/2``; both have the same ž. Atoms need not have unit norm here (the
    estimators renormalise them), but none may be zero.

    Args:
        y: observations ``(B, D)`` (numpy or torch).
        dictionary: W ``(D, K)``, atoms as columns.
        alpha: α ≥ 0.
        method: ``"fista"`` (with adaptive restart) or ``"ista"``.
        max_iter: iteration budget per row block.
        tol: the stopping rule's tolerance (see ``stop``).
        stop: ``"gap"`` (default) stops a block once every sample's duality gap (:func:`duality_gap`,
            a certified bound on E(y, z) − min E) is at most ``tol``·‖y_b‖², i.e. ``tol`` relative to
            the energy of the zero code — scikit-learn's convention for its coordinate descent
            (whose objective is half of this energy, so the same ``tol`` is twice as strict here);
            ``"change"`` stops on each sample's relative change ‖z_{k+1} − z_k‖ / ‖z_{k+1}‖ ≤ ``tol``.
        init: warm start ``(B, K)``; zeros by default.
        restart: FISTA's adaptive restart.
        lipschitz: L = 2λ_max(WᵀW); computed by power iteration when None.
        block_size: rows solved together (bounds memory; each block stops on its own).

    Returns:
        :class:`SparseCodeResult` with codes ``(B, K)``, energies and duality gaps ``(B,)``.
        Tensors are on the dictionary's device; with autograd enabled and y or W requiring
        gradients, they are differentiable through the unrolled iterations.

    Raises:
        ValueError: bad shapes or values, naming the argument; in particular y whose energy ‖y_b‖²
            overflows its dtype (scale it down or use float64), or a dictionary whose Lipschitz
            constant overflows.

    Shape:
        y ``(B, D)``, dictionary ``(D, K)``, init ``(B, K)`` → codes ``(B, K)``, energy ``(B,)``.

    Example:
        >>> W = torch.tensor([[1.0, 0.0, 0.6], [0.0, 1.0, 0.8]])
        >>> W = W / W.norm(dim=0)
        >>> result = sparse_encode(torch.tensor([[0.6, 0.8]]), W, alpha=0.1)
        >>> result.codes.round(decimals=2), result.converged  # the third atom is y itself
        (tensor([[0.0000, 0.0000, 0.9500]]), True)
        >>> bool(result.duality_gap.max() <= 1e-4)  # the default stop: gap ≤ tol·‖y‖², ‖y‖ = 1
        True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got method={method!r}")
    if stop not in STOPS:
        raise ValueError(f"stop must be one of {STOPS}, got stop={stop!r}")
    check_int(max_iter, "max_iter")
    check_int(block_size, "block_size")
    check_positive(tol, "tol")
    y_t, w, alpha = _validate(y, dictionary, alpha)
    batch, atoms = y_t.shape[0], w.shape[1]
    if init is not None:
        z0 = as_tensor(init, "init", dtype=w.dtype, device=w.device)
        if tuple(z0.shape) != (batch, atoms):
            raise ValueError(f"init must have shape (B, K) = {(batch, atoms)}, got {tuple(z0.shape)}")
        check_finite(z0, "init")
    else:
        z0 = torch.zeros(batch, atoms, dtype=w.dtype, device=w.device)
    if lipschitz is None:
        lipschitz = lipschitz_constant(w.detach())
        if not math.isfinite(lipschitz):
            raise ValueError(
                f"dictionary is too large for {w.dtype}: L = 2·λ_max(WᵀW) overflows (largest atom norm "
                f"{float(w.detach().norm(dim=0).max()):.3g}); scale the dictionary down (the lecture's atoms "
                "have unit norm)"
            )
    else:
        lipschitz = check_positive(lipschitz, "lipschitz")
    gradient_step = _DenseGradientStep(w, lipschitz)
    blocks, most, all_converged = [], 0, True
    for start in range(0, batch, block_size):
        rows = slice(start, min(start + block_size, batch))
        codes, iterations, converged = proximal_gradient(
            gradient_step.for_rows(y_t[rows]),
            z0[rows],
            alpha / lipschitz,
            accelerated=method == "fista",
            restart=restart,
            max_iter=max_iter,
            tol=tol,
            done=_dense_gap_test(y_t[rows].detach(), w.detach(), alpha, tol) if stop == "gap" else None,
        )
        blocks.append(codes)
        most = max(most, iterations)
        all_converged = all_converged and converged
    codes = torch.cat(blocks) if len(blocks) > 1 else blocks[0]  # (B, K)
    residual = y_t - codes @ w.T  # (B, D)
    energy = _lasso_energy(residual, codes, alpha)  # (B,)
    with torch.no_grad():
        gap = _dual_gap(y_t, residual, residual @ w, codes, alpha, energy)
        finite = bool(torch.isfinite(energy).all()) and bool(torch.isfinite(gap).all())
    return SparseCodeResult(codes, energy, gap, most, all_converged and finite)


def top2_refit(y: Tensor, dictionary: Tensor, codes: Tensor, alpha: float) -> tuple[Tensor, Tensor]:
    """The lecture's top-2 rule: keep the two largest |ž_j|, refit them by least squares.

    .. math::
        t = \\mathrm{top2}(\\check z), \\quad
        \\check z_2 = \\arg\\min_{z:\\ \\mathrm{supp}(z) \\subseteq t} \\|y - W z\\|^2, \\quad
        F = E(y, \\check z_2) = \\|y - W\\check z_2\\|^2 + \\alpha\\|\\check z_2\\|_1

    Parallel atoms are handled with a pseudo-inverse of the 2 × 2 Gram matrix.

    Shape:
        y ``(B, D)``, dictionary ``(D, K)`` with K ≥ 2, codes ``(B, K)`` → ``(ž₂ (B, K), F (B,))``.

    Example:
        >>> W = torch.eye(3)
        >>> z2, F = top2_refit(torch.tensor([[3.0, 2.0, 1.0]]), W, torch.tensor([[2.0, 1.0, 0.5]]), alpha=0.0)
        >>> z2, F
        (tensor([[3., 2., 0.]]), tensor([1.]))
    """
    if dictionary.shape[1] < 2:
        raise ValueError(f"the top-2 rule needs K >= 2 atoms, got dictionary of shape {tuple(dictionary.shape)}")
    index = codes.abs().topk(2, dim=1).indices  # (B, 2)
    atoms = dictionary.T[index]  # (B, 2, D)
    gram2 = atoms @ atoms.transpose(1, 2)  # (B, 2, 2)
    rhs = (atoms @ y.unsqueeze(2)).squeeze(2)  # (B, 2)
    values = (torch.linalg.pinv(gram2, hermitian=True) @ rhs.unsqueeze(2)).squeeze(2)  # (B, 2)
    refit = torch.zeros_like(codes).scatter(1, index, values)  # (B, K)
    return refit, sparse_energy(y, dictionary, refit, alpha)
