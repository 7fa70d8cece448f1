"""Variational autoencoders as latent-variable energy-based models, and the plain autoencoder.

A VAE is a latent-variable EBM with a continuous latent and amortised inference. The energy is

.. math:: E(y, z) = -\\log p_\\theta(y \\mid z) - \\log p(z), \\qquad p(z) = \\mathcal N(0, I),

so the free energy at β = 1 over z is :math:`F_1(y) = -\\log \\int e^{-E(y, z)} dz = -\\log p(y)`.
The encoder :math:`q_\\phi(z \\mid y) = \\mathcal N(\\mu(y), \\mathrm{diag}\\,\\sigma^2(y))` is amortised
inference (:class:`GaussianEncoder`, returning an :class:`~ebmlab.inference.InferenceResult` like every
inference method); the negative ELBO

.. math:: -\\mathcal L(y) = \\mathbb E_{q}[-\\log p_\\theta(y \\mid z)]
          + \\mathrm{KL}(q_\\phi(z \\mid y) \\,\\|\\, p(z)) \\;\\ge\\; -\\log p(y)

is a variational upper bound of that free energy, and the importance-weighted bound (IWAE, Burda et
al. 2016) with k samples tightens it as k grows:

.. math:: \\mathcal L_k(y) = \\mathbb E\\Big[\\log \\frac1k \\sum_{i=1}^k w_i\\Big], \\qquad
          w_i = \\frac{p_\\theta(y \\mid z_i)\\, p(z_i)}{q_\\phi(z_i \\mid y)}, \\quad z_i \\sim q_\\phi(z \\mid y),

with :math:`\\mathcal L = \\mathcal L_1 \\le \\mathcal L_k \\le \\mathcal L_{k+1} \\le \\log p(y)`.

Pieces, each small:

* networks: :func:`mlp` bodies, :class:`ConvEncoderBody` / :class:`ConvDecoder` for images;
* decoders' likelihoods :math:`p_\\theta(y \\mid z)`: :class:`BernoulliLikelihood` (logits) and
  :class:`GaussianLikelihood` (means, one learned σ);
* the energies :class:`ReconstructionEnergy` (:math:`-\\log p(y \\mid z)`, the autoencoder's) and
  :class:`VAEEnergy` (adds :math:`-\\log p(z)`);
* amortised inference: :class:`GaussianEncoder` (VAE) and :class:`DeterministicEncoder` (autoencoder);
* the models :class:`VAE` and :class:`Autoencoder`, built by :func:`mlp_vae`, :func:`conv_vae`,
  :func:`mlp_autoencoder`, :func:`conv_autoencoder`;
* pure functions: :func:`reparameterize`, :func:`gaussian_kl`, :func:`standard_normal_log_prob`,
  :func:`diagonal_normal_log_prob`, :func:`elbo`, :func:`importance_log_weights`, :func:`iwae_bound`
  and :func:`log_likelihood` (the IWAE estimate of log p(y) in chunks of samples, with its standard error).

Shapes: B batch, D data dimension, d latent dimension, S samples per observation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validation import check_int, check_positive
from ..energy import Energy, RealLatent
from ..inference import Amortized, InferenceResult

__all__ = [
    "ACTIVATIONS",
    "LIKELIHOODS",
    "VAE",
    "Autoencoder",
    "BernoulliLikelihood",
    "ConvDecoder",
    "ConvEncoderBody",
    "DeterministicEncoder",
    "GaussianEncoder",
    "GaussianLikelihood",
    "GaussianPosterior",
    "Likelihood",
    "LogLikelihood",
    "LowerBound",
    "ReconstructionEnergy",
    "VAEEnergy",
    "conv_autoencoder",
    "conv_vae",
    "diagonal_normal_log_prob",
    "elbo",
    "gaussian_kl",
    "importance_log_weights",
    "iwae_bound",
    "log_likelihood",
    "make_likelihood",
    "mlp",
    "mlp_autoencoder",
    "mlp_vae",
    "reparameterize",
    "standard_normal_log_prob",
]

_LOG_2PI = math.log(2.0 * math.pi)
_CHUNK_ELEMENTS = 1 << 23  # decoder outputs per chunk of :func:`log_likelihood` (32 MiB in float32)

#: activation name -> module class, for the hidden layers
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "softplus": nn.Softplus,
    "leaky-relu": nn.LeakyReLU,
    "silu": nn.SiLU,
}


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got activation={name!r}")
    return ACTIVATIONS[name]()


def _check_sizes(sizes: Sequence[int], name: str) -> tuple[int, ...]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"{name} must be a sequence of positive integers, got {type(sizes).__name__} {sizes!r}")
    return tuple(check_int(size, f"{name}[{i}]") for i, size in enumerate(sizes))


# ---------------------------------------------------------------------------------------------- networks


def mlp(sizes: Sequence[int], activation: str = "relu") -> nn.Sequential:
    """Linear layers ``sizes[0] → sizes[1] → … → sizes[-1]`` with the activation a after every layer:

    .. math:: h_0 = x, \\qquad h_l = a(W_l h_{l-1} + b_l), \\quad l = 1, \\dots, L = \\mathrm{len(sizes)} - 1.

    Shape:
        ``(..., sizes[0])`` → ``(..., sizes[-1])``.

    Example:
        >>> mlp((784, 400))
        Sequential(
          (0): Linear(in_features=784, out_features=400, bias=True)
          (1): ReLU()
        )
    """
    sizes = _check_sizes(sizes, "sizes")
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(fan_in, fan_out), _activation(activation)]
    return nn.Sequential(*layers)


def _conv_sizes(image_shape: tuple[int, int], layers: int) -> list[tuple[int, int]]:
    """Feature-map sizes after each 4×4, stride-2, padding-1 convolution (each halves, rounding down)."""
    sizes = [tuple(image_shape)]
    for _ in range(layers):
        sizes.append((sizes[-1][0] // 2, sizes[-1][1] // 2))
    return sizes


def _check_image(image_shape: tuple[int, int], channels: Sequence[int]) -> tuple[tuple[int, int], tuple[int, ...]]:
    if len(tuple(image_shape)) != 2:
        raise ValueError(f"image_shape must be (H, W), got {image_shape!r}")
    image_shape = (check_int(image_shape[0], "image_shape[0]"), check_int(image_shape[1], "image_shape[1]"))
    channels = _check_sizes(channels, "channels")
    if not channels:
        raise ValueError("channels must name at least one convolution, got ()")
    smallest = _conv_sizes(image_shape, len(channels))[-1]
    if min(smallest) < 1:
        raise ValueError(
            f"image_shape={image_shape} is too small for {len(channels)} stride-2 convolutions "
            f"(each halves the image); use fewer channels entries"
        )
    return image_shape, channels


class ConvEncoderBody(nn.Module):
    """Convolutions (4×4, stride 2, padding 1: each halves the image) then fully connected layers.

    Shape:
        ``(B, H·W)`` → ``(B, features)``; ``features`` is ``hidden[-1]`` (or the flattened maps).

    Example:
        >>> import torch
        >>> body = ConvEncoderBody((28, 28), channels=(32, 64), hidden=(400,))
        >>> body(torch.rand(3, 784)).shape, body.features
        (torch.Size([3, 400]), 400)
    """

    def __init__(
        self,
        image_shape: tuple[int, int],
        channels: Sequence[int] = (32, 64),
        hidden: Sequence[int] = (400,),
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.image_shape, channels = _check_image(image_shape, channels)
        hidden = _check_sizes(hidden, "hidden")
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip((1, *channels[:-1]), channels, strict=True):
            layers += [nn.Conv2d(fan_in, fan_out, 4, stride=2, padding=1), _activation(activation)]
        self.convolutions = nn.Sequential(*layers)
        height, width = _conv_sizes(self.image_shape, len(channels))[-1]
        self.fully_connected = mlp((channels[-1] * height * width, *hidden), activation)
        self.features = hidden[-1] if hidden else channels[-1] * height * width

    def forward(self, y: Tensor) -> Tensor:
        images = y.reshape(y.shape[0], 1, *self.image_shape)  # (B, 1, H, W)
        maps = self.convolutions(images)  # (B, C, h, w)
        return self.fully_connected(maps.flatten(1))  # (B, features)


class ConvDecoder(nn.Module):
    """The mirror of :class:`ConvEncoderBody`: fully connected layers, then transposed convolutions
    that double the maps back to ``image_shape``; outputs one value per pixel (no final activation).

    Shape:
        ``(..., d)`` → ``(..., H·W)`` (any leading dimensions, e.g. ``(S, B, d)``).

    Example:
        >>> import torch
        >>> ConvDecoder((28, 28), latent=20)(torch.randn(5, 3, 20)).shape
        torch.Size([5, 3, 784])
    """

    def __init__(
        self,
        image_shape: tuple[int, int],
        latent: int,
        channels: Sequence[int] = (32, 64),
        hidden: Sequence[int] = (400,),
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.image_shape, channels = _check_image(image_shape, channels)
        hidden = _check_sizes(hidden, "hidden")
        sizes = _conv_sizes(self.image_shape, len(channels))
        self.maps = (channels[-1], *sizes[-1])
        flat = channels[-1] * sizes[-1][0] * sizes[-1][1]
        self.fully_connected = mlp((check_int(latent, "latent"), *hidden[::-1], flat), activation)
        layers: list[nn.Module] = []
        outs = (*channels[-2::-1], 1)
        for i, (fan_in, fan_out) in enumerate(zip(channels[::-1], outs, strict=True)):
            before, after = sizes[-1 - i], sizes[-2 - i]
            padding = (after[0] - 2 * before[0], after[1] - 2 * before[1])  # 0 or 1: odd sizes come back
            layers.append(nn.ConvTranspose2d(fan_in, fan_out, 4, stride=2, padding=1, output_padding=padding))
            if fan_out != 1:
                layers.append(_activation(activation))
        self.transposed = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        lead = z.shape[:-1]
        maps = self.fully_connected(z.reshape(-1, z.shape[-1])).reshape(-1, *self.maps)  # (N, C, h, w)
        images = self.transposed(maps)  # (N, 1, H, W)
        return images.reshape(*lead, -1)  # (..., H·W)


# ---------------------------------------------------------------------------------------------- likelihoods


class Likelihood(nn.Module):
    """The decoder's observation model :math:`p_\\theta(y \\mid z)` given the network's output ``Dec(z)``:

    .. math:: \\log p_\\theta(y \\mid z) = \\sum_{j=1}^D \\log p\\big(y_j \\mid \\mathrm{Dec}(z)_j\\big), \\qquad
              \\mathrm{mean}(\\mathrm{Dec}(z)) = \\mathbb E[y \\mid z].

    Contract: :meth:`log_prob` sums over the data dimension and broadcasts ``y`` over leading
    sample dimensions of ``output``; :meth:`mean` is :math:`\\mathbb E[y \\mid z]`. A new observation
    model subclasses it and is then used like :class:`BernoulliLikelihood` and :class:`GaussianLikelihood`.

    Shape:
        y ``(B, D)``, output ``(..., B, D)`` → ``(..., B)``.

    Example:
        >>> import math, torch
        >>> class LaplaceLikelihood(Likelihood):  # log p(y | z) = -Σ_j |y_j - Dec(z)_j| - D log 2
        ...     def log_prob(self, y, output):
        ...         return -(y - output).abs().sum(-1) - y.shape[-1] * math.log(2.0)
        ...     def mean(self, output):
        ...         return output
        >>> LaplaceLikelihood().log_prob(torch.zeros(2, 3), torch.ones(5, 2, 3)).shape  # S = 5 samples of z
        torch.Size([5, 2])
        >>> energy = ReconstructionEnergy(torch.nn.Linear(2, 3), LaplaceLikelihood(), latent=2)
        >>> energy(torch.zeros(4, 3), torch.zeros(4, 2)).shape
        torch.Size([4])
    """

    def log_prob(self, y: Tensor, output: Tensor) -> Tensor:
        """:math:`\\log p(y \\mid z)`. Shape: y ``(B, D)``, output ``(..., B, D)`` → ``(..., B)``."""
        raise NotImplementedError

    def mean(self, output: Tensor) -> Tensor:
        """:math:`\\mathbb E[y \\mid z]`, shaped like ``output``."""
        raise NotImplementedError


class BernoulliLikelihood(Likelihood):
    """Independent Bernoulli pixels with logits ``Dec(z)``:

    .. math:: \\log p(y \\mid z) = \\sum_j y_j \\ell_j - \\mathrm{softplus}(\\ell_j)

    (minus the summed binary cross-entropy; also used, as in pytorch/examples, on grey values in [0, 1]).

    Example:
        >>> import torch
        >>> BernoulliLikelihood().log_prob(torch.ones(1, 2), torch.zeros(1, 2))  # 2 log(1/2)
        tensor([-1.3863])
    """

    def log_prob(self, y: Tensor, output: Tensor) -> Tensor:
        target = y.expand_as(output)  # (..., B, D), no copy
        return -F.binary_cross_entropy_with_logits(output, target, reduction="none").sum(-1)  # (..., B)

    def mean(self, output: Tensor) -> Tensor:
        return torch.sigmoid(output)

    def extra_repr(self) -> str:
        return "logits"


class GaussianLikelihood(Likelihood):
    """Independent Gaussian pixels with means ``Dec(z)`` and one standard deviation σ:

    .. math:: \\log p(y \\mid z) = -\\frac{\\|y - \\mathrm{Dec}(z)\\|^2}{2\\sigma^2}
              - D \\log \\sigma - \\frac D2 \\log 2\\pi

    Args:
        scale: σ at the start (> 0).
        learn_scale: learn log σ with the network (σ then tends to the reconstruction's RMS error).

    Example:
        >>> import torch
        >>> likelihood = GaussianLikelihood(scale=1.0, learn_scale=False)
        >>> round(likelihood.log_prob(torch.zeros(1, 1), torch.zeros(1, 1)).item(), 4)  # -log sqrt(2π)
        -0.9189
    """

    def __init__(self, scale: float = 1.0, learn_scale: bool = True) -> None:
        super().__init__()
        log_scale = torch.tensor(math.log(check_positive(scale, "scale")))
        if learn_scale:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)

    def log_prob(self, y: Tensor, output: Tensor) -> Tensor:
        squared = ((y - output) * torch.exp(-self.log_scale)).square().sum(-1)  # (..., B)
        return -0.5 * squared - y.shape[-1] * (self.log_scale + 0.5 * _LOG_2PI)

    def mean(self, output: Tensor) -> Tensor:
        return output

    def extra_repr(self) -> str:
        return (
            f"scale={float(self.log_scale.detach().exp()):.4g}, learn_scale={isinstance(self.log_scale, nn.Parameter)}"
        )


#: decoder name -> likelihood class
LIKELIHOODS: dict[str, type[Likelihood]] = {"bernoulli": BernoulliLikelihood, "gaussian": GaussianLikelihood}


def make_likelihood(name: str) -> Likelihood:
    """The likelihood named ``name`` (a key of :data:`LIKELIHOODS`) with its default settings.

    Example:
        >>> make_likelihood("bernoulli")
        BernoulliLikelihood(logits)
    """
    if name not in LIKELIHOODS:
        raise ValueError(f"decoder must be one of {tuple(LIKELIHOODS)}, got decoder={name!r}")
    return LIKELIHOODS[name]()


# ---------------------------------------------------------------------------------------------- pure functions


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """:math:`\\log \\mathcal N(z; 0, I) = -\\tfrac12 \\|z\\|^2 - \\tfrac d2 \\log 2\\pi`.

    Shape:
        z ``(..., d)`` → ``(...)``.

    Example:
        >>> import torch
        >>> round(standard_normal_log_prob(torch.zeros(1, 2)).item(), 4)  # -log 2π
        -1.8379
    """
    return -0.5 * (z.square().sum(-1) + z.shape[-1] * _LOG_2PI)


def diagonal_normal_log_prob(z: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
    """:math:`\\log \\mathcal N(z; \\mu, \\mathrm{diag}\\,\\sigma^2) = -\\tfrac12 \\sum_j
    \\big[(z_j - \\mu_j)^2 / \\sigma_j^2 + \\log \\sigma_j^2 + \\log 2\\pi\\big]`.

    Shape:
        z ``(..., B, d)``, mean and log_var ``(B, d)`` → ``(..., B)``.

    Example:
        >>> import torch
        >>> z = torch.zeros(1, 2)
        >>> bool(torch.allclose(diagonal_normal_log_prob(z, z, z), standard_normal_log_prob(z)))
        True
    """
    return -0.5 * (((z - mean).square() * torch.exp(-log_var)) + log_var + _LOG_2PI).sum(-1)


def reparameterize(mean: Tensor, log_var: Tensor, noise: Tensor) -> Tensor:
    """The reparameterisation trick: :math:`z = \\mu + \\sigma \\odot \\epsilon` with
    :math:`\\sigma = e^{\\frac12 \\log \\sigma^2}`: a sample of :math:`\\mathcal N(\\mu, \\mathrm{diag}\\,\\sigma^2)`
    differentiable in μ and σ.

    Shape:
        mean and log_var ``(B, d)``, noise ε ``(..., B, d)`` → ``(..., B, d)``.

    Example:
        >>> import torch
        >>> reparameterize(torch.ones(1, 2), torch.zeros(1, 2), torch.tensor([[1.0, -1.0]]))
        tensor([[2., 0.]])
    """
    return mean + torch.exp(0.5 * log_var) * noise


def gaussian_kl(mean: Tensor, log_var: Tensor) -> Tensor:
    """:math:`\\mathrm{KL}(\\mathcal N(\\mu, \\mathrm{diag}\\,\\sigma^2) \\,\\|\\, \\mathcal N(0, I))
    = \\tfrac12 \\sum_j \\big(\\mu_j^2 + \\sigma_j^2 - \\log \\sigma_j^2 - 1\\big)`.

    Shape:
        mean and log_var ``(B, d)`` → ``(B,)``.

    Example:
        >>> import torch
        >>> gaussian_kl(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2))
        tensor([0.5000])
    """
    return 0.5 * (mean.square() + log_var.exp() - log_var - 1.0).sum(-1)


class GaussianPosterior(NamedTuple):
    """The encoder's posterior :math:`q_\\phi(z \\mid y) = \\mathcal N(\\mu(y), \\mathrm{diag}\\,\\sigma^2(y))`, by its
    parameters ``mean`` μ and ``log_var`` log σ²; :func:`reparameterize` draws from it:

    .. math:: z = \\mu + e^{\\frac12 \\log \\sigma^2} \\odot \\epsilon, \\qquad \\epsilon \\sim \\mathcal N(0, I).

    Shape:
        ``mean`` and ``log_var`` ``(B, d)``.

    Example:
        >>> import torch
        >>> posterior = mlp_vae(4, hidden=(8,), latent=2, seed=0).encoder.posterior(torch.rand(3, 4))
        >>> posterior.mean.shape, posterior.log_var.shape
        (torch.Size([3, 2]), torch.Size([3, 2]))
        >>> z = reparameterize(*posterior, torch.randn(5, 3, 2))  # S = 5 samples
        >>> diagonal_normal_log_prob(z, *posterior).shape, gaussian_kl(*posterior).shape  # log q(z | y), KL(q ‖ p)
        (torch.Size([5, 3]), torch.Size([3]))
    """

    mean: Tensor
    log_var: Tensor


class LowerBound(NamedTuple):
    """A lower bound of :math:`\\log p(y)` and its two parts, each ``(B,)`` (in nats): for :func:`elbo`

    .. math:: \\text{value} = -(\\text{reconstruction} + \\beta\\, \\text{kl}), \\qquad
              \\text{reconstruction} = \\frac1S \\sum_{s=1}^S -\\log p(y \\mid z_s), \\quad z_s \\sim q(z \\mid y),

    and for :func:`iwae_bound` the value is :math:`\\mathcal L_k(y)` (then the parts are diagnostics only).

    Attributes:
        value: the bound (the β-ELBO, or the IWAE bound :math:`\\mathcal L_k`).
        reconstruction: :math:`-\\log p(y \\mid z)` averaged over the samples z ~ q.
        kl: :math:`\\mathrm{KL}(q(z \\mid y) \\,\\|\\, p(z))` in closed form.

    Example:
        >>> import torch
        >>> model = mlp_vae(4, hidden=(8,), latent=2, seed=0)
        >>> value, reconstruction, kl = elbo(model, torch.rand(3, 4), beta=0.5)
        >>> value.shape, bool(torch.allclose(value, -(reconstruction + 0.5 * kl)))
        (torch.Size([3]), True)
    """

    value: Tensor
    reconstruction: Tensor
    kl: Tensor


class LogLikelihood(NamedTuple):
    """The importance-sampling estimate of :math:`\\log p(y)` and its Monte Carlo standard error, each ``(B,)``
    (float64), as :func:`log_likelihood` returns them:

    .. math:: \\log \\hat p(y) = \\log \\frac1k \\sum_{i=1}^k w_i, \\qquad
              \\mathrm{se} = \\frac{\\hat s_w}{\\sqrt k\\, \\bar w}.

    Example:
        >>> import torch
        >>> model = mlp_vae(4, hidden=(8,), latent=2, seed=0)
        >>> estimate = log_likelihood(model, torch.rand(3, 4), k=50, generator=torch.Generator().manual_seed(0))
        >>> estimate.log_likelihood.dtype, estimate.standard_error.shape
        (torch.float64, torch.Size([3]))
        >>> bool((estimate.standard_error < 1).all())  # nats; shrinks like 1/√k
        True
    """

    log_likelihood: Tensor
    standard_error: Tensor


def _check_model(model: nn.Module, y: Tensor) -> None:
    if not isinstance(model, VAE):
        raise TypeError(f"model must be a VAE, got {type(model).__name__}")
    if not isinstance(y, Tensor) or y.ndim != 2:
        shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(f"y must be a (B, D) tensor, got {shape}")
    if y.shape[1] != model.data_dim:
        raise ValueError(f"y must have D = {model.data_dim} columns for this model, got shape {tuple(y.shape)}")


def _noise(posterior: GaussianPosterior, samples: int, generator: torch.Generator | None) -> Tensor:
    mean = posterior.mean
    return torch.randn((samples, *mean.shape), generator=generator, device=mean.device, dtype=mean.dtype)


def _log_weights(model: VAE, y: Tensor, posterior: GaussianPosterior, noise: Tensor) -> tuple[Tensor, Tensor]:
    """(log w, log p(y|z)), each ``(S, B)``, for ε ``(S, B, d)``; log q from ε directly (no division)."""
    z = reparameterize(posterior.mean, posterior.log_var, noise)  # (S, B, d)
    log_likelihood = model.energy.likelihood.log_prob(y, model.energy.decoder(z))  # (S, B)
    log_q = -0.5 * (noise.square() + posterior.log_var + _LOG_2PI).sum(-1)  # (S, B)
    return log_likelihood + standard_normal_log_prob(z) - log_q, log_likelihood


def elbo(
    model: VAE, y: Tensor, *, beta: float = 1.0, samples: int = 1, generator: torch.Generator | None = None
) -> LowerBound:
    """The evidence lower bound with a β weight on the KL term (β-VAE; β = 1 is the ELBO):

    .. math:: \\mathcal L_\\beta(y) = \\mathbb E_{q(z \\mid y)}[\\log p(y \\mid z)]
              - \\beta\\, \\mathrm{KL}(q(z \\mid y) \\,\\|\\, p(z)) \\;\\le\\; \\log p(y) \\quad (\\beta = 1),

    the expectation estimated with ``samples`` reparameterised samples (differentiable), the KL in
    closed form (:func:`gaussian_kl`).

    Shape:
        y ``(B, D)`` → :class:`LowerBound` of ``(B,)`` tensors.

    Example:
        >>> import torch
        >>> model = mlp_vae(4, hidden=(8,), latent=2, seed=0)
        >>> bound = elbo(model, torch.rand(3, 4), generator=torch.Generator().manual_seed(0))
        >>> bound.value.shape, bool(torch.allclose(bound.value, -bound.reconstruction - bound.kl))
        (torch.Size([3]), True)
    """
    _check_model(model, y)
    samples = check_int(samples, "samples")
    check_positive(beta, "beta", strict=False)
    posterior = model.encoder.posterior(y)
    z = reparameterize(posterior.mean, posterior.log_var, _noise(posterior, samples, generator))  # (S, B, d)
    reconstruction = -model.energy.likelihood.log_prob(y, model.energy.decoder(z)).mean(0)  # (B,)
    kl = gaussian_kl(posterior.mean, posterior.log_var)  # (B,)
    return LowerBound(-(reconstruction + beta * kl), reconstruction, kl)


def importance_log_weights(model: VAE, y: Tensor, samples: int, *, generator: torch.Generator | None = None) -> Tensor:
    """Log importance weights :math:`\\log w_i = \\log p(y \\mid z_i) + \\log p(z_i) - \\log q(z_i \\mid y)
    = -E(y, z_i) - \\log q(z_i \\mid y)`, :math:`z_i \\sim q(z \\mid y)` reparameterised.

    Shape:
        y ``(B, D)`` → ``(S, B)``.

    Example:
        >>> import torch
        >>> model = mlp_vae(4, hidden=(8,), latent=2, seed=0)
        >>> importance_log_weights(model, torch.rand(3, 4), 5).shape
        torch.Size([5, 3])
    """
    _check_model(model, y)
    samples = check_int(samples, "samples")
    posterior = model.encoder.posterior(y)
    return _log_weights(model, y, posterior, _noise(posterior, samples, generator))[0]


def iwae_bound(model: VAE, y: Tensor, k: int, *, generator: torch.Generator | None = None) -> LowerBound:
    """The importance-weighted bound with ``k`` samples (Burda et al. 2016), differentiable:

    .. math:: \\mathcal L_k(y) = \\log \\frac1k \\sum_{i=1}^k w_i \\;\\le\\; \\log p(y) \\text{ in expectation},
              \\qquad \\mathcal L_1 \\le \\mathcal L_k \\le \\mathcal L_{k+1}.

    ``reconstruction`` is :math:`-\\log p(y \\mid z_i)` averaged over the k samples and ``kl`` the
    closed-form KL: the same diagnostics as :func:`elbo` (they no longer add up to the bound for k > 1).

    Shape:
        y ``(B, D)`` → :class:`LowerBound` of ``(B,)`` tensors.

    Example:
        >>> import torch
        >>> model = mlp_vae(4, hidden=(8,), latent=2, seed=0)
        >>> iwae_bound(model, torch.rand(3, 4), k=5).value.shape
        torch.Size([3])
    """
    _check_model(model, y)
    k = check_int(k, "k")
    posterior = model.encoder.posterior(y)
    log_w, log_likelihood = _log_weights(model, y, posterior, _noise(posterior, k, generator))  # (k, B), (k, B)
    bound = torch.logsumexp(log_w, 0) - math.log(k)  # (B,)
    return LowerBound(bound, -log_likelihood.mean(0), gaussian_kl(posterior.mean, posterior.log_var))


def log_likelihood(
    model: VAE,
    y: Tensor,
    k: int,
    *,
    chunk_size: int | None = None,
    generator: torch.Generator | None = None,
) -> LogLikelihood:
    """The importance-sampling (IWAE) estimate of :math:`\\log p(y)` with ``k`` samples, drawn in
    chunks so memory stays bounded whatever ``k``, and its standard error:

    .. math:: \\log \\hat p(y) = \\log \\frac1k \\sum_{i=1}^k w_i, \\qquad
              \\mathrm{se} = \\frac{\\hat s_w}{\\sqrt k\\, \\bar w}
              = \\sqrt{\\frac{1}{k-1} \\Big(\\frac{k \\sum_i w_i^2}{(\\sum_i w_i)^2} - 1\\Big)}

    (the delta method; :math:`\\hat s_w` the sample standard deviation of the weights). The sums run
    in float64 log space over the chunks (``logsumexp`` of log w and of 2 log w). The estimate is a
    lower bound in expectation that tends to :math:`\\log p(y)` as k grows; for k = 1 the standard
    error is NaN. Runs without gradients.

    Args:
        model: a :class:`VAE`.
        y: observations ``(B, D)``.
        k: importance samples per observation (k = 5000 for reported numbers).
        chunk_size: samples per chunk (default: about 8 Mi decoder outputs per chunk).
        generator: the random stream of the samples.

    Shape:
        y ``(B, D)`` → :class:`LogLikelihood` of ``(B,)`` float64 tensors.

    Example:
        >>> import torch
        >>> model = mlp_vae(4, hidden=(8,), latent=2, seed=0)
        >>> y = torch.rand(3, 4)
        >>> estimate = log_likelihood(model, y, k=100, chunk_size=30, generator=torch.Generator().manual_seed(0))
        >>> estimate.log_likelihood.shape, bool((estimate.standard_error > 0).all())
        (torch.Size([3]), True)
    """
    _check_model(model, y)
    k = check_int(k, "k")
    if chunk_size is None:
        chunk_size = max(1, _CHUNK_ELEMENTS // max(1, y.shape[0] * y.shape[1]))
    chunk_size = check_int(chunk_size, "chunk_size")
    with torch.no_grad():
        posterior = model.encoder.posterior(y)
        total = torch.full((y.shape[0],), -math.inf, dtype=torch.float64, device=y.device)  # log Σ w
        squares = total.clone()  # log Σ w²
        for start in range(0, k, chunk_size):
            log_w = _log_weights(model, y, posterior, _noise(posterior, min(chunk_size, k - start), generator))[0]
            log_w = log_w.double()  # (s, B)
            total = torch.logaddexp(total, torch.logsumexp(log_w, 0))
            squares = torch.logaddexp(squares, torch.logsumexp(2.0 * log_w, 0))
        estimate = total - math.log(k)  # (B,)
        if k == 1:
            error = torch.full_like(estimate, math.nan)
        else:
            relative = (k * torch.exp(squares - 2.0 * total) - 1.0).clamp_min(0.0) / (k - 1)  # ŝ²/(k w̄²)
            error = relative.sqrt()
    return LogLikelihood(estimate, error)


# ---------------------------------------------------------------------------------------------- energies


class ReconstructionEnergy(Energy):
    """The autoencoder's energy: :math:`E(y, z) = -\\log p_\\theta(y \\mid z)`, the decoder's negative log-likelihood.

    Args:
        decoder: ``Dec``, mapping ``(..., d)`` to ``(..., D)`` (logits or means).
        likelihood: how ``Dec(z)`` scores ``y`` (:class:`Likelihood`).
        latent: d.
        data_dim: D, the width of y (None: not stated; the models built here state it).

    Shape:
        y ``(B, D)``, z ``(B, d)`` → ``(B,)``.

    Example:
        >>> import torch
        >>> energy = ReconstructionEnergy(torch.nn.Linear(2, 3), BernoulliLikelihood(), latent=2)
        >>> energy(torch.ones(4, 3), torch.zeros(4, 2)).shape
        torch.Size([4])
    """

    def __init__(self, decoder: nn.Module, likelihood: Likelihood, latent: int, data_dim: int | None = None) -> None:
        super().__init__()
        self.decoder = decoder
        self.likelihood = likelihood
        self.latent = RealLatent(check_int(latent, "latent"))
        self.data_dim = None if data_dim is None else check_int(data_dim, "data_dim")

    def log_joint(self, y: Tensor, z: Tensor) -> Tensor:
        """:math:`-E(y, z)` for z with leading sample dimensions.

        Shape:
            y ``(B, D)``, z ``(..., B, d)`` → ``(..., B)``.
        """
        return self.likelihood.log_prob(y, self.decoder(z))

    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        if x is not None:
            raise ValueError(f"{type(self).__name__} is unconditional; x must be None")
        return -self.log_joint(y, z)

    def decode(self, z: Tensor) -> Tensor:
        """:math:`\\mathbb E[y \\mid z]`, the decoded image. Shape: ``(..., d)`` → ``(..., D)``."""
        return self.likelihood.mean(self.decoder(z))


class VAEEnergy(ReconstructionEnergy):
    """The VAE's energy :math:`E(y, z) = -\\log p_\\theta(y \\mid z) - \\log p(z)`, :math:`p(z) = \\mathcal N(0, I)`;
    :math:`e^{-E(y, z)} = p(y, z)`, so the free energy at β = 1 over z is :math:`-\\log p(y)`.

    Shape:
        y ``(B, D)``, z ``(B, d)`` → ``(B,)``.

    Example:
        >>> import torch
        >>> energy = VAEEnergy(torch.nn.Linear(2, 3), BernoulliLikelihood(), latent=2)
        >>> z = torch.zeros(4, 2)
        >>> recon = ReconstructionEnergy(energy.decoder, energy.likelihood, latent=2)
        >>> bool(torch.allclose(energy(torch.ones(4, 3), z), recon(torch.ones(4, 3), z) - standard_normal_log_prob(z)))
        True
    """

    def log_joint(self, y: Tensor, z: Tensor) -> Tensor:
        """:math:`\\log p(y, z) = -E(y, z)`.

        Shape:
            y ``(B, D)``, z ``(..., B, d)`` → ``(..., B)``.
        """
        return super().log_joint(y, z) + standard_normal_log_prob(z)


# ---------------------------------------------------------------------------------------------- amortised inference


class _Encoder(nn.Module):
    """Amortised inference from a body network and linear heads: ``encoder(energy, y)`` returns the
    :class:`~ebmlab.inference.InferenceResult` (ž, E(y, ž), 1, True) of ž = :meth:`code` (y)."""

    def __init__(self, body: nn.Module, features: int, latent: int) -> None:
        super().__init__()
        self.body = body
        self.features, self.latent = check_int(features, "features"), check_int(latent, "latent")

    def code(self, y: Tensor) -> Tensor:
        """ž, the latent the encoder infers for y. Shape: ``(B, D)`` → ``(B, d)``."""
        raise NotImplementedError

    def forward(self, energy: Energy, y: Tensor, x: Tensor | None = None) -> InferenceResult:
        return Amortized(self.code)(energy, y, x)  # ž = code(y), (B, d)


class GaussianEncoder(_Encoder):
    """Amortised inference :math:`q_\\phi(z \\mid y) = \\mathcal N(\\mu(y), \\mathrm{diag}\\,\\sigma^2(y))`:
    a body network then two linear heads, μ and log σ².

    Called like every inference method, ``encoder(energy, y)`` returns an
    :class:`~ebmlab.inference.InferenceResult` with ž = μ(y) (the posterior mean, :meth:`code`),
    E(y, ž), ``iterations = 1`` and ``converged = True``.

    Shape:
        :meth:`posterior`: y ``(B, D)`` → :class:`GaussianPosterior` of ``(B, d)`` tensors;
        :meth:`code`: y ``(B, D)`` → ``(B, d)``.

    Example:
        >>> import torch
        >>> model = mlp_vae(4, hidden=(8,), latent=2, seed=0)
        >>> result = model.encoder(model.energy, torch.rand(3, 4))
        >>> result.latent.shape, result.energy.shape, result.iterations, result.converged
        (torch.Size([3, 2]), torch.Size([3]), 1, True)
    """

    def __init__(self, body: nn.Module, features: int, latent: int) -> None:
        super().__init__(body, features, latent)
        self.mean = nn.Linear(self.features, self.latent)
        self.log_var = nn.Linear(self.features, self.latent)

    def posterior(self, y: Tensor) -> GaussianPosterior:
        """:math:`q_\\phi(z \\mid y)`: μ(y) and log σ²(y) from the two heads on the body's features."""
        hidden = self.body(y)  # (B, features)
        return GaussianPosterior(self.mean(hidden), self.log_var(hidden))

    def code(self, y: Tensor) -> Tensor:
        """ž = μ(y), the posterior mean. Shape: ``(B, D)`` → ``(B, d)``."""
        return self.posterior(y).mean


