"""``ebmlab train rbm``: a restricted Boltzmann machine trained by (persistent) contrastive divergence.

One unit is one epoch of :meth:`~ebmlab.models.rbm.RBM.fit_epoch` (the estimator's own CD-k / PCD-k
epoch, with its momentum and learning-rate schedules). After each epoch the recipe measures, on
the first ``monitor_samples`` training rows, the mean-field reconstruction error and — Bernoulli
units on binary data — the pseudo-log-likelihood with fixed flipped units (scikit-learn's
``score_samples``). The loss the loop watches is minus that pseudo-log-likelihood (nats per image),
or the reconstruction error where the pseudo-likelihood is not defined (Gaussian units, grey-level
data): both grow when the training blows up, and NaN/inf statistics stop it at once.

The state of a run is the estimator's: W, b, c, the persistent chains, the momentum buffers and
its ``RandomState`` (every draw of the training, as scikit-learn's; on CUDA it seeds each epoch's torch
generator); the learning-rate and momentum schedules follow the epoch index.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._validation import check_int, check_positive, resolve_device
from ..models.rbm import (
    RBM,
    BernoulliVisible,
    GaussianVisible,
    RBMDivergedError,
    RBMSettings,
    VisibleUnits,
    ais_log_partition,
    exact_log_partition,
    pseudo_likelihood,
    rbm_free_energy,
    reconstruction_error,
)
from ..samplers import SampleResult
from ..training import Diverged, generator_state, set_generator_state
from ._base import Recipe

__all__ = ["RBMConfig", "RBMData", "RBMFit", "RBMRecipe", "prepare_rbm_data"]

EXACT_UNITS = 20  # log Z by enumeration when the smaller layer has at most this many units, else AIS


@dataclass
class RBMConfig(RBMSettings):
    """Settings of the RBM recipe (the ``ebmlab train rbm`` command): the model's and training's
    hyperparameters are :class:`~ebmlab.models.rbm.RBMSettings`' fields (declared there, once; their
    defaults are scikit-learn's, the command's flags have their own), plus these:

    ``visible`` is ``"bernoulli"`` (data in [0, 1], thresholded at 0.5 when ``binarize``) or
    ``"gaussian"`` (each feature standardised to zero mean and unit variance, σ = ``sigma``); ``epochs``
    is the estimator's ``n_iter`` and ``seed`` its ``random_state``. The log-likelihood is exact when the
    smaller layer has ≤ 20 units, else from AIS with ``ais_chains`` runs of ``ais_betas`` steps from the
    data's base-rate model. ``sample_chains`` chains of ``sample_steps`` Gibbs steps give the samples figure.

    Example:
        >>> RBMConfig(momentum=1.5).validated()
        Traceback (most recent call last):
        ...
        ValueError: momentum must be a number in [0, 1), got momentum=1.5
    """

    data: str = "digits"
    data_root: str | None = None
    download: bool = False
    n_samples: int | None = None
    visible: str = "bernoulli"
    sigma: float = 1.0
    binarize: bool = True
    epochs: int = 20
    seed: int = 0
    monitor_samples: int = 2000
    sample_chains: int = 64
    sample_steps: int = 1000
    ais_chains: int = 100
    ais_betas: int = 10000

    def validated(self) -> RBMConfig:
        """This config, checked (``ValueError`` naming the field, expected and given)."""
        if self.visible not in ("bernoulli", "gaussian"):
            raise ValueError(f"visible must be 'bernoulli' or 'gaussian', got visible={self.visible!r}")
        check_positive(self.sigma, "sigma")
        self.check_settings(self.units())
        for name in ("epochs", "monitor_samples", "sample_chains", "ais_chains"):
            check_int(getattr(self, name), name)
        check_int(self.sample_steps, "sample_steps", minimum=0)
        check_int(self.ais_betas, "ais_betas", minimum=3)
        check_int(self.seed, "seed", minimum=0)
        if self.n_samples is not None:
            check_int(self.n_samples, "n_samples")
        return self

    def settings(self) -> dict[str, Any]:
        """The :class:`~ebmlab.models.rbm.RBMSettings` fields and their values."""
        return {field.name: getattr(self, field.name) for field in fields(RBMSettings)}

    def units(self) -> VisibleUnits:
        return GaussianVisible(self.sigma) if self.visible == "gaussian" else BernoulliVisible()


@dataclass(frozen=True)
class RBMData:
    """Training (and, for MNIST-style sets, test) rows as the RBM sees them, ``(N, D)`` float32.

    ``mean`` μ and ``scale`` s ``(D,)`` undo the Gaussian standardisation :math:`x = (x_0 - \\mu) / s` of the
    loaded rows :math:`x_0 = x \\cdot s + \\mu`; they are zeros and ones for Bernoulli data.

    Example:
        >>> data = prepare_rbm_data(RBMConfig(visible="gaussian", n_samples=100))
        >>> data.train.shape, data.test, bool(abs(data.train.mean(0)).max() < 1e-4)  # standardised columns
        ((100, 64), None, True)
        >>> raw = prepare_rbm_data(RBMConfig(n_samples=100, binarize=False)).train  # the same rows, as loaded
        >>> bool(abs(data.train * data.scale + data.mean - raw).max() < 1e-5)
        True
    """

    train: np.ndarray
    test: np.ndarray | None
    image_shape: tuple[int, int] | None
    mean: np.ndarray
    scale: np.ndarray


def prepare_rbm_data(config: RBMConfig) -> RBMData:
    """Load ``config.data`` and binarise (Bernoulli) or standardise (Gaussian) it.

    Example:
        >>> data = prepare_rbm_data(RBMConfig(n_samples=100))
        >>> data.train.shape, data.image_shape, sorted(set(data.train.ravel().tolist()))
        ((100, 64), (8, 8), [0.0, 1.0])
    """
    from ..data import load_data

    where = {"root": config.data_root, "download": config.download}
    dataset = load_data(config.data, n_samples=config.n_samples, seed=config.seed, **where)
    train = dataset.data  # (N, D)
    test = load_data(config.data, split="test", **where).data if config.data in ("mnist", "fashion-mnist") else None
    dim = train.shape[1]
    mean, scale = np.zeros(dim, np.float32), np.ones(dim, np.float32)
    if config.visible == "gaussian":
        mean = train.mean(axis=0)
        std = train.std(axis=0)
        scale = np.where(std > 1e-6, std, 1.0).astype(np.float32)
        train = (train - mean) / scale
        test = None if test is None else (test - mean) / scale
    else:
        if train.min() < 0 or train.max() > 1:
            raise ValueError(
                f"data {config.data!r} has values in [{train.min():.3g}, {train.max():.3g}]; Bernoulli visible "
                "units need data in [0, 1] (use --visible gaussian for real-valued data)"
            )
        if config.binarize:
            train = (train > 0.5).astype(np.float32)
            test = None if test is None else (test > 0.5).astype(np.float32)
    contiguous = np.ascontiguousarray
    return RBMData(
        contiguous(train, np.float32),
        None if test is None else contiguous(test, np.float32),
        dataset.image_shape,
        mean.astype(np.float32),
        scale.astype(np.float32),
    )


@dataclass(frozen=True)
class RBMFit:
    """A trained RBM as its figures see it: the estimator, its data, the per-epoch monitors
    (``pseudo_likelihoods`` empty where undefined) and ``samples``, the final states v_T of ``sample_chains`` Gibbs
    chains of T = ``sample_steps`` sweeps v → h ~ p(h | v) → v ~ p(v | h) from v_0 ~ p(v | h = 0).

    Example:
        >>> from ebmlab.training import train
        >>> recipe = RBMRecipe(RBMConfig(n_components=8, epochs=1, n_samples=100, sample_chains=4, sample_steps=5))
        >>> _ = train(recipe, progress=False)
        >>> fit = recipe.fit()
        >>> tuple(fit.samples.samples.shape), fit.samples.steps, len(fit.reconstruction_errors)
        ((4, 64), 5, 1)
    """

    model: RBM
    data: RBMData
    pseudo_likelihoods: list[float]
    reconstruction_errors: list[float]
    samples: SampleResult


class RBMRecipe(Recipe):
    """The RBM's training task: one unit is one epoch of :meth:`RBM.fit_epoch`.

    Example:
        >>> from ebmlab.training import train
        >>> recipe = RBMRecipe(RBMConfig(n_components=8, epochs=2, n_samples=200, sample_steps=10))
        >>> _ = train(recipe, progress=False)
        >>> metrics = recipe.evaluate()
        >>> len(recipe.pseudo_likelihoods), metrics["log_likelihood_train"] < 0, "log_partition_std" in metrics
        (2, True, False)
        >>> recipe.sample(5).shape
        torch.Size([5, 64])
    """

    name = "rbm"
    unit = "epoch"
    setting = "--lr"
    config_class = RBMConfig
    budget = ("epochs",)
    # settings that change neither the training nor its monitors: they may change on --resume
    runtime = ("device", "data_root", "download", "sample_chains", "sample_steps", "ais_chains", "ais_betas")
    can_sample = True

    def __init__(self, config: RBMConfig) -> None:
        self.config = config = config.validated()
        self.device = resolve_device(config.device)
        self.data = prepare_rbm_data(config)
        self.image_shape = self.data.image_shape
        self.train_rows = torch.from_numpy(self.data.train).to(self.device)  # (N, D)
        self.estimator = RBM(
            **config.settings(), n_iter=config.epochs, visible=config.units(), random_state=config.seed
        ).initialize(self.train_rows.shape[1], self.train_rows)
        self.monitor = self.train_rows[: config.monitor_samples]  # (M, D)
        binary = isinstance(self.estimator.params_.visible, BernoulliVisible) and bool(
            ((self.monitor == 0) | (self.monitor == 1)).all()
        )
        self.flips: Tensor | None = None  # the unit each monitor row flips, fixed for the whole run
        if binary:
            dim, rows = self.monitor.shape[1], self.monitor.shape[0]
            self.flips = torch.from_numpy(np.random.RandomState(config.seed).randint(0, dim, rows)).to(self.device)
        self.pseudo_likelihoods: list[float] = []
        self.reconstruction_errors: list[float] = []

    @property
    def total(self) -> int:
        return self.config.epochs

    def setting_value(self) -> float:
        return self.config.learning_rate

    # ------------------------------------------------------------------ the training

    def _monitors(self) -> dict[str, float]:
        """Reconstruction error and (where defined) pseudo-log-likelihood on the monitor rows."""
        params = self.estimator.params_
        metrics = {"reconstruction_error": float(reconstruction_error(params, self.monitor))}
        if self.flips is not None:
            metrics["pseudo_likelihood"] = float(pseudo_likelihood(params, self.monitor, self.flips).mean())
        return metrics

    @staticmethod
    def _loss(metrics: dict[str, float]) -> float:
        return -metrics["pseudo_likelihood"] if "pseudo_likelihood" in metrics else metrics["reconstruction_error"]

    def step(self, index: int) -> dict[str, Any]:
        start = time.perf_counter()  # the recipe times the epoch; the estimator does not
        try:
            self.estimator.fit_epoch(self.train_rows, epoch=index + 1)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
        except RBMDivergedError as exc:
            raise Diverged(
                f"{self.name} training diverged at {self.unit} {index + 1}: NaN/inf statistics after minibatch "
                f"{exc.minibatch} of {exc.n_batches} (parameters restored to the start of the epoch); "
                f"lower {self.setting} (now {self.config.learning_rate})",
                step=index + 1,
                setting=self.setting,
            ) from exc
        seconds = time.perf_counter() - start
        metrics = self._monitors()
        self.reconstruction_errors.append(metrics["reconstruction_error"])
        if "pseudo_likelihood" in metrics:
            self.pseudo_likelihoods.append(metrics["pseudo_likelihood"])
        return {"loss": self._loss(metrics), **metrics, "seconds": seconds}

    def initial_loss(self) -> float:
        return self._loss(self._monitors())

    def state_dict(self) -> dict[str, Any]:
        model = self.estimator
        params, velocity = model.params_, model.velocity_
        return {
            "weight": params.weight,
            "visible_bias": params.visible_bias,
            "hidden_bias": params.hidden_bias,
            "chain": model.chains_,
            "velocity": {
                "weight": velocity.weight,
                "visible_bias": velocity.visible_bias,
                "hidden_bias": velocity.hidden_bias,
            },
            "generator": generator_state(model.generator_),
            "pseudo_likelihoods": list(self.pseudo_likelihoods),
            "reconstruction_errors": list(self.reconstruction_errors),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        model, params = self.estimator, self.estimator.params_
        for name in ("weight", "visible_bias", "hidden_bias"):
            getattr(params, name).copy_(state[name])
        model.chains_ = state["chain"].to(device=self.device, dtype=params.weight.dtype, copy=True)
        for name in ("weight", "visible_bias", "hidden_bias"):
            getattr(model.velocity_, name).copy_(state["velocity"][name])
        set_generator_state(model.generator_, state["generator"])
        self.pseudo_likelihoods = [float(value) for value in state["pseudo_likelihoods"]]
        self.reconstruction_errors = [float(value) for value in state["reconstruction_errors"]]

    # ------------------------------------------------------------------ the finished run

    def model(self) -> RBM:
        return self.estimator

    def evaluate(self) -> dict[str, float]:
        """log Z (exact when the smaller layer has ≤ 20 units, else AIS with its standard error), the mean
        train (and test) log-likelihood in nats per example, and the monitors of the last epoch."""
        config, params = self.config, self.estimator.params_
        smaller = min(params.n_hidden, params.n_visible if params.visible.discrete else params.n_hidden)
        if smaller <= EXACT_UNITS:
            metrics = {"log_partition": float(exact_log_partition(params, max_units=EXACT_UNITS))}
        else:
            ais = ais_log_partition(
                params,
                n_chains=config.ais_chains,
                n_betas=config.ais_betas,
                data=self.train_rows,
                seed=config.seed,
            )
            metrics = {"log_partition": ais.log_partition, "log_partition_std": ais.log_partition_std}
        log_z = metrics["log_partition"]
        with torch.no_grad():
            metrics["log_likelihood_train"] = float(-rbm_free_energy(params, self.train_rows).double().mean()) - log_z
            if self.data.test is not None:
                test = torch.from_numpy(self.data.test).to(self.device)  # (N_test, D)
                metrics["log_likelihood_test"] = float(-rbm_free_energy(params, test).double().mean()) - log_z
        metrics.update(self._monitors())
        return metrics

    def summary(self, metrics: dict[str, float]) -> str:
        if "log_partition_std" in metrics:
            config = self.config
            log_z = (
                f"log Z = {metrics['log_partition']:.2f} ± {metrics['log_partition_std']:.2g} "
                f"(AIS, {config.ais_chains} runs of {config.ais_betas} steps)"
            )
        else:
            log_z = f"log Z = {metrics['log_partition']:.2f} (exact)"
        text = f"{log_z}; mean log-likelihood: train {metrics['log_likelihood_train']:.2f} nats"
        if "log_likelihood_test" in metrics:
            text += f", test {metrics['log_likelihood_test']:.2f} nats"
        if "pseudo_likelihood" in metrics:
            text += f"; pseudo-log-likelihood {metrics['pseudo_likelihood']:.2f} nats"
        return text + f"; reconstruction error {metrics['reconstruction_error']:.4g}"

    def sample(self, n: int, seed: int = 0) -> Tensor:
        """``n`` chains of ``sample_steps`` Gibbs steps from v ~ p(v | h = 0), in data units (Gaussian
        standardisation undone), shape ``(n, D)``."""
        samples = self.estimator.sample(n, self.config.sample_steps, seed=seed).samples  # (n, D)
        return self._in_data_units(samples)

    def _in_data_units(self, rows: Tensor) -> Tensor:
        if isinstance(self.estimator.params_.visible, BernoulliVisible):
            return rows
        scale = torch.from_numpy(self.data.scale).to(rows.device)
        return rows * scale + torch.from_numpy(self.data.mean).to(rows.device)

    def fit(self) -> RBMFit:
        """The trained run as :mod:`ebmlab.plotting.rbm` draws it (runs the sample chains)."""
        config = self.config
        samples = self.estimator.sample(config.sample_chains, config.sample_steps, seed=config.seed)
        return RBMFit(
            self.estimator, self.data, list(self.pseudo_likelihoods), list(self.reconstruction_errors), samples
        )

    def plot(self, out: Path) -> list[Path]:
        from ..plotting import rbm as plots

        return plots.plot_all(self.fit(), out)
