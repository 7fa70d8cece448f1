"""Inputs that used to escape as deep errors or silent nonsense: each is a clear error naming the
argument (what was expected, what was given), or, for huge finite data, the correct result."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, make_blobs

import ebmlab
from ebmlab.models.ellipse import EllipseEnergy

# ------------------------------------------------------------------------------------ the ellipse


def test_ellipse_radius_with_a_nan_is_an_error_naming_w():
    with pytest.raises(ValueError, match=r"w must be a pair \(w1, w2\) of finite real numbers, got w=\(0.0, nan\)"):
        EllipseEnergy(w=(0, float("nan")))


def test_ellipse_radius_with_an_infinity_is_an_error_naming_w():
    with pytest.raises(ValueError, match=r"w must be .* finite .* got w=\(1.0, inf\)"):
        EllipseEnergy(w=(1.0, math.inf))


def test_ellipse_radius_of_the_wrong_length_is_an_error_naming_w():
    with pytest.raises(ValueError, match=r"w must be a pair .* got 3 value\(s\)"):
        EllipseEnergy(w=(1.0, 2.0, 3.0))


def test_ellipse_radius_that_is_not_numbers_is_a_type_error_naming_w():
    with pytest.raises(TypeError, match=r"w must be a pair .* got str 'ab'"):
        EllipseEnergy(w="ab")
    with pytest.raises(TypeError, match=r"w must be a pair .* got an entry 'x'"):
        EllipseEnergy(w=(1.0, "x"))


def test_ellipse_radius_accepts_numpy_and_tensor_pairs():
    for w in (np.array([2.0, 1.5]), torch.tensor([2.0, 1.5]), (np.float32(2.0), 1.5)):
        assert EllipseEnergy(w=w).w.tolist() == [2.0, 1.5]


# ------------------------------------------------------------------------------ the K-means energy


def _fitted_energy():
    data = np.random.default_rng(0).normal(size=(20, 3))
    return ebmlab.KMeans(2, random_state=0).fit(data).energy()


@pytest.mark.parametrize("beta", [math.inf, 1.0])
def test_kmeans_free_energy_of_the_wrong_width_names_y_and_both_shapes(beta):
    energy = _fitted_energy()
    with pytest.raises(ValueError, match=r"y must have shape \(B, D\) = \(B, 3\) .* got shape \(4, 5\)"):
        energy.free_energy(torch.zeros(4, 5), beta=beta)


def test_kmeans_free_energy_of_a_vector_names_y_and_both_shapes():
    with pytest.raises(ValueError, match=r"y must have shape \(B, D\) = \(B, 3\) .* got shape \(4,\)"):
        _fitted_energy().free_energy(torch.zeros(4))


def test_kmeans_energy_of_integer_or_numpy_y_is_a_type_error_naming_y():
    energy = _fitted_energy()
    with pytest.raises(TypeError, match=r"y must be a floating-point tensor .* got dtype=torch.int64"):
        energy.free_energy(torch.zeros(4, 3, dtype=torch.long))
    with pytest.raises(TypeError, match=r"y must be a torch.Tensor of shape \(B, D\) = \(B, 3\), got ndarray"):
        energy.assign(np.zeros((4, 3)))


def test_kmeans_energy_with_codes_of_the_wrong_shape_names_z():
    energy = _fitted_energy()
    with pytest.raises(ValueError, match=r"z must have shape \(B, K\) = \(4, 2\), one code per row of y, got \(3, 2\)"):
        energy(torch.zeros(4, 3), torch.zeros(3, 2))


def test_kmeans_free_energy_accepts_a_numpy_beta():
    energy = _fitted_energy()
    y = torch.zeros(4, 3, dtype=energy.centroids.dtype)
    assert torch.equal(energy.free_energy(y, beta=np.float32(2)), energy.free_energy(y, beta=2.0))


# ------------------------------------------------------------------------- K-means on huge data


def _huge_cases():
    digits = load_digits().data
    blobs, _ = make_blobs(1000, centers=5, random_state=0)
    return {"digits": (digits, 10), "blobs": (blobs, 5)}


@pytest.mark.parametrize("algorithm", ["lloyd", "accelerated"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["digits", "blobs"])
def test_kmeans_on_data_times_1e20_gives_the_unscaled_labels(case, dtype, algorithm):
    data, k = _huge_cases()[case]
    data = data.astype(dtype)
    small = ebmlab.KMeans(k, random_state=0, algorithm=algorithm).fit(data)
    huge = ebmlab.KMeans(k, random_state=0, algorithm=algorithm).fit(data * dtype(1e20))
    assert np.array_equal(huge.labels_, small.labels_)
    assert huge.inertia_ == pytest.approx(small.inertia_ * 1e40, rel=1e-5)
    # float32 rows are summed in float32 per chunk of rows (as scikit-learn sums them), float64 ones in float64
    tolerance = {"rtol": 1e-5, "atol": 3e-5 if dtype == np.float32 else 1e-6}
    assert np.allclose(huge.cluster_centers_ / 1e20, small.cluster_centers_, **tolerance)
    assert np.array_equal(huge.predict(data * dtype(1e20)), small.labels_)
    assert huge.score(data * dtype(1e20)) == pytest.approx(-huge.inertia_, rel=1e-5)
    distances = huge.transform(data[:50] * dtype(1e20))
    assert np.all(np.isfinite(distances))
    assert np.allclose(distances / 1e20, small.transform(data[:50]), rtol=1e-4, atol=1e-2)  # matrix-form round-off


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_k_means_function_on_data_times_1e20_gives_the_unscaled_labels(kind):
    data, k = _huge_cases()["blobs"]
    if kind == "torch":
        data = torch.tensor(data, dtype=torch.float32)
    small = ebmlab.k_means(data, k, random_state=0, n_init=2, track_inertia=True)
    huge = ebmlab.k_means(data * 1e20, k, random_state=0, n_init=2, track_inertia=True)
    assert np.array_equal(np.asarray(huge.labels), np.asarray(small.labels))
    assert huge.inertia == pytest.approx(small.inertia * 1e40, rel=1e-5)
    assert huge.inertia_history == pytest.approx([v * 1e40 for v in small.inertia_history], rel=1e-5)
    assert huge.restart == small.restart and huge.n_iter == small.n_iter


def test_k_means_near_the_largest_float32_and_with_an_init_array():
    data, k = _huge_cases()["blobs"]
    data = data.astype(np.float32)
    small = ebmlab.k_means(data, k, init=data[:k], random_state=0)
    scale = np.float32(2.0**100)  # entries up to ~1.4e31, squares far beyond float32
    huge = ebmlab.k_means(data * scale, k, init=data[:k] * scale, random_state=0)
    assert np.array_equal(huge.labels, small.labels)
    assert np.array_equal(huge.centers, small.centers * scale)  # powers of two: exact
    assert huge.inertia == pytest.approx(small.inertia * float(scale) ** 2, rel=1e-6)


def test_soft_k_means_on_huge_data_keeps_the_meaning_of_beta():
    data, k = _huge_cases()["blobs"]
    small = ebmlab.k_means(data, k, beta=0.5, random_state=0)
    huge = ebmlab.k_means(data * 2.0**80, k, beta=0.5 / 2.0**160, random_state=0)  # β·E unchanged
    assert np.array_equal(huge.labels, small.labels)
    assert np.allclose(huge.centers / 2.0**80, small.centers)


def test_k_means_on_tiny_data_gives_the_unscaled_labels():
    data, k = _huge_cases()["blobs"]
    data = data.astype(np.float32)
    small = ebmlab.k_means(data, k, random_state=0)
    tiny = ebmlab.k_means(data * np.float32(1e-20), k, random_state=0)  # squares below float32's normal range
    assert np.array_equal(tiny.labels, small.labels)
    assert tiny.inertia == pytest.approx(small.inertia * 1e-40, rel=1e-5)


def test_k_means_on_non_finite_data_is_still_an_error_naming_y():
    data = np.float32(1e20) * np.ones((4, 2), np.float32)
    data[1, 1] = np.inf
    with pytest.raises(ValueError, match=r"y contains 1 NaN or infinite value\(s\) out of 8"):
        ebmlab.k_means(data, 2)


# ---------------------------------------------------------------------------- the free-energy kernel


def test_free_energy_accepts_a_numpy_beta():
    energies = torch.tensor([[1.0, 2.0], [0.5, 3.0]])
    assert torch.allclose(ebmlab.free_energy(energies, beta=np.float32(2)), ebmlab.free_energy(energies, beta=2.0))


def test_free_energy_along_a_missing_dim_names_dim_and_the_shape():
    match = r"dim must be an integer in \[-2, 1\] for energies of shape \(2, 2\), got dim=5"
    with pytest.raises(ValueError, match=match):
        ebmlab.free_energy(torch.zeros(2, 2), 1.0, dim=5)


def test_free_energy_at_a_nan_beta_names_beta():
    with pytest.raises(ValueError, match=r"beta must be > 0 .* got beta=nan"):
        ebmlab.free_energy(torch.zeros(2, 2), beta=float("nan"))


def test_free_energy_of_all_infinite_rows_is_infinite():
    assert ebmlab.free_energy(torch.full((1, 3), math.inf), 1.0).tolist() == [math.inf]
