"""free_energy and softmin against a float64 brute-force reference and their limits."""

import math

import numpy as np
import pytest
import torch

from ebmlab import free_energy, softmin


def reference(energies: np.ndarray, beta: float) -> np.ndarray:
    """−(1/β) log((1/K) Σ exp(−βE)) in float64 with numpy, max-shifted."""
    scaled = -beta * energies
    top = scaled.max(axis=-1, keepdims=True)
    lse = top[..., 0] + np.log(np.exp(scaled - top).sum(axis=-1))
    return -(lse - math.log(energies.shape[-1])) / beta


@pytest.mark.parametrize("beta", [1e-3, 0.1, 1.0, 7.5, 100.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_brute_force_logsumexp(beta, dtype):
    rng = np.random.default_rng(0)
    energies = rng.normal(scale=3.0, size=(64, 17))
    got = free_energy(torch.tensor(energies, dtype=dtype), beta).double().numpy()
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(got, reference(energies, beta), rtol=tol, atol=tol * 10)


def test_dim_argument_and_shape():
    energies = torch.randn(3, 5, 4, dtype=torch.float64)
    got = free_energy(energies, 2.0, dim=1)
    assert got.shape == (3, 4)
    expected = reference(energies.transpose(1, 2).numpy(), 2.0)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_limits_min_and_mean(dtype):
    energies = torch.randn(50, 48, dtype=dtype) * 2 + 1
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    # β → ∞: the minimum (error ≤ log K / β)
    assert torch.allclose(free_energy(energies, 1e6), energies.amin(-1), atol=math.log(48) / 1e6 + tol)
    assert torch.equal(free_energy(energies, math.inf), energies.amin(-1))
    # β → 0: the mean (error ~ β · variance / 2)
    assert torch.allclose(free_energy(energies, 1e-6), energies.mean(-1), atol=1e-5, rtol=tol)


def test_float32_stable_over_the_whole_beta_range():
    energies = torch.randn(200, 48, dtype=torch.float64) * 5
    for beta in [1e-6, 1e-4, 1e-2, 1.0, 1e2, 1e4, 1e6]:
        exact = torch.tensor(reference(energies.numpy(), beta))
        got = free_energy(energies.float(), beta).double()
        assert torch.isfinite(got).all()
        # float32 resolves energies to ~1e-6 relative; the result must be that accurate too
        assert torch.allclose(got, exact, atol=5e-5, rtol=1e-5), beta


def test_monotone_in_beta():
    energies = torch.randn(10, 30, dtype=torch.float64)
    betas = [1e-3, 0.1, 1.0, 10.0, 1e3, math.inf]
    values = torch.stack([free_energy(energies, b) for b in betas])
    assert (values[1:] <= values[:-1] + 1e-12).all()  # F_β decreases from the mean to the min


@pytest.mark.parametrize("beta", [1e-4, 0.3, 1.0, 50.0])
def test_gradient_is_softmin(beta):
    energies = torch.randn(8, 12, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(free_energy(energies, beta).sum(), energies)
    assert torch.allclose(grad, softmin(energies.detach(), beta), atol=1e-12)


def test_gradcheck():
    energies = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    for beta in (0.01, 2.0, 300.0):
        assert torch.autograd.gradcheck(lambda e, b=beta: free_energy(e, b), (energies,))


def test_softmin_zero_temperature_is_one_hot_argmin():
    energies = torch.tensor([[3.0, -1.0, 2.0], [0.5, 0.7, 0.1]])
    expected = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert torch.equal(softmin(energies, math.inf), expected)
    assert torch.allclose(softmin(energies, 1e4), expected)
    assert torch.allclose(softmin(energies, 0.5).sum(-1), torch.ones(2))


@pytest.mark.parametrize("beta", [0.0, -1.0, float("nan")])
def test_bad_beta(beta):
    with pytest.raises(ValueError, match="beta must be > 0"):
        free_energy(torch.zeros(3), beta)


def test_bad_energies():
    with pytest.raises(TypeError, match="floating-point"):
        free_energy(torch.zeros(3, dtype=torch.int64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        free_energy([1.0, 2.0])
    with pytest.raises(ValueError, match="no latent values"):
        free_energy(torch.zeros(2, 0))


def test_numpy_beta_bad_dim_and_infinite_rows():
    """Inputs that used to escape as deep errors: numpy scalars for beta, an out-of-range dim, and rows
    with no allowed latent (all +inf: F = +inf, not NaN) or a -inf energy (F = -inf)."""
    energies = torch.tensor([[0.0, 1.0, 4.0]])
    assert torch.equal(free_energy(energies, beta=np.float32(2.0)), free_energy(energies, 2.0))
    assert torch.equal(free_energy(energies, beta=np.int64(3)), free_energy(energies, 3.0))
    with pytest.raises(ValueError, match=r"dim must be an integer in \[-2, 1\].*got dim=5"):
        free_energy(energies, 1.0, dim=5)
    rows = torch.tensor([[math.inf] * 3, [0.0, math.inf, 1.0], [-math.inf, 0.0, 1.0]])
    for beta in (1e-7, 1.0, 1e6):
        values = free_energy(rows, beta)
        assert values[0] == math.inf and values[2] == -math.inf
        expected = -(torch.logsumexp(-beta * torch.tensor([0.0, 1.0]), 0) - math.log(3)) / beta
        assert torch.allclose(values[1], expected, rtol=1e-5)


# ------------------------------------------------------------------------- the blocked marginaliser


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("beta", [1e-6, 1e-2, 0.5, 3.0, 1e3, 1e6, math.inf])
@pytest.mark.parametrize("latent_block", [1, 3, 7, 64])
def test_blocked_free_energy_equals_the_whole_matrix(dtype, beta, latent_block):
    from ebmlab.kernels.free_energy import blocked_free_energy

    g = torch.Generator().manual_seed(0)
    energies = (torch.randn(9, 20, generator=g, dtype=torch.float64) * 5 + 50).to(dtype)
    energies[1, :] = math.inf  # no allowed latent: F = +inf
    energies[2, :13] = math.inf  # the first blocks empty, the minimum in a later one
    energies[3, 5] = -math.inf  # F = −inf
    energies[4, :] = 7.0  # all equal: F = 7 at every β
    streamed = blocked_free_energy(lambda r, k: energies[r, k], 9, 20, beta, row_block=4, latent_block=latent_block)
    whole = free_energy(energies, beta)
    assert streamed.dtype == dtype
    assert torch.equal(torch.isinf(streamed), torch.isinf(whole))
    finite = torch.isfinite(whole)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert torch.allclose(streamed[finite], whole[finite], rtol=tol, atol=0)


def test_blocked_free_energy_gradient_is_the_softmin():
    from ebmlab.kernels.free_energy import blocked_free_energy

    energies = torch.randn(5, 11, generator=torch.Generator().manual_seed(1), dtype=torch.float64).requires_grad_()
    blocked_free_energy(lambda r, k: energies[r, k], 5, 11, 0.7, latent_block=4).sum().backward()
    assert torch.allclose(energies.grad, softmin(energies.detach(), 0.7), atol=1e-12)
