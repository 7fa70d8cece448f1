"""RBM: free energy, log Z (exact, AIS), pseudo-likelihood, Gibbs sampling and training, against
brute-force enumeration and scikit-learn's BernoulliRBM."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import os
import signal

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.neural_network import BernoulliRBM

import ebmlab
from ebmlab.models.rbm import (
    RBM,
    BernoulliVisible,
    GaussianVisible,
    RBMDivergedError,
    RBMEnergy,
    RBMParameters,
    RBMSettings,
    RBMVelocity,
    ais_log_partition,
    data_visible_bias,
    exact_log_partition,
    gibbs_chain,
    pseudo_likelihood,
    rbm_energy,
    rbm_free_energy,
    reconstruction_error,
)
from ebmlab.models.rbm.training import _contrastive_epoch
from ebmlab.recipes.rbm import RBMConfig, RBMRecipe
from ebmlab.samplers import DivergedChainError
from ebmlab.samplers.gibbs import bernoulli
from ebmlab.training import Diverged, Interrupted, RunDirectory, flatten_state, train


def _states(n: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)  # (2^n, n)


def _params(dim: int, hidden: int, *, scale: float = 1.0, visible=None, seed: int = 0) -> RBMParameters:
    return RBMParameters.random(
        dim, hidden, scale=scale, bias_scale=0.5, visible=visible, seed=seed, dtype=torch.float64
    )


def _step(params, v, chain, *, learning_rate, generator, n_steps=1, momentum=0.0, weight_decay=0.0, velocity=None):
    """One minibatch of the fused epoch (the library's one CD update): the chains' next states ``(S, K)``."""
    recipe = (momentum, weight_decay, velocity)
    with torch.no_grad():
        return _contrastive_epoch(params, [v], [learning_rate], chain, n_steps, generator, *recipe)[0]


def _energy_table(params: RBMParameters, v: torch.Tensor) -> torch.Tensor:
    """E(v, h) for every row of v against every hidden state, ``(B, 2^K)``, by brute force."""
    hs = _states(params.n_hidden)
    columns = [rbm_energy(params, v, h.expand(len(v), -1)) for h in hs]
    return torch.stack(columns, dim=1)


@pytest.mark.parametrize("visible", [BernoulliVisible(), GaussianVisible(1.0), GaussianVisible(0.5)])
def test_free_energy_is_core_free_energy_minus_k_log2(visible):
    params = _params(5, 4, visible=visible)
    v = _states(5) if visible.discrete else torch.randn(7, 5, generator=torch.Generator().manual_seed(1)).double()
    table = _energy_table(params, v)  # (B, 16)
    brute = -torch.logsumexp(-table, dim=1)
    assert torch.allclose(rbm_free_energy(params, v), brute, atol=1e-10)
    # ebmlab.free_energy normalises by |Z| = 2^K: F_beta=1 = F_RBM + K log 2
    assert torch.allclose(ebmlab.free_energy(table, beta=1.0), brute + 4 * math.log(2), atol=1e-10)
    # the RBM as an ebmlab.Energy: latent h in {0, 1}^K, the core's free energy over its 2^K values
    energy = RBMEnergy(params)
    assert isinstance(energy, ebmlab.Energy) and energy.latent.size == 16 and energy.latent.is_finite
    assert torch.allclose(energy.free_energy(v, beta=1.0), brute + 4 * math.log(2), atol=1e-10)
    assert torch.allclose(energy.free_energy(v, beta=math.inf), table.min(dim=1).values, atol=1e-10)
    hs = energy.latent.values(dtype=torch.float64)  # (16, 4)
    generic = ebmlab.Energy.pairwise(energy, v, hs)  # the contract's forward, row by row
    assert torch.allclose(energy.pairwise(v, hs), generic, atol=1e-10)
    assert energy(v, hs[:1].expand(len(v), -1)).shape == (len(v),)


@pytest.mark.parametrize(("dim", "hidden"), [(6, 4), (4, 7), (8, 8)])
def test_exact_log_partition_matches_enumerating_both_layers(dim, hidden):
    params = _params(dim, hidden)
    table = _energy_table(params, _states(dim))  # (2^D, 2^K)
    assert math.isclose(float(exact_log_partition(params)), float(torch.logsumexp(-table.flatten(), 0)), rel_tol=1e-12)
    # chunked enumeration gives the same
    assert math.isclose(float(exact_log_partition(params, block=3)), float(exact_log_partition(params)), rel_tol=1e-12)


def test_gaussian_log_partition_matches_quadrature():
    params = _params(1, 3, visible=GaussianVisible(0.7))
    grid = torch.linspace(-15, 15, 60001, dtype=torch.float64).unsqueeze(1)  # (N, 1)
    log_density = -rbm_free_energy(params, grid)  # (N,)
    step = float(grid[1] - grid[0])
    quadrature = float(torch.logsumexp(log_density, 0)) + math.log(step)
    assert math.isclose(float(exact_log_partition(params)), quadrature, abs_tol=1e-6)


def test_exact_log_partition_refuses_large_models():
    with pytest.raises(ValueError, match="K=30 hidden and D=25 visible"):
        exact_log_partition(RBMParameters.random(25, 30))


@pytest.mark.parametrize("visible", [BernoulliVisible(), GaussianVisible(1.0)])
def test_ais_agrees_with_exact_log_partition(visible):
    params = RBMParameters.random(30, 12, scale=0.3, bias_scale=0.3, visible=visible, seed=3)
    exact = float(exact_log_partition(params))
    data = (torch.rand(200, 30, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    ais = ais_log_partition(params, data if visible.discrete else None, n_chains=100, n_betas=1000, seed=0)
    # stated tolerance: 0.1 nats, and within 4 standard errors + 0.02
    assert abs(ais.log_partition - exact) < 0.1
    assert abs(ais.log_partition - exact) < 4 * ais.log_partition_std + 0.02
    assert ais.log_weights.shape == (100,)


@pytest.mark.parametrize("visible", [BernoulliVisible(), GaussianVisible(0.5)])
def test_reconstruction_error_is_the_naive_mean_field_mse(visible):
    params = _params(5, 3, visible=visible)
    v = _states(5)[::3]  # (11, 5)
    p_hidden = torch.sigmoid(
        params.hidden_bias + (v / (visible.sigma if not visible.discrete else 1.0)) @ params.weight.t()
    )
    top_down = p_hidden @ params.weight  # (B, D)
    if visible.discrete:
        mean = torch.sigmoid(params.visible_bias + top_down)
    else:
        mean = params.visible_bias + visible.sigma * top_down
    expected = ((mean - v) ** 2).sum() / v.numel()
    got = reconstruction_error(params, v)
    assert got.ndim == 0 and torch.allclose(got, expected, atol=1e-12)


def test_pseudo_likelihood_matches_sklearn_score_samples():
    rng = np.random.RandomState(0)
    X = (rng.rand(40, 12) < 0.4).astype(np.float64)
    sk = BernoulliRBM(n_components=5, random_state=7)
    sk.components_ = rng.normal(0, 1, (5, 12))
    sk.intercept_hidden_ = rng.normal(0, 1, 5)
    sk.intercept_visible_ = rng.normal(0, 1, 12)
    expected = sk.score_samples(X)
    params = RBMParameters(
        torch.from_numpy(sk.components_),
        torch.from_numpy(sk.intercept_visible_),
        torch.from_numpy(sk.intercept_hidden_),
    )
    flips = torch.from_numpy(np.random.RandomState(7).randint(0, 12, 40))  # what sklearn draws
    assert np.allclose(pseudo_likelihood(params, torch.from_numpy(X), flips).numpy(), expected, atol=1e-10)
    ours = RBM(5, random_state=7).initialize(12)
    ours.params_ = RBMParameters(*(t.float() for t in (params.weight, params.visible_bias, params.hidden_bias)))
    assert np.allclose(ours.score_samples(X.astype(np.float32)), expected, atol=1e-4)
    assert np.allclose(ours.score_samples(X), expected, atol=1e-4) and ours.score_samples(X).dtype == np.float64
    fractional = rng.rand(40, 12)  # scikit-learn scores any data in [0, 1], flipping v_i to 1 - v_i
    assert np.allclose(ours.score_samples(fractional), sk.score_samples(fractional), atol=1e-4)


def test_pseudo_likelihood_is_the_mean_over_flipped_units_and_brute_force():
    params = _params(6, 3)
    v = _states(6)[::5]  # (13, 6)
    full = pseudo_likelihood(params, v, block=4)
    each = [pseudo_likelihood(params, v, torch.full((len(v),), i)) for i in range(6)]
    assert torch.allclose(full, torch.stack(each).mean(0), atol=1e-10)
    # brute force: sum_i log p(v_i | v_-i) from free energies
    brute = torch.zeros(len(v), dtype=torch.float64)
    for i in range(6):
        flipped = v.clone()
        flipped[:, i] = 1 - flipped[:, i]
        brute += torch.nn.functional.logsigmoid(rbm_free_energy(params, flipped) - rbm_free_energy(params, v))
    assert torch.allclose(full, brute, atol=1e-10)


@pytest.mark.parametrize("transposed", [False, True])
def test_random_state_bernoulli_is_scikit_learns_draw(transposed):
    # the CPU training's draws: p[rng.uniform(size=p.shape) < p] = 1, in p's logical order, from a RandomState
    p = torch.linspace(0.0, 1.0, 11).repeat_interleave(4000).view(11, 4000)  # (11, 4000) rows of p from 0 to 1
    probabilities = p.t().contiguous().t() if transposed else p  # a transposed-strides view, as the chains get
    samples = bernoulli(probabilities, np.random.RandomState(0), out=torch.empty(11, 4000 + 3)[:, :4000])
    expected = np.random.RandomState(0).uniform(size=(11, 4000)) < p.numpy().astype(np.float64)
    assert samples.dtype == torch.float32 and np.array_equal(samples.numpy(), expected.astype(np.float32))
    means = samples.mean(dim=1)
    assert torch.allclose(means, p[:, 0], atol=4 * 0.5 / 4000**0.5)  # 4 standard errors at most
    assert means[0] == 0.0 and means[-1] == 1.0  # p = 0 never, p = 1 always


def test_gibbs_chain_samples_the_exact_distribution():
    params = _params(3, 2, scale=1.5, seed=2)
    states = _states(3)
    exact = torch.softmax(-rbm_free_energy(params, states), 0)  # (8,)
    result = gibbs_chain(
        params, torch.zeros(4000, 3, dtype=torch.float64), 30, generator=torch.Generator().manual_seed(0)
    )
    codes = (result.samples @ torch.tensor([4.0, 2.0, 1.0], dtype=torch.float64)).long()
    empirical = torch.bincount(codes, minlength=8).double() / 4000
    # 4 standard errors of a proportion estimated from 4000 independent chains
    assert torch.all((empirical - exact).abs() < 4 * torch.sqrt(exact * (1 - exact) / 4000) + 1e-3)
    assert torch.allclose(result.energy, rbm_free_energy(params, result.samples))
    assert result.steps == 30


class _ReplayRandom:
    """A stand-in for numpy's RandomState that hands sklearn the uniforms torch drew."""

    def __init__(self, arrays):
        self.arrays = list(arrays)

    def uniform(self, size):
        array = self.arrays.pop(0)
        assert array.shape == tuple(size)
        return array


def test_pcd_update_is_sklearns_update():
    rng = np.random.RandomState(1)
    X = (rng.rand(10, 8) < 0.5).astype(np.float64)
    sk = BernoulliRBM(n_components=4, learning_rate=0.3)
    sk.components_ = rng.normal(0, 0.5, (4, 8))
    sk.intercept_hidden_ = rng.normal(0, 0.5, 4)
    sk.intercept_visible_ = rng.normal(0, 0.5, 8)
    sk.h_samples_ = (rng.rand(10, 4) < 0.5).astype(np.float64)
    params = RBMParameters(
        torch.from_numpy(sk.components_.copy()),
        torch.from_numpy(sk.intercept_visible_.copy()),
        torch.from_numpy(sk.intercept_hidden_.copy()),
    )
    chain = torch.from_numpy(sk.h_samples_.copy())
    generator = torch.Generator().manual_seed(5)
    replay = torch.Generator().manual_seed(5)
    uniforms = [
        torch.rand(10, 8, generator=replay, dtype=torch.float64),
        torch.rand(10, 4, generator=replay, dtype=torch.float64),
    ]
    next_chain = _step(params, torch.from_numpy(X), chain, learning_rate=0.3, generator=generator)
    sk._fit(X, _ReplayRandom(u.numpy() for u in uniforms))
    assert np.allclose(params.weight.numpy(), sk.components_, atol=1e-12)
    assert np.allclose(params.hidden_bias.numpy(), sk.intercept_hidden_, atol=1e-12)
    assert np.allclose(params.visible_bias.numpy(), sk.intercept_visible_, atol=1e-12)
    assert np.array_equal(next_chain.numpy(), sk.h_samples_)


def _two_prototypes(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.RandomState(seed)
    prototypes = np.array([[1] * 5 + [0] * 5, [0] * 5 + [1] * 5], dtype=np.float32)
    rows = prototypes[rng.randint(0, 2, n)]
    noise = rng.rand(n, 10) < 0.05
    return np.where(noise, 1 - rows, rows).astype(np.float32)


@pytest.mark.parametrize(("persistent", "matmul_dtype"), [(True, "float32"), (False, "float32"), (True, "bfloat16")])
def test_training_raises_the_exact_log_likelihood(persistent, matmul_dtype):
    X = _two_prototypes()
    gains, finals = [], []
    for seed in range(5):  # one seed's end point is noisy at this learning rate (seen from -8.7 to -2.7 nats)
        model = RBM(
            6,
            learning_rate=0.1,
            batch_size=20,
            n_iter=30,
            persistent=persistent,
            matmul_dtype=matmul_dtype,
            random_state=seed,
        )
        model.initialize(10)
        before = float(model.log_likelihood(X).mean())
        model.fit(X)
        after = float(model.log_likelihood(X).mean())
        gains.append(after - before)
        finals.append(after)
    # the data's entropy bound: 2 prototypes, 5% flips per unit -> about log 2 + 10 H(0.05) = 2.68 nats;
    # a uniform model scores 10 log 2 = 6.93 nats
    assert float(np.median(gains)) > 2.0
    assert float(np.median(finals)) > -5.0
    assert model.transform(X).shape == (400, 6)
    assert model.gibbs(X).shape == (400, 10)


def test_gaussian_rbm_trains_on_standardised_digits():
    from sklearn.datasets import load_digits

    data = load_digits().data[:500]
    std = data.std(0)
    X = ((data - data.mean(0)) / np.where(std > 0, std, 1)).astype(np.float32)
    model = RBM(16, learning_rate=0.03, batch_size=50, n_iter=0, visible=GaussianVisible(), random_state=0)
    model.fit(X)
    before = float(model.log_likelihood(X).mean())
    model.set_params(n_iter=20).fit(X)
    after = float(model.log_likelihood(X).mean())
    assert after > before + 3.0  # nats per example, exact log Z by enumerating 2^16 hidden states
    sample = model.sample(8, 50, seed=0)
    assert sample.samples.shape == (8, 64) and torch.isfinite(sample.energy).all()


def test_divergence_names_epoch_and_learning_rate_and_restores_parameters():
    rng = np.random.RandomState(0)
    X = (rng.randn(100, 6) * 1e3).astype(np.float32)
    model = RBM(4, learning_rate=1e6, batch_size=10, visible=GaussianVisible(), random_state=0).initialize(6)
    start = model.components_.clone()
    with pytest.raises(FloatingPointError, match=r"epoch 1, minibatch \d+ of 10.*learning_rate=1000000.0") as info:
        model.fit_epoch(X, epoch=1)
    assert torch.equal(model.components_, start)
    assert isinstance(info.value, RBMDivergedError)
    assert (info.value.epoch, info.value.n_batches, info.value.learning_rate) == (1, 10, 1e6)
    assert 1 <= info.value.minibatch <= 10


def test_bad_input_errors():
    model = RBM(3, random_state=0)
    with pytest.warns(UserWarning, match=r"\[0, 1\]"):  # scikit-learn's BernoulliRBM accepts any real data
        model.fit(np.full((4, 2), 2.0))
    with pytest.raises(ValueError, match="2D"):
        model.fit(np.zeros(4))
    with pytest.raises(ValueError, match="2D"):
        model.fit(torch.zeros(4))
    with pytest.raises(ValueError, match="Complex data not supported"):
        model.fit(torch.zeros(4, 2, dtype=torch.complex64))
    with pytest.raises(ValueError, match="NaN"):
        model.fit(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="not fitted"):
        RBM().transform(np.zeros((1, 2)))
    fitted = RBM(3, n_iter=1, random_state=0).fit(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="2 features"):
        fitted.transform(np.zeros((1, 5)))
    with pytest.raises(TypeError, match="BernoulliVisible"):
        pseudo_likelihood(
            RBMParameters.random(2, 1, visible=GaussianVisible()), torch.zeros(1, 2), torch.zeros(1).long()
        )
    with pytest.raises(ValueError, match=r"flip_index entries must lie in \[0, D\) = \[0, 2\)"):
        pseudo_likelihood(RBMParameters.random(2, 1), torch.full((1, 2), 0.5), torch.full((1,), 2))
    with pytest.raises(ValueError, match="sigma"):
        GaussianVisible(sigma=-1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        RBM(learning_rate=0.0).fit(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="biases must have shapes"):
        RBMParameters(torch.zeros(2, 3), torch.zeros(2), torch.zeros(2))


def test_divergent_gibbs_chain_names_the_step():
    params = RBMParameters(torch.full((4, 3), 1e38), torch.zeros(3), torch.full((4,), 50.0), GaussianVisible())
    with pytest.raises(DivergedChainError, match="step 1 of 5"):  # a FloatingPointError
        gibbs_chain(params, torch.zeros(2, 3), 5, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_in_numpy_out_in_the_callers_dtype(dtype):
    X = _two_prototypes(60).astype(dtype)
    model = RBM(4, batch_size=20, n_iter=2, random_state=0).fit(X)
    for name, shape in (("components_", (4, 10)), ("intercept_hidden_", (4,)), ("intercept_visible_", (10,))):
        value = getattr(model, name)
        assert isinstance(value, np.ndarray) and value.dtype == dtype and value.shape == shape, name
    for method, shape in (("transform", (60, 4)), ("score_samples", (60,)), ("gibbs", (60, 10))):
        value = getattr(model, method)(X)
        assert isinstance(value, np.ndarray) and value.dtype == dtype and value.shape == shape, method
    assert model.log_likelihood(X).dtype == dtype
    as_list = RBM(4, batch_size=20, n_iter=2, random_state=0).fit(X.tolist())  # array-likes: scikit-learn's float64
    assert as_list.transform(X.tolist()).dtype == np.float64 and as_list.components_.dtype == np.float64
    same = np.allclose(as_list.components_, model.components_, atol=1e-6)
    assert same  # the same float32 training whatever the input's precision


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_torch_in_torch_out_in_the_callers_dtype(dtype):
    X = torch.from_numpy(_two_prototypes(60)).to(dtype)
    model = RBM(4, batch_size=20, n_iter=2, random_state=0).fit(X)
    assert isinstance(model.components_, torch.Tensor) and model.components_.dtype == dtype
    assert model.components_.shape == (4, 10) and model.intercept_hidden_.dtype == dtype
    for method in ("transform", "score_samples", "gibbs", "log_likelihood"):
        value = getattr(model, method)(X)
        assert isinstance(value, torch.Tensor) and value.dtype == dtype, method
    numpy_fit = RBM(4, batch_size=20, n_iter=2, random_state=0).fit(X.numpy())
    assert np.allclose(numpy_fit.components_, model.components_.numpy(), atol=1e-6)  # one training, two views
    assert model.params_.weight.dtype == torch.float32  # the training state: float32 on the device


def test_fit_from_a_random_state_is_scikit_learns_fit():
    # a RandomState is drawn from as scikit-learn draws (init, then per minibatch v⁻ and the chains' h): the same
    # model, to float32 rounding, over uneven minibatches (47 rows, batch 10: scikit-learn's slices 10, ..., 10, 7)
    X = _two_prototypes(47).astype(np.float64)
    settings = dict(batch_size=10, n_iter=3, learning_rate=0.2)
    ours = RBM(5, **settings, random_state=np.random.RandomState(3)).fit(X)
    theirs = BernoulliRBM(n_components=5, **settings, random_state=np.random.RandomState(3)).fit(X)
    for name in ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_"):
        assert getattr(ours, name).dtype == np.float64
        assert np.allclose(getattr(ours, name), getattr(theirs, name), atol=1e-6), name
    assert np.array_equal(ours.gibbs(X), theirs.gibbs(X))  # gibbs draws h (B, K) then v from the same instance
    assert np.array_equal(ours.gibbs(X), theirs.gibbs(X))  # and keeps drawing from it


def test_an_int_seed_draws_scikit_learns_init_gibbs_and_flips():
    # an int seeds the fast SFC64 training draws, but W's initial draw, gibbs and score_samples are scikit-learn's
    X = _two_prototypes(47).astype(np.float64)
    start = RBM(5, n_iter=0, random_state=4).fit(X)
    assert np.allclose(start.components_, BernoulliRBM(n_components=5, n_iter=0, random_state=4).fit(X).components_)
    ours = RBM(5, batch_size=10, n_iter=2, random_state=4).fit(X)
    theirs = BernoulliRBM(n_components=5, random_state=4)
    theirs.components_, theirs.intercept_hidden_ = ours.components_.copy(), ours.intercept_hidden_.copy()
    theirs.intercept_visible_, theirs.n_features_in_ = ours.intercept_visible_.copy(), X.shape[1]
    assert np.allclose(ours.transform(X), theirs.transform(X), atol=1e-6)
    assert np.allclose(ours.score_samples(X), theirs.score_samples(X), atol=1e-4)  # the same flipped units
    assert np.array_equal(ours.gibbs(X), theirs.gibbs(X))


def test_partial_fit_is_scikit_learns_one_update_per_call():
    X = _two_prototypes(60).astype(np.float64)
    ours = RBM(4, batch_size=10, random_state=np.random.RandomState(5))
    theirs = BernoulliRBM(n_components=4, batch_size=10, random_state=np.random.RandomState(5))
    for chunk in np.array_split(X, 4):  # 15 rows each: one update from 15 rows and the 10 chains
        ours.partial_fit(chunk)
        theirs.partial_fit(chunk)
    assert np.allclose(ours.components_, theirs.components_, atol=1e-6)
    assert np.array_equal(ours.h_samples_, theirs.h_samples_)
    assert np.array_equal(ours.gibbs(X[:5]), theirs.gibbs(X[:5]))  # both from random_state_


def test_verbose_prints_scikit_learns_line_per_epoch(capsys):
    import re

    from ebmlab import BernoulliRBM as EbmlabBernoulliRBM

    RBM(3, n_iter=2, verbose=1, random_state=0).fit(_two_prototypes(30))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(re.fullmatch(r"\[RBM\] Iteration \d, pseudo-likelihood = -?\d+\.\d\d, "
                                                r"time = \d+\.\d\ds", line) for line in lines), lines
    model = EbmlabBernoulliRBM(n_components=3, n_iter=1, verbose=True, random_state=0).fit(_two_prototypes(30))
    assert capsys.readouterr().out.startswith("[BernoulliRBM] Iteration 1, pseudo-likelihood = ")
    assert model.get_feature_names_out().tolist() == ["bernoullirbm0", "bernoullirbm1", "bernoullirbm2"]
    assert RBM(2, n_iter=1).fit(_two_prototypes(30)).get_feature_names_out().tolist() == ["rbm0", "rbm1"]


def test_sparse_rows_are_densified_a_block_at_a_time(monkeypatch):
    from scipy import sparse

    from ebmlab.models.rbm import estimator

    X = _two_prototypes(50)
    dense = RBM(3, batch_size=10, n_iter=2, random_state=0).fit(X)
    monkeypatch.setattr(estimator, "_BLOCK_ROWS", 7)  # transform and score_samples in blocks of 7 rows
    for container in (sparse.csr_matrix, sparse.csc_array, sparse.lil_matrix):
        model = RBM(3, batch_size=10, n_iter=2, random_state=0).fit(container(X))
        assert np.array_equal(model.components_, dense.components_) and model.components_.dtype == np.float32
        assert np.allclose(model.transform(container(X)), dense.transform(X), atol=1e-7)
        assert np.allclose(model.score_samples(container(X)), dense.score_samples(X), atol=1e-5)
    from_means = RBM(3, batch_size=10, n_iter=2, init_visible_bias="data", random_state=0)  # b from the column means
    reference = RBM(3, batch_size=10, n_iter=2, init_visible_bias="data", random_state=0).fit(X)
    assert np.allclose(from_means.fit(sparse.csr_matrix(X)).intercept_visible_, reference.intercept_visible_, atol=1e-6)


def test_sparse_input_is_densified():
    from scipy import sparse

    X = _two_prototypes(40)
    dense = RBM(3, batch_size=10, n_iter=1, random_state=0).fit(X)
    from_sparse = RBM(3, batch_size=10, n_iter=1, random_state=0).fit(sparse.csr_matrix(X))
    assert np.array_equal(dense.components_, from_sparse.components_)
    assert np.allclose(from_sparse.transform(sparse.csr_matrix(X)), dense.transform(X))


# ----------------------------------------------------------------------------- the "quality" recipe


def _random_problem(seed: int = 3):
    rng = np.random.RandomState(seed)
    X = torch.from_numpy((rng.rand(12, 9) < 0.4).astype(np.float64))  # (B, D)
    params = RBMParameters.random(9, 5, scale=0.5, bias_scale=0.3, seed=seed, dtype=torch.float64)
    chain = torch.from_numpy((rng.rand(12, 5) < 0.5).astype(np.float64))  # (S, K)
    return X, params, chain


def _copy(params: RBMParameters) -> RBMParameters:
    return RBMParameters(params.weight.clone(), params.visible_bias.clone(), params.hidden_bias.clone())


def _flat(params: RBMParameters) -> torch.Tensor:
    return torch.cat([params.weight.flatten(), params.visible_bias, params.hidden_bias])


def _plain_cd_step(params, v, chain, rate, n_steps, generator, momentum=0.0, weight_decay=0.0, velocity=None):
    """The textbook CD-k / PCD-k update, written out plainly: the oracle of the one fused implementation.

    Draws with ``generator`` in the order and layout the implementation uses with a torch generator:
    uniforms (S, D) for each v ~ p(v | h) (normals for Gaussian units), (S, K) for each h ~ p(h | v).
    """
    units, scale = params.visible, params.visible.scale
    weight, b, c = params.weight, params.visible_bias, params.hidden_bias

    def p_hidden(v):  # p(h = 1 | v) = σ(c + W v/s), (S, K)
        return torch.sigmoid(c + (v / scale) @ weight.t())

    def draw(p):
        return (torch.rand(p.shape, generator=generator, dtype=p.dtype) < p).to(p.dtype)

    def sample_visible(h):  # Bernoulli σ(b + Wᵀh) or Gaussian N(b + σ Wᵀh, σ²), (S, D)
        if units.discrete:
            return draw(torch.sigmoid(b + h @ weight))
        return b + scale * (h @ weight + torch.randn(h.shape[0], b.shape[0], generator=generator, dtype=b.dtype))

    def bias_statistic(v):  # Σ_B ∂(−F)/∂b
        return v.sum(0) if units.discrete else ((v - b) / scale**2).sum(0)

    h_pos = p_hidden(v)
    h = draw(h_pos) if chain is None else chain
    for step in range(n_steps):
        v_neg = sample_visible(h)
        h_neg = p_hidden(v_neg)
        if step < n_steps - 1:
            h = draw(h_neg)
    next_chain = draw(h_neg)
    size = v.shape[0]
    gradients = [
        (h_pos.t() @ (v / scale) - h_neg.t() @ (v_neg / scale)) / size - weight_decay * weight,
        (bias_statistic(v) - bias_statistic(v_neg)) / size,
        (h_pos.sum(0) - h_neg.sum(0)) / size,
    ]
    for index, (theta, gradient) in enumerate(zip((weight, b, c), gradients, strict=True)):
        if velocity is None:
            theta.add_(rate * gradient)
        else:
            velocity[index].mul_(momentum).add_(rate * gradient)
            theta.add_(velocity[index])
    return next_chain


@pytest.mark.parametrize(
    ("persistent", "n_steps", "momentum", "weight_decay", "dtype", "visible"),
    [
        (True, 1, 0.0, 0.0, torch.float64, BernoulliVisible()),
        (True, 2, 0.0, 1e-2, torch.float64, BernoulliVisible()),
        (False, 1, 0.0, 0.0, torch.float64, BernoulliVisible()),
        (False, 3, 0.5, 1e-2, torch.float64, BernoulliVisible()),
        (True, 1, 0.5, 0.0, torch.float64, BernoulliVisible()),
        (True, 1, 0.0, 0.0, torch.float32, BernoulliVisible()),
        (True, 2, 0.5, 1e-2, torch.float64, GaussianVisible(0.7)),  # uneven minibatches: the (B − S) b term
        (False, 1, 0.0, 0.0, torch.float64, GaussianVisible(1.0)),
    ],
)
def test_the_one_contrastive_update_is_the_textbook_update(persistent, n_steps, momentum, weight_decay, dtype, visible):
    # the estimator's epoch (biases folded into one packed matrix) against the plain update per minibatch
    rng = np.random.RandomState(3)
    X = torch.from_numpy((rng.rand(47, 9) < 0.4).astype(np.float64)).to(dtype)  # 47 rows: uneven minibatches
    if not visible.discrete:
        X = torch.from_numpy(rng.randn(47, 9)).to(dtype)
    start = RBMParameters.random(9, 5, scale=0.5, bias_scale=0.3, visible=visible, seed=1, dtype=dtype)
    chain = torch.from_numpy((rng.rand(10, 5) < 0.5).astype(np.float64)).to(dtype) if persistent else None
    batches = list(torch.tensor_split(X, 5))  # sizes 10, 10, 9, 9, 9
    rates = [0.3, 0.25, 0.2, 0.15, 0.1]
    plain, fused = _copy(start), _copy(start)
    velocities = [RBMVelocity.zeros_like(start) if momentum else None for _ in range(2)]
    generator, expected = torch.Generator().manual_seed(7), chain
    for batch, rate in zip(batches, rates, strict=True):
        recipe = (momentum, weight_decay, velocities[0])
        expected = _plain_cd_step(plain, batch, expected, rate, n_steps, generator, *recipe)
        expected = expected if persistent else None
    with torch.no_grad():
        generator, recipe = torch.Generator().manual_seed(7), (momentum, weight_decay, velocities[1])
        got, bad = _contrastive_epoch(fused, batches, rates, chain, n_steps, generator, *recipe)
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    assert bad == 0
    assert torch.allclose(_flat(fused), _flat(plain), atol=tolerance)
    if persistent:
        assert torch.equal(got, expected)  # the same draws in the same order
    if momentum:
        for mine, theirs in zip(velocities[1], velocities[0], strict=True):
            assert torch.allclose(mine, theirs, atol=tolerance)


def test_bfloat16_products_round_the_update_only():
    # saturated probabilities (|logits| > 20) make the draws certain, so both runs draw the same states; the
    # bfloat16 update then differs from the float32 one by the rounding of Ŵ, ŝ and the products (2^-8)
    rng = np.random.RandomState(5)
    X = torch.from_numpy((rng.rand(20, 9) < 0.4).astype(np.float32))
    start = RBMParameters.random(9, 5, scale=40.0, bias_scale=0.0, seed=2)
    chain = torch.from_numpy((rng.rand(20, 5) < 0.5).astype(np.float32))
    runs = []
    for dtype in (None, torch.bfloat16):
        params = _copy(start)
        with torch.no_grad():
            got, _ = _contrastive_epoch(params, [X], [0.5], chain, 1, np.random.RandomState(1), matmul_dtype=dtype)
        runs.append((params, got))
    (exact, chain_exact), (rounded, chain_rounded) = runs
    assert torch.equal(chain_exact, chain_rounded)  # the same draws
    step_exact, step_rounded = _flat(exact) - _flat(start), _flat(rounded) - _flat(start)
    assert step_exact.abs().max() > 0.1  # a real update: η/B Σ over 40 rows
    assert torch.allclose(step_rounded, step_exact, atol=0.5 / 20 * 40 * 2**-8)
    assert not torch.equal(step_rounded, step_exact)  # and the products did run in bfloat16


def test_bernoulli_divergence_names_the_first_bad_minibatch():
    # the estimator checks the parameters once per epoch and replays it to name the minibatch; the reference
    # is the first contrastive step after which the parameters are not finite (float32 overflow here)
    X = _two_prototypes(20)
    model = RBM(6, learning_rate=3e38, batch_size=2, random_state=0).initialize(10)  # diverges at minibatch 3
    start, source = _copy(model.params_), copy.deepcopy(model.generator_).bit_generator  # the epoch's draws
    params, chain, first = _copy(start), model.chains_.clone(), None
    with torch.no_grad():
        for index, batch in enumerate(torch.from_numpy(X).split(2)):
            chain, _ = _contrastive_epoch(params, [batch], [3e38], chain, 1, source)
            if not bool(torch.isfinite(_flat(params)).all()):
                first = index + 1
                break
    assert first is not None and first > 1  # a divergence that takes a few updates
    with pytest.raises(FloatingPointError, match=rf"epoch 1, minibatch {first} of 10.*learning_rate=3e\+38"):
        model.fit_epoch(X, epoch=1)
    assert torch.equal(_flat(model.params_), _flat(start))  # restored


def test_zero_momentum_and_decay_with_a_velocity_buffer_is_the_plain_update():
    X, params, chain = _random_problem()
    plain, buffered = _copy(params), _copy(params)
    velocity = RBMVelocity.zeros_like(buffered)
    a = _step(plain, X, chain, learning_rate=0.2, generator=torch.Generator().manual_seed(4))
    b = _step(
        buffered, X, chain, learning_rate=0.2, generator=torch.Generator().manual_seed(4), velocity=velocity
    )
    assert torch.allclose(_flat(plain), _flat(buffered), atol=1e-14)
    assert torch.equal(a, b)
    assert torch.allclose(velocity.weight, plain.weight - params.weight, atol=1e-14)  # Δθ is the step taken


@pytest.mark.parametrize("with_velocity", [False, True])
def test_weight_decay_subtracts_eta_lambda_w_from_the_plain_step(with_velocity):
    X, params, chain = _random_problem()
    plain, decayed = _copy(params), _copy(params)
    velocity = RBMVelocity.zeros_like(decayed) if with_velocity else None
    _step(plain, X, chain, learning_rate=0.2, generator=torch.Generator().manual_seed(4))
    _step(
        decayed,
        X,
        chain,
        learning_rate=0.2,
        weight_decay=0.01,
        velocity=velocity,
        generator=torch.Generator().manual_seed(4),
    )
    assert torch.allclose(decayed.weight, plain.weight - 0.2 * 0.01 * params.weight, atol=1e-14)
    assert torch.allclose(decayed.visible_bias, plain.visible_bias, atol=1e-14)  # biases are not decayed
    assert torch.allclose(decayed.hidden_bias, plain.hidden_bias, atol=1e-14)


def test_weight_decay_on_a_zero_gradient_step_shrinks_w_by_one_minus_eta_lambda():
    # saturated biases make the step's gradient vanish: v⁻ = v_data (b = ±40) and h⁺ = h⁻ ≈ 0 (c = −80)
    v = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)  # (B, D)
    weight = torch.full((2, 3), 0.01, dtype=torch.float64)
    params = RBMParameters(
        weight, torch.tensor([40.0, -40.0, 40.0], dtype=torch.float64), torch.full((2,), -80.0).double()
    )
    start = params.weight.clone()
    _step(params, v, None, learning_rate=0.5, weight_decay=0.1, generator=torch.Generator())
    # v⁻ = v (biases saturate), h⁺ = h⁻ ≈ 0: the gradient vanishes and only the decay acts
    assert torch.allclose(params.weight, start * (1 - 0.5 * 0.1), rtol=1e-12, atol=1e-30)


def test_momentum_step_is_mu_times_the_last_step_plus_the_plain_step():
    X, params, chain = _random_problem()
    with_momentum, plain = _copy(params), _copy(params)
    velocity = RBMVelocity.zeros_like(with_momentum)
    gen_a, gen_b = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    next_chain = _step(
        with_momentum, X, chain, learning_rate=0.1, momentum=0.6, velocity=velocity, generator=gen_a
    )
    _step(plain, X, chain, learning_rate=0.1, generator=gen_b)
    assert torch.allclose(_flat(with_momentum), _flat(plain), atol=1e-14)  # zero velocity: same first step
    first = _flat(with_momentum) - _flat(params)
    before = _flat(with_momentum)
    _step(
        with_momentum, X, next_chain, learning_rate=0.1, momentum=0.6, velocity=velocity, generator=gen_a
    )
    plain_before = _flat(plain)
    _step(plain, X, next_chain, learning_rate=0.1, generator=gen_b)
    assert torch.allclose(_flat(with_momentum) - before, 0.6 * first + (_flat(plain) - plain_before), atol=1e-13)


def test_hyperparameters_are_declared_once_and_the_estimator_only_trains():
    shared = [field.name for field in dataclasses.fields(RBMSettings)]
    assert set(shared) <= {field.name for field in dataclasses.fields(RBMConfig)}
    model = RBM(7, learning_rate=0.2, momentum=0.5, n_iter=2, random_state=0)
    params = model.get_params()
    assert set(shared) <= set(params) and params["n_components"] == 7 and params["momentum"] == 0.5
    assert clone(model).get_params() == params and "n_components=7" in repr(model)
    config = RBMConfig(n_components=7, learning_rate=0.2, momentum=0.5)
    assert RBMRecipe.__init__ and config.settings() == {name: params[name] for name in shared}
    X = _two_prototypes(40)
    assert model.initialize(10).fit_epoch(X, epoch=1) is model  # no seconds: the caller times an epoch


def test_default_estimator_matches_explicit_zero_recipe():
    X = _two_prototypes(200)
    a = RBM(6, learning_rate=0.1, batch_size=20, n_iter=3, random_state=0).fit(X)
    b = RBM(
        6,
        learning_rate=0.1,
        batch_size=20,
        n_iter=3,
        momentum=0.0,
        weight_decay=0.0,
        final_learning_rate=None,
        init_visible_bias="zero",
        random_state=0,
    ).fit(X)
    assert np.array_equal(a.components_, b.components_) and np.array_equal(a.intercept_visible_, b.intercept_visible_)


def test_final_learning_rate_anneals_linearly_per_update():
    model = RBM(3, learning_rate=0.1, final_learning_rate=0.0, batch_size=10, n_iter=4)
    assert model.learning_rate_at(0, 40) == pytest.approx(0.1)
    assert model.learning_rate_at(20, 40) == pytest.approx(0.05)
    assert model.learning_rate_at(30, 40) == pytest.approx(0.025)
    # an epoch of two minibatches annealed to 0 over that epoch takes steps 0.1 then 0.05, from the same draws
    X = _two_prototypes(40)
    model = RBM(6, learning_rate=0.1, final_learning_rate=0.0, batch_size=20, n_iter=1, random_state=0)
    model.initialize(10)
    params, source = _copy(model.params_), copy.deepcopy(model.generator_).bit_generator  # the epoch's draws
    with torch.no_grad():
        _contrastive_epoch(params, list(torch.from_numpy(X).split(20)), [0.1, 0.05], model.chains_.clone(), 1, source)
    model.fit_epoch(X, epoch=1)
    assert torch.allclose(_flat(model.params_), _flat(params), atol=1e-7)
    constant = RBM(6, learning_rate=0.1, batch_size=20, n_iter=1, random_state=0).fit(X)
    assert not np.allclose(constant.components_, model.components_, atol=1e-4)  # the second step did shrink


def test_momentum_schedule_switches_after_the_warmup_epochs():
    model = RBM(3, momentum=0.9, initial_momentum=0.5, momentum_warmup_epochs=5)
    assert [model.momentum_at(e) for e in (1, 5, 6, 20)] == [0.5, 0.5, 0.9, 0.9]
    assert RBM(3, momentum=0.9).momentum_at(1) == 0.9


def test_data_init_visible_bias_is_the_logit_of_the_clipped_means():
    X = np.array([[1, 0, 1, 0], [1, 0, 0, 0], [1, 0, 1, 1], [1, 0, 0, 0]], dtype=np.float32)
    model = RBM(2, init_visible_bias="data", random_state=0).initialize(4, X)
    p = np.clip(X.mean(0), 1e-3, 1 - 1e-3)
    assert np.allclose(model.intercept_visible_.numpy(), np.log(p / (1 - p)), atol=1e-5)
    assert model.intercept_visible_[0] > 6.9 and model.intercept_visible_[1] < -6.9  # clipped, finite
    # with W = 0 the model's marginals are then the data means
    assert np.allclose(torch.sigmoid(model.intercept_visible_).numpy(), p, atol=1e-6)
    gaussian = data_visible_bias(torch.tensor([[1.0, 2.0], [3.0, -2.0]]), GaussianVisible())
    assert torch.equal(gaussian, torch.tensor([2.0, 0.0]))
    fitted = RBM(2, n_iter=0, init_visible_bias="data", random_state=0).fit(X)
    assert np.allclose(fitted.intercept_visible_, model.intercept_visible_.numpy())


def test_quality_recipe_beats_plain_pcd_on_binarised_digits():
    from sklearn.datasets import load_digits

    X = (load_digits().data / 16 > 0.5).astype(np.float32)  # (1797, 64)
    settings = dict(learning_rate=0.05, batch_size=20, n_iter=10, random_state=0)
    plain = RBM(16, **settings).fit(X)
    quality = RBM(
        16,
        **settings,
        momentum=0.9,
        initial_momentum=0.5,
        momentum_warmup_epochs=2,
        weight_decay=1e-4,
        final_learning_rate=0.0,
        init_visible_bias="data",
    ).fit(X)
    # exact log-likelihoods (2^16 hidden states enumerated); measured gap 1.3 nats (seed 0), 2.0 (seed 1)
    assert float(quality.log_likelihood(X).mean()) > float(plain.log_likelihood(X).mean()) + 0.5


def test_recipe_bad_settings_errors():
    X = np.zeros((4, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\), got momentum=1.5"):
        RBM(2, momentum=1.5).fit(X)
    with pytest.raises(ValueError, match="initial_momentum"):
        RBM(2, initial_momentum=-0.1).fit(X)
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0, got weight_decay=-1"):
        RBM(2, weight_decay=-1).fit(X)
    with pytest.raises(ValueError, match="final_learning_rate"):
        RBM(2, final_learning_rate=-0.1).fit(X)
    with pytest.raises(ValueError, match="init_visible_bias must be 'zero' or 'data', got init_visible_bias='mean'"):
        RBM(2, init_visible_bias="mean").fit(X)
    with pytest.raises(ValueError, match="needs the training data"):
        RBM(2, init_visible_bias="data").initialize(3)
    with pytest.raises(
        ValueError, match=r"matmul_dtype must be one of \['bfloat16', 'float32'\], got matmul_dtype='float16'"
    ):
        RBM(2, matmul_dtype="float16").fit(X)
    with pytest.raises(ValueError, match="matmul_dtype='bfloat16' is available for Bernoulli visible units"):
        RBM(2, matmul_dtype="bfloat16", visible=GaussianVisible()).fit(X)


# ----------------------------------------------------------------------------- the training recipe


def _recipe(**settings) -> RBMRecipe:
    defaults = dict(n_components=12, learning_rate=0.05, batch_size=100, epochs=4, n_samples=300, sample_steps=10)
    return RBMRecipe(RBMConfig(**{**defaults, **settings}))


def _state_tensors(recipe: RBMRecipe) -> dict[str, torch.Tensor]:
    tensors, _ = flatten_state(recipe.state_dict())
    return tensors


def test_recipe_trains_and_raises_the_exact_log_likelihood():
    recipe = _recipe(epochs=6, learning_rate=0.1, batch_size=20)
    before = recipe.evaluate()
    result = train(recipe, progress=False)
    after = recipe.evaluate()
    assert result.step == 6 and len(recipe.pseudo_likelihoods) == len(recipe.reconstruction_errors) == 6
    assert after["log_likelihood_train"] > before["log_likelihood_train"] + 5.0  # nats; exact log Z (2^12)
    assert after["pseudo_likelihood"] > before["pseudo_likelihood"]
    assert "log_partition_std" not in after and "(exact)" in recipe.summary(after)
    assert recipe.model() is recipe.estimator and recipe.image_shape == (8, 8)


@pytest.mark.parametrize(
    "settings",
    [
        dict(
            init_visible_bias="data",
            momentum=0.9,
            initial_momentum=0.5,
            momentum_warmup_epochs=1,
            weight_decay=2e-4,
            final_learning_rate=0.0,
        ),
        dict(persistent=False, n_gibbs_steps=2),
        dict(visible="gaussian", learning_rate=0.01, momentum=0.5),
    ],
    ids=["quality-pcd", "cd-2", "gaussian"],
)
def test_recipe_resumed_from_its_checkpoint_is_the_uninterrupted_run(settings, tmp_path):
    """SIGINT in epoch 2 of 4: the loop checkpoints after it; the resumed run ends bit for bit equal
    (parameters, chains, momentum buffers, the generator) and the schedules continue where they were."""
    defaults = dict(n_components=12, batch_size=100, epochs=4, n_samples=300, sample_steps=10)
    config = RBMConfig(**{**defaults, **settings})
    straight = RBMRecipe(config)
    train(straight, progress=False)

    class Interrupting(RBMRecipe):
        def step(self, index):
            if index == 1:
                os.kill(os.getpid(), signal.SIGINT)
            return super().step(index)

    run = RunDirectory.create(tmp_path / "run", model="rbm", config=config)
    with pytest.raises(Interrupted):
        train(Interrupting(config), run=run, progress=False)
    assert run.load_checkpoint().step == 2
    resumed = RBMRecipe(config)
    train(resumed, run=run, resume_from=run.load_checkpoint(), progress=False)
    expected, got = _state_tensors(straight), _state_tensors(resumed)
    assert sorted(expected) == sorted(got) and {"weight", "chain", "velocity.weight"} <= set(got)
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
    assert straight.state_dict()["generator"] == resumed.state_dict()["generator"]  # the RandomState's words
    assert resumed.reconstruction_errors == straight.reconstruction_errors
    assert [row["step"] for row in run.read_metrics()] == [1, 2, 3, 4]


def test_recipe_learning_rate_1e6_diverges_naming_lr():
    # Bernoulli units stay finite at lr = 1e6 (the old command finished at LL = -3.75e6 nats): minus the
    # pseudo-log-likelihood grows from about D log 2 = 44 nats to millions and stops the run
    recipe = _recipe(learning_rate=1e6)
    assert recipe.initial_loss() == pytest.approx(64 * math.log(2), rel=0.01)
    with pytest.raises(Diverged, match=r"rbm training diverged at epoch 1: loss grew .*lower --lr") as info:
        train(recipe, progress=False)
    assert info.value.step == 1 and info.value.setting == "--lr"


def test_recipe_nan_statistics_diverge_naming_the_minibatch():
    recipe = _recipe(visible="gaussian", learning_rate=1e30)
    start = recipe.estimator.components_.clone()
    with pytest.raises(
        Diverged, match=r"epoch 1: NaN/inf statistics after minibatch \d of 3 .*lower --lr \(now 1e\+30\)"
    ):
        train(recipe, progress=False)
    assert torch.equal(recipe.estimator.components_, start)  # restored to the start of the epoch


def test_recipe_uses_ais_beyond_twenty_units_and_samples_in_data_units():
    recipe = _recipe(n_components=24, epochs=1, ais_chains=20, ais_betas=200)
    train(recipe, progress=False)
    metrics = recipe.evaluate()
    assert metrics["log_partition_std"] > 0 and "(AIS, 20 runs of 200 steps)" in recipe.summary(metrics)
    gaussian = _recipe(visible="gaussian", learning_rate=0.01, epochs=1)
    train(gaussian, progress=False)
    samples = gaussian.sample(200, seed=1)  # (S, D), the standardisation undone
    assert samples.shape == (200, 64)
    # b ≈ 0 after one small epoch: standardised samples would average about 0, the digits' pixels 0.3
    data_mean = float(gaussian.data.mean.mean())
    assert data_mean > 0.2 and abs(float(samples.mean()) - data_mean) < 0.1


def test_recipe_settings_errors_name_the_field():
    with pytest.raises(ValueError, match="visible must be 'bernoulli' or 'gaussian', got visible='binary'"):
        RBMConfig(visible="binary").validated()
    with pytest.raises(ValueError, match="seed must be >= 0, got seed=-1"):
        RBMRecipe(RBMConfig(seed=-1))
    with pytest.raises(ValueError, match="epochs must be >= 1, got epochs=0"):
        RBMConfig(epochs=0).validated()
    with pytest.raises(ValueError, match="matmul_dtype='bfloat16' is available for Bernoulli visible units"):
        RBMConfig(visible="gaussian", matmul_dtype="bfloat16").validated()


def test_plot_titles_count_the_filters_and_say_what_the_curves_are(tmp_path, monkeypatch):
    from ebmlab.plotting import rbm as plots

    titles = []

    def record(values, path, **kwargs):
        titles.append(kwargs.get("title", ""))
        return path

    monkeypatch.setattr(plots, "image_grid", record)
    monkeypatch.setattr(plots, "training_curve", record)
    recipe = _recipe(epochs=1)
    train(recipe, progress=False)
    names = [path.name for path in recipe.plot(tmp_path)]
    assert names == ["filters.png", "samples.png", "data.png", "pseudo_likelihood.png", "reconstruction_error.png"]
    assert "(12 hidden units, all shown)" in titles[0] and "of 12" not in titles[0]
    assert titles[3].startswith("training fit: pseudo-log-likelihood per image (higher is better)")
    fit = recipe.fit()
    plots.plot_filters(fit, tmp_path / "f.png", count=5)
    assert "(first 5 of 12 hidden units)" in titles[-1]
    plots.plot_filters(fit, tmp_path / "f.png", count=100)  # more than there are: all of them, not "100 of 12"
    assert "(12 hidden units, all shown)" in titles[-1]