class DeterministicEncoder(_Encoder):
    """The autoencoder's amortised inference ž = Enc(y): a body network then one linear head.

    ``encoder(energy, y)`` returns an :class:`~ebmlab.inference.InferenceResult` (ž, E(y, ž), 1, True).

    Shape:
        :meth:`code`: y ``(B, D)`` → ``(B, d)``.

    Example:
        >>> import torch
        >>> model = mlp_autoencoder(4, hidden=(8,), latent=2, seed=0)
        >>> model.encoder.code(torch.rand(3, 4)).shape
        torch.Size([3, 2])
    """

    def __init__(self, body: nn.Module, features: int, latent: int) -> None:
        super().__init__(body, features, latent)
        self.head = nn.Linear(self.features, self.latent)

    def code(self, y: Tensor) -> Tensor:
        """ž = Enc(y). Shape: ``(B, D)`` → ``(B, d)``."""
        return self.head(self.body(y))


# ---------------------------------------------------------------------------------------------- models


class _LatentModel(nn.Module):
    """An energy :math:`E(y, z)` with a decoder, and the amortised inference ž = ``encoder.code(y)``."""

    def __init__(self, encoder: _Encoder, energy: ReconstructionEnergy, data_dim: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.energy = energy
        self.data_dim = check_int(data_dim, "data_dim")

    @property
    def latent_dim(self) -> int:
        return self.energy.latent.dim

    def reconstruct(self, y: Tensor) -> Tensor:
        """:math:`\\mathbb E[y \\mid z = \\check z]`, the decoded code ž (μ(y) for a VAE, Enc(y) for an autoencoder).

        Shape:
            ``(B, D)`` → ``(B, D)``.
        """
        return self.energy.decode(self.encoder.code(y))


class VAE(_LatentModel):
    """A variational autoencoder: the energy :class:`VAEEnergy`
    :math:`E(y, z) = -\\log p_\\theta(y \\mid z) - \\log p(z)` (decoder, likelihood, prior) and the
    amortised inference :class:`GaussianEncoder` :math:`q_\\phi(z \\mid y)`. Build one with :func:`mlp_vae`
    or :func:`conv_vae`; train it on :func:`elbo` or :func:`iwae_bound`; evaluate it with :func:`log_likelihood`.

    Args:
        encoder: a :class:`GaussianEncoder`.
        energy: a :class:`VAEEnergy`.
        data_dim: D.

    Shape:
        :meth:`reconstruct` ``(B, D)`` → ``(B, D)``; :meth:`sample` → ``(n, D)``.

    Example:
        >>> import torch
        >>> model = mlp_vae(784, seed=0)  # 784-400-20, ReLU, Bernoulli: pytorch/examples' VAE
        >>> model.sample(5, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([5, 784])
    """

    encoder: GaussianEncoder
    energy: VAEEnergy

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """``n`` images :math:`\\mathbb E[y \\mid z]` of :math:`z \\sim p(z) = \\mathcal N(0, I)` (decoder means)."""
        n = check_int(n, "n")
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device)  # (n, d)
        return self.energy.decode(z)


