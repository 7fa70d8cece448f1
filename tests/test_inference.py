"""Latent inference: the blocked kernel and the inference objects against brute force."""

import math

import pytest
import torch

from ebmlab import ExhaustiveSearch, GradientDescent, GridLatent, OneHotLatent, exhaustive_argmin
from ebmlab.energy import Energy, RealLatent
from ebmlab.inference import InferenceExtras, InferenceResult
from ebmlab.models.ebm2d import MLPEnergy
from ebmlab.models.ellipse import EllipseEnergy


@pytest.mark.parametrize("row_block,latent_block", [(None, None), (1, 1), (7, 3), (100, 100), (3, 50)])
def test_exhaustive_argmin_matches_enumeration(row_block, latent_block):
    generator = torch.Generator().manual_seed(0)
    energies = torch.randn(23, 41, generator=generator)
    energies[5, 10] = energies[5, 30] = -100.0  # a tie: the first index wins
    found = exhaustive_argmin(
        lambda rows, lat: energies[rows, lat], 23, 41, row_block=row_block, latent_block=latent_block
    )
    value, index = energies.min(dim=1)
    assert torch.equal(found.energy, value)
    assert torch.equal(found.index, index)
    assert found.index[5] == 10


def test_exhaustive_argmin_blocks_bound_memory():
    shapes = []

    def pairwise(rows, latents):
        block = torch.zeros(rows.stop - rows.start, latents.stop - latents.start)
        shapes.append(block.numel())
        return block

    exhaustive_argmin(pairwise, 2_000, 1_000, row_block=256, latent_block=128)
    assert max(shapes) <= 256 * 128


class QuadraticEnergy(Energy):
    """E(y, z) = ‖y − Az‖² for tests, with a latent space chosen by the test."""

    def __init__(self, latent, matrix):
        super().__init__()
        self.latent = latent
        self.matrix = matrix

    def forward(self, y, z, x=None):
        return (y - z @ self.matrix.T).pow(2).sum(-1)


def test_exhaustive_search_agrees_with_enumeration_one_hot():
    generator = torch.Generator().manual_seed(1)
    centres = torch.randn(3, 9, generator=generator)  # D=3, K=9 columns
    energy = QuadraticEnergy(OneHotLatent(9), centres)
    y = torch.randn(40, 3, generator=generator)
    result = ExhaustiveSearch(block_size=4)(energy, y)
    brute = torch.stack([energy(y, torch.eye(9)[k].expand(40, 9)) for k in range(9)], dim=1)  # (B, K)
    assert torch.equal(result.latent.argmax(1), brute.argmin(1))
    assert torch.allclose(result.energy, brute.amin(1))
    assert result.converged and result.iterations == 1


def test_pairwise_default_matches_forward():
    energy = EllipseEnergy(w=(1.7, 0.9))
    y = torch.randn(5, 2)
    z = torch.rand(7, 1) * 6
    fast = energy.pairwise(y, z)
    slow = Energy.pairwise(energy, y, z)  # the generic expand-and-forward implementation
    assert fast.shape == (5, 7)
    assert torch.allclose(fast, slow, atol=1e-6)


def test_gradient_descent_on_ellipse_matches_fine_grid():
    """Gradient inference started from the lecture's grid finds the same ž (mod 2π) as a fine grid."""
    torch.manual_seed(0)
    w = (2.0, 1.5)
    grid_energy = EllipseEnergy(w=w, latent="grid")
    real_energy = EllipseEnergy(w=w, latent="real").double()
    angle = torch.rand(64) * 2 * math.pi
    radius = 0.6 + torch.rand(64) * 0.8  # inside and outside the ellipse
    y = torch.stack([2.0 * radius * torch.cos(angle), 1.5 * radius * torch.sin(angle)], 1).double()
    start = ExhaustiveSearch()(grid_energy.double(), y).latent
    result = GradientDescent(step_size=0.05, max_iter=5000, tol=1e-10)(real_energy, y, init=start)
    assert result.converged
    fine = GridLatent(0, 2 * math.pi, 2 * math.pi / 200_000).values(dtype=torch.float64)
    brute = real_energy.pairwise(y, fine).detach()
    z_fine = fine[brute.argmin(1), 0]
    gap = torch.remainder(result.latent[:, 0] - z_fine + math.pi, 2 * math.pi) - math.pi
    assert gap.abs().max() < 1e-4
    assert torch.allclose(result.energy, brute.amin(1), atol=1e-8)


