"""Convolutional sparse coding: agreement with the dense coder on the unrolled convolution matrix."""

from __future__ import annotations

import pytest
import torch

from ebmlab.models.conv_sparse_coding import (
    ConvSparseCoding,
    conv_decode,
    conv_lipschitz,
    conv_sparse_encode,
)
from ebmlab.sparse import lipschitz_constant, sparse_encode


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


def test_filter_learning_lowers_the_energy_and_keeps_unit_filters():
    from sklearn.datasets import load_digits

    images = torch.from_numpy(load_digits().images[:64] / 16.0).float()[:, None]  # (64, 1, 8, 8)
    model = ConvSparseCoding(n_filters=6, kernel_size=3, alpha=0.3, max_iter=6, steps_per_epoch=4, crop=8, lr=0.05)
    model.fit(images)
    assert model.losses_[-1] < model.losses_[0]
    torch.testing.assert_close(model.filters_.flatten(1).norm(dim=1), torch.ones(6))
    codes = model.transform(images[:2])
    assert codes.shape == (2, 6, 6, 6)
    assert model.inverse_transform(codes).shape == (2, 1, 8, 8)


def test_bad_input():
    images, filters = _setup()
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        conv_sparse_encode(images, filters, -1.0)
    with pytest.raises(ValueError, match="C=1 channels"):
        conv_sparse_encode(images.repeat(1, 2, 1, 1), filters, 0.1)
    zero = filters.clone()
    zero[1] = 0
    with pytest.raises(ValueError, match="zero filter"):
        conv_sparse_encode(images, zero, 0.1)
    bad = images.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        conv_sparse_encode(bad, filters, 0.1)
    with pytest.raises(ValueError, match="smaller than"):
        conv_sparse_encode(images[:, :, :2, :2], filters, 0.1)