class Autoencoder(_LatentModel):
    """A plain autoencoder: the energy :class:`ReconstructionEnergy` and the deterministic encoder
    ž = Enc(y); trained on :math:`E(y, \\mathrm{Enc}(y)) = -\\log p(y \\mid \\mathrm{Enc}(y))`.

    Args:
        encoder: a :class:`DeterministicEncoder`.
        energy: a :class:`ReconstructionEnergy`.
        data_dim: D.

    Example:
        >>> import torch
        >>> model = mlp_autoencoder(4, hidden=(8,), latent=2, seed=0)
        >>> model.reconstruct(torch.rand(3, 4)).shape
        torch.Size([3, 4])
    """

    encoder: DeterministicEncoder

    def loss(self, y: Tensor) -> Tensor:
        """:math:`-\\log p(y \\mid \\mathrm{Enc}(y))` per observation. Shape: ``(B, D)`` → ``(B,)``."""
        return self.energy(y, self.encoder.code(y))


# ---------------------------------------------------------------------------------------------- builders

_Model = TypeVar("_Model", VAE, Autoencoder)
#: each model's encoder and energy classes
_PARTS: dict[type[_LatentModel], tuple[type[_Encoder], type[ReconstructionEnergy]]] = {
    VAE: (GaussianEncoder, VAEEnergy),
    Autoencoder: (DeterministicEncoder, ReconstructionEnergy),
}