def test_gradient_descent_bad_input():
    energy = EllipseEnergy(latent="real")
    with pytest.raises(ValueError, match="init must have shape"):
        GradientDescent()(energy, torch.zeros(3, 2), init=torch.zeros(2, 1))
    with pytest.raises(ValueError, match="step_size must be > 0"):
        GradientDescent(step_size=0)
    quadratic = QuadraticEnergy(RealLatent(2), torch.eye(2))  # step 2 > 2/L = 1: z grows 3x a step
    with pytest.raises(FloatingPointError, match="diverged at iteration .* step_size=2.0"):
        GradientDescent(step_size=2.0, max_iter=500)(quadratic, torch.ones(2, 2))


def test_exhaustive_search_needs_a_finite_latent():
    energy = QuadraticEnergy(RealLatent(2), torch.eye(2))
    with pytest.raises(TypeError, match="finite latent space"):
        ExhaustiveSearch()(energy, torch.zeros(1, 2))
    with pytest.raises(TypeError, match="finite latent space"):
        energy.free_energy(torch.zeros(1, 2))


def test_grid_latent_is_the_lecture_grid():
    grid = GridLatent(0, 2 * math.pi, math.pi / 24)
    values = grid.values(dtype=torch.float64)[:, 0]
    assert grid.size == 48
    assert torch.allclose(values, torch.arange(48, dtype=torch.float64) * math.pi / 24)


def test_every_name_imported_from_ebmlab_inference_still_imports():
    from ebmlab.inference import (  # noqa: F401
        Amortized,
        ArgminResult,
        ExhaustiveSearch,
        GradientDescent,
        Inference,
        InferenceExtras,
        InferenceResult,
        ProximalEnergy,
        ProximalGradient,
        exhaustive_argmin,
    )


def test_inference_result_positional_construction_and_empty_extras():
    result = InferenceResult(torch.zeros(2, 1), torch.ones(2), 3, False)
    assert (result.iterations, result.converged) == (3, False)
    assert result.extras == InferenceExtras() and result.extras.duality_gap is None
    gap = InferenceResult(torch.zeros(2, 1), torch.ones(2), 3, False, InferenceExtras(duality_gap=torch.zeros(2)))
    assert gap.extras.duality_gap.shape == (2,)


def test_empty_latent_makes_a_deterministic_energy_its_own_free_energy():
    energy = MLPEnergy(2, (8,), seed=0)
    y = torch.randn(4, 2)
    value = energy(y).detach()
    for beta in (math.inf, 1.0, 1e-3):
        torch.testing.assert_close(energy.free_energy(y, beta).detach(), value)
    result = ExhaustiveSearch()(energy, y)
    assert result.latent.shape == (4, 0)
    torch.testing.assert_close(result.energy, value)
    with pytest.raises(ValueError, match=r"z must be None or of shape \(B, 0\)"):
        energy(y, torch.zeros(4, 1))


def test_exhaustive_search_checks_y_against_the_energy():
    energy = QuadraticEnergy(OneHotLatent(3), torch.eye(2, 3))
    energy.data_dim = 2
    with pytest.raises(ValueError, match=r"y must be 2-D of shape \(B, D\).*got shape \(2,\)"):
        ExhaustiveSearch()(energy, torch.zeros(2))
    expected = r"QuadraticEnergy expects y of shape \(B, D\) with D=2, got y of shape \(1, 5\)"
    with pytest.raises(ValueError, match=expected):
        ExhaustiveSearch()(energy, torch.zeros(1, 5))
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        ExhaustiveSearch(block_size=0)


def test_gradient_descent_takes_init_by_keyword_only():
    energy = EllipseEnergy(latent="real")
    with pytest.raises(TypeError):
        GradientDescent()(energy, torch.zeros(1, 2), None, torch.zeros(1, 1))
