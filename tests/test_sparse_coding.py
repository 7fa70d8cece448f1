"""Dictionary learning, the top-2 rule, the anti-collapse example, and their recipe on the training loop."""

from __future__ import annotations

import signal

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

import ebmlab
from ebmlab.data import image_patches
from ebmlab.kernels.proximal import sparse_encode, top2_refit
from ebmlab.models.sparse_coding import SparseCoding, augment_with_ones, lecture_example
from ebmlab.recipes.sparse_coding import SparseCodingConfig, SparseCodingRecipe
from ebmlab.training import Diverged, Interrupted, RunDirectory, train


def _digits(n=400):
    from sklearn.datasets import load_digits

    return (load_digits().data[:n] / 16.0).astype(np.float32)


def test_fit_lowers_the_energy_and_keeps_unit_atoms():
    X = _digits()
    model = SparseCoding(n_components=24, alpha=0.5, max_iter=4, batch_size=64, random_state=1).fit(X)
    assert isinstance(model.components_, np.ndarray) and model.components_.shape == (24, 64)
    assert model.components_.dtype == np.float32 and model.n_features_in_ == 64  # X's precision
    np.testing.assert_allclose(np.linalg.norm(model.components_, axis=1), 1.0, atol=1e-5)
    assert model.objective_[-1] < model.objective_[0]
    assert model.n_iter_ == 4 and model.n_steps_ == 4 * 7
    codes = model.transform(X[:10])
    assert isinstance(codes, np.ndarray) and codes.shape == (10, 24)
    # score is −mean energy of the converged codes; inverse_transform is Wz
    expected = sparse_encode(X[:10], model.dictionary_, 0.5, max_iter=1000, tol=1e-6).energy.double().mean()
    assert model.score(X[:10]) == pytest.approx(-float(expected), rel=1e-5)
    recon = model.inverse_transform(codes)
    energy = ((X[:10] - recon) ** 2).sum(axis=1) + 0.5 * np.abs(codes).sum(axis=1)
    np.testing.assert_allclose(energy, model.energy(X[:10]), rtol=1e-4)


def test_full_batch_is_alternating_minimisation_and_monotone():
    X = _digits(200)
    model = SparseCoding(
        n_components=16, alpha=0.5, max_iter=8, batch_size=None, fit_encode_tol=1e-8, random_state=0
    ).fit(X)
    objective = np.array(model.objective_)
    assert (np.diff(objective) <= 1e-4 * objective[:-1]).all()  # exact BCD + exact codes: no increase


def test_held_out_objective_matches_scikit_learn_minibatch_dictionary_learning():
    from sklearn.decomposition import MiniBatchDictionaryLearning

    X = image_patches(3000, 6, seed=0)
    train, test = X[:2500], X[2500:]
    alpha, atoms = 0.3, 36
    ours = SparseCoding(atoms, alpha=alpha, max_iter=3, batch_size=128, random_state=0).fit(train)
    peer = MiniBatchDictionaryLearning(
        atoms, alpha=alpha / 2, batch_size=128, max_iter=3, fit_algorithm="cd", random_state=0
    ).fit(train)

    def held_out(components):
        w = torch.from_numpy(np.ascontiguousarray(components.T)).double()
        w = w / w.norm(dim=0)
        return float(sparse_encode(torch.from_numpy(test).double(), w, alpha, tol=1e-8).energy.mean())

    assert held_out(ours.components_) <= 1.02 * held_out(peer.components_)


def test_top2_training_uses_two_atoms_and_its_energy():
    X = _digits(150)
    model = SparseCoding(n_components=10, alpha=0.3, max_iter=3, batch_size=None, refit="top2", random_state=0).fit(X)
    result = model.encode(X)
    assert ((result.codes != 0).sum(dim=1) <= 2).all()
    full = sparse_encode(X, model.dictionary_, 0.3, max_iter=1000, tol=1e-6)
    _, expected = top2_refit(torch.from_numpy(X), model.dictionary_, full.codes, 0.3)
    torch.testing.assert_close(result.energy, expected)


def _surface(example):
    grid = torch.linspace(-3, 3, 31, dtype=torch.float64)
    gy, gx = torch.meshgrid(grid, grid, indexing="ij")
    points = torch.stack([gx.flatten(), gy.flatten()], dim=1)
    radius = ((points[:, 0] / 2) ** 2 + (points[:, 1] / 1.5) ** 2).sqrt()  # the data's radii are (2, 1.5)
    near = (radius - 1).abs() < 0.25
    return points, near


def test_without_augmentation_the_energy_collapses():
    example = lecture_example(augmented=False, epochs=10)
    points, near = _surface(example)
    # every point of the plane is reconstructed exactly by two atoms: the cost C is 0 everywhere
    assert float(example.reconstruction_cost(points).max()) < 1e-10
    energy = example.energy(points)
    lowest = energy <= energy.quantile(0.1)
    # the lowest energies sit at the origin (F = α‖ž₂‖₁), not on the data manifold
    assert float(near[lowest].double().mean()) < 0.1