def _seeded(seed: int | None, build: Callable[[], _Model]) -> _Model:
    """Build with torch's default initialisation drawn from ``seed`` (the global stream left untouched)."""
    if seed is None:
        return build()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _mlp_model(
    model: type[_Model],
    data_dim: int,
    hidden: Sequence[int],
    latent: int,
    activation: str,
    decoder: str,
    seed: int | None,
) -> _Model:
    """``model`` with an MLP encoder ``D → hidden… → heads`` and decoder ``d → hidden reversed… → D``
    (activations between, none at the end); parameters created body, heads, decoder."""
    data_dim, latent = check_int(data_dim, "data_dim"), check_int(latent, "latent")
    hidden = _check_sizes(hidden, "hidden")
    likelihood = make_likelihood(decoder)
    encoder_class, energy_class = _PARTS[model]

    def build() -> _Model:
        body = mlp((data_dim, *hidden), activation)
        encoder = encoder_class(body, hidden[-1] if hidden else data_dim, latent)
        network = nn.Sequential(
            *mlp((latent, *hidden[::-1]), activation), nn.Linear(hidden[0] if hidden else latent, data_dim)
        )
        return model(encoder, energy_class(network, likelihood, latent, data_dim), data_dim)

    return _seeded(seed, build)


def _conv_model(
    model: type[_Model],
    image_shape: tuple[int, int],
    channels: Sequence[int],
    hidden: Sequence[int],
    latent: int,
    activation: str,
    decoder: str,
    seed: int | None,
) -> _Model:
    """``model`` with a :class:`ConvEncoderBody` and a :class:`ConvDecoder`; parameters created body,
    decoder, heads."""
    latent = check_int(latent, "latent")
    likelihood = make_likelihood(decoder)
    encoder_class, energy_class = _PARTS[model]

    def build() -> _Model:
        body = ConvEncoderBody(image_shape, channels, hidden, activation)
        network = ConvDecoder(image_shape, latent, channels, hidden, activation)
        data_dim = body.image_shape[0] * body.image_shape[1]
        encoder = encoder_class(body, body.features, latent)
        return model(encoder, energy_class(network, likelihood, latent, data_dim), data_dim)

    return _seeded(seed, build)


