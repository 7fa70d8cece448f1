"""Sparse inference: agreement with scikit-learn, between ISTA and FISTA, with brute force, KKT."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import ebmlab
from ebmlab.kernels.proximal import (
    duality_gap,
    ista_step,
    lipschitz_constant,
    soft_threshold,
    sparse_encode,
    sparse_energy,
    top2_refit,
)


def _problem(batch=20, features=10, atoms=15, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn(features, atoms, generator=generator, dtype=dtype)
    w = w / w.norm(dim=0)
    y = torch.randn(batch, features, generator=generator, dtype=dtype)
    return y, w


def _brute_force(y: torch.Tensor, w: torch.Tensor, alpha: float) -> torch.Tensor:
    """Exact lasso by enumerating supports and signs: on each orthant the energy is a quadratic."""
    atoms = w.shape[1]
    best_energy, best = sparse_energy(y[None], w, torch.zeros(1, atoms, dtype=y.dtype), alpha)[0], None
    best = torch.zeros(atoms, dtype=y.dtype)
    for size in range(1, atoms + 1):
        for support in itertools.combinations(range(atoms), size):
            ws = w[:, list(support)]  # (D, s)
            for signs in itertools.product((-1.0, 1.0), repeat=size):
                s = torch.tensor(signs, dtype=y.dtype)
                # stationarity on the orthant: 2 Wsᵀ(Ws z − y) + α s = 0
                try:
                    z = torch.linalg.solve(ws.T @ ws, ws.T @ y - alpha * s / 2)
                except RuntimeError:
                    continue
                if not bool((torch.sign(z) == s).all()):
                    continue
                full = torch.zeros(atoms, dtype=y.dtype)
                full[list(support)] = z
                energy = sparse_energy(y[None], w, full[None], alpha)[0]
                if energy < best_energy:
                    best_energy, best = energy, full
    return best


def test_soft_threshold_is_the_l1_prox():
    x = torch.linspace(-3, 3, 61, dtype=torch.float64)
    # prox: argmin_u ½(u − x)² + θ|u| found on a fine grid
    grid = torch.linspace(-4, 4, 80001, dtype=torch.float64)
    objective = 0.5 * (grid[None] - x[:, None]) ** 2 + 0.7 * grid.abs()[None]
    expected = grid[objective.argmin(dim=1)]
    torch.testing.assert_close(soft_threshold(x, 0.7), expected, atol=1e-4, rtol=0)
    torch.testing.assert_close(soft_threshold(x, torch.tensor(0.7, dtype=torch.float64)), soft_threshold(x, 0.7))


def test_lipschitz_constant_matches_eigvalsh():
    _, w = _problem(features=12, atoms=30)
    exact = 2 * torch.linalg.eigvalsh(w.T @ w).max().item()
    estimate = lipschitz_constant(w)
    assert exact <= estimate <= exact * 1.002


@pytest.mark.parametrize("method", ["ista", "fista"])
def test_matches_brute_force_on_tiny_problems(method):
    y, w = _problem(batch=4, features=3, atoms=4, seed=1)
    for alpha in (0.1, 0.5):
        result = sparse_encode(y, w, alpha, method=method, max_iter=20000, tol=1e-12)
        for b in range(len(y)):
            torch.testing.assert_close(result.codes[b], _brute_force(y[b], w, alpha), atol=1e-6, rtol=0)


def test_ista_and_fista_agree_and_fista_is_faster():
    y, w = _problem(batch=30, features=16, atoms=24, seed=2)
    ista = sparse_encode(y, w, 0.3, method="ista", max_iter=50000, tol=1e-10)
    fista = sparse_encode(y, w, 0.3, method="fista", max_iter=50000, tol=1e-10)
    assert ista.converged and fista.converged
    torch.testing.assert_close(ista.codes, fista.codes, atol=1e-6, rtol=0)
    assert fista.iterations < ista.iterations / 3


def test_ista_step_is_one_iteration_of_sparse_encode():
    y, w = _problem(seed=3)
    lipschitz = lipschitz_constant(w)
    step = ista_step(torch.zeros(len(y), w.shape[1], dtype=y.dtype), w.T @ w, y @ w, 0.2, lipschitz)
    result = sparse_encode(y, w, 0.2, method="ista", max_iter=1, lipschitz=lipschitz)
    torch.testing.assert_close(step, result.codes)


def test_matches_scikit_learn_with_half_alpha():
    from sklearn.decomposition import SparseCoder
    from sklearn.linear_model import Lasso

    y, w = _problem(batch=25, features=12, atoms=20, seed=4)
    alpha = 0.4
    ours = sparse_encode(y, w, alpha, max_iter=20000, tol=1e-12).codes.numpy()
    for algorithm in ("lasso_cd", "lasso_lars"):
        coder = SparseCoder(w.T.numpy(), transform_algorithm=algorithm, transform_alpha=alpha / 2)
        coder.set_params(transform_max_iter=10000)
        np.testing.assert_allclose(ours, coder.transform(y.numpy()), atol=1e-5)
    # Lasso minimises (1/(2n))‖y − Xw‖² + a‖w‖₁ with n = D rows: a = α/(2D) gives the same code
    d = y.shape[1]
    lasso = Lasso(alpha=alpha / (2 * d), fit_intercept=False, tol=1e-12, max_iter=100000)
    lasso.fit(w.numpy(), y[0].numpy())
    np.testing.assert_allclose(ours[0], lasso.coef_, atol=1e-6)
    # and the lecture's energy is exactly 2·D times Lasso's objective
    z = torch.from_numpy(lasso.coef_)[None]
    sklearn_objective = ((y[0] - w @ z[0]).pow(2).sum() / (2 * d) + alpha / (2 * d) * z.abs().sum()).item()
    assert sparse_energy(y[:1], w, z, alpha).item() == pytest.approx(2 * d * sklearn_objective, rel=1e-12)


def test_duality_gap_certifies_optimality():
    y, w = _problem(batch=40, features=10, atoms=25, seed=5)
    alpha = 0.3
    exact = sparse_encode(y, w, alpha, max_iter=50000, tol=1e-11)
    assert exact.converged
    assert exact.duality_gap.max() < 1e-9
    # KKT: 2Wᵀr = α sign(z) on the support, |2Wᵀr| ≤ α elsewhere
    correlation = 2 * (y - exact.codes @ w.T) @ w
    support = exact.codes != 0
    torch.testing.assert_close(correlation[support], alpha * exact.codes.sign()[support], atol=1e-6, rtol=0)
    assert correlation[~support].abs().max() <= alpha + 1e-6
    # a rough solution: the gap bounds its true sub-optimality from above
    rough = sparse_encode(y, w, alpha, max_iter=3)
    suboptimality = rough.energy - exact.energy
    assert (suboptimality >= -1e-12).all()
    assert (rough.duality_gap >= suboptimality - 1e-12).all()
    assert rough.duality_gap.max() > 1e-4
    torch.testing.assert_close(duality_gap(y, w, rough.codes, alpha), rough.duality_gap)


def test_energy_is_returned_and_codes_shapes():
    y, w = _problem(batch=7, features=5, atoms=9, dtype=torch.float32)
    result = sparse_encode(y, w, 0.1, block_size=3, tol=1e-10)  # several row blocks
    assert result.codes.shape == (7, 9) and result.energy.shape == (7,) and result.duality_gap.shape == (7,)
    torch.testing.assert_close(result.energy, sparse_energy(y, w, result.codes, 0.1))
    whole = sparse_encode(y, w, 0.1, tol=1e-10)
    torch.testing.assert_close(result.codes, whole.codes, atol=1e-5, rtol=0)
    assert isinstance(result, ebmlab.SparseCodeResult)
    with pytest.raises(AttributeError):
        result.iterations = 3  # frozen


def test_warm_start_converges_faster_and_to_the_same_codes():
    y, w = _problem(batch=10, seed=6)
    cold = sparse_encode(y, w, 0.2, tol=1e-10, max_iter=20000)
    warm = sparse_encode(y, w, 0.2, tol=1e-10, max_iter=20000, init=cold.codes)
    assert warm.iterations < cold.iterations
    torch.testing.assert_close(warm.codes, cold.codes, atol=1e-8, rtol=0)


def test_unrolled_fista_is_differentiable():
    y, w = _problem(batch=5, features=6, atoms=8, seed=7)
    w = w.clone().requires_grad_(True)
    result = sparse_encode(y, w, 0.2, max_iter=30, tol=1e-14)
    result.energy.sum().backward()
    assert w.grad is not None and torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0
    # at the optimum, dF/dW = −2 r zᵀ (envelope theorem); the unrolled gradient approaches it
    exact = sparse_encode(y, w.detach(), 0.2, max_iter=20000, tol=1e-13)
    envelope = -2 * (y - exact.codes @ w.detach().T).T @ exact.codes
    w.grad = None
    sparse_encode(y, w, 0.2, max_iter=400, tol=1e-14).energy.sum().backward()
    torch.testing.assert_close(w.grad, envelope, atol=1e-5, rtol=0)


def test_numpy_input_and_zero_alpha_is_least_squares():
    y, w = _problem(batch=6, features=8, atoms=5, seed=8)
    result = sparse_encode(y.numpy(), w, 0.0, max_iter=100000, tol=1e-13)
    expected = torch.linalg.lstsq(w, y.T).solution.T
    torch.testing.assert_close(result.codes, expected, atol=1e-6, rtol=0)


def test_top2_refit_is_least_squares_on_the_two_largest():
    y, w = _problem(batch=12, features=6, atoms=10, seed=9)
    codes = sparse_encode(y, w, 0.2).codes
    refit, energy = top2_refit(y, w, codes, 0.2)
    assert ((refit != 0).sum(dim=1) <= 2).all()
    for b in range(len(y)):
        index = codes[b].abs().topk(2).indices
        expected = torch.linalg.lstsq(w[:, index], y[b][:, None]).solution[:, 0]
        torch.testing.assert_close(refit[b, index], expected)
    torch.testing.assert_close(energy, sparse_energy(y, w, refit, 0.2))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": -0.1}, "alpha must be >= 0"),
        ({"alpha": float("nan")}, "alpha"),
        ({"method": "lars"}, "method must be one of"),
        ({"max_iter": 0}, "max_iter must be >= 1"),
        ({"tol": 0.0}, "tol must be > 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    y, w = _problem()
    arguments = {"alpha": 0.1, **kwargs}
    with pytest.raises(ValueError, match=message):
        sparse_encode(y, w, **arguments)


def test_bad_data():
    y, w = _problem(features=10, atoms=15)
    bad_w = w.clone()
    bad_w[:, 3] = 0
    with pytest.raises(ValueError, match="zero atom"):
        sparse_encode(y, bad_w, 0.1)
    bad_y = y.clone()
    bad_y[2, 1] = float("nan")
    with pytest.raises(ValueError, match="y contains 1 NaN"):
        sparse_encode(bad_y, w, 0.1)
    with pytest.raises(ValueError, match="y has D=9 features but the dictionary has D=10"):
        sparse_encode(y[:, :9], w, 0.1)
    with pytest.raises(ValueError, match="init must have shape"):
        sparse_encode(y, w, 0.1, init=torch.zeros(3, 15))
    with pytest.raises(ValueError, match="must be 2-D"):
        sparse_encode(y[0], w, 0.1)


def test_overflowing_data_is_an_error_naming_y_never_a_nan_gap():
    """y × 1e30 in float32: ‖y‖² overflows, so the energy would be inf and the gap NaN: a clear error instead."""
    y, w = _problem(batch=3, features=5, atoms=8, seed=9, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"y is too large for torch.float32: the largest squared norm"):
        sparse_encode(y * 1e30, w, 0.1)
    # in float64 the same data is representable: a finite result with a finite gap
    result = sparse_encode(y.double() * 1e30, w.double(), 0.1)
    assert bool(torch.isfinite(result.energy).all()) and bool(torch.isfinite(result.duality_gap).all())
    # and whatever happens, converged is never claimed with a gap or an energy that is not finite
    huge = sparse_encode(y * 1e17, w, 0.1)
    finite = bool(torch.isfinite(huge.energy).all()) and bool(torch.isfinite(huge.duality_gap).all())
    assert finite or not huge.converged


def test_overflowing_images_are_an_error_naming_images():
    from ebmlab.models.conv_sparse_coding import conv_sparse_encode

    filters = torch.nn.functional.normalize(torch.randn(2, 1, 2, 2, generator=torch.Generator().manual_seed(0)), dim=0)
    with pytest.raises(ValueError, match=r"images is too large for torch.float32"):
        conv_sparse_encode(torch.full((1, 1, 4, 4), 1e30), filters, 0.1)


def test_overflowing_dictionary_is_an_error_naming_the_dictionary():
    y, w = _problem(batch=2, features=4, atoms=6, seed=2, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"dictionary is too large for torch.float32"):
        sparse_encode(y, w * 1e25, 0.1)


def test_sparse_coding_energy_is_the_one_formula():
    """SparseCodingEnergy, sparse_energy and sparse_encode's energies are one formula."""
    from ebmlab.models.sparse_coding import SparseCodingEnergy

    y, w = _problem(batch=6, features=5, atoms=7, seed=3)
    result = sparse_encode(y, w, 0.2)
    energy = SparseCodingEnergy(w, 0.2)
    torch.testing.assert_close(energy(y, result.codes).detach(), result.energy)
    torch.testing.assert_close(energy.duality_gap(y, result.codes), result.duality_gap)
