"""K-means: the energy, agreement of plain/accelerated Lloyd with the lecture's loop and scikit-learn, errors."""

from __future__ import annotations

import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import load_digits, make_blobs

from ebmlab import ExhaustiveSearch, free_energy
from ebmlab.data.toys import lecture_demo_data
from ebmlab.kernels import fast_linear
from ebmlab.models.kmeans import (
    KMeans,
    KMeansEnergy,
    KMeansSolver,
    assign_clusters,
    k_means,
    kmeans_plusplus,
    minibatch_step,
    squared_distances,
)

ROOT = Path(__file__).resolve().parents[1]


def _blobs(n=3000, d=8, k=20, seed=0, dtype=np.float64, std=1.5):
    x, _ = make_blobs(n, n_features=d, centers=k, random_state=seed, cluster_std=std)
    return x.astype(dtype)


def _digits(dtype=np.float32):
    return (load_digits().data / 16.0).astype(dtype)


def _lecture_lloyd(Y: torch.Tensor, W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The lecture's procedure, verbatim: E = cdist²; F, z = E.min(-1); W[k] = Y[z == k].mean(0)."""
    W = W.clone()
    z_old = None
    for iteration in range(1, 1000):
        E = torch.cdist(Y, W).pow(2)
        F, z = E.min(dim=-1)
        for k in range(len(W)):
            W[k] = Y[z == k].mean(dim=0)
        if z_old is not None and torch.equal(z, z_old):
            return W, z, iteration
        z_old = z
    raise AssertionError("the lecture's loop did not converge")


# ------------------------------------------------------------------------------------- the energy


def test_squared_distances_match_cdist():
    g = torch.Generator().manual_seed(0)
    y, w = torch.randn(50, 7, generator=g, dtype=torch.float64), torch.randn(9, 7, generator=g, dtype=torch.float64)
    assert torch.allclose(squared_distances(y, w), torch.cdist(y, w).pow(2), atol=1e-10)


@pytest.mark.parametrize("shape", [(4096, 300, 10), (2048, 784, 256), (3000, 64, 13)])
def test_fast_linear_agrees_with_its_oracle_addmm(shape):
    rows, dim, count = shape
    g = torch.Generator().manual_seed(3)
    y, w, bias = torch.rand(rows, dim, generator=g), torch.rand(count, dim, generator=g), torch.rand(count, generator=g)
    assert fast_linear.applies(y, w, bias) == fast_linear.onednn_available()
    fast = fast_linear.linear(y, w, bias, alpha=-2.0)
    with torch.backends.mkldnn.flags(enabled=False):
        assert not fast_linear.applies(y, w, bias)
        plain = fast_linear.linear(y, w, bias, alpha=-2.0)
    assert torch.equal(plain, torch.addmm(bias, y, w.T, alpha=-2.0))
    exact = torch.addmm(bias.double(), y.double(), w.double().T, alpha=-2.0)
    bound = dim * 2.0**-24 * torch.addmm(bias.double(), y.double(), w.double().T, alpha=2.0)  # n·u·Σ|terms|
    assert bool(((fast.double() - exact).abs() <= bound).all())  # float32 round-off, never more
    assert not fast_linear.applies(y.double(), w.double(), bias.double())  # oneDNN's path is float32 only
    assert not fast_linear.applies(y[:, ::2], w[:, ::2], bias)  # nor for strided rows
    # the nearest codewords of MNIST-sized blocks agree with float64's wherever float64's margin exceeds round-off
    energies = squared_distances(y, w)
    exact_energies = torch.cdist(y.double(), w.double()).pow(2)
    top2 = exact_energies.topk(2, dim=1, largest=False).values
    clear = (top2[:, 1] - top2[:, 0]) > 1e-4 * top2[:, 1]
    assert torch.equal(energies.argmin(dim=1)[clear], exact_energies.argmin(dim=1)[clear])


def test_assign_uses_blocks_and_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    y, w = torch.randn(1000, 5, generator=g, dtype=torch.float64), torch.randn(37, 5, generator=g, dtype=torch.float64)
    brute = torch.cdist(y, w).pow(2)
    found = assign_clusters(y, w, row_block=64)
    assert torch.equal(found.index, brute.argmin(dim=1))
    assert torch.allclose(found.energy, brute.min(dim=1).values, atol=1e-10)


def test_energy_contract_free_energy_and_inference():
    g = torch.Generator().manual_seed(2)
    W = torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = torch.randn(40, 3, generator=g, dtype=torch.float64)
    energy = KMeansEnergy(W)
    Z = energy.latent.values(dtype=torch.float64)  # (K, K) one-hot codes
    paired = torch.stack([energy(y, Z[k].expand(len(y), -1)) for k in range(6)], dim=1)  # (B, K)
    assert torch.allclose(paired, torch.cdist(y, W).pow(2), atol=1e-10)
    assert torch.allclose(energy.pairwise(y, Z), paired, atol=1e-10)
    assert torch.allclose(energy.free_energy(y), paired.min(dim=1).values, atol=1e-10)
    for beta in (0.1, 1.0, 30.0):
        assert torch.allclose(energy.free_energy(y, beta), free_energy(paired, beta), atol=1e-10)
    result = ExhaustiveSearch()(energy, y)
    assert torch.equal(result.latent.argmax(dim=1), paired.argmin(dim=1))
    assert torch.allclose(energy.decode(result.latent), W[paired.argmin(dim=1)])  # ỹ = W[ž]
    assert torch.allclose(result.energy, paired.min(dim=1).values, atol=1e-10)


# --------------------------------------------------------------------------------- Lloyd agreement


@pytest.mark.parametrize("algorithm", ["lloyd", "accelerated"])
def test_lloyd_equals_the_lecture_procedure(algorithm):
    Y = lecture_demo_data(50, seed=0).double()
    generator = torch.Generator().manual_seed(0)
    W0 = Y[torch.randperm(len(Y), generator=generator)[:15]]  # the lecture's randperm initialisation
    W_ref, z_ref, iterations = _lecture_lloyd(Y, W0)
    result = k_means(Y, 15, init=W0, tol=0.0, algorithm=algorithm)
    assert torch.equal(result.labels, z_ref)
    assert torch.allclose(result.centers, W_ref, atol=1e-10)
    assert result.n_iter == iterations
    assert result.inertia == pytest.approx(float(((Y - W_ref[z_ref]) ** 2).sum()), rel=1e-12)


@pytest.mark.parametrize("k", [5, 20, 64])  # 64: several Yinyang groups
def test_accelerated_lloyd_gives_plain_lloyds_assignments(k):
    x = _blobs(k=k // 2 + 3, std=2.5)
    init = kmeans_plusplus(torch.from_numpy(x), k, generator=torch.Generator().manual_seed(3)).numpy()
    plain = k_means(x, k, init=init, tol=0.0, algorithm="lloyd", track_inertia=True)
    fast = k_means(x, k, init=init, tol=0.0, algorithm="accelerated", track_inertia=True)
    assert np.array_equal(plain.labels, fast.labels)
    assert np.allclose(plain.centers, fast.centers, atol=1e-9)
    assert plain.n_iter == fast.n_iter
    assert np.allclose(plain.inertia_history, fast.inertia_history, rtol=1e-10)
    assert all(b <= a * (1 + 1e-12) for a, b in zip(plain.inertia_history, plain.inertia_history[1:], strict=False))


@pytest.mark.parametrize("k", [5, 20, 64])
def test_accelerated_lloyd_stopped_by_tol_assigns_to_the_final_centroids(k):
    # the bounds must follow the last centroid update before the final assignment
    for seed in range(3):
        x, _ = make_blobs(3000, n_features=8, centers=k // 2 + 3, random_state=seed, cluster_std=2.5)
        init = kmeans_plusplus(torch.from_numpy(x), k, generator=torch.Generator().manual_seed(seed)).numpy()
        plain = k_means(x, k, init=init, tol=1e-2, algorithm="lloyd")
        fast = k_means(x, k, init=init, tol=1e-2, algorithm="accelerated")
        assert plain.n_iter == fast.n_iter and not plain.n_iter == 300
        assert np.array_equal(plain.labels, fast.labels)
        assert fast.inertia == pytest.approx(plain.inertia, rel=1e-9)


@pytest.mark.parametrize(("spread", "dtype"), [(2.5, np.float32), (1e-3, np.float64)])
def test_accelerated_inertia_equals_a_direct_float64_evaluation(spread, dtype):
    # spread 1e-3: Σ‖y‖² ≫ inertia, so the run refuses the float64-sums formula and makes an exact pass
    x = _blobs(k=12, std=spread).astype(dtype)
    result = k_means(x, 12, random_state=0, tol=0.0, algorithm="accelerated")
    direct = ((x.astype(np.float64) - result.centers.astype(np.float64)[result.labels]) ** 2).sum()
    # float32 rows are summed in float32 per chunk of rows, then float64: the sums formula is good to ~1e-7
    assert result.inertia == pytest.approx(direct, rel=1e-6 if dtype == np.float32 else 1e-7)


@pytest.mark.parametrize("algorithm", ["lloyd", "accelerated"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_sklearn_lloyd_from_the_same_init(algorithm, dtype):
    x = _digits(dtype)
    init = kmeans_plusplus(torch.from_numpy(x), 30, generator=torch.Generator().manual_seed(0)).numpy()
    sk = SkKMeans(30, init=init, n_init=1, tol=0.0, max_iter=300, algorithm="lloyd").fit(x)
    ours = k_means(x, 30, init=init, tol=0.0, algorithm=algorithm)
    assert ours.centers.dtype == dtype
    assert ours.inertia == pytest.approx(sk.inertia_, rel=1e-5)
    assert np.mean(ours.labels == sk.labels_) > 0.999
    assert ours.n_iter == sk.n_iter_


def test_tol_is_relative_to_the_data_variance():
    x = _blobs(k=8, std=3.0)
    a = k_means(x, 8, random_state=0, tol=1e-2, algorithm="lloyd")
    b = k_means(100.0 * x, 8, random_state=0, tol=1e-2, algorithm="lloyd")
    assert a.n_iter == b.n_iter and np.array_equal(a.labels, b.labels)


def test_tol_stops_like_sklearn():
    x = _digits(np.float64)
    init = kmeans_plusplus(torch.from_numpy(x), 10, generator=torch.Generator().manual_seed(1)).numpy()
    for tol in (1e-4, 1e-2):
        sk = SkKMeans(10, init=init, n_init=1, tol=tol, algorithm="lloyd").fit(x)
        ours = k_means(x, 10, init=init, tol=tol)
        assert ours.n_iter == sk.n_iter_
        assert ours.inertia == pytest.approx(sk.inertia_, rel=1e-9)


# ----------------------------------------------------------------------------------- init, restarts


def test_kmeans_plusplus_picks_data_points_and_beats_random_seeding():
    x = torch.from_numpy(_blobs(k=10, std=0.5))
    pp, rnd = [], []
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        centers = kmeans_plusplus(x, 10, generator=g)
        assert all(bool((x == c).all(dim=1).any()) for c in centers)
        pp.append(float(assign_clusters(x, centers).energy.sum()))
        rnd.append(float(assign_clusters(x, x[torch.randperm(len(x), generator=g)[:10]]).energy.sum()))
    assert np.mean(pp) < np.mean(rnd)


def test_n_init_keeps_the_best_restart():
    x = _blobs(k=15, std=2.0)
    singles = [k_means(x, 15, init="random", random_state=s).inertia for s in range(6)]
    best = k_means(x, 15, init="random", n_init=6, random_state=0).inertia
    assert best <= np.median(singles)


@pytest.mark.parametrize("algorithm", ["lloyd", "accelerated"])
def test_empty_cluster_is_reseeded_at_the_farthest_point(algorithm):
    x = np.concatenate([np.zeros((20, 2)), np.ones((20, 2)) * [10, 0], [[5.0, 30.0]]])
    x += np.random.default_rng(0).normal(scale=0.1, size=x.shape)
    init = np.array([[0.0, 0.0], [10.0, 0.0], [1000.0, 1000.0]])  # the third centroid wins no point
    result = k_means(x, 3, init=init, max_iter=1, algorithm=algorithm)
    assert np.isfinite(result.centers).all()
    assert np.allclose(result.centers[2], x[-1])  # the outlier, farthest from its centroid
    full = k_means(x, 3, init=init, algorithm=algorithm)
    assert np.isfinite(full.centers).all() and len(np.unique(full.labels)) == 3


# ----------------------------------------------------------------------------- soft and mini-batch


def test_soft_kmeans_limits_and_fixed_point():
    x = _blobs(n=600, d=2, k=4, std=0.5)
    hard = k_means(x, 4, random_state=0)
    cold = k_means(x, 4, beta=1e4, init=hard.centers)
    assert np.allclose(cold.centers, hard.centers, atol=1e-6)
    hot = k_means(x, 4, beta=1e-6, init=hard.centers, tol=1e-12, max_iter=50)
    assert np.allclose(hot.centers, x.mean(axis=0), atol=1e-3)
    soft = k_means(x, 4, beta=0.5, init=hard.centers, tol=1e-14, max_iter=2000)
    y, w = torch.from_numpy(x), torch.from_numpy(soft.centers)
    r = torch.softmax(-0.5 * torch.cdist(y, w).pow(2), dim=1)  # responsibilities softmin_β
    assert torch.allclose((r.T @ y) / r.sum(0, keepdim=True).T, w, atol=1e-6)  # a fixed point of the update


def test_annealing_schedule_runs_each_stage():
    x = _blobs(n=600, d=2, k=4, std=0.5)
    plain = k_means(x, 4, random_state=1, algorithm="lloyd")
    annealed = k_means(x, 4, beta_schedule=[0.01, 0.1, 1.0], random_state=1)
    assert annealed.n_iter > plain.n_iter
    assert annealed.inertia <= plain.inertia * 1.001


def test_minibatch_step_is_a_running_mean_and_partial_fit_converges():
    g = torch.Generator().manual_seed(0)
    batches = [torch.randn(30, 3, generator=g, dtype=torch.float64) + 5 for _ in range(4)]
    centers, counts = torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    for batch in batches:
        centers, counts = minibatch_step(centers, counts, batch)
    assert torch.allclose(centers[0], torch.cat(batches).mean(dim=0))
    assert counts.item() == 120
    x, truth = make_blobs(4000, n_features=2, centers=[[0, 0], [10, 0], [0, 10]], cluster_std=0.5, random_state=0)
    model = KMeans(3, random_state=0)
    for start in range(0, 4000, 500):
        model.partial_fit(x[start : start + 500])
    found = np.sort(np.round(model.cluster_centers_).astype(int), axis=0)
    assert np.array_equal(found, np.sort(np.array([[0, 0], [10, 0], [0, 10]]), axis=0))
    assert model.n_iter_ == 8


# ----------------------------------------------------------------------------------------- estimator


def test_estimator_returns_the_callers_kind_and_dtype():
    x = _digits(np.float32)
    model = KMeans(10, random_state=0).fit(x)
    assert isinstance(model.cluster_centers_, np.ndarray) and model.cluster_centers_.dtype == np.float32
    assert model.transform(x).dtype == np.float32
    t = torch.from_numpy(x).double()
    tmodel = KMeans(10, random_state=0).fit(t)
    assert isinstance(tmodel.cluster_centers_, torch.Tensor) and tmodel.cluster_centers_.dtype == torch.float64
    assert isinstance(tmodel.predict(t), torch.Tensor) and torch.equal(tmodel.predict(t), tmodel.labels_)
    assert isinstance(tmodel.predict(x), np.ndarray)
    assert tmodel.score(t) == pytest.approx(-tmodel.inertia_, rel=1e-9)
    distances = tmodel.transform(t)
    assert torch.allclose(distances, torch.cdist(t, tmodel.cluster_centers_), atol=1e-6)
    assert model.get_params()["n_clusters"] == 10 and model.set_params(beta=2.0).beta == 2.0
    energy = tmodel.energy()
    assert torch.allclose(energy.free_energy(t).sum(), torch.tensor(tmodel.inertia_, dtype=torch.float64), rtol=1e-9)


# ------------------------------------------------------- sample weights, sparse data, scikit-learn's API


def test_weighted_seeding_uses_the_weights_and_never_draws_an_absent_point():
    # what scikit-learn's test_sample_weight_init / test_sample_weight_zero check through its private
    # KMeans._init_centroids, here through the public seeding functions
    from ebmlab.models.kmeans.solver import _initial_centers

    x = torch.from_numpy(_blobs(n=200, d=10, k=10, seed=3))
    rng = np.random.default_rng(0)
    for init in ("k-means++", "random"):
        weights = torch.from_numpy(rng.uniform(size=200))
        plain = _initial_centers(x, 5, init, torch.Generator().manual_seed(1), None)
        weighted = _initial_centers(x, 5, init, torch.Generator().manual_seed(1), weights)
        assert not torch.allclose(plain, weighted)
        weights[::2] = 0.0  # the even rows are absent
        for seed in range(5):
            centers = _initial_centers(x, 10, init, torch.Generator().manual_seed(seed), weights)
            assert torch.cdist(x[::2], centers).min() > 0
    centers = kmeans_plusplus(x, 10, generator=torch.Generator().manual_seed(0), sample_weight=weights.numpy())
    assert torch.cdist(x[::2], centers).min() > 0


@pytest.mark.parametrize("beta", [math.inf, 0.5])
def test_integer_weights_equal_repeated_points(beta):
    x = _blobs(n=300, d=3, k=4, std=1.0)
    counts = np.random.default_rng(1).integers(0, 4, size=len(x))  # 0: the point is absent
    init = x[counts > 0][:4]
    weighted = k_means(x, 4, beta=beta, init=init, tol=1e-10, sample_weight=counts)
    repeated = k_means(np.repeat(x, counts, axis=0), 4, beta=beta, init=init, tol=1e-10)
    assert np.allclose(weighted.centers, repeated.centers, atol=1e-8)
    assert weighted.inertia == pytest.approx(repeated.inertia, rel=1e-9)
    assert weighted.n_iter == repeated.n_iter
    model = KMeans(4, init=init).fit(x, sample_weight=counts)
    assert model.score(x, sample_weight=counts) == pytest.approx(-model.inertia_, rel=1e-9)
    assert np.array_equal(model.cluster_counts_, np.bincount(model.labels_, weights=counts, minlength=4))


def test_partial_fit_with_weights_equals_repeated_batches():
    x = _blobs(n=400, d=2, k=3, std=0.5)
    counts = np.random.default_rng(2).integers(0, 3, size=len(x))
    init = x[:3]
    weighted, repeated = KMeans(3, init=init), KMeans(3, init=init)
    for start in range(0, 400, 100):
        batch, batch_counts = x[start : start + 100], counts[start : start + 100]
        weighted.partial_fit(batch, sample_weight=batch_counts)
        repeated.partial_fit(np.repeat(batch, batch_counts, axis=0))
    assert np.allclose(weighted.cluster_centers_, repeated.cluster_centers_, atol=1e-10)
    assert np.array_equal(weighted.cluster_counts_, repeated.cluster_counts_)


@pytest.mark.parametrize(
    ("algorithm", "beta", "weighted"),
    [("lloyd", math.inf, False), ("elkan", math.inf, False), ("auto", math.inf, True), ("auto", 2.0, False)],
)
def test_sparse_data_give_the_dense_result(algorithm, beta, weighted):
    import scipy.sparse

    x = _blobs(n=600, d=12, k=5, std=1.0)
    x[x < 0] = 0.0  # about half the entries stored
    weights = np.random.default_rng(3).uniform(size=len(x)) if weighted else None
    init = x[:5]
    dense = k_means(x, 5, init=init, beta=beta, algorithm=algorithm, sample_weight=weights, tol=1e-12)
    for container in (scipy.sparse.csr_matrix, scipy.sparse.csc_array):
        sparse = k_means(container(x), 5, init=init, beta=beta, algorithm=algorithm, sample_weight=weights, tol=1e-12)
        assert isinstance(sparse.centers, np.ndarray) and sparse.centers.dtype == np.float64
        assert np.array_equal(sparse.labels, dense.labels) and sparse.n_iter == dense.n_iter
        assert np.allclose(sparse.centers, dense.centers, atol=1e-10)
        assert sparse.inertia == pytest.approx(dense.inertia, rel=1e-9)


def test_estimator_on_sparse_arrays_and_sparse_tensors():
    import scipy.sparse

    x = _digits(np.float32)  # 64 pixels, most of them 0
    dense = KMeans(10, random_state=0).fit(x)
    matrix = scipy.sparse.csr_array(x)
    model = KMeans(10, random_state=0).fit(matrix)
    assert model.cluster_centers_.dtype == np.float32 and np.array_equal(model.labels_, dense.labels_)
    assert np.allclose(model.transform(matrix), dense.transform(x), atol=1e-4)
    assert np.array_equal(model.predict(matrix), dense.predict(x))
    assert model.score(matrix) == pytest.approx(dense.score(x), rel=1e-4)
    tensor = torch.from_numpy(x).to_sparse_csr()
    tmodel = KMeans(10, random_state=0).fit(tensor)
    assert isinstance(tmodel.labels_, torch.Tensor) and np.array_equal(tmodel.labels_.numpy(), dense.labels_)
    assert isinstance(tmodel.predict(tensor), torch.Tensor)
    assert isinstance(tmodel.transform(torch.from_numpy(x).to_sparse_coo()), torch.Tensor)
    partial = KMeans(10, random_state=0).partial_fit(matrix).partial_fit(matrix)
    assert partial.cluster_centers_.shape == (10, 64) and partial.n_iter_ == 2


def test_accelerated_lloyd_ends_with_the_plain_lloyds_centroids_bit_for_bit():
    # the accelerated iteration keeps its cluster sums incrementally; its final centroids are recomputed
    # from fresh sums, so that no round-off drift separates them from the plain Lloyd's
    x = _blobs(n=3000, d=8, k=20, std=2.5)
    init = kmeans_plusplus(torch.from_numpy(x), 30, generator=torch.Generator().manual_seed(0)).numpy()
    plain = k_means(x, 30, init=init, tol=0.0, algorithm="lloyd")
    fast = k_means(x, 30, init=init, tol=0.0, algorithm="elkan")
    assert np.array_equal(plain.labels, fast.labels) and np.array_equal(plain.centers, fast.centers)


def test_transform_of_a_centroid_is_exactly_zero_away_from_the_origin():
    x = _blobs(n=500, d=16, k=6, std=0.5, dtype=np.float32) + 1000.0  # ‖y‖² ≫ ‖y − w‖²
    model = KMeans(6, random_state=0).fit(x)
    distances = model.transform(model.cluster_centers_)
    assert np.array_equal(np.diag(distances), np.zeros(6, dtype=np.float32))
    reference = np.sqrt(((x[:50, None, :].astype(np.float64) - model.cluster_centers_.astype(np.float64)) ** 2).sum(-1))
    assert np.allclose(model.transform(x[:50]), reference, rtol=1e-3)


def test_copy_x_false_centres_in_place_and_restores_the_data():
    x = _blobs(n=500, d=4, k=5) + 50.0
    original = x.copy()
    tensor = torch.from_numpy(x)
    result = k_means(tensor, 5, init=original[:5], copy_x=False)
    assert np.allclose(x, original, rtol=0, atol=1e-12)  # the caller's memory, restored
    assert np.allclose(result.centers.numpy(), k_means(original, 5, init=original[:5]).centers, atol=1e-10)
    KMeans(5, init=original[:5], copy_x=False).fit(x)
    assert np.allclose(x, original, rtol=0, atol=1e-12)


def test_data_near_the_origin_are_solved_as_given_and_far_data_centred():
    x = _blobs(n=600, d=6, k=5)
    points = x - x.mean(axis=0) + 0.5  # B‖ȳ‖² = 1.5 B, far below Σ‖y − ȳ‖²: used as given, no copy
    tensor = torch.from_numpy(points.copy())
    solver = KMeansSolver(tensor, 8, init=points[:8], n_init=1)
    assert solver.y.data_ptr() == tensor.data_ptr() and float(solver.mean.abs().max()) == 0.0
    near = solver.run()
    far = KMeansSolver(points + 100.0, 8, init=points[:8] + 100.0, n_init=1)  # far from the origin: centred
    assert float(far.mean.abs().max()) > 99.0
    moved = far.run()
    assert torch.equal(near.labels, moved.labels)
    assert np.allclose(near.centers.numpy(), moved.centers.numpy() - 100.0, rtol=0, atol=1e-9)
    assert np.array_equal(tensor.numpy(), points)  # the caller's data untouched


def test_n_init_auto_callable_init_and_verbose(capsys):
    x = _blobs(n=200, d=3, k=4)
    seen = []

    def first_rows(data, n_clusters, random_state):
        seen.append((type(data), type(random_state)))
        return data[random_state.permutation(len(data))[:n_clusters]]

    model = KMeans(4, init=first_rows, random_state=0).fit(x)
    assert model._n_init == 10 and seen == [(np.ndarray, np.random.RandomState)] * 10
    assert KMeans(4, random_state=0).fit(x)._n_init == 1  # k-means++
    assert KMeans(4, init="random", random_state=0).fit(x)._n_init == 10
    with pytest.warns(RuntimeWarning, match="Explicit initial center position passed"):
        assert KMeans(4, init=x[:4], n_init=3).fit(x)._n_init == 1
    KMeans(4, random_state=0, verbose=1, tol=0.0).fit(x)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Initialization complete" and printed[1].startswith("Iteration 0, inertia ")
    assert printed[-1].endswith(": strict convergence.")


def test_sample_weight_errors():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(n_samples,\) = \(4,\).*got shape \(3,\)"):
        KMeans(2).fit(x, sample_weight=[1, 1, 1])
    with pytest.raises(ValueError, match=r"sample_weight must be >= 0 \(0: the point is absent\), got 1 negative"):
        k_means(x, 2, sample_weight=[1, -1, 1, 1])
    with pytest.raises(ValueError, match="Sample weights must contain at least one non-zero number"):
        KMeans(2).fit(x, sample_weight=np.zeros(4))
    with pytest.raises(ValueError, match=r"init='random' draws n_clusters=3 distinct points of positive weight"):
        k_means(np.arange(8.0).reshape(4, 2), 3, init="random", sample_weight=[1, 0, 0, 1])


# ---------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: k_means(np.array([[0.0, np.nan], [1.0, 1.0]]), 1), r"y contains 1 NaN or infinite"),
        (lambda: k_means(torch.tensor([[0.0, math.inf], [1.0, 1.0]]), 1), r"y contains 1 NaN or infinite"),
        (lambda: k_means(np.zeros((3, 2)), 5), r"n_samples=3 should be >= n_clusters=5"),
        (
            lambda: k_means(np.zeros((6, 2)), 2, init=np.zeros((3, 2))),
            r"initial centers \(3, 2\) does not match the number of clusters 2: init must have shape .*\(2, 2\)",
        ),
        (lambda: k_means(np.zeros((6, 2)), 2, init="kmeans"), r"init must be 'k-means\+\+', 'random'"),
        (lambda: k_means(np.zeros((6, 2)), 2, beta=-1.0), r"beta must be > 0, got beta=-1.0"),
        (lambda: k_means(np.zeros((6, 2)), 2, algorithm="yinyang"), r"algorithm must be one of"),
        (lambda: k_means(np.zeros(6), 2), r"y must be 2-D .* got shape \(6,\)"),
        (lambda: k_means(np.zeros((6, 2)), 0), r"n_clusters must be >= 1, got n_clusters=0"),
        (lambda: KMeans(2).fit(np.zeros((1, 2))), r"n_samples=1 should be >= n_clusters=2"),
        (
            lambda: KMeans(2).fit(np.zeros((6, 2))).predict(np.zeros((3, 5))),
            r"X has 5 features, but KMeans is expecting 2",
        ),
        (
            lambda: KMeans(2).fit(torch.zeros(6, 2)).predict(torch.zeros(3, 5)),
            r"X has 5 features, but KMeans is expecting 2",
        ),
        (lambda: KMeans(2).fit(np.array([[np.inf, 0.0], [0.0, 0.0]])), r"Input X contains infinity"),
        (
            lambda: KMeans(2, init=np.zeros((2, 3))).fit(np.zeros((6, 2))),
            r"initial centers \(2, 3\) does not match the number of features of the data 2: init must have shape "
            r".*\(2, 2\)",
        ),
    ],
)
def test_bad_input_errors_name_the_argument_and_values(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------------------------ CLI and demo


def test_cli_writes_a_resumable_run_directory(tmp_path, capsys):
    from ebmlab.cli import main
    from ebmlab.training import RunDirectory

    out = tmp_path / "run"
    argv = ["train", "kmeans", "--data", "blobs", "--k", "6", "--n-init", "2", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "K = 6: inertia " in printed and "of 2 kept)" in printed
    run = RunDirectory(out)
    rows = run.read_metrics()
    assert [row["step"] for row in rows] == list(range(1, len(rows) + 1))  # one row per Lloyd iteration
    curve = [row["loss"] for row in rows if row["restart"] == 1]
    assert len(curve) >= 2 and all(b <= a * (1 + 1e-9) for a, b in zip(curve, curve[1:], strict=False))
    finals = [row["final_inertia"] for row in rows if "final_inertia" in row]
    assert len(finals) == 2  # both restarts ended before max_iter
    checkpoint = run.load_checkpoint()
    best = checkpoint.state["task"]["solver"]["best"]
    assert tuple(best["centers"].shape) == (6, 2) and checkpoint.step == len(rows)
    assert float(best["inertia"]) == pytest.approx(min(finals))
    summary = run.read_summary()
    assert summary["metrics"]["inertia"] == pytest.approx(min(finals)) and summary["unit"] == "iteration"
    assert (out / "free_energy.png").stat().st_size > 0 and (out / "inertia.png").stat().st_size > 0
    assert main([*argv, "--resume"]) == 0  # a finished run: nothing left to do
    assert run.load_checkpoint().step == checkpoint.step
    assert main([*argv[:-3], "--n-init", "3", "--out", str(out), "--resume", "--no-progress"]) == 0  # one more restart
    assert [row["restart"] for row in run.read_metrics()][-1] == 3
    image_run = tmp_path / "digits"
    assert main(["train", "kmeans", "--data", "digits", "--k", "4", "--out", str(image_run), "--no-progress"]) == 0
    assert (image_run / "centroids.png").exists()
    assert main(["train", "kmeans", "--data", "blobs", "--k", "5000", "--out", str(tmp_path / "bad")]) == 2
    assert "n_samples=2000 should be >= n_clusters=5000" in capsys.readouterr().err


def test_cli_trains_on_data_whose_squares_overflow_float32(tmp_path, capsys):
    from ebmlab.cli import main
    from ebmlab.training import RunDirectory

    path = tmp_path / "huge.npy"
    np.save(path, np.random.default_rng(0).normal(scale=1e30, size=(100, 2)))  # finite in float32, squares not
    code = main(["train", "kmeans", "--data", str(path), "--k", "3", "--out", str(tmp_path / "run"), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    inertia = RunDirectory(tmp_path / "run").read_summary()["metrics"]["inertia"]
    assert math.isfinite(inertia) and inertia > 1e60


# ----------------------------------------------------------------------------- the training recipe


def _recipe(**settings):
    from ebmlab.recipes.kmeans import KMeansConfig, KMeansRecipe

    return KMeansRecipe(KMeansConfig(**settings))


def test_recipe_ends_with_the_centroids_of_k_means():
    from ebmlab.data import load_data
    from ebmlab.training import train

    recipe = _recipe(data="blobs", k=8, n_samples=400, n_init=3, seed=2)
    result = train(recipe, progress=False)
    data = load_data("blobs", n_samples=400, seed=2).data
    reference = k_means(data, 8, n_init=3, random_state=2, track_inertia=True)
    assert np.array_equal(recipe.model().centroids.numpy(), reference.centers)
    metrics = recipe.evaluate()
    assert metrics["inertia"] == reference.inertia and metrics["n_iter"] == reference.n_iter
    assert recipe.fit().inertia_history == list(reference.inertia_history)
    assert recipe.converged() and result.step < recipe.total == 3 * 300  # restarts ended on the tolerance
    assert "of 3 kept)" in recipe.summary(metrics)


def _flat(recipe):
    from ebmlab.training import flatten_state

    return flatten_state(recipe.state_dict())


@pytest.mark.parametrize(
    "settings",
    [
        {"k": 8, "n_samples": 400},  # plain Lloyd (B·K small)
        {"k": 40, "n_samples": 2000},  # accelerated Lloyd, Elkan bounds with +inf entries
        {"k": 24, "n_samples": 3000},  # accelerated Lloyd, Yinyang groups
        {"data": "digits", "k": 40},  # accelerated Lloyd on 64-dimensional images
        {"k": 6, "n_samples": 400, "beta": 0.5},  # soft k-means
    ],
)
def test_recipe_resumes_bit_for_bit_from_any_iteration(settings):
    from ebmlab.training import unflatten_state

    settings = {"data": "blobs", "n_init": 2, "tol": 0.0, "max_iter": 12, **settings}
    straight, ended = _recipe(**settings), []
    while not straight.converged():
        ended.append(straight.step(len(ended)).get("final_inertia") is not None)
    expected_tensors, expected_skeleton = _flat(straight)
    first_restart = ended.index(True) + 1
    assert first_restart < len(ended)
    for stop in sorted({1, first_restart // 2 + 1, first_restart, first_restart + 1}):
        first = _recipe(**settings)
        for index in range(stop):
            first.step(index)
        resumed = _recipe(**settings)
        resumed.load_state_dict(unflatten_state(*_flat(first)))  # the state as a checkpoint stores it
        while not resumed.converged():
            resumed.step(0)
        got_tensors, got_skeleton = _flat(resumed)
        assert got_skeleton == expected_skeleton
        assert sorted(got_tensors) == sorted(expected_tensors)
        for key, tensor in expected_tensors.items():
            assert torch.equal(tensor, got_tensors[key]), f"{settings}, resumed after {stop}: {key} differs"


def test_solver_resumes_across_annealing_stages():
    from ebmlab.models.kmeans import KMeansSolver

    x = _blobs(n=600, d=2, k=4, std=0.5)
    settings = {"beta_schedule": [0.01, 0.1], "n_init": 2, "random_state": 1, "max_iter": 6, "track_inertia": True}
    reference = k_means(x, 4, **settings)
    for stop in (3, 6, 7, 14):
        solver = KMeansSolver(x, 4, **settings)
        for _ in range(stop):
            solver.step()
        resumed = KMeansSolver(x, 4, **settings)
        resumed.load_state_dict(solver.state_dict())
        result = resumed.run()
        assert torch.equal(result.centers, torch.from_numpy(reference.centers))
        assert result.inertia == reference.inertia and result.inertia_history == reference.inertia_history


def test_recipe_refuses_a_max_iter_below_the_iterations_done():
    from ebmlab.training import RunError

    recipe = _recipe(data="blobs", k=8, n_samples=400, tol=0.0, max_iter=20)
    for index in range(3):
        recipe.step(index)
    with pytest.raises(RunError, match=r"--max-iter 3: restart 1 of the run has already done 3 iterations"):
        _recipe(data="blobs", k=8, n_samples=400, tol=0.0, max_iter=3).load_state_dict(recipe.state_dict())


def test_soft_kmeans_with_an_overflowing_beta_diverges():
    from ebmlab.training import Diverged, train

    x = _blobs(n=600, d=2, k=4, std=0.5).astype(np.float32)
    with pytest.raises(FloatingPointError, match=r"beta=1e\+39: the responsibilities .* not finite"):
        k_means(x, 4, beta=1e39, random_state=0)  # not, as before, the initial centroids as "converged"
    recipe = _recipe(data="blobs", k=8, beta=1e39, max_iter=5)
    with pytest.raises(Diverged, match=r"diverged at iteration 1: .* lower beta \(--beta, now 1e\+39\)"):
        train(recipe, progress=False)


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"k": 0}, r"k must be >= 1, got k=0"),
        ({"max_iter": 0}, r"max_iter must be >= 1, got max_iter=0"),
        ({"tol": -1.0}, r"tol must be >= 0"),
        ({"init": "kmeans"}, r"init must be one of \('k-means\+\+', 'random'\), got init='kmeans'"),
        ({"beta": 0.0}, r"beta must be > 0"),
    ],
)
def test_recipe_settings_are_validated(settings, match):
    with pytest.raises(ValueError, match=match):
        _recipe(**settings)


def test_lecture_demo_example_writes_a_png(tmp_path, monkeypatch):
    out = tmp_path / "demo.png"
    monkeypatch.setattr(sys, "argv", ["kmeans_lecture_demo.py", str(out)])
    runpy.run_path(str(ROOT / "examples" / "kmeans_lecture_demo.py"), run_name="__main__")
    assert out.stat().st_size > 10_000


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.skipif(not (SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz").exists(), reason="no MNIST here")
@pytest.mark.slow
def test_mnist_matches_sklearn():
    from ebmlab.data import load_mnist

    images, _ = load_mnist("train", root=SHARED_DATA)
    x = (images[:10000].reshape(10000, -1) / 255.0).astype(np.float32)
    init = kmeans_plusplus(torch.from_numpy(x), 64, generator=torch.Generator().manual_seed(0)).numpy()
    sk = SkKMeans(64, init=init, n_init=1, tol=0.0, max_iter=50, algorithm="lloyd").fit(x)
    ours = k_means(x, 64, init=init, tol=0.0, max_iter=50)
    assert ours.inertia == pytest.approx(sk.inertia_, rel=1e-4)


def test_accelerated_lloyd_skips_most_distance_computations(monkeypatch):
    from ebmlab.kernels.argmin_bounds import BoundedNearest

    searched = []
    original = BoundedNearest._search

    def counting(self, yb, yb_sq, c_sq):
        searched.append(yb.shape[0])
        return original(self, yb, yb_sq, c_sq)

    monkeypatch.setattr(BoundedNearest, "_search", counting)
    x = _blobs(n=20000, d=8, k=40, std=2.0, dtype=np.float32)
    result = k_means(x, 40, random_state=0, tol=0.0, algorithm="accelerated")
    full = len(x) * (result.n_iter + 1)  # plain Lloyd: every row at every assignment step
    assert sum(searched) < 0.3 * full
