"""VAE, IWAE and the plain autoencoder: closed forms, estimators, shapes, data, recipes.

Statistical tests use fixed seeds and tolerances of several standard errors; the linear-Gaussian
model (p(z) = N(0, I), p(y | z) = N(Wz + b, σ²I)) gives log p(y) = log N(y; b, WWᵀ + σ²I) exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ebmlab.data.binarize import binarize_dynamic, binarize_static
from ebmlab.energy import Energy
from ebmlab.inference import InferenceResult
from ebmlab.models.vae import (
    VAE,
    GaussianEncoder,
    GaussianLikelihood,
    VAEEnergy,
    conv_autoencoder,
    conv_vae,
    elbo,
    gaussian_kl,
    importance_log_weights,
    iwae_bound,
    log_likelihood,
    mlp_autoencoder,
    mlp_vae,
    reparameterize,
)
from ebmlab.recipes.vae import AutoencoderConfig, AutoencoderRecipe, VAEConfig, VAERecipe, prepare_latent_data
from ebmlab.training import RunError, train

# ------------------------------------------------------------------ the linear-Gaussian model


SIGMA = 0.5


def _linear_gaussian(encoder_shift: float = 0.0, log_var_shift: float = 0.0, seed: int = 0):
    """A VAE whose decoder is y = Wz + b + σε (W with orthogonal columns) and whose encoder is the
    exact posterior (shifted by the given amounts); float64. Returns (model, W, b)."""
    generator = torch.Generator().manual_seed(seed)
    dim, latent = 4, 2
    q, _ = torch.linalg.qr(torch.randn(dim, latent, generator=generator, dtype=torch.float64))
    w = q * torch.tensor([1.5, 0.7], dtype=torch.float64)  # (D, d), WᵀW diagonal: the posterior is too
    b = torch.randn(dim, generator=generator, dtype=torch.float64)
    precision = torch.eye(latent, dtype=torch.float64) + w.T @ w / SIGMA**2  # (d, d), diagonal
    covariance = torch.linalg.inv(precision)
    gain = covariance @ w.T / SIGMA**2  # (d, D): μ(y) = gain (y − b)
    decoder = nn.Linear(latent, dim).double()
    energy = VAEEnergy(decoder, GaussianLikelihood(scale=SIGMA, learn_scale=False).double(), latent)
    encoder = GaussianEncoder(nn.Identity(), dim, latent).double()
    with torch.no_grad():
        decoder.weight.copy_(w)
        decoder.bias.copy_(b)
        encoder.mean.weight.copy_(gain)
        encoder.mean.bias.copy_(-gain @ b + encoder_shift)
        encoder.log_var.weight.zero_()
        encoder.log_var.bias.copy_(torch.log(torch.diagonal(covariance)) + log_var_shift)
    return VAE(encoder, energy, dim), w, b


def _exact_log_likelihood(w, b, y):
    covariance = w @ w.T + SIGMA**2 * torch.eye(len(b), dtype=torch.float64)
    return torch.distributions.MultivariateNormal(b, covariance).log_prob(y)  # (B,)


def _closed_form_elbo(model, w, b, y):
    """E_q[log p(y|z)] − KL(q ‖ p) for the linear-Gaussian model, exactly."""
    posterior = model.encoder.posterior(y)
    variance = posterior.log_var.exp()  # (B, d)
    residual = y - posterior.mean @ w.T - b  # (B, D)
    spread = (variance * (w**2).sum(0)).sum(1)  # tr(W Σ Wᵀ), (B,)
    dim = y.shape[1]
    expected = (
        -0.5 * ((residual**2).sum(1) + spread) / SIGMA**2 - dim * math.log(SIGMA) - 0.5 * dim * math.log(2 * math.pi)
    )
    return expected - gaussian_kl(posterior.mean, posterior.log_var)


def _data(model, count, seed=1):
    """Observations drawn from the model itself."""
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(count, model.latent_dim, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        mean = model.energy.decoder(z)
    return mean + SIGMA * torch.randn(mean.shape, generator=generator, dtype=torch.float64)


def test_exact_posterior_makes_every_bound_exact():
    model, w, b = _linear_gaussian()
    y = _data(model, 16)
    exact = _exact_log_likelihood(w, b, y)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        torch.testing.assert_close(_closed_form_elbo(model, w, b, y), exact, atol=1e-10, rtol=0)
        # the ELBO's estimate (Monte Carlo reconstruction, closed-form KL) is exact in expectation only
        torch.testing.assert_close(elbo(model, y, samples=20000, generator=generator).value, exact, atol=0.03, rtol=0)
        torch.testing.assert_close(iwae_bound(model, y, 7, generator=generator).value, exact, atol=1e-6, rtol=0)
        weights = importance_log_weights(model, y, 5, generator=generator)  # every weight is p(y)
        torch.testing.assert_close(weights, exact.expand(5, -1), atol=1e-6, rtol=0)
    estimate = log_likelihood(model, y, 100, chunk_size=30, generator=generator)
    torch.testing.assert_close(estimate.log_likelihood, exact, atol=1e-6, rtol=0)
    assert float(estimate.standard_error.max()) < 1e-6


def test_elbo_estimate_matches_its_closed_form_and_stays_below_log_likelihood():
    model, w, b = _linear_gaussian(encoder_shift=0.4, log_var_shift=0.7)
    y = _data(model, 8)
    exact = _exact_log_likelihood(w, b, y)
    with torch.no_grad():
        closed = _closed_form_elbo(model, w, b, y)
        estimate = elbo(model, y, samples=40000, generator=torch.Generator().manual_seed(0))
    assert bool((closed < exact - 1e-3).all()), "an approximate posterior must leave a gap"
    torch.testing.assert_close(estimate.value, closed, atol=0.02, rtol=0)
    assert bool((estimate.value < exact).all())
    torch.testing.assert_close(estimate.value, -estimate.reconstruction - estimate.kl)


def test_iwae_estimate_approaches_log_likelihood_as_k_grows():
    model, w, b = _linear_gaussian(encoder_shift=0.4, log_var_shift=0.7)
    y = _data(model, 200)
    exact = _exact_log_likelihood(w, b, y)
    with torch.no_grad():
        gap_elbo = float((exact - _closed_form_elbo(model, w, b, y)).mean())
    gaps, errors = [], []
    for k in (1, 10, 100, 2000):
        estimate = log_likelihood(model, y, k, generator=torch.Generator().manual_seed(k))
        gap = exact - estimate.log_likelihood  # (B,)
        gaps.append(float(gap.mean()))
        errors.append(float(gap.std()) / math.sqrt(len(y)))  # the spread of the mean over the 200 points
    assert abs(gaps[0] - gap_elbo) < 4 * errors[0]  # k = 1 is a one-sample estimate of the ELBO
    assert gaps[0] > gaps[1] > max(gaps[2], gaps[3])
    assert abs(gaps[3]) < 4 * errors[3] < 0.02, (gaps, errors)  # k = 2000: log p(y) within the noise


def test_iwae_bound_increases_with_k_in_expectation():
    model, w, b = _linear_gaussian(encoder_shift=0.4, log_var_shift=0.7)
    y = _data(model, 4)
    exact = _exact_log_likelihood(w, b, y)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        means = [
            torch.stack([iwae_bound(model, y, k, generator=generator).value for _ in range(2000)]).mean(0)
            for k in (1, 5, 50)
        ]
    assert bool((means[0] < means[1]).all()) and bool((means[1] < means[2]).all())
    assert bool((means[2] < exact).all())


def test_standard_error_matches_the_spread_of_independent_estimates():
    model, _, _ = _linear_gaussian(encoder_shift=0.5, log_var_shift=0.8)
    y = _data(model, 3)
    generator = torch.Generator().manual_seed(0)
    repeats = [log_likelihood(model, y, 50, generator=generator) for _ in range(400)]
    spread = torch.stack([r.log_likelihood for r in repeats]).std(0)  # (B,)
    reported = torch.stack([r.standard_error for r in repeats]).mean(0)
    ratio = reported / spread
    assert bool(((ratio > 0.8) & (ratio < 1.25)).all()), ratio


def test_log_likelihood_equals_the_direct_formula_in_one_chunk_and_agrees_across_chunks():
    model, _, _ = _linear_gaussian(encoder_shift=0.3)
    y = _data(model, 5)
    k = 40
    weights = importance_log_weights(model, y, k, generator=torch.Generator().manual_seed(7))  # (k, B)
    estimate = log_likelihood(model, y, k, chunk_size=k, generator=torch.Generator().manual_seed(7))
    w = weights.detach().exp()
    torch.testing.assert_close(estimate.log_likelihood, torch.logsumexp(weights.detach(), 0) - math.log(k))
    torch.testing.assert_close(estimate.standard_error, w.std(0) / (math.sqrt(k) * w.mean(0)))
    chunked = log_likelihood(model, y, 1000, chunk_size=7, generator=torch.Generator().manual_seed(8))
    whole = log_likelihood(model, y, 1000, generator=torch.Generator().manual_seed(9))
    difference = (chunked.log_likelihood - whole.log_likelihood).abs()
    assert bool((difference < 5 * torch.hypot(chunked.standard_error, whole.standard_error) + 1e-9).all())
    single = log_likelihood(model, y, 1)
    assert bool(torch.isnan(single.standard_error).all())


# ------------------------------------------------------------------ the KL term and the gradient


def test_gaussian_kl_matches_torch_distributions():
    generator = torch.Generator().manual_seed(0)
    mean = torch.randn(6, 5, generator=generator, dtype=torch.float64)
    log_var = torch.randn(6, 5, generator=generator, dtype=torch.float64)
    q = torch.distributions.Independent(torch.distributions.Normal(mean, (0.5 * log_var).exp()), 1)
    p = torch.distributions.Independent(torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean)), 1)
    torch.testing.assert_close(gaussian_kl(mean, log_var), torch.distributions.kl_divergence(q, p))


def test_reparameterised_gradient_matches_the_score_function_estimate():
    generator = torch.Generator().manual_seed(0)
    decoder = nn.Sequential(nn.Linear(2, 3), nn.Tanh()).double()
    with torch.no_grad():
        for parameter in decoder.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    y = torch.tensor([[0.3, -0.2, 0.5]], dtype=torch.float64)

    def f(z):  # a smooth, nonlinear -log p(y|z), (S, 1, 2) -> (S, 1)
        return ((decoder(z) - y) ** 2).sum(-1)

    mean = torch.tensor([[0.2, -0.4]], dtype=torch.float64, requires_grad=True)
    log_var = torch.tensor([[-0.5, 0.3]], dtype=torch.float64, requires_grad=True)
    count = 200_000
    noise = torch.randn(count, 1, 2, generator=generator, dtype=torch.float64)
    (reparam_mean, reparam_log_var) = torch.autograd.grad(
        f(reparameterize(mean, log_var, noise)).mean(), (mean, log_var)
    )
    noise = torch.randn(count, 1, 2, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        z = reparameterize(mean, log_var, noise)  # (S, 1, 2)
        value = f(z).unsqueeze(-1)  # (S, 1, 1)
        centred = value - value.mean(0)  # a baseline: same expectation, less variance
        score_mean = noise * (-0.5 * log_var).exp()  # ∂ log q / ∂μ = (z − μ)/σ²
        score_log_var = 0.5 * (noise**2 - 1)  # ∂ log q / ∂ log σ²
        terms = torch.cat([centred * score_mean, centred * score_log_var], -1).reshape(count, 4)
    score = terms.mean(0)
    error = terms.std(0) / math.sqrt(count)
    reparam = torch.cat([reparam_mean.reshape(2), reparam_log_var.reshape(2)])
    assert bool(((reparam - score).abs() < 5 * error + 1e-4).all()), (reparam, score, error)


# ------------------------------------------------------------------ shapes and contracts


@pytest.mark.parametrize("build", ["mlp", "conv"])
def test_shapes_and_the_inference_contract(build):
    image = (8, 8)
    model = mlp_vae(64, hidden=(16, 8), latent=3, seed=0) if build == "mlp" else conv_vae(image, hidden=(16,), latent=3)
    y = torch.rand(5, 64)
    assert isinstance(model.energy, Energy)
    assert model.energy(y, torch.zeros(5, 3)).shape == (5,)
    assert model.energy.log_joint(y, torch.zeros(7, 5, 3)).shape == (7, 5)
    result = model.encoder(model.energy, y)
    assert isinstance(result, InferenceResult)
    assert result.latent.shape == (5, 3) and result.energy.shape == (5,)
    assert (result.iterations, result.converged) == (1, True)
    torch.testing.assert_close(result.latent, model.encoder.posterior(y).mean.detach())
    torch.testing.assert_close(result.energy, model.energy(y, result.latent).detach())
    for bound in (elbo(model, y), elbo(model, y, samples=4, beta=2.0), iwae_bound(model, y, 6)):
        assert all(part.shape == (5,) for part in bound)
    assert importance_log_weights(model, y, 9).shape == (9, 5)
    estimate = log_likelihood(model, y, 9, chunk_size=4)
    assert estimate.log_likelihood.shape == estimate.standard_error.shape == (5,)
    assert estimate.log_likelihood.dtype == torch.float64
    assert model.sample(4).shape == (4, 64) and model.reconstruct(y).shape == (5, 64)


@pytest.mark.parametrize("image", [(28, 28), (7, 9), (8, 8)])
def test_convolutional_models_give_back_the_image_size(image):
    area = image[0] * image[1]
    vae = conv_vae(image, latent=2, hidden=(16,), seed=0)
    autoencoder = conv_autoencoder(image, latent=2, hidden=(), seed=0)
    y = torch.rand(3, area)
    assert vae.reconstruct(y).shape == (3, area)
    assert vae.energy.decoder(torch.zeros(4, 3, 2)).shape == (4, 3, area)
    assert autoencoder.loss(y).shape == (3,)


def test_bernoulli_decoder_output_is_a_probability_and_gaussian_scale_is_learned():
    model = mlp_vae(10, hidden=(8,), latent=2, seed=0)
    probabilities = model.sample(20, generator=torch.Generator().manual_seed(0)).detach()
    assert float(probabilities.min()) >= 0.0 and float(probabilities.max()) <= 1.0
    gaussian = mlp_vae(10, hidden=(8,), latent=2, decoder="gaussian", seed=0)
    assert "energy.likelihood.log_scale" in dict(gaussian.named_parameters())


def test_mlp_vae_initialises_like_pytorch_examples():
    """The same layer shapes, created in the same order: the same seed gives the same weights."""

    class ExamplesVAE(nn.Module):  # pytorch/examples vae/main.py
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

    torch.manual_seed(3)
    reference = ExamplesVAE()
    ours = mlp_vae(784, seed=3)
    for theirs, mine in zip(reference.parameters(), ours.parameters(), strict=True):
        assert torch.equal(theirs, mine)


@pytest.mark.parametrize("conv", [False, True])
def test_autoencoder_has_the_layers_of_the_vae(conv):
    """The builders share one assembly: the same body and decoder, one code head instead of μ and log σ²."""
    if conv:
        vae, autoencoder = (f((8, 8), channels=(4,), hidden=(16,), latent=3) for f in (conv_vae, conv_autoencoder))
    else:
        vae, autoencoder = (f(64, hidden=(16, 8), latent=3) for f in (mlp_vae, mlp_autoencoder))
    shapes = {name: p.shape for name, p in vae.named_parameters() if not name.startswith("encoder.log_var")}
    renamed = {name.replace("encoder.head", "encoder.mean"): p.shape for name, p in autoencoder.named_parameters()}
    assert shapes == renamed
    y = torch.rand(5, 64)
    for model in (vae, autoencoder):
        assert model.latent_dim == 3 and model.data_dim == 64
        torch.testing.assert_close(model.reconstruct(y), model.energy.decode(model.encoder(model.energy, y).latent))
    torch.testing.assert_close(vae.encoder.code(y), vae.encoder.posterior(y).mean)


def test_the_command_line_offers_the_library_choices():
    """``ebmlab train vae/autoencoder`` copies these names (it must not import torch): they must not drift."""
    from ebmlab.cli.train import autoencoder as command
    from ebmlab.models.vae import ACTIVATIONS, LIKELIHOODS

    assert command.ACTIVATIONS == tuple(ACTIVATIONS) and command.DECODERS == tuple(LIKELIHOODS)


def test_errors_name_the_argument():
    model = mlp_vae(6, hidden=(4,), latent=2, seed=0)
    with pytest.raises(ValueError, match="D = 6"):
        elbo(model, torch.rand(2, 5))
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        elbo(model, torch.rand(6))
    with pytest.raises(TypeError, match="VAE"):
        elbo(mlp_autoencoder(6, hidden=(4,), latent=2), torch.rand(2, 6))
    with pytest.raises(ValueError, match="k must be >= 1"):
        log_likelihood(model, torch.rand(2, 6), 0)
    with pytest.raises(ValueError, match="activation"):
        mlp_vae(6, activation="sigmoidal")
    with pytest.raises(ValueError, match="decoder"):
        mlp_vae(6, decoder="poisson")
    with pytest.raises(ValueError, match="too small"):
        conv_vae((4, 4), channels=(8, 8, 8))
    with pytest.raises(ValueError, match=r"hidden\[0\]"):
        conv_autoencoder((8, 8), hidden=(0,))
    with pytest.raises(ValueError, match="image_shape"):
        conv_vae((8,))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_models_and_estimators_run_on_the_gpu():
    model = mlp_vae(16, hidden=(8,), latent=2, seed=0).cuda()
    y = torch.rand(4, 16, device="cuda")
    generator = torch.Generator(device="cuda").manual_seed(0)
    assert elbo(model, y, generator=generator).value.device.type == "cuda"
    assert log_likelihood(model, y, 10, generator=generator).log_likelihood.device.type == "cuda"


# ------------------------------------------------------------------ binarisation


def test_static_binarisation_is_fixed_by_its_seed_and_unbiased():
    grey = np.random.default_rng(0).random((400, 50)).astype(np.float32)
    first, again, other = binarize_static(grey, seed=1), binarize_static(grey, seed=1), binarize_static(grey, seed=2)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert set(np.unique(first)) <= {0.0, 1.0} and first.dtype == np.float32
    assert abs(float(first.mean() - grey.mean())) < 0.01
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        binarize_static(grey * 2, seed=0)


def test_dynamic_binarisation_follows_its_generator():
    grey = torch.rand(100, 30, generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(5)
    state = generator.get_state()
    first = binarize_dynamic(grey, generator)
    second = binarize_dynamic(grey, generator)
    generator.set_state(state)
    assert torch.equal(binarize_dynamic(grey, generator), first) and not torch.equal(first, second)


# ------------------------------------------------------------------ recipes


def test_vae_recipe_resumes_exactly_with_dynamic_binarisation_and_iwae():
    config = VAEConfig(hidden=(16,), latent=3, epochs=3, n_samples=300, binarize="dynamic", iwae_k=3)
    straight = VAERecipe(config)
    train(straight, progress=False)
    first = VAERecipe(VAEConfig(**{**vars(config), "epochs": 1}))
    train(first, progress=False)
    resumed = VAERecipe(config)
    resumed.load_state_dict(first.state_dict())
    for index in (1, 2):
        resumed.step(index)
    for key, value in straight.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    assert torch.equal(straight.binarizer.get_state(), resumed.binarizer.get_state())
    assert torch.equal(straight.noise.get_state(), resumed.noise.get_state())


def test_vae_recipe_trains_logs_the_terms_and_evaluates():
    recipe = VAERecipe(VAEConfig(hidden=(32,), latent=4, epochs=8, binarize="static"))
    before = recipe.evaluate()
    metrics = recipe.step(0)
    assert {"loss", "reconstruction", "kl"} <= set(metrics)
    torch.testing.assert_close(metrics["loss"], metrics["reconstruction"] + metrics["kl"])
    for index in range(1, 8):
        recipe.step(index)
    after = recipe.evaluate(iwae_k=50)
    assert after["test_elbo"] > before["test_elbo"] + 5
    assert after["test_elbo"] <= -after["test_nll"] + 3 * after["test_nll_standard_error"]
    assert after["test_elbo"] == pytest.approx(-after["test_reconstruction"] - after["test_kl"])
    assert recipe.evaluate() == recipe.evaluate(), "evaluation draws the same noise at every call"
    assert torch.equal(recipe.sample(5, seed=1), recipe.sample(5, seed=1))
    assert recipe.sample(5, seed=1).shape == (5, 64) and recipe.image_shape == (8, 8)


def test_autoencoder_recipe_trains_and_rejects_iwae():
    recipe = AutoencoderRecipe(AutoencoderConfig(hidden=(32,), latent=2, epochs=5))
    before = recipe.evaluate()["test_reconstruction"]
    train(recipe, progress=False)
    assert recipe.evaluate()["test_reconstruction"] < before
    with pytest.raises(RunError, match="--iwae-k"):
        recipe.evaluate(iwae_k=10)
    assert not recipe.can_sample


def test_configs_are_validated():
    with pytest.raises(ValueError, match="beta_kl must be 1"):
        VAEConfig(iwae_k=5, beta_kl=2.0).resolved()
    with pytest.raises(ValueError, match="data must be one of"):
        VAEConfig(data="cifar").resolved()
    with pytest.raises(ValueError, match="binarize"):
        VAEConfig(binarize="sometimes").resolved()
    with pytest.raises(ValueError, match="hidden"):
        VAEConfig(hidden=(0,)).resolved()


def test_data_must_suit_the_decoder(tmp_path):
    path = tmp_path / "data.npy"
    np.save(path, np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32))
    with pytest.raises(ValueError, match="Bernoulli decoder needs values in"):
        prepare_latent_data(VAEConfig(data=str(path)).resolved())
    data = prepare_latent_data(VAEConfig(data=str(path), decoder="gaussian").resolved())
    assert data.train.shape == (40, 4) and data.heldout.shape == (10, 4) and data.image_shape is None
    with pytest.raises(ValueError, match="conv needs image data"):
        prepare_latent_data(VAEConfig(data=str(path), decoder="gaussian", conv=True).resolved())


def test_figures_of_a_two_dimensional_latent(tmp_path):
    recipe = VAERecipe(VAEConfig(hidden=(16,), latent=2, epochs=1))
    train(recipe, progress=False)
    names = sorted(path.name for path in recipe.plot(tmp_path))
    assert names == [
        "interpolation.png",
        "latent_codes.png",
        "manifold.png",
        "prior_samples.png",
        "reconstructions.png",
    ]
    autoencoder = AutoencoderRecipe(AutoencoderConfig(hidden=(16,), latent=2, epochs=1))
    names = sorted(path.name for path in autoencoder.plot(tmp_path / "ae"))
    assert names == ["interpolation.png", "latent_codes.png", "manifold.png", "reconstructions.png"]
