"""Denoising autoencoder: a contrastive method that learns to map corrupted points back to the data.

A corruption :math:`\\tilde y \\sim c(\\tilde y \\mid y)` moves a data point off the manifold; the
autoencoder is trained to minimise the energy

.. math:: E(y, \\tilde y) = \\|y - \\mathrm{Dec}(\\mathrm{Enc}(\\tilde y))\\|^2,

so the reconstruction :math:`\\mathrm{Dec}(\\mathrm{Enc}(y))` of a point off the manifold lands
back on it: the field :math:`\\mathrm{Dec}(\\mathrm{Enc}(y)) - y` points to the data, and the
reconstruction energy :math:`\\|y - \\mathrm{Dec}(\\mathrm{Enc}(y))\\|^2` is low on the manifold and grows
away from it. Corruptions: :class:`GaussianCorruption`, :class:`MaskingCorruption`,
:class:`SaltAndPepperCorruption`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._validation import check_int, check_positive, resolve_device
from ..data import TOYS, load_data, sample_toy
from ..runs import RunDirectory, progress

__all__ = [
    "CORRUPTIONS",
    "Corruption",
    "DAEConfig",
    "DAEFit",
    "DenoisingAutoencoder",
    "GaussianCorruption",
    "MaskingCorruption",
    "SaltAndPepperCorruption",
    "make_corruption",
    "train_dae",
]


def _check_probability(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a probability in [0, 1], got {name}={value!r}")
    return float(value)


class Corruption:
    """A corruption :math:`c(\\tilde y \\mid y)`: ``corruption(y, generator)`` returns ỹ, shaped like y ``(B, D)``."""

    def __call__(self, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        raise NotImplementedError


class GaussianCorruption(Corruption):
    """:math:`\\tilde y = y + \\sigma \\epsilon`, :math:`\\epsilon \\sim \\mathcal N(0, I)`.

    Example:
        >>> import torch
        >>> GaussianCorruption(0.0)(torch.ones(2, 3)).sum().item()
        6.0
    """

    def __init__(self, sigma: float = 0.5) -> None:
        self.sigma = check_positive(sigma, "sigma", strict=False)

    def __call__(self, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return y + self.sigma * torch.randn(y.shape, generator=generator, device=y.device, dtype=y.dtype)

    def __repr__(self) -> str:
        return f"GaussianCorruption(sigma={self.sigma})"


class MaskingCorruption(Corruption):
    """Each entry is set to 0 with probability ``p`` (dropout noise without rescaling).

    Example:
        >>> import torch
        >>> MaskingCorruption(1.0)(torch.ones(2, 3)).sum().item()
        0.0
    """

    def __init__(self, p: float = 0.3) -> None:
        self.p = _check_probability(p, "p")

    def __call__(self, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        keep = torch.rand(y.shape, generator=generator, device=y.device) >= self.p
        return y * keep.to(y.dtype)

    def __repr__(self) -> str:
        return f"MaskingCorruption(p={self.p})"


class SaltAndPepperCorruption(Corruption):
    """Each entry, with probability ``p``, is replaced by ``low`` or ``high`` (each with chance 1/2).

    Example:
        >>> import torch
        >>> noisy = SaltAndPepperCorruption(1.0)(torch.full((100, 4), 0.5), torch.Generator().manual_seed(0))
        >>> sorted(set(noisy.flatten().tolist()))
        [0.0, 1.0]
    """

    def __init__(self, p: float = 0.2, low: float = 0.0, high: float = 1.0) -> None:
        self.p = _check_probability(p, "p")
        if not low < high:
            raise ValueError(f"need low < high, got low={low}, high={high}")
        self.low, self.high = float(low), float(high)

    def __call__(self, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        hit = torch.rand(y.shape, generator=generator, device=y.device) < self.p
        salt = torch.rand(y.shape, generator=generator, device=y.device) < 0.5
        value = torch.where(salt, self.high, self.low).to(y.dtype)
        return torch.where(hit, value, y)

    def __repr__(self) -> str:
        return f"SaltAndPepperCorruption(p={self.p}, low={self.low}, high={self.high})"


CORRUPTIONS = {"gaussian": GaussianCorruption, "masking": MaskingCorruption, "salt-pepper": SaltAndPepperCorruption}


def make_corruption(name: str, level: float) -> Corruption:
    """The corruption ``name`` (``gaussian``: σ = level; ``masking``, ``salt-pepper``: p = level)."""
    if name not in CORRUPTIONS:
        raise ValueError(f"corruption must be one of {tuple(CORRUPTIONS)}, got corruption={name!r}")
    return CORRUPTIONS[name](level)


class DenoisingAutoencoder(nn.Module):
    """MLP encoder D → H → K and decoder K → H → D (SiLU), with a sigmoid output for [0, 1] images.

    Shape:
        :meth:`forward`: ỹ ``(B, D)`` → Dec(Enc(ỹ)) ``(B, D)``; :meth:`energy`: y, ỹ ``(B, D)`` → ``(B,)``.

    Example:
        >>> import torch
        >>> dae = DenoisingAutoencoder(2, hidden=16, latent=2, seed=0)
        >>> y = torch.zeros(3, 2)
        >>> dae.energy(y, y).shape, dae.reconstruction_energy(y).shape
        (torch.Size([3]), torch.Size([3]))
    """

    def __init__(self, dim: int, hidden: int = 128, latent: int = 32, sigmoid_output: bool = False, seed: int = 0):
        super().__init__()
        for name, value in (("dim", dim), ("hidden", hidden), ("latent", latent)):
            check_int(value, name)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.encoder = nn.Sequential(
                nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, latent)
            )
            decoder = [
                nn.Linear(latent, hidden),
                nn.SiLU(),
                nn.Linear(hidden, hidden),
                nn.SiLU(),
                nn.Linear(hidden, dim),
            ]
            if sigmoid_output:
                decoder.append(nn.Sigmoid())
            self.decoder = nn.Sequential(*decoder)
        self.dim = dim

    def forward(self, corrupted: Tensor) -> Tensor:
        return self.decoder(self.encoder(corrupted))  # (B, D)

    def energy(self, y: Tensor, corrupted: Tensor) -> Tensor:
        """:math:`\\|y - \\mathrm{Dec}(\\mathrm{Enc}(\\tilde y))\\|^2`, shape ``(B,)``."""
        return (y - self(corrupted)).pow(2).sum(1)

    def reconstruction_energy(self, y: Tensor) -> Tensor:
        """:math:`\\|y - \\mathrm{Dec}(\\mathrm{Enc}(y))\\|^2`, shape ``(B,)``: low on the learned manifold."""
        return self.energy(y, y)


@dataclass
class DAEConfig:
    """Settings of :func:`train_dae`.

    ``data``: a 2-D toy (:data:`ebmlab.data.TOYS`, ``n_samples`` points) or an image set understood
    by :func:`ebmlab.data.load_data` (``digits``, ``mnist``, ``fashion-mnist``; ``data_root``).
    ``corruption`` ``gaussian`` uses σ = ``noise``; ``masking`` and ``salt-pepper`` use p = ``noise``.
    Fields left at ``None`` take defaults that depend on the data (2-D / images).
    """

    data: str = "moons"
    corruption: str = "gaussian"
    noise: float | None = None  # 0.5 / 0.3
    hidden: int | None = None  # 128 / 256
    latent: int | None = None  # 2 / 32
    epochs: int | None = None  # 200 / 60
    batch_size: int = 128
    lr: float = 3e-3
    n_samples: int | None = None
    data_root: str | None = None
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 20

    @property
    def is_toy(self) -> bool:
        return self.data in TOYS

    def resolved(self) -> DAEConfig:
        pick = 0 if self.is_toy else 1
        values = dict(self.__dict__)
        for name, pair in {"noise": (0.5, 0.3), "hidden": (128, 256), "latent": (2, 32), "epochs": (200, 60)}.items():
            if values[name] is None:
                values[name] = pair[pick]
        if values["n_samples"] is None and self.is_toy:
            values["n_samples"] = 4000
        config = DAEConfig(**values)
        if config.corruption not in CORRUPTIONS:
            raise ValueError(f"corruption must be one of {tuple(CORRUPTIONS)}, got corruption={config.corruption!r}")
        make_corruption(config.corruption, config.noise)
        for name in ("hidden", "latent", "epochs", "batch_size", "checkpoint_every"):
            check_int(getattr(config, name), name)
        check_positive(config.lr, "lr")
        return config


@dataclass(frozen=True)
class DAEFit:
    """A trained DAE: model, its training data ``(N, D)``, image shape (None for 2-D), per-epoch losses."""

    model: DenoisingAutoencoder
    data: Tensor
    image_shape: tuple[int, int] | None
    corruption: Corruption
    losses: list[float]
    config: DAEConfig


def _load(config: DAEConfig) -> tuple[Tensor, tuple[int, int] | None]:
    if config.is_toy:
        return sample_toy(config.data, config.n_samples, seed=config.seed), None
    dataset = load_data(config.data, n_samples=config.n_samples, seed=config.seed, root=config.data_root)
    if dataset.image_shape is None:
        raise ValueError(f"data must be a 2-D toy {TOYS} or an image set (digits, mnist, ...), got {config.data!r}")
    return torch.as_tensor(dataset.data, dtype=torch.float32), tuple(dataset.image_shape)


def train_dae(
    config: DAEConfig, *, run: RunDirectory | None = None, resume: bool = False, show_progress: bool = True
) -> DAEFit:
    """Train a denoising autoencoder by minimising :math:`\\mathrm{mean}\\, E(y, \\tilde y)` (module doc).

    With ``run``: config.json, per-epoch metrics.jsonl, checkpoints every ``checkpoint_every``
    epochs and at the end; ``resume=True`` continues from the checkpoint.

    Example:
        >>> fit = train_dae(DAEConfig(data="moons", epochs=2, n_samples=256, hidden=16), show_progress=False)
        >>> len(fit.losses), tuple(fit.data.shape)
        (2, (256, 2))
    """
    config = config.resolved()
    device = resolve_device(config.device)
    data, image_shape = _load(config)
    data = data.to(device)
    model = DenoisingAutoencoder(
        data.shape[1], config.hidden, config.latent, sigmoid_output=image_shape is not None, seed=config.seed
    ).to(device)
    corruption = make_corruption(config.corruption, config.noise)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    generator = torch.Generator(device=device)
    shuffler = torch.Generator()
    losses: list[float] = []
    start = 0
    if run is not None:
        if resume and run.has_checkpoint():
            checkpoint = run.load_checkpoint(optimizer)
            model.load_state_dict({k: v.to(device) for k, v in checkpoint.tensors.items()})
            start, losses = checkpoint.step, list(checkpoint.extra.get("losses", []))
            run.truncate_metrics("epoch", start)
        else:
            run.file("metrics.jsonl").unlink(missing_ok=True)
        run.write_config(config)
    batches = math.ceil(data.shape[0] / config.batch_size)
    for epoch in progress(range(start, config.epochs), total=config.epochs - start, desc="dae", enabled=show_progress):
        generator.manual_seed(config.seed * 100_003 + epoch)  # per-epoch seeds: resuming replays the same noise
        order = torch.randperm(data.shape[0], generator=shuffler.manual_seed(config.seed + epoch)).to(device)
        total = torch.zeros((), device=device)
        for b in range(batches):
            y = data[order[b * config.batch_size : (b + 1) * config.batch_size]]  # (B, D)
            loss = model.energy(y, corruption(y, generator)).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * y.shape[0]
        mean = float(total) / data.shape[0]
        if not math.isfinite(mean):
            raise ValueError(f"DAE loss became {mean} at epoch {epoch + 1}; lower lr={config.lr}")
        losses.append(mean)
        if run is not None:
            run.log_metrics({"epoch": epoch + 1, "loss": mean})
            if (epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs:
                run.save_checkpoint(
                    model.state_dict(), step=epoch + 1, config=config, extra={"losses": losses}, optimizer=optimizer
                )
    return DAEFit(model.cpu().eval(), data.cpu(), image_shape, corruption, losses, config)