def mlp_vae(
    data_dim: int,
    *,
    hidden: Sequence[int] = (400,),
    latent: int = 20,
    activation: str = "relu",
    decoder: str = "bernoulli",
    seed: int | None = None,
) -> VAE:
    """An MLP VAE: encoder ``D → hidden… → (μ, log σ²) ∈ R^d × R^d``, decoder ``d → hidden reversed… → D``.

    The defaults are pytorch/examples' VAE (784-400-20, ReLU, Bernoulli decoder), with the same
    layer shapes and initialisation (separate μ and log σ² heads).

    Example:
        >>> model = mlp_vae(784, hidden=(200, 200), latent=50, activation="tanh", seed=0)  # Burda et al.'s
        >>> sum(p.numel() for p in model.parameters())
        425284
    """
    return _mlp_model(VAE, data_dim, hidden, latent, activation, decoder, seed)


def conv_vae(
    image_shape: tuple[int, int],
    *,
    channels: Sequence[int] = (32, 64),
    hidden: Sequence[int] = (400,),
    latent: int = 20,
    activation: str = "relu",
    decoder: str = "bernoulli",
    seed: int | None = None,
) -> VAE:
    """A convolutional VAE on ``H × W`` images: :class:`ConvEncoderBody` with μ and log σ² heads,
    :class:`ConvDecoder` (28 × 28 → 14 → 7 and back with the default two convolutions).

    Example:
        >>> import torch
        >>> model = conv_vae((8, 8), channels=(8, 16), hidden=(32,), latent=2, seed=0)
        >>> model.reconstruct(torch.rand(3, 64)).shape
        torch.Size([3, 64])
    """
    return _conv_model(VAE, image_shape, channels, hidden, latent, activation, decoder, seed)


