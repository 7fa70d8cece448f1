"""Contract tests: every Energy and every inference method meets the one contract.

A new model gets these tests by being listed once, in :data:`ENERGIES` (and, with its inference
methods, in :data:`INFERENCES`). Energies are built in float64 on small inputs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import Tensor

from ebmlab import free_energy
from ebmlab.energy import Energy, FiniteLatent, GridLatent
from ebmlab.inference import (
    Amortized,
    ExhaustiveSearch,
    GradientDescent,
    Inference,
    InferenceExtras,
    InferenceResult,
    ProximalGradient,
)
from ebmlab.kernels.proximal import sparse_energy
from ebmlab.models.collapse import LinearLatentEnergy
from ebmlab.models.conv_sparse_coding import ConvSparseCodingEnergy
from ebmlab.models.dae import DenoisingAutoencoder
from ebmlab.models.ebm2d import MLPEnergy
from ebmlab.models.ellipse import ConditionalEllipseEnergy, EllipseEnergy
from ebmlab.models.kmeans import KMeansEnergy
from ebmlab.models.lista import LISTA
from ebmlab.models.sparse_coding import SparseCodingEnergy
from ebmlab.models.vae import mlp_autoencoder, mlp_vae

BATCH = 5


def _randn(*shape: int, seed: int) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _dictionary(features: int = 3, atoms: int = 4, seed: int = 0) -> Tensor:
    w = _randn(features, atoms, seed=seed)
    return w / w.norm(dim=0)  # (D, K) unit atoms


def _filters() -> Tensor:
    f = _randn(2, 1, 2, 2, seed=3)
    return f / f.flatten(1).norm(dim=1)[:, None, None, None]  # (K, C, k, k)


# ------------------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Problem:
    """An energy in float64 with observations y ``(B, D)`` and inputs x ``(B, D_x)`` or None."""

    energy: Energy
    y: Tensor
    x: Tensor | None = None


def _ellipse(latent: str) -> Problem:
    return Problem(EllipseEnergy(w=(2.0, 1.5), latent=latent).double(), _randn(BATCH, 2, seed=1))


def _conditional_ellipse() -> Problem:
    x = torch.rand(BATCH, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    return Problem(ConditionalEllipseEnergy(seed=0).double(), _randn(BATCH, 2, seed=1), x)


def _vae() -> Problem:
    model = mlp_vae(4, hidden=(6,), latent=2, activation="tanh", seed=0).double()
    return Problem(model.energy, torch.rand(BATCH, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64))


def _vae_autoencoder() -> Problem:
    model = mlp_autoencoder(4, hidden=(6,), latent=2, activation="tanh", decoder="gaussian", seed=0).double()
    return Problem(model.energy, _randn(BATCH, 4, seed=4))


#: every Energy of ebmlab, built small: name → factory
ENERGIES: dict[str, Callable[[], Problem]] = {
    "ellipse-grid": lambda: _ellipse("grid"),
    "ellipse-real": lambda: _ellipse("real"),
    "conditional-ellipse": _conditional_ellipse,
    "kmeans": lambda: Problem(KMeansEnergy(_randn(4, 3, seed=5)), _randn(BATCH, 3, seed=6)),
    "linear-latent": lambda: Problem(LinearLatentEnergy(2, 2, ridge=0.5, seed=0).double(), _randn(BATCH, 2, seed=7)),
    "sparse-coding": lambda: Problem(SparseCodingEnergy(_dictionary(), 0.3), _randn(BATCH, 3, seed=8)),
    "conv-sparse-coding": lambda: Problem(ConvSparseCodingEnergy(_filters(), 0.2, (4, 4)), _randn(BATCH, 16, seed=9)),
    "denoising-autoencoder": lambda: Problem(
        DenoisingAutoencoder(3, hidden=8, latent=2, seed=0).double().as_energy(), _randn(BATCH, 3, seed=10)
    ),
    "mlp-2d": lambda: Problem(MLPEnergy(2, (8, 8), seed=0).double(), _randn(BATCH, 2, seed=11)),
    "vae": _vae,
    "vae-autoencoder": _vae_autoencoder,
}

FINITE = [name for name, build in ENERGIES.items() if isinstance(build().energy.latent, FiniteLatent)]


def _latents(energy: Energy, count: int, seed: int) -> Tensor:
    """``count`` latent values ``(count, d)``: drawn from a finite space, else Gaussian."""
    latent = energy.latent
    if isinstance(latent, FiniteLatent):
        values = latent.values(dtype=torch.float64)  # (K, d)
        index = torch.randint(latent.size, (count,), generator=torch.Generator().manual_seed(seed))
        return values[index]
    return _randn(count, latent.dim, seed=seed)


# ------------------------------------------------------------------------------------- energy contract


@pytest.mark.parametrize("name", ENERGIES)
def test_energy_returns_one_value_per_sample(name):
    problem = ENERGIES[name]()
    z = _latents(problem.energy, BATCH, seed=0)
    value = problem.energy(problem.y, z, problem.x)
    assert value.shape == (BATCH,)
    assert value.dtype == torch.float64
    assert bool(torch.isfinite(value).all())


@pytest.mark.parametrize("name", ENERGIES)
def test_pairwise_agrees_with_forward(name):
    """On every latent value where the latent is finite, on a few drawn values otherwise."""
    problem = ENERGIES[name]()
    energy, y, x = problem.energy, problem.y, problem.x
    latent = energy.latent
    z_values = latent.values(dtype=torch.float64) if isinstance(latent, FiniteLatent) else _latents(energy, 6, 1)
    table = energy.pairwise(y, z_values, x)  # (B, K)
    assert table.shape == (BATCH, z_values.shape[0])
    columns = [energy(y, z.expand(BATCH, -1), x) for z in z_values]
    torch.testing.assert_close(table, torch.stack(columns, dim=1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", FINITE)
def test_free_energy_tends_to_min_and_mean(name):
    """F_β → min_z E as β → ∞ and → mean_z E as β → 0, min ≤ F_β ≤ mean, and energy.free_energy agrees."""
    problem = ENERGIES[name]()
    energy, y, x = problem.energy, problem.y, problem.x
    table = energy.pairwise(y, energy.latent.values(dtype=torch.float64), x).detach()  # (B, K)
    low, mean = table.amin(dim=1), table.mean(dim=1)
    torch.testing.assert_close(free_energy(table, math.inf), low)
    torch.testing.assert_close(free_energy(table, 1e9), low, rtol=0, atol=1e-7)
    torch.testing.assert_close(free_energy(table, 1e-9), mean, rtol=1e-6, atol=1e-6)
    middle = free_energy(table, 1.0)
    assert bool((low - 1e-12 <= middle).all() and (middle <= mean + 1e-12).all())
    for beta in (math.inf, 1.0):
        torch.testing.assert_close(energy.free_energy(y, beta, x).detach(), free_energy(table, beta))


@pytest.mark.parametrize("name", ENERGIES)
def test_energy_gradients_match_finite_differences(name):
    """torch.autograd.gradcheck in float64 on y and, when there is one, on the latent."""
    problem = ENERGIES[name]()
    energy, x = problem.energy, problem.x
    y = problem.y[:3].clone().requires_grad_(True)
    z = _latents(energy, 3, seed=2)
    x = None if x is None else x[:3]
    if z.shape[1] == 0:
        assert torch.autograd.gradcheck(lambda y: energy(y, z, x), (y,))
    else:
        z.requires_grad_(True)
        assert torch.autograd.gradcheck(lambda y, z: energy(y, z, x), (y, z))


@pytest.mark.parametrize("name", list(ENERGIES))
def test_energy_states_its_data_dim(name):
    problem = ENERGIES[name]()
    assert problem.energy.data_dim == problem.y.shape[1]


# ---------------------------------------------------------------------------------- inference contract


def _lista_problem() -> Problem:
    return ENERGIES["sparse-coding"]()


def _lista() -> Amortized:
    return Amortized(LISTA(_dictionary(), alpha=0.3, n_layers=4))


def _vae_encoder_mean() -> tuple[Amortized, Problem]:
    model = mlp_vae(4, hidden=(6,), latent=2, activation="tanh", seed=0).double()
    y = torch.rand(BATCH, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    return Amortized(lambda y: model.encoder.posterior(y).mean), Problem(model.energy, y)


def _vae_encoder() -> tuple[Inference, Problem]:
    model = mlp_vae(4, hidden=(6,), latent=2, activation="tanh", seed=0).double()
    y = torch.rand(BATCH, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    return model.encoder, Problem(model.energy, y)


def _best_latent() -> tuple[Amortized, Problem]:
    problem = ENERGIES["linear-latent"]()
    return Amortized(problem.energy.best_latent), problem


#: every inference method on the energies it serves: name → factory of (method, problem)
INFERENCES: dict[str, Callable[[], tuple[Inference, Problem]]] = {
    "exhaustive/ellipse-grid": lambda: (ExhaustiveSearch(), ENERGIES["ellipse-grid"]()),
    "exhaustive/conditional-ellipse": lambda: (ExhaustiveSearch(block_size=7), ENERGIES["conditional-ellipse"]()),
    "exhaustive/kmeans": lambda: (ExhaustiveSearch(), ENERGIES["kmeans"]()),
    "exhaustive/denoising-autoencoder": lambda: (ExhaustiveSearch(), ENERGIES["denoising-autoencoder"]()),
    "exhaustive/mlp-2d": lambda: (ExhaustiveSearch(), ENERGIES["mlp-2d"]()),
    "gradient/ellipse-real": lambda: (GradientDescent(0.05, max_iter=3000), ENERGIES["ellipse-real"]()),
    "gradient/linear-latent": lambda: (GradientDescent(0.05, max_iter=3000), ENERGIES["linear-latent"]()),
    "gradient/sparse-coding": lambda: (GradientDescent(0.01, max_iter=3000), ENERGIES["sparse-coding"]()),
    "gradient/vae": lambda: (GradientDescent(0.05, max_iter=500), ENERGIES["vae"]()),
    "ista/sparse-coding": lambda: (ProximalGradient(accelerated=False), ENERGIES["sparse-coding"]()),
    "fista/sparse-coding": lambda: (ProximalGradient(), ENERGIES["sparse-coding"]()),
    "fista/conv-sparse-coding": lambda: (ProximalGradient(), ENERGIES["conv-sparse-coding"]()),
    "amortized/lista": lambda: (_lista(), _lista_problem()),
    "amortized/vae-mean": _vae_encoder_mean,
    "amortized/best-latent": _best_latent,
    "vae-encoder": _vae_encoder,
}


@pytest.mark.parametrize("name", INFERENCES)
def test_inference_result_contract(name):
    """One result type; its energy is the energy of its latent, detached."""
    method, problem = INFERENCES[name]()
    energy, y, x = problem.energy, problem.y, problem.x
    result = method(energy, y, x)
    assert isinstance(result, InferenceResult)
    assert result.latent.shape == (BATCH, energy.latent.dim)
    assert result.energy.shape == (BATCH,)
    assert not result.latent.requires_grad and not result.energy.requires_grad
    assert isinstance(result.iterations, int) and result.iterations >= 1
    assert isinstance(result.converged, bool)
    assert isinstance(result.extras, InferenceExtras)
    with torch.no_grad():
        torch.testing.assert_close(result.energy, energy(y, result.latent, x), rtol=1e-12, atol=1e-12)
    if result.extras.duality_gap is not None:
        assert result.extras.duality_gap.shape == (BATCH,)
        assert bool((result.extras.duality_gap >= 0).all())


@pytest.mark.parametrize("name", INFERENCES)
def test_inference_rejects_bad_observations(name):
    method, problem = INFERENCES[name]()
    energy, y, x = problem.energy, problem.y, problem.x
    with pytest.raises(ValueError, match=rf"y must be 2-D of shape \(B, D\).*got shape \({y.shape[1]},\)"):
        method(energy, y[0], x)
    if energy.data_dim is not None:
        wide = torch.cat([y, y[:, :1]], dim=1)
        expected = rf"expects y of shape \(B, D\) with D={y.shape[1]}, got y of shape \({BATCH}, {y.shape[1] + 1}\)"
        with pytest.raises(ValueError, match=expected):
            method(energy, wide, x)


def test_exhaustive_search_error_names_what_was_expected_and_given():
    energy = KMeansEnergy(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"ExhaustiveSearch: y must be 2-D of shape \(B, D\).*got shape \(2,\)"):
        ExhaustiveSearch()(energy, torch.zeros(2))
    with pytest.raises(ValueError, match=r"KMeansEnergy expects y of shape \(B, D\) with D=2, got y of shape \(4, 3\)"):
        ExhaustiveSearch()(energy, torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"x must be 2-D of shape \(B, D_x\) with B=4"):
        ExhaustiveSearch()(energy, torch.zeros(4, 2), torch.zeros(3, 1))


# ------------------------------------------------------------------------- agreement with exhaustive search


class ValuesLatent(FiniteLatent):
    """A finite latent listing given values ``(K, d)``: turns a real latent into a fine grid."""

    def __init__(self, values: Tensor) -> None:
        self._values = values
        self.dim = values.shape[1]

    @property
    def size(self) -> int:
        return self._values.shape[0]

    def values(self, device=None, dtype=torch.float32):
        return self._values.to(device=device, dtype=dtype)


def _on_grid(energy: Energy, latent: FiniteLatent) -> Energy:
    energy.latent = latent  # the same energy, searched exhaustively over a fine grid
    return energy


def test_no_method_beats_exhaustive_search_on_the_ellipse():
    """Gradient descent on the real latent ≥ exhaustive search on a fine grid (up to its resolution), and
    from the lecture's grid it reaches the fine grid's minimum."""
    problem = ENERGIES["ellipse-real"]()
    y = problem.y
    descent = GradientDescent(0.05, max_iter=5000, tol=1e-10)
    from_zero = descent(problem.energy, y)
    start = ExhaustiveSearch()(ENERGIES["ellipse-grid"]().energy, y).latent
    from_grid = descent(problem.energy, y, init=start)
    fine = ExhaustiveSearch()(_on_grid(problem.energy, GridLatent(0, 2 * math.pi, 2 * math.pi / 100_000)), y)
    assert bool((from_zero.energy >= fine.energy - 1e-8).all())
    torch.testing.assert_close(from_grid.energy, fine.energy, rtol=0, atol=1e-8)


def test_no_method_beats_exhaustive_search_on_the_linear_latent():
    problem = ENERGIES["linear-latent"]()
    energy, y = problem.energy, problem.y
    axis = torch.linspace(-4, 4, 801, dtype=torch.float64)
    grid = torch.cartesian_prod(axis, axis)  # (K, 2)
    closed_form = Amortized(energy.best_latent)(energy, y)
    descent = GradientDescent(0.05, max_iter=5000, tol=1e-10)(energy, y)
    brute = ExhaustiveSearch()(_on_grid(ENERGIES["linear-latent"]().energy, ValuesLatent(grid)), y)
    assert bool(closed_form.latent.abs().max() < 4)  # the minimiser lies inside the grid
    for result in (closed_form, descent):
        # the grid (step h = 1e-2) misses the minimum by at most λ_max(∇²E)·h²/4 < 1e-4 here
        assert bool((result.energy >= brute.energy - 1e-4).all())
        assert bool((result.energy <= brute.energy).all())
    torch.testing.assert_close(descent.energy, closed_form.energy, rtol=0, atol=1e-10)
    torch.testing.assert_close(closed_form.energy, energy.free_energy(y).detach(), rtol=1e-10, atol=1e-12)


def test_exhaustive_search_on_kmeans_is_the_assignment_step():
    problem = ENERGIES["kmeans"]()
    result = ExhaustiveSearch()(problem.energy, problem.y)
    assigned = problem.energy.assign(problem.y)
    torch.testing.assert_close(result.energy, assigned.energy)
    assert torch.equal(result.latent.argmax(dim=1), assigned.index)


def _lasso_brute_force(y: Tensor, w: Tensor, alpha: float) -> Tensor:
    """min_z ‖y − Wz‖² + α‖z‖₁ for one y ``(D,)`` by enumerating supports and signs (stationarity per orthant)."""
    atoms = w.shape[1]
    best = torch.zeros(atoms, dtype=y.dtype)
    best_energy = sparse_energy(y[None], w, best[None], alpha)[0]
    for size in range(1, atoms + 1):
        for support in itertools.combinations(range(atoms), size):
            ws = w[:, list(support)]  # (D, s)
            for signs in itertools.product((-1.0, 1.0), repeat=size):
                s = torch.tensor(signs, dtype=y.dtype)
                z = torch.linalg.lstsq(ws.T @ ws, ws.T @ y - alpha * s / 2).solution
                if not bool((torch.sign(z) == s).all()):
                    continue
                full = torch.zeros(atoms, dtype=y.dtype)
                full[list(support)] = z
                energy = sparse_energy(y[None], w, full[None], alpha)[0]
                if energy < best_energy:
                    best_energy, best = energy, full
    return best


SPARSE_METHODS = {
    "ista": (ProximalGradient(accelerated=False, max_iter=50_000, tol=1e-12), 1e-7),
    "fista": (ProximalGradient(max_iter=50_000, tol=1e-12), 1e-7),
    "fista-no-restart": (ProximalGradient(restart=False, max_iter=50_000, tol=1e-12), 1e-7),
    "gradient-descent": (GradientDescent(5e-3, max_iter=8000), 2e-3),  # a subgradient method: no exact zeros
    "amortized-lista": (None, None),
}


@pytest.mark.parametrize("method_name", SPARSE_METHODS)
def test_sparse_inference_agrees_with_brute_force_and_scikit_learn(method_name):
    """ISTA, FISTA and gradient descent reach the Lasso minimum (brute force and scikit-learn's Lasso);
    no method, LISTA included, goes below it."""
    from sklearn.linear_model import Lasso

    problem = ENERGIES["sparse-coding"]()
    energy, y = problem.energy, problem.y
    w, alpha = energy.dictionary.detach(), energy.alpha
    method, tolerance = SPARSE_METHODS[method_name]
    if method is None:
        method = _lista()
    result = method(energy, y)
    brute = torch.stack([_lasso_brute_force(row, w, alpha) for row in y])  # (B, K)
    minimum = sparse_energy(y, w, brute, alpha)  # (B,)
    assert bool((result.energy >= minimum - 1e-10).all())
    if tolerance is None:
        return
    torch.testing.assert_close(result.energy, minimum, rtol=0, atol=tolerance)
    features = y.shape[1]
    # Lasso: (1/(2n))‖y − Xw‖² + a‖w‖₁ with X = W, n = D rows: a = α/(2D) has the same minimiser
    lasso = Lasso(alpha=alpha / (2 * features), fit_intercept=False, tol=1e-14, max_iter=100_000)
    reference = np.stack([lasso.fit(w.numpy(), row.numpy()).coef_.copy() for row in y])
    np.testing.assert_allclose(brute.numpy(), reference, atol=1e-6)
    if isinstance(method, ProximalGradient):
        np.testing.assert_allclose(result.latent.numpy(), reference, atol=1e-6)
        assert result.converged
        assert bool((result.extras.duality_gap < 1e-9).all())


def test_proximal_gradient_matches_sparse_encode():
    """The inference object and the functional form run the same kernel."""
    from ebmlab.kernels.proximal import sparse_encode

    problem = ENERGIES["sparse-coding"]()
    energy, y = problem.energy, problem.y
    for accelerated, method in ((True, "fista"), (False, "ista")):
        result = ProximalGradient(accelerated=accelerated)(energy, y)
        functional = sparse_encode(y, energy.dictionary.detach(), energy.alpha, method=method)
        torch.testing.assert_close(result.latent, functional.codes)
        torch.testing.assert_close(result.extras.duality_gap, functional.duality_gap)
        assert (result.iterations, result.converged) == (functional.iterations, functional.converged)


def test_proximal_gradient_matches_conv_sparse_encode():
    from ebmlab.models.conv_sparse_coding import conv_sparse_encode

    problem = ENERGIES["conv-sparse-coding"]()
    energy, y = problem.energy, problem.y
    result = ProximalGradient(max_iter=500)(energy, y)
    maps = conv_sparse_encode(y.reshape(-1, *energy.image_shape), energy.filters.detach(), energy.alpha)
    torch.testing.assert_close(result.latent, maps.codes.flatten(1))
    torch.testing.assert_close(result.energy, maps.energy.detach())


def test_amortized_lista_is_unrolled_ista():
    """Untrained LISTA with T layers = T ISTA steps: Amortized(LISTA) and ProximalGradient(ISTA, T) agree."""
    problem = ENERGIES["sparse-coding"]()
    net = LISTA(problem.energy.dictionary.detach(), alpha=problem.energy.alpha, n_layers=6)
    amortized = Amortized(net)(net.as_energy(), problem.y)
    ista = ProximalGradient(accelerated=False, max_iter=6, tol=1e-15)(problem.energy, problem.y)
    torch.testing.assert_close(amortized.latent, ista.latent, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(amortized.energy, ista.energy, rtol=1e-6, atol=1e-6)


def test_proximal_gradient_needs_a_proximal_energy():
    problem = ENERGIES["linear-latent"]()
    with pytest.raises(TypeError, match="ProximalEnergy"):
        ProximalGradient()(problem.energy, problem.y)


def test_amortized_checks_the_encoder_output():
    problem = ENERGIES["sparse-coding"]()
    with pytest.raises(ValueError, match=r"encoder must return z of shape \(B, d\) = \(5, 4\), got \(5, 3\)"):
        Amortized(lambda y: y)(problem.energy, problem.y)