def test_with_augmentation_the_low_energy_region_is_the_data_manifold():
    example = lecture_example(augmented=True, epochs=30)
    assert example.model.objective_[-1] < 0.2 * example.model.objective_[0]
    points, near = _surface(example)
    energy = example.energy(points)
    lowest = energy <= energy.quantile(0.1)
    assert float(near[lowest].double().mean()) > 0.5  # vs 0.25 of the grid near the manifold
    data_energy = example.energy(example.data).mean()
    assert energy[~near].mean() > 4 * data_energy
    assert float(example.reconstruction_cost(points).max()) > 0.5  # no collapse


def test_augment_with_ones():
    y = torch.randn(4, 2)
    out = augment_with_ones(y)
    assert out.shape == (4, 3) and bool((out[:, 0] == 1).all()) and torch.equal(out[:, 1:], y)


def test_partial_fit_and_bad_input():
    X = _digits(100)
    model = SparseCoding(n_components=8, alpha=0.2, random_state=0)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.transform(X)
    model.partial_fit(X[:50]).partial_fit(X[50:])
    assert model.n_steps_ == 2
    with pytest.raises(ValueError, match="X has 10 features, but SparseCoding is expecting 64"):
        model.transform(X[:, :10])
    with pytest.raises(ValueError, match="X has 10 features, but SparseCoding is expecting 64"):
        model.transform(torch.from_numpy(X[:, :10]))
    with pytest.raises(ValueError, match="codes must have 8 features"):
        model.inverse_transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="dtype must be None, torch.float32 or torch.float64"):
        SparseCoding(dtype=torch.int64).fit(X)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.transform(bad)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        SparseCoding(alpha=-1.0).fit(X)
    with pytest.raises(ValueError, match="refit must be one of"):
        SparseCoding(refit="top3").fit(X)
    with pytest.raises(ValueError, match="zero atom"):
        SparseCoding(n_components=3, dict_init=np.zeros((64, 3))).fit(X)
    with pytest.raises(ValueError, match="dict_init must have shape"):
        SparseCoding(n_components=3, dict_init=np.ones((10, 3))).fit(X)


def test_exports():
    assert ebmlab.SparseCoding is SparseCoding
    assert ebmlab.sparse_encode is sparse_encode


def test_fit_raises_when_the_codes_diverge():
    with pytest.raises(FloatingPointError, match="lower fit_encode_step"):
        SparseCoding(n_components=8, alpha=0.2, max_iter=2, batch_size=32, fit_encode_step=50.0).fit(_digits(100))


def test_state_dict_round_trip_continues_the_same_training():
    X = _digits(200)
    straight = SparseCoding(n_components=12, alpha=0.3, batch_size=32, random_state=2).initialize(X)
    for _ in range(3):
        straight.fit_epoch(X)
    first = SparseCoding(n_components=12, alpha=0.3, batch_size=32, random_state=2).initialize(X)
    first.fit_epoch(X)
    resumed = SparseCoding(n_components=12, alpha=0.3, batch_size=32, random_state=2)
    resumed.load_state_dict(first.state_dict())
    resumed.fit_epoch(X)
    resumed.fit_epoch(X)
    assert torch.equal(straight.dictionary_, resumed.dictionary_)
    assert straight.objective_ == resumed.objective_ and resumed.n_iter_ == 3 and resumed.n_steps_ == 3 * 7
    assert resumed.n_features_in_ == 64
    np.testing.assert_array_equal(resumed.components_, resumed.dictionary_.T.numpy())  # numpy, as the X of fit_epoch


def test_numpy_in_numpy_out_tensor_in_tensor_out_in_the_input_precision():
    X = _digits(120).astype(np.float64)
    model = SparseCoding(n_components=6, alpha=0.3, max_iter=2, batch_size=40, random_state=0).fit(X)
    assert model.dictionary_.dtype == torch.float64 and model.components_.dtype == np.float64
    assert model.components_.flags.c_contiguous
    codes = model.transform(X[:5])
    assert isinstance(codes, np.ndarray) and codes.dtype == np.float64
    assert isinstance(model.inverse_transform(codes), np.ndarray)
    tensor_codes = model.transform(torch.from_numpy(X[:5]).float())  # a float32 tensor: float32 codes
    assert isinstance(tensor_codes, torch.Tensor) and tensor_codes.dtype == torch.float32
    assert isinstance(model.inverse_transform(tensor_codes), torch.Tensor)
    np.testing.assert_allclose(tensor_codes.numpy(), codes, atol=1e-4)
    # components_ is a copy: changing it does not change the model
    model.components_[:] = 0
    assert float(model.dictionary_.abs().sum()) > 0
    # the kind follows the last training call; dtype fixes the precision whatever the input's
    refit = SparseCoding(n_components=6, alpha=0.3, max_iter=1, random_state=0, dtype=torch.float32)
    refit.fit(torch.from_numpy(X))
    assert isinstance(refit.components_, torch.Tensor) and refit.components_.dtype == torch.float32
    assert refit.transform(X[:2]).dtype == np.float32