def mlp_autoencoder(
    data_dim: int,
    *,
    hidden: Sequence[int] = (400,),
    latent: int = 20,
    activation: str = "relu",
    decoder: str = "bernoulli",
    seed: int | None = None,
) -> Autoencoder:
    """An MLP autoencoder with the layers of :func:`mlp_vae` (one code head instead of μ and log σ²).

    Example:
        >>> sum(p.numel() for p in mlp_autoencoder(784, seed=0).parameters())
        644804
    """
    return _mlp_model(Autoencoder, data_dim, hidden, latent, activation, decoder, seed)


def conv_autoencoder(
    image_shape: tuple[int, int],
    *,
    channels: Sequence[int] = (32, 64),
    hidden: Sequence[int] = (400,),
    latent: int = 20,
    activation: str = "relu",
    decoder: str = "bernoulli",
    seed: int | None = None,
) -> Autoencoder:
    """A convolutional autoencoder with the layers of :func:`conv_vae`.

    Example:
        >>> import torch
        >>> model = conv_autoencoder((8, 8), channels=(8,), hidden=(), latent=2, seed=0)
        >>> model.loss(torch.rand(3, 64)).shape
        torch.Size([3])
    """
    return _conv_model(Autoencoder, image_shape, channels, hidden, latent, activation, decoder, seed)
