"""``ebmlab train dae``: a denoising autoencoder on a 2-D toy, images or a data file.

The autoencoder (:class:`~ebmlab.models.dae.DenoisingAutoencoder`) is trained by Adam on minibatches
to minimise the denoising loss

.. math:: \\mathcal{L} = \\mathrm{mean}_y\\, E(y, \\tilde y)
   = \\mathrm{mean}_y \\|y - \\mathrm{Dec}(\\mathrm{Enc}(\\tilde y))\\|^2,
   \\qquad \\tilde y \\sim c(\\tilde y \\mid y),

one unit of the budget being one epoch (one pass over the training data, in a fresh random order,
with fresh corruptions). A part of the data is held out for :meth:`DAERecipe.evaluate`: fresh points
of a 2-D toy, the test split of MNIST-style sets, a random fifth of anything else.

On N processes (``torchrun``, :mod:`ebmlab.training.distributed`) every rank draws the same batch
order and the corruptions of the whole batch, then trains on its block of B/N points through
DistributedDataParallel; the loss of a rank is its block's mean, so the averaged gradient — and the
step — is the single process's on the whole batch (up to float round-off).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._validation import check_int, check_positive, resolve_device
from ..data import DATA_NAMES, MNIST_NAMES, TOYS, DataFileError, load_data, sample_toy
from ..models.dae import CORRUPTIONS, Corruption, DenoisingAutoencoder, make_corruption
from ..training import distributed, generator_state, set_generator_state
from ._base import Recipe

__all__ = ["HELDOUT_FRACTION", "HELDOUT_TOY", "DAEConfig", "DAEFit", "DAERecipe"]

HELDOUT_TOY = 1000  #: fresh points of a 2-D toy density held out for evaluation
HELDOUT_FRACTION = 0.2  #: the share of digits, blobs and data files held out (MNIST-style sets: their test split)
IMAGE_DATA = ("digits", *MNIST_NAMES)
_EVALUATION_BATCH = 4096


@dataclass
class DAEConfig:
    """Settings of the DAE recipe.

    ``data``: a 2-D toy (:data:`ebmlab.data.TOYS`), ``blobs``, an image set (``digits``, ``mnist``,
    ``fashion-mnist``; read from ``data_root``, fetched with ``download``) or a ``.npy``/``.csv``
    path. ``corruption`` ``gaussian`` uses σ = ``noise``; ``masking`` and ``salt-pepper`` use
    p = ``noise``. Fields left at ``None`` take defaults that depend on the data, shown as
    (2-D data and files / image sets); ``n_samples`` (training points) defaults to 4,000 for a toy
    and to all of the training part otherwise.

    Example:
        >>> DAEConfig().resolved().epochs, DAEConfig(data="digits").resolved().latent
        (200, 32)
    """

    data: str = "moons"
    corruption: str = "gaussian"
    noise: float | None = None  # 0.5 / 0.3
    hidden: int | None = None  # 128 / 256
    latent: int | None = None  # 2 / 32
    epochs: int | None = None  # 200 / 60
    batch_size: int = 128
    lr: float = 3e-3
    n_samples: int | None = None  # 4000 for a toy / all
    data_root: str | None = None
    download: bool = False
    seed: int = 0
    device: str = "cpu"

    @property
    def images(self) -> bool:
        """True for the image sets (sigmoid output, image defaults)."""
        return self.data in IMAGE_DATA

    def resolved(self) -> DAEConfig:
        """A copy with the data-dependent defaults filled in, validated."""
        pick = int(self.images)
        values = asdict(self)
        for name, pair in {"noise": (0.5, 0.3), "hidden": (128, 256), "latent": (2, 32), "epochs": (200, 60)}.items():
            if values[name] is None:
                values[name] = pair[pick]
        if values["n_samples"] is None and self.data in TOYS:
            values["n_samples"] = 4000
        config = DAEConfig(**values)
        if not isinstance(config.data, str) or not (
            config.data in TOYS or config.data in DATA_NAMES or config.data.endswith((".npy", ".csv"))
        ):
            raise ValueError(
                f"data must be a 2-D toy {TOYS}, one of {DATA_NAMES} or a .npy/.csv path, got data={config.data!r}"
            )
        if config.corruption not in CORRUPTIONS:
            raise ValueError(f"corruption must be one of {tuple(CORRUPTIONS)}, got corruption={config.corruption!r}")
        make_corruption(config.corruption, config.noise)
        for name in ("hidden", "latent", "epochs", "batch_size"):
            check_int(getattr(config, name), name)
        if config.n_samples is not None:
            check_int(config.n_samples, "n_samples")
        check_positive(config.lr, "lr")
        if not isinstance(config.download, bool):
            raise TypeError(f"download must be True or False, got {type(config.download).__name__} {config.download!r}")
        resolve_device(config.device)
        return config


@dataclass(frozen=True)
class DAEFit:
    """A trained DAE: the model, its training data ``(N, D)``, the image shape (None for other data),
    the corruption it was trained with and the per-epoch training losses.

    Example:
        >>> from ebmlab.training import train
        >>> recipe = DAERecipe(DAEConfig(data="moons", epochs=1, n_samples=64, hidden=8))
        >>> _ = train(recipe, progress=False)
        >>> fit = recipe.fit()
        >>> tuple(fit.data.shape), fit.image_shape, len(fit.losses)
        ((64, 2), None, 1)
    """

    model: DenoisingAutoencoder
    data: Tensor
    image_shape: tuple[int, int] | None
    corruption: Corruption
    losses: list[float]


def _split(data: np.ndarray, seed: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(training part, held-out part): a random :data:`HELDOUT_FRACTION` of the rows, at least one, held out."""
    if len(data) < 2:
        raise DataFileError(f"data {name} holds {len(data)} row(s); expected at least 2 (one is held out)")
    held = max(1, round(HELDOUT_FRACTION * len(data)))
    order = np.random.default_rng(seed).permutation(len(data))
    return data[np.sort(order[held:])], data[np.sort(order[:held])]


