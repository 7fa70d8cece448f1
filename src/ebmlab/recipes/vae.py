"""``ebmlab train vae`` and ``ebmlab train autoencoder``: a VAE and a plain autoencoder on images.

The VAE (:mod:`ebmlab.models.vae`) is trained by Adam on minibatches to maximise the β-weighted ELBO

.. math:: \\mathcal L_\\beta(y) = \\mathbb E_{q(z \\mid y)}[\\log p(y \\mid z)]
          - \\beta\\,\\mathrm{KL}(q(z \\mid y) \\,\\|\\, p(z))

(one reparameterised sample per image), or, with ``iwae_k = k > 1``, the importance-weighted bound
:math:`\\mathcal L_k`; the autoencoder minimises :math:`-\\log p(y \\mid \\mathrm{Enc}(y))`. One unit of
the budget is one epoch: one pass over the training images in a fresh random order (and, with
dynamic binarisation, freshly drawn binary images). The reconstruction and KL terms are logged
separately every epoch.

Held-out data for :meth:`evaluate` and the figures: the test split of MNIST-style sets, a fixed fifth
of ``digits`` and of data files (drawn with seed 0, the same for every run). With binarisation the
held-out images are binarised once with seed 0 too, so every run is evaluated on the same binary images.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from .._validation import check_int, check_positive, resolve_device
from ..data import MNIST_NAMES, DataFileError, load_data
from ..data.binarize import BINARIZATIONS, binarize_dynamic, binarize_static
from ..models.vae import (
    ACTIVATIONS,
    LIKELIHOODS,
    VAE,
    Autoencoder,
    GaussianLikelihood,
    conv_autoencoder,
    conv_vae,
    elbo,
    gaussian_kl,
    iwae_bound,
    log_likelihood,
    mlp_autoencoder,
    mlp_vae,
)
from ..training import generator_state, set_generator_state
from ._base import Recipe

__all__ = [
    "HELDOUT_FRACTION",
    "AutoencoderConfig",
    "AutoencoderRecipe",
    "LatentData",
    "LatentModelFit",
    "VAEConfig",
    "VAERecipe",
    "prepare_latent_data",
]

HELDOUT_FRACTION = 0.2  #: the share of digits and of data files held out (MNIST-style sets: their test split)
HELDOUT_SEED = 0  #: the held-out split and the held-out images' binarisation, the same for every run
DATA_CHOICES = ("digits", *MNIST_NAMES)
_EVALUATION_ROWS = 500  # held-out images per batch of evaluation


@dataclass
class AutoencoderConfig:
    """Settings of the autoencoder recipe (and, with two more fields, of the VAE's: :class:`VAEConfig`).

    ``data``: ``digits`` (8 × 8, trains in seconds), ``mnist``, ``fashion-mnist`` (read from
    ``data_root``, fetched with ``download``) or a ``.npy``/``.csv`` path. ``hidden``: the fully
    connected layers of the encoder (mirrored in the decoder); ``conv`` puts two 4 × 4 stride-2
    convolutions (32, 64 channels) before them. ``decoder``: ``bernoulli`` (logits; the data must lie
    in [0, 1]) or ``gaussian`` (means, one learned σ, starting at the training data's standard
    deviation). ``binarize``: ``none``, ``static`` (one draw, from ``seed``) or ``dynamic`` (a fresh
    draw per minibatch). ``epochs`` left at None: 10 for MNIST-style sets, 100 otherwise.
    ``n_samples``: training images kept (default all).

    Example:
        >>> AutoencoderConfig().resolved().epochs, AutoencoderConfig(data="mnist").resolved().epochs
        (100, 10)
    """

    data: str = "digits"
    conv: bool = False
    hidden: tuple[int, ...] = (400,)
    latent: int = 20
    activation: str = "relu"
    decoder: str = "bernoulli"
    binarize: str = "none"
    epochs: int | None = None  # 10 MNIST-style / 100 digits and files
    batch_size: int = 128
    lr: float = 1e-3
    n_samples: int | None = None
    data_root: str | None = None
    download: bool = False
    seed: int = 0
    device: str = "cpu"

    def resolved(self) -> AutoencoderConfig:
        """A copy with the data-dependent defaults filled in, validated."""
        values = asdict(self)
        if values["epochs"] is None:
            values["epochs"] = 10 if self.data in MNIST_NAMES else 100
        values["hidden"] = tuple(values["hidden"]) if isinstance(values["hidden"], (list, tuple)) else values["hidden"]
        config = type(self)(**values)
        config._validate()
        return config

    def _validate(self) -> None:
        if not isinstance(self.data, str) or not (self.data in DATA_CHOICES or self.data.endswith((".npy", ".csv"))):
            raise ValueError(f"data must be one of {DATA_CHOICES} or a .npy/.csv path, got data={self.data!r}")
        if not isinstance(self.hidden, tuple):
            raise TypeError(f"hidden must be a tuple of positive integers, got {type(self.hidden).__name__}")
        for i, size in enumerate(self.hidden):
            check_int(size, f"hidden[{i}]")
        for name, choices in (("activation", ACTIVATIONS), ("decoder", LIKELIHOODS), ("binarize", BINARIZATIONS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {tuple(choices)}, got {name}={getattr(self, name)!r}")
        for name in ("latent", "epochs", "batch_size"):
            check_int(getattr(self, name), name)
        if self.n_samples is not None:
            check_int(self.n_samples, "n_samples")
        check_positive(self.lr, "lr")
        for name in ("conv", "download"):
            if not isinstance(getattr(self, name), bool):
                value = getattr(self, name)
                raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
        resolve_device(self.device)


@dataclass
class VAEConfig(AutoencoderConfig):
    """Settings of the VAE recipe: :class:`AutoencoderConfig`'s, plus ``beta_kl`` (β, the weight of the
    KL term: 1 is the ELBO, β > 1 a β-VAE) and ``iwae_k`` (k > 1 trains on the IWAE bound with k
    samples instead of the ELBO; β must then be 1).

    Example:
        >>> config = VAEConfig(data="mnist", iwae_k=5).resolved()
        >>> config.epochs, config.hidden, config.latent
        (10, (400,), 20)
    """

    beta_kl: float = 1.0
    iwae_k: int = 1

    def _validate(self) -> None:
        super()._validate()
        check_positive(self.beta_kl, "beta_kl", strict=False)
        check_int(self.iwae_k, "iwae_k")
        if self.iwae_k > 1 and self.beta_kl != 1.0:
            raise ValueError(
                f"beta_kl weighs the ELBO's KL term; the IWAE bound has none: with iwae_k={self.iwae_k} "
                f"beta_kl must be 1, got beta_kl={self.beta_kl}"
            )


@dataclass(frozen=True)
class LatentData:
    """The images a recipe trains on and holds out, float32 numpy ``(N, D)`` and ``(M, D)``; held-out
    labels ``(M,)`` or None; ``image_shape`` ``(H, W)`` or None (data files).

    Example:
        >>> data = prepare_latent_data(AutoencoderConfig().resolved())
        >>> data.train.dtype, data.train.shape[1] == data.heldout.shape[1], data.image_shape
        (dtype('float32'), True, (8, 8))
    """

    train: np.ndarray
    heldout: np.ndarray
    heldout_labels: np.ndarray | None
    image_shape: tuple[int, int] | None


def _split(count: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, held-out rows): a fixed :data:`HELDOUT_FRACTION` of the rows, at least one, held out."""
    if count < 2:
        raise DataFileError(f"data {name} holds {count} row(s); expected at least 2 (one is held out)")
    held = max(1, round(HELDOUT_FRACTION * count))
    order = np.random.default_rng(HELDOUT_SEED).permutation(count)
    return np.sort(order[held:]), np.sort(order[:held])


