"""Convolutional sparse coding: agreement with the dense coder on the unrolled convolution matrix,
filter learning (the estimator and the recipe run the same epochs), exact resume, divergence, image data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from ebmlab.data import DataFileError, local_contrast_normalize
from ebmlab.data.images import load_images
from ebmlab.kernels.proximal import lipschitz_constant, sparse_encode
from ebmlab.models.conv_sparse_coding import (
    ConvSparseCoding,
    conv_decode,
    conv_lipschitz,
    conv_sparse_encode,
)
from ebmlab.recipes.conv_sparse_coding import ConvSparseCodingConfig, ConvSparseCodingRecipe
from ebmlab.training import Diverged, train

SMALL = dict(data="digits", n_samples=64, n_filters=6, kernel_size=3, alpha=0.3, steps_per_epoch=4, lr=0.05)


def _setup(seed=0):
    generator = torch.Generator().manual_seed(seed)
    filters = torch.randn(3, 1, 3, 3, generator=generator, dtype=torch.float64)
    filters = filters / filters.flatten(1).norm(dim=1)[:, None, None, None]
    images = torch.randn(4, 1, 7, 6, generator=generator, dtype=torch.float64)
    return images, filters


def _matrix(filters, image_shape):
    """The decoder as a dense (D, K·H'·W') matrix: decode every unit code map."""
    k = filters.shape[-1]
    code_shape = (filters.shape[0], image_shape[0] - k + 1, image_shape[1] - k + 1)
    size = code_shape[0] * code_shape[1] * code_shape[2]
    units = torch.eye(size, dtype=filters.dtype).reshape(size, *code_shape)
    return conv_decode(units, filters).reshape(size, -1).T, code_shape


def test_conv_fista_equals_dense_fista_on_the_convolution_matrix():
    images, filters = _setup()
    w, code_shape = _matrix(filters, (7, 6))
    assert conv_lipschitz(filters, (7, 6)) == pytest.approx(lipschitz_constant(w), rel=1e-4)
    conv = conv_sparse_encode(images, filters, 0.3, max_iter=20000, tol=1e-12)
    dense = sparse_encode(images.reshape(4, -1), w, 0.3, max_iter=20000, tol=1e-12)
    assert conv.codes.shape == (4, *code_shape)
    torch.testing.assert_close(conv.codes.reshape(4, -1), dense.codes, atol=1e-7, rtol=0)
    torch.testing.assert_close(conv.energy, dense.energy)
    assert conv.duality_gap.max() < 1e-8


def test_ista_and_fista_agree_in_convolutional_form():
    images, filters = _setup(1)
    ista = conv_sparse_encode(images, filters, 0.5, method="ista", max_iter=50000, tol=1e-11)
    fista = conv_sparse_encode(images, filters, 0.5, max_iter=50000, tol=1e-11)
    torch.testing.assert_close(ista.codes, fista.codes, atol=1e-6, rtol=0)


def _digits():
    from sklearn.datasets import load_digits

    return torch.from_numpy(load_digits().images[:64] / 16.0).float()[:, None]  # (64, 1, 8, 8)


def test_filter_learning_lowers_the_energy_and_keeps_unit_filters():
    images = _digits()
    model = ConvSparseCoding(
        n_components=6, kernel_size=3, alpha=0.3, max_iter=6, steps_per_epoch=4, crop=8, lr=0.05, random_state=0
    )
    model.fit(images)
    assert len(model.losses_) == 6
    assert model.losses_[-1] < model.losses_[0]
    torch.testing.assert_close(model.filters_.flatten(1).norm(dim=1), torch.ones(6))
    assert not model.filters_.requires_grad
    codes = model.transform(images[:2])
    assert codes.shape == (2, 6, 6, 6)
    assert model.inverse_transform(codes).shape == (2, 1, 8, 8)
    assert model.n_iter_ == 6 and model.n_features_in_ == 1
    assert isinstance(model.components_, torch.Tensor) and model.components_.shape == (6, 9)  # (K, C·k·k)
    assert torch.equal(model.components_, model.filters_.flatten(1))


def test_numpy_in_numpy_out_and_components_are_the_flattened_filters():
    images = _digits()[:16].double().repeat(1, 2, 1, 1).numpy()  # (16, 2, 8, 8) float64, two channels
    model = ConvSparseCoding(4, 3, max_iter=2, steps_per_epoch=2, crop=8, random_state=0).fit(images)
    assert model.filters_.dtype == torch.float64  # trained in the images' precision
    assert isinstance(model.components_, np.ndarray) and model.components_.shape == (4, 2 * 3 * 3)
    assert model.components_.dtype == np.float64 and model.n_features_in_ == 2
    np.testing.assert_array_equal(model.components_, model.filters_.flatten(1).numpy())
    codes = model.transform(images[:3])
    assert isinstance(codes, np.ndarray) and codes.dtype == np.float64 and codes.shape == (3, 4, 6, 6)
    back = model.inverse_transform(codes)
    assert isinstance(back, np.ndarray) and back.shape == (3, 2, 8, 8)
    tensor_codes = model.transform(torch.from_numpy(images[:3]))
    assert isinstance(tensor_codes, torch.Tensor) and isinstance(model.inverse_transform(tensor_codes), torch.Tensor)
    with pytest.raises(ValueError, match="C=2 channels like the fitted filters"):
        model.transform(images[:3, :1])
    with pytest.raises(ValueError, match="C=2 channels like the fitted filters"):
        model.partial_fit(images[:3, :1])
    with pytest.raises(ValueError, match=r"codes must be code maps \(B, K, H', W'\) with K=4"):
        model.inverse_transform(codes[:, :2])
    with pytest.raises(ValueError, match=r"X must be images of shape \(N, C, H, W\)"):
        model.fit(images.reshape(16, -1))
    refit = ConvSparseCoding(4, 3, max_iter=1, steps_per_epoch=1, crop=8, random_state=0).fit(images[:, :1])
    assert refit.n_features_in_ == 1  # a new fit starts afresh, whatever the channels before


def test_an_image_estimator_for_scikit_learn_tools():
    from sklearn.base import clone
    from sklearn.utils import get_tags

    model = ConvSparseCoding(n_components=5, kernel_size=3, random_state=0)
    assert not get_tags(model).input_tags.two_d_array  # X is images: scikit-learn's 2-D checks skip it
    assert clone(model).get_params() == model.get_params()
    assert "n_components" in model.get_params() and "n_filters" not in model.get_params()
    images = _digits()[:8]
    fitted = clone(model).set_params(max_iter=1, steps_per_epoch=1, crop=8)
    assert fitted.fit_transform(images).shape == (8, 5, 6, 6)
    first, second = (clone(fitted).fit(images).filters_ for _ in range(2))
    assert torch.equal(first, second)  # an int random_state repeats a fit


def test_fit_and_the_recipe_run_the_same_epochs():
    recipe = ConvSparseCodingRecipe(ConvSparseCodingConfig(**SMALL, epochs=3))
    train(recipe, progress=False)
    model = ConvSparseCoding(6, 3, alpha=0.3, max_iter=3, steps_per_epoch=4, lr=0.05, random_state=0)
    model.fit(recipe.images)  # the recipe's --seed 0 is the estimator's random_state
    assert torch.equal(recipe.model().filters_, model.filters_)
    assert recipe.model().losses_ == model.losses_
    metrics = recipe.evaluate()
    assert 0 < metrics["relative_error"] < 1 and 0 < metrics["active_codes"] < 1
    assert "mean energy" in recipe.summary(metrics)


def test_partial_fit_resumes_exactly_from_the_state():
    images = _digits()
    straight = ConvSparseCoding(6, 3, alpha=0.3, steps_per_epoch=3, lr=0.05, random_state=4)
    for _ in range(4):
        straight.partial_fit(images)
    first = ConvSparseCoding(6, 3, alpha=0.3, steps_per_epoch=3, lr=0.05, random_state=4)
    first.partial_fit(images).partial_fit(images)
    state = first.state_dict()
    first.partial_fit(images)  # work done after the state was taken is not replayed below
    resumed = ConvSparseCoding(6, 3, alpha=0.3, steps_per_epoch=3, lr=0.05, random_state=4).load_state_dict(state)
    resumed.partial_fit(images).partial_fit(images)
    assert torch.equal(resumed.filters_, straight.filters_)
    assert resumed.losses_ == straight.losses_ and resumed.n_iter_ == 4
    with pytest.raises(NotFittedError, match="not fitted"):
        ConvSparseCoding().state_dict()


def test_too_large_a_fista_step_diverges_and_names_the_step_size():
    images = _digits()
    with pytest.raises(FloatingPointError, match="lower step_size"):
        ConvSparseCoding(4, 3, max_iter=2, steps_per_epoch=2, step_size=1.0, random_state=0).fit(images)
    model = ConvSparseCoding(4, 3, steps_per_epoch=2, step_size=1.0, random_state=0).partial_fit(images)
    assert not math.isfinite(model.losses_[-1])
    assert torch.isfinite(model.filters_).all()  # the diverged step did not touch the filters
    recipe = ConvSparseCodingRecipe(ConvSparseCodingConfig(**SMALL, epochs=2, step_size=1.0))
    with pytest.raises(Diverged, match="--step-size"):
        train(recipe, progress=False)


def test_config_is_validated():
    with pytest.raises(ValueError, match="kernel_size"):
        ConvSparseCodingConfig(kernel_size=0).validated()
    with pytest.raises(ValueError, match="step_size"):
        ConvSparseCodingConfig(step_size=-1.0).validated()
    with pytest.raises(ValueError, match="kernel_size=9"):
        ConvSparseCodingRecipe(ConvSparseCodingConfig(data="digits", kernel_size=9))


def test_images_from_npy_files(tmp_path):
    stack = np.random.default_rng(0).random((5, 12, 10))
    np.save(tmp_path / "images.npy", stack)
    images = load_images(str(tmp_path / "images.npy"), n_samples=3)
    assert images.shape == (3, 1, 12, 10) and images.dtype == torch.float32
    np.save(tmp_path / "flat.npy", stack.reshape(5, -1))
    with pytest.raises(DataFileError, match=r"flat.npy.*\(N, H, W\)"):
        load_images(str(tmp_path / "flat.npy"))
    (tmp_path / "text.npy").write_bytes(b"not numpy")
    with pytest.raises(DataFileError, match="text.npy"):
        load_images(str(tmp_path / "text.npy"))
    with pytest.raises(ValueError, match="photos"):
        load_images("cifar")


def test_local_contrast_normalize_centres_and_scales():
    images = torch.rand(3, 1, 20, 20, generator=torch.Generator().manual_seed(1)) * 5 + 2
    out = local_contrast_normalize(images, sigma=1.0)
    assert out.shape == images.shape
    assert abs(float(out.mean())) < 0.2 and float(out.std()) < 2.0


def test_bad_input():
    images, filters = _setup()
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        conv_sparse_encode(images, filters, -1.0)
    with pytest.raises(ValueError, match="C=1 channels"):
        conv_sparse_encode(images.repeat(1, 2, 1, 1), filters, 0.1)
    zero = filters.clone()
    zero[1] = 0
    with pytest.raises(ValueError, match="filters has 1 zero atom"):
        conv_sparse_encode(images, zero, 0.1)
    bad = images.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        conv_sparse_encode(bad, filters, 0.1)
    with pytest.raises(ValueError, match="smaller than"):
        conv_sparse_encode(images[:, :, :2, :2], filters, 0.1)