def test_random_state_like_scikit_learn():
    X = _digits(100)

    def fit(random_state):
        return SparseCoding(n_components=8, alpha=0.3, max_iter=1, batch_size=25, random_state=random_state).fit(X)

    np.testing.assert_array_equal(fit(3).components_, fit(3).components_)
    assert not np.array_equal(fit(3).components_, fit(4).components_)
    assert not np.array_equal(fit(None).components_, fit(None).components_)  # fresh entropy each fit
    rng = np.random.RandomState(3)
    assert not np.array_equal(fit(rng).components_, fit(rng).components_)  # a RandomState is drawn from
    with pytest.raises(ValueError, match="cannot be used to seed"):
        fit("seed")


def test_an_estimator_for_scikit_learn_tools():
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = SparseCoding(n_components=5, random_state=0, dtype=torch.float64)
    assert clone(model).get_params() == model.get_params()
    assert model.set_params(alpha=0.4).alpha == 0.4
    assert "random_state" in model.get_params() and "seed" not in model.get_params()
    pipeline = make_pipeline(StandardScaler(), SparseCoding(n_components=5, max_iter=1, random_state=0))
    assert pipeline.fit_transform(_digits(60)).shape == (60, 5)


# ------------------------------------------------------------------------------ the recipe


def _recipe(**settings):
    base = {"data": "digits", "n_samples": 400, "n_components": 16, "alpha": 0.5, "batch_size": 64, "epochs": 3}
    return SparseCodingRecipe(SparseCodingConfig(**{**base, **settings}))


def test_recipe_trains_one_epoch_per_unit_and_evaluates_on_held_out_rows():
    recipe = _recipe()
    result = train(recipe, progress=False)
    coder = recipe.model()
    assert result.step == 3 and coder.n_iter_ == 3 and coder.n_steps_ == 3 * 6  # 360 training rows, batch 64
    assert coder.objective_[-1] < coder.objective_[0]
    assert isinstance(coder.components_, torch.Tensor)  # the recipe trains on tensors
    torch.testing.assert_close(coder.components_.norm(dim=1), torch.ones(16))
    metrics = recipe.evaluate()
    assert metrics["held_out_energy"] == pytest.approx(recipe.held_out[-1])
    assert 0 < metrics["nonzero_codes"] <= 16
    assert "held-out mean energy" in recipe.summary(metrics)


class _StopAfterFirstEpoch(SparseCodingRecipe):
    def step(self, index):
        metrics = super().step(index)
        signal.raise_signal(signal.SIGINT)
        return metrics


def test_recipe_resumed_from_a_checkpoint_ends_bit_identical(tmp_path):
    straight = _recipe()
    train(straight, progress=False)
    run = RunDirectory.create(tmp_path / "run", model="sparse-coding", config=straight.config)
    with pytest.raises(Interrupted):  # stopped by a signal after its first epoch, which is checkpointed
        train(_StopAfterFirstEpoch(straight.config), run=run, progress=False)
    resumed = _recipe()
    train(resumed, run=run, resume_from=run.load_checkpoint(), progress=False)
    expected, found = straight.state_dict()["coders"][0], resumed.state_dict()["coders"][0]
    for key in ("dictionary", "stat_a", "stat_b", "generator"):
        assert torch.equal(expected[key], found[key]), key
    assert expected["objective"] == found["objective"] and straight.held_out == resumed.held_out


def test_recipe_divergence_names_the_step_size():
    with pytest.raises(Diverged, match="diverged at epoch 1.*lower --step-size"):
        train(_recipe(step_size=50.0), progress=False)


def test_lecture_example_runs_through_the_loop_as_the_same_algorithm():
    recipe = SparseCodingRecipe(SparseCodingConfig(lecture_example=True))
    assert recipe.total == 30
    train(recipe, progress=False)
    plain, augmented = recipe.examples
    for example in (plain, augmented):
        reference = lecture_example(example.augmented, epochs=30)
        assert torch.equal(example.model.dictionary_, reference.model.dictionary_)
        assert example.model.objective_ == reference.model.objective_
    metrics = recipe.evaluate()
    assert metrics["reconstruction_cost_off_data"] < 1e-10  # collapse
    assert metrics["reconstruction_cost_off_data_augmented"] > 0.1  # none
    points, _ = _surface(augmented)
    assert float(augmented.reconstruction_cost(points).max()) > 0.5
    assert recipe.model() is augmented.model


def test_config_is_validated():
    with pytest.raises(ValueError, match="lecture_example.*expected data"):
        SparseCodingConfig(lecture_example=True, data="digits").resolved()
    with pytest.raises(ValueError, match="refit must be one of"):
        SparseCodingConfig(refit="top3").resolved()
    with pytest.raises(ValueError, match="step_size must be > 0"):
        SparseCodingConfig(step_size=0.0).resolved()
    assert SparseCodingConfig().resolved().epochs == 5
    assert SparseCodingConfig(epochs=7, lecture_example=True).resolved().epochs == 7


def test_figures_keep_their_names(tmp_path):
    recipe = _recipe(epochs=1)
    train(recipe, progress=False)
    names = sorted(path.name for path in recipe.plot(tmp_path))
    assert names == ["atoms.png", "code_sparsity.png", "reconstructions.png", "training_curve.png"]