def prepare_latent_data(config: AutoencoderConfig) -> LatentData:
    """Load ``config.data``, hold out a part, check it suits the decoder and binarise it as asked.

    Example:
        >>> data = prepare_latent_data(AutoencoderConfig(binarize="static").resolved())
        >>> data.train.shape, data.heldout.shape, data.image_shape, sorted(set(data.train.ravel().tolist()))
        ((1438, 64), (359, 64), (8, 8), [0.0, 1.0])
    """
    where = {"root": config.data_root, "download": config.download}
    if config.data in MNIST_NAMES:
        train = load_data(config.data, n_samples=config.n_samples, seed=config.seed, **where)
        test = load_data(config.data, split="test", **where)
        images, heldout, labels, image_shape = train.data, test.data, test.labels, train.image_shape
    else:
        dataset = load_data(config.data, **where)
        rows, held = _split(len(dataset.data), config.data)
        if config.n_samples is not None and config.n_samples < len(rows):
            keep = np.random.default_rng(config.seed).choice(len(rows), config.n_samples, replace=False)
            rows = rows[np.sort(keep)]
        images, heldout = dataset.data[rows], dataset.data[held]
        labels = None if dataset.labels is None else dataset.labels[held]
        image_shape = dataset.image_shape
    if config.decoder == "bernoulli" or config.binarize != "none":
        low, high = float(min(images.min(), heldout.min())), float(max(images.max(), heldout.max()))
        if low < 0.0 or high > 1.0:
            why = "a Bernoulli decoder" if config.decoder == "bernoulli" else f"binarize={config.binarize!r}"
            raise DataFileError(
                f"data {config.data} holds values in [{low:.4g}, {high:.4g}]; {why} needs values in [0, 1] "
                "(use decoder='gaussian' and binarize='none' for other data)"
            )
    if config.conv and image_shape is None:
        raise ValueError(f"conv needs image data (digits, mnist, fashion-mnist), got data={config.data!r}")
    if config.binarize == "static":
        images = binarize_static(images, seed=config.seed)
    if config.binarize != "none":
        heldout = binarize_static(heldout, seed=HELDOUT_SEED)
    shape = None if image_shape is None else (int(image_shape[0]), int(image_shape[1]))
    return LatentData(np.ascontiguousarray(images), np.ascontiguousarray(heldout), labels, shape)