def _load(config: DAEConfig) -> tuple[Tensor, Tensor, tuple[int, int] | None]:
    """(training data ``(N, D)``, held-out data ``(M, D)``, image shape or None)."""
    if config.data in TOYS:
        points = sample_toy(config.data, config.n_samples + HELDOUT_TOY, seed=config.seed)  # (N + M, 2)
        return points[: config.n_samples], points[config.n_samples :], None
    where = {"root": config.data_root, "download": config.download}
    if config.data in MNIST_NAMES:
        train = load_data(config.data, n_samples=config.n_samples, seed=config.seed, **where)
        test = load_data(config.data, split="test", **where)
        data, heldout, image_shape = train.data, test.data, train.image_shape
    else:
        dataset = load_data(config.data, seed=config.seed, **where)
        data, heldout = _split(dataset.data, config.seed, config.data)
        if config.n_samples is not None and config.n_samples < len(data):
            data = data[: config.n_samples]  # the training part is in random order already
        image_shape = dataset.image_shape
    return torch.from_numpy(data), torch.from_numpy(heldout), None if image_shape is None else tuple(image_shape)


class DAERecipe(Recipe):
    """The DAE's training task: one unit is one epoch of Adam over shuffled, freshly corrupted minibatches.

    Example:
        >>> from ebmlab.training import train
        >>> recipe = DAERecipe(DAEConfig(data="moons", epochs=2, n_samples=256, hidden=16))
        >>> _ = train(recipe, progress=False)
        >>> len(recipe.fit().losses), tuple(recipe.data.shape), sorted(recipe.evaluate())
        (2, (256, 2), ['denoising_loss', 'reconstruction_energy'])
    """

    name = "dae"
    unit = "epoch"
    setting = "--lr"
    config_class = DAEConfig
    budget = ("epochs",)
    checkpoint_every = 20
    shards_data = True

    def __init__(self, config: DAEConfig) -> None:
        self.config = config = config.resolved()
        self.device = resolve_device(config.device)
        data, heldout, self.image_shape = _load(config)
        self.data, self.heldout = data.to(self.device), heldout.to(self.device)  # (N, D), (M, D)
        self.corruption = make_corruption(config.corruption, config.noise)
        self.net = DenoisingAutoencoder(
            self.data.shape[1], config.hidden, config.latent, sigmoid_output=config.images, seed=config.seed
        ).to(self.device)
        distributed.check_batch_size(config.batch_size)
        self.trainer = distributed.data_parallel(self.net)  # DDP over torchrun's processes, else the net itself
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.shuffler = torch.Generator().manual_seed(config.seed)  # data order, on the CPU
        self.noise = torch.Generator(device=self.device).manual_seed(config.seed + 1)  # corruptions
        self.losses: list[Tensor] = []  # 0-dim, one per epoch

    @property
    def total(self) -> int:
        return self.config.epochs

    def step(self, index: int) -> dict[str, Any]:
        size = self.config.batch_size
        order = torch.randperm(len(self.data), generator=self.shuffler).to(self.device)
        total = torch.zeros((), device=self.device)
        for begin in range(0, len(self.data), size):
            y = self.data[order[begin : begin + size]]  # (B, D): the whole batch, on every rank
            noisy = self.corruption(y, self.noise)  # (B, D): every rank draws the whole batch's noise
            rows = distributed.shard(len(y))  # this rank's B/N points (all B on one process)
            energies = (y[rows] - self.trainer(noisy[rows])).pow(2).sum(1)  # (B/N,): E(y, ỹ)
            loss = distributed.shard_mean(energies, len(y))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()  # DDP averages the ranks' gradients: the batch mean's gradient
            self.optimizer.step()
            total += loss.detach() * len(y)  # averaged over the ranks: the batch's sum of energies
        mean = distributed.all_reduce(total, "mean") / len(self.data)  # 0-dim: no sync on one process
        self.losses.append(mean)
        return {"loss": mean}

    def initial_loss(self) -> float:
        """The untrained model's mean reconstruction energy on the training data (draws no noise)."""
        return self._mean(self.net.reconstruction_energy, self.data)

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "shuffler": generator_state(self.shuffler),
            "noise": generator_state(self.noise),
            "losses": torch.stack(self.losses) if self.losses else torch.zeros(0, device=self.device),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        set_generator_state(self.shuffler, state["shuffler"])
        set_generator_state(self.noise, state["noise"])
        self.losses = list(state["losses"].to(self.device).unbind())

    # ------------------------------------------------------------------ the finished run

    def _mean(self, energy: Any, y: Tensor) -> float:
        """Mean of ``energy`` (``(B, D) → (B,)``) over ``y``, in batches, without gradients."""
        with torch.no_grad():
            total = sum(
                energy(y[begin : begin + _EVALUATION_BATCH]).sum() for begin in range(0, len(y), _EVALUATION_BATCH)
            )
        return float(total) / len(y)

    def model(self) -> DenoisingAutoencoder:
        return self.net

    def fit(self) -> DAEFit:
        model = copy.deepcopy(self.net).cpu().eval()
        return DAEFit(model, self.data.cpu(), self.image_shape, self.corruption, [float(loss) for loss in self.losses])

    def evaluate(self) -> dict[str, float]:
        """On the held-out data: the reconstruction energy mean ‖y − Dec(Enc(y))‖² and the denoising
        loss mean ‖y − Dec(Enc(ỹ))‖² (corruptions drawn with the run's seed, the same at every call)."""
        generator = torch.Generator(device=self.device).manual_seed(self.config.seed)
        with torch.no_grad():
            noisy = self.corruption(self.heldout, generator)  # (M, D)
            denoising = self.net.energy(self.heldout, noisy).mean()
        return {
            "reconstruction_energy": self._mean(self.net.reconstruction_energy, self.heldout),
            "denoising_loss": float(denoising),
        }

    def summary(self, metrics: dict[str, float]) -> str:
        return (
            f"on {len(self.heldout)} held-out points: reconstruction energy {metrics['reconstruction_energy']:.5f}, "
            f"denoising loss {metrics['denoising_loss']:.5f} ({self.corruption})"
        )

    def plot(self, out: Path) -> list[Path]:
        from ..plotting import dae as plots

        return plots.plot_dae(self.fit(), out)