@dataclass(frozen=True)
class LatentModelFit:
    """A trained VAE or autoencoder for the figures: the model (on the CPU, in eval mode), the held-out
    images ``(M, D)`` and labels, the image shape, and the run's metrics rows (one per epoch).

    Example:
        >>> from ebmlab.training import train
        >>> recipe = VAERecipe(VAEConfig(epochs=1, hidden=(16,), latent=2))
        >>> _ = train(recipe, progress=False)
        >>> fit = recipe.fit()
        >>> fit.model.latent_dim, fit.image_shape, fit.heldout.shape[1]
        (2, (8, 8), 64)
    """

    model: VAE | Autoencoder
    heldout: Tensor
    labels: np.ndarray | None
    image_shape: tuple[int, int] | None
    metrics: list[dict[str, Any]]


class _LatentRecipe(Recipe):
    """What the VAE and autoencoder recipes share: data, the epoch, the state, the figures."""

    unit = "epoch"
    setting = "--lr"
    budget = ("epochs",)
    checkpoint_every = 5
    terms: ClassVar[tuple[str, ...]] = ()  # the per-example parts logged beside the loss
    builders: ClassVar[tuple[Callable[..., VAE | Autoencoder], Callable[..., VAE | Autoencoder]]]  # (MLP, conv)
    net: VAE | Autoencoder

    def __init__(self, config: AutoencoderConfig) -> None:
        self.config = config = config.resolved()
        self.device = resolve_device(config.device)
        data = prepare_latent_data(config)
        self.image_shape = data.image_shape
        self.data = torch.from_numpy(data.train).to(self.device)  # (N, D)
        self.heldout = torch.from_numpy(data.heldout).to(self.device)  # (M, D)
        self.heldout_labels = data.heldout_labels
        self.net = self._build(self.data.shape[1]).to(self.device)
        likelihood = self.net.energy.likelihood
        if isinstance(likelihood, GaussianLikelihood):  # σ starts at the RMS error of a constant prediction
            with torch.no_grad():
                likelihood.log_scale.fill_(math.log(max(float(self.data.std()), 1e-3)))
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.shuffler = torch.Generator().manual_seed(config.seed)  # data order, on the CPU
        self.binarizer = torch.Generator(device=self.device).manual_seed(config.seed + 1)  # dynamic binarisation
        self.noise = torch.Generator(device=self.device).manual_seed(config.seed + 2)  # z ~ q(z | y)

    def _build(self, data_dim: int) -> VAE | Autoencoder:
        """The untrained model the config describes, from :attr:`builders` (initialised from ``seed``)."""
        config = self.config
        mlp_builder, conv_builder = self.builders
        settings = {
            "hidden": config.hidden,
            "latent": config.latent,
            "activation": config.activation,
            "decoder": config.decoder,
            "seed": config.seed,
        }
        if config.conv:
            return conv_builder(self.image_shape, **settings)
        return mlp_builder(data_dim, **settings)

    def _objective(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """(loss per image ``(B,)`` to minimise, the logged parts ``(len(terms), B)``)."""
        raise NotImplementedError

    @property
    def total(self) -> int:
        return self.config.epochs

    def step(self, index: int) -> dict[str, Any]:
        size, dynamic = self.config.batch_size, self.config.binarize == "dynamic"
        self.net.train()
        order = torch.randperm(len(self.data), generator=self.shuffler).to(self.device)
        sums = torch.zeros(1 + len(self.terms), device=self.device)
        for begin in range(0, len(self.data), size):
            y = self.data[order[begin : begin + size]]  # (B, D)
            if dynamic:
                y = binarize_dynamic(y, self.binarizer)
            loss, parts = self._objective(y)  # (B,), (T, B)
            self.optimizer.zero_grad(set_to_none=True)
            loss.mean().backward()
            self.optimizer.step()
            sums += torch.cat([loss.detach().sum().reshape(1), parts.detach().sum(1)])
        means = sums / len(self.data)  # (1 + T,): no sync here
        return {"loss": means[0], **{name: means[1 + i] for i, name in enumerate(self.terms)}}

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "shuffler": generator_state(self.shuffler),
            "binarizer": generator_state(self.binarizer),
            "noise": generator_state(self.noise),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        set_generator_state(self.shuffler, state["shuffler"])
        set_generator_state(self.binarizer, state["binarizer"])
        set_generator_state(self.noise, state["noise"])

    # ------------------------------------------------------------------ the finished run

    def _batches(self, y: Tensor) -> list[Tensor]:
        return [y[begin : begin + _EVALUATION_ROWS] for begin in range(0, len(y), _EVALUATION_ROWS)]

    def model(self) -> VAE | Autoencoder:
        return self.net

    def fit(self, out: Path | None = None) -> LatentModelFit:
        """The trained model and held-out data for the figures, with the metrics rows of the run in ``out``."""
        from ..training import RunDirectory

        rows = RunDirectory(out).read_metrics() if out is not None else []
        model = copy.deepcopy(self.net).cpu().eval()
        return LatentModelFit(model, self.heldout.cpu(), self.heldout_labels, self.image_shape, rows)

    def plot(self, out: Path) -> list[Path]:
        from ..plotting import vae as plots

        return plots.plot_latent_model(self.fit(out), out)


class AutoencoderRecipe(_LatentRecipe):
    """The plain autoencoder's training task: one unit is one epoch of Adam on
    :math:`-\\log p(y \\mid \\mathrm{Enc}(y))` (the binary cross-entropy with a Bernoulli decoder).

    Example:
        >>> from ebmlab.training import train
        >>> recipe = AutoencoderRecipe(AutoencoderConfig(epochs=2, hidden=(32,), latent=2))
        >>> _ = train(recipe, progress=False)
        >>> sorted(recipe.evaluate()), recipe.model().latent_dim
        (['test_reconstruction'], 2)
    """

    name = "autoencoder"
    config_class = AutoencoderConfig
    terms = ("reconstruction",)
    builders = (mlp_autoencoder, conv_autoencoder)

    def _objective(self, y: Tensor) -> tuple[Tensor, Tensor]:
        loss = self.net.loss(y)  # (B,)
        return loss, loss.detach().unsqueeze(0)

    def initial_loss(self) -> float:
        """The untrained model's mean reconstruction energy on the training images (draws no noise)."""
        return self._mean_loss(self.data)

    def _mean_loss(self, y: Tensor) -> float:
        self.net.eval()
        with torch.no_grad():
            total = sum(self.net.loss(batch).double().sum() for batch in self._batches(y))
        return float(total) / len(y)

    def evaluate(self, **options: Any) -> dict[str, float]:
        """On the held-out images: ``test_reconstruction``, mean :math:`-\\log p(y \\mid \\mathrm{Enc}(y))` in nats."""
        self._no_options(options)
        return {"test_reconstruction": self._mean_loss(self.heldout)}

    def summary(self, metrics: dict[str, float]) -> str:
        return (
            f"on {len(self.heldout)} held-out images: reconstruction -log p(y|Enc(y)) "
            f"{metrics['test_reconstruction']:.4f} nats ({self.config.decoder} decoder, latent {self.config.latent})"
        )


class VAERecipe(_LatentRecipe):
    """The VAE's training task: one unit is one epoch of Adam on the negative β-ELBO (or the negative
    IWAE bound with ``iwae_k`` samples), one reparameterised draw per image.

    Logged per epoch: ``loss`` (the objective, nats per image), ``reconstruction``
    (:math:`-\\log p(y \\mid z)`, z ~ q) and ``kl`` (:math:`\\mathrm{KL}(q \\,\\|\\, p)`).

    Example:
        >>> from ebmlab.training import train
        >>> recipe = VAERecipe(VAEConfig(epochs=2, hidden=(32,), latent=2))
        >>> _ = train(recipe, progress=False)
        >>> sorted(recipe.evaluate(iwae_k=10)), tuple(recipe.sample(4, seed=0).shape)
        (['iwae_k', 'test_elbo', 'test_kl', 'test_nll', 'test_nll_standard_error', 'test_reconstruction'], (4, 64))
    """

    name = "vae"
    config_class = VAEConfig
    can_sample = True
    terms = ("reconstruction", "kl")
    builders = (mlp_vae, conv_vae)

    def _objective(self, y: Tensor) -> tuple[Tensor, Tensor]:
        config = self.config
        if config.iwae_k > 1:
            bound = iwae_bound(self.net, y, config.iwae_k, generator=self.noise)
        else:
            bound = elbo(self.net, y, beta=config.beta_kl, generator=self.noise)
        return -bound.value, torch.stack([bound.reconstruction, bound.kl]).detach()

    def initial_loss(self) -> float:
        """The untrained model's mean :math:`-\\log p(y \\mid \\mu(y)) + \\beta\\,\\mathrm{KL}` on the training
        images, decoded at the posterior mean (draws no noise)."""
        self.net.eval()
        with torch.no_grad():
            total = 0.0
            for y in self._batches(self.data):
                posterior = self.net.encoder.posterior(y)
                energy = -self.net.energy.likelihood.log_prob(y, self.net.energy.decoder(posterior.mean))
                kl = gaussian_kl(posterior.mean, posterior.log_var)
                total += float((energy + self.config.beta_kl * kl).double().sum())
        return total / len(self.data)

    def evaluate(self, iwae_k: int | None = None, **options: Any) -> dict[str, float]:
        """On the held-out images (the same random draws at every call, from the run's seed):

        * ``test_elbo``, ``test_reconstruction``, ``test_kl``: the mean ELBO (β = 1, one sample per
          image) and its two parts, in nats;
        * with ``iwae_k``: ``test_nll``, the mean of :math:`-\\log \\hat p(y)` estimated with ``iwae_k``
          importance samples (:func:`~ebmlab.models.vae.log_likelihood`), and
          ``test_nll_standard_error``, the Monte Carlo standard error of that mean
          (:math:`\\sqrt{\\sum_b \\mathrm{se}_b^2} / M`).
        """
        self._no_options(options)
        if iwae_k is not None:
            iwae_k = check_int(iwae_k, "iwae_k")
        self.net.eval()
        generator = torch.Generator(device=self.device).manual_seed(self.config.seed)
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)
        with torch.no_grad():
            for y in self._batches(self.heldout):
                bound = elbo(self.net, y, generator=generator)
                sums += torch.stack([bound.value.sum(), bound.reconstruction.sum(), bound.kl.sum()]).double()
        count = len(self.heldout)
        metrics = dict(zip(("test_elbo", "test_reconstruction", "test_kl"), (sums / count).tolist(), strict=True))
        if iwae_k is not None:
            total, variance = 0.0, 0.0
            for y in self._batches(self.heldout):
                estimate = log_likelihood(self.net, y, iwae_k, generator=generator)
                total += float(estimate.log_likelihood.sum())
                variance += float(estimate.standard_error.square().sum()) if iwae_k > 1 else math.nan
            metrics.update(
                {"test_nll": -total / count, "test_nll_standard_error": math.sqrt(variance) / count, "iwae_k": iwae_k}
            )
        return metrics

    def sample(self, n: int, seed: int = 0) -> Tensor:
        """``n`` images :math:`\\mathbb E[y \\mid z]`, :math:`z \\sim \\mathcal N(0, I)`, shape ``(n, D)``."""
        self.net.eval()
        with torch.no_grad():
            return self.net.sample(n, generator=torch.Generator(device=self.device).manual_seed(seed))

    def summary(self, metrics: dict[str, float]) -> str:
        text = (
            f"on {len(self.heldout)} held-out images: ELBO {metrics['test_elbo']:.3f} nats "
            f"(reconstruction {metrics['test_reconstruction']:.3f}, KL {metrics['test_kl']:.3f})"
        )
        if "test_nll" in metrics:
            text += (
                f", IWAE-{metrics['iwae_k']:.0f} NLL {metrics['test_nll']:.3f} "
                f"± {metrics['test_nll_standard_error']:.3f} nats"
            )
        return text
