"""``ebmlab train lista``: a T-layer LISTA encoder trained to predict FISTA's codes (or to minimise the energy).

Set-up, once per run: 8 × 8 china.jpg patches (a sixth held out), a dictionary W learned from the
training patches by :class:`~ebmlab.models.sparse_coding.SparseCoding` (``dictionary_epochs``
passes) and FISTA's converged codes ž (tol 1e-8) of the training and held-out patches. W and ž are
kept in the checkpoint, so a resumed run continues from exactly the targets it started with
instead of recomputing them (the slowest part of the set-up).

The network is plain LISTA, LISTA-CP, LISTA-CPSS or LISTA-CP with learned momentum (``variant``,
:class:`~ebmlab.models.lista.LISTA`).

Training: Adam with a cosine-decayed learning rate on :func:`~ebmlab.models.lista.lista_code_loss`
(normalised by mean ‖ž‖²; ``supervision="all"``: deep supervision, every layer's error, which keeps
the intermediate layers good; ``"last"``: the last layer's alone, which fits it better) or
:func:`~ebmlab.models.lista.lista_energy_loss` (always the last layer's energy).
One unit of the budget is one epoch over the training patches in shuffled mini-batches; the
optimiser's state and the shuffling generator's state are in the checkpoint. ``flips`` adds the
training patches' mirror images (left-right, up-down, both: four times the data, each with its own
FISTA target) and ``transposes`` their transposes (twice the data again; with ``flips``, the eight
symmetries of the square), which narrows the gap between training and held-out code error.

Schedules: ``"joint"`` trains all T layers together for ``epochs`` epochs. ``"layerwise"`` (Chen et
al., 2018) first trains stage by stage — at stage t = 1..T, layers 1..t on the loss of layer t's
output alone, ``stage_epochs`` epochs with the learning rate cosine-decayed within the stage — and
then fine-tunes all layers jointly for ``epochs`` epochs at a tenth of the learning rate. The stage
is a function of the unit's index, so a resumed run continues exactly where it stopped; ``epochs``
(the budget) extends the joint phase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._validation import check_int, check_positive, resolve_device
from ..data import image_patches
from ..kernels.proximal import sparse_encode
from ..models.lista import LISTA, OBJECTIVES, VARIANTS, code_error, lista_code_loss, lista_energy_loss
from ..models.sparse_coding import SparseCoding
from ..training import generator_state, set_generator_state
from ..training.schedules import cosine_decay
from ._base import Recipe

__all__ = ["LISTAConfig", "LISTARecipe"]

#: the iteration counts of ISTA and FISTA on the code-error figure
CURVE_ITERATIONS = (1, 2, 4, 8, 16, 32, 48, 64, 128, 256)
#: how the layers are trained: all together, or stage by stage then together
SCHEDULES = ("joint", "layerwise")
#: which layers the code loss of the joint phase fits: every layer (deep supervision) or the last one
SUPERVISIONS = ("all", "last")
#: the learning rate of the layer-wise schedule's joint fine-tuning, relative to ``lr`` (Chen et al. fine-tune
#: at a tenth or less: at the full rate the first joint epochs undo what the stages built)
FINE_TUNING_LR = 0.1


@dataclass
class LISTAConfig:
    """Settings of the LISTA recipe.

    Example:
        >>> LISTAConfig(layers=8).validated().layers
        8
    """

    n_samples: int = 12000
    n_components: int = 128
    alpha: float = 0.3
    layers: int = 16
    tied: bool = False
    variant: str = "lista"
    support_step: float = 1.2
    support_max: float = 13.0
    objective: str = "codes"
    schedule: str = "joint"
    stage_epochs: int = 1
    supervision: str = "all"
    flips: bool = False
    transposes: bool = False
    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 256
    dictionary_epochs: int = 3
    seed: int = 0
    device: str = "cpu"

    def validated(self) -> LISTAConfig:
        """Itself, after checking every field (ValueError naming the field, expected vs given)."""
        integers = ("n_samples", "n_components", "layers", "epochs", "batch_size", "dictionary_epochs", "stage_epochs")
        for name in integers:
            check_int(getattr(self, name), name)
        check_positive(self.alpha, "alpha", strict=False)
        check_positive(self.lr, "lr")
        for name, value, choices in (
            ("objective", self.objective, OBJECTIVES),
            ("variant", self.variant, VARIANTS),
            ("schedule", self.schedule, SCHEDULES),
            ("supervision", self.supervision, SUPERVISIONS),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {name}={value!r}")
        check_positive(self.support_step, "support_step", strict=False)
        check_positive(self.support_max, "support_max", strict=False)
        if self.support_max > 100.0:
            raise ValueError(f"support_max must be a percentage <= 100, got support_max={self.support_max}")
        resolve_device(self.device)
        return self


def _with_transposes(patches: Tensor, size: int) -> Tensor:
    """The patches followed by their transposes (mirror images in the main diagonal), ``(2N, size²)``."""
    square = patches.reshape(-1, size, size)  # (N, size, size)
    return torch.cat([patches, square.transpose(1, 2).reshape(len(patches), -1)])


def _with_mirror_images(patches: Tensor, size: int) -> Tensor:
    """The patches followed by their left-right, up-down and doubly mirrored copies, ``(4N, size²)``."""
    square = patches.reshape(-1, size, size)  # (N, size, size)
    mirrored = [square.flip(2), square.flip(1), square.flip(1).flip(2)]
    return torch.cat([patches, *(m.reshape(len(patches), -1) for m in mirrored)])


class LISTARecipe(Recipe):
    """LISTA's training task: one unit is one epoch of Adam over the training patches.

    Example:
        >>> from ebmlab.training import train
        >>> recipe = LISTARecipe(LISTAConfig(n_samples=600, n_components=16, layers=3, epochs=2))
        >>> _ = train(recipe, progress=False)
        >>> errors = recipe.evaluate()
        >>> errors["lista_code_error"] < errors["ista_code_error"]
        True
    """

    name = "lista"
    unit = "epoch"
    setting = "--lr"
    config_class = LISTAConfig
    budget = ("epochs",)
    runtime = ("device",)

    def __init__(self, config: LISTAConfig) -> None:
        self.config = config = config.validated()
        self.device = resolve_device(config.device)
        data = torch.from_numpy(image_patches(config.n_samples, 8, seed=config.seed)).to(self.device)  # (N, 64)
        held = max(1, len(data) // 6)
        if len(data) - held < 1:
            raise ValueError(f"n_samples must leave training patches after the held-out sixth, got {len(data)} patches")
        self.train_data, self.test_data = data[:-held], data[-held:]  # (N - N/6, 64), (N/6, 64)
        self.n_drawn = len(self.train_data)  # the drawn training patches, before any mirror images
        if config.flips:
            self.train_data = _with_mirror_images(self.train_data, 8)  # (4 (N - N/6), 64)
        if config.transposes:
            self.train_data = _with_transposes(self.train_data, 8)  # (2 × the rows above, 64)
        self.net: LISTA | None = None  # built by _set_up (a new run) or load_state_dict (a saved one)

    @property
    def stage_units(self) -> int:
        """Epochs of the layer-wise stages before the joint phase (0 for the joint schedule)."""
        config = self.config
        return config.layers * config.stage_epochs if config.schedule == "layerwise" else 0

    @property
    def total(self) -> int:
        return self.stage_units + self.config.epochs

    def stage(self, index: int) -> tuple[int | None, int, int]:
        """Where unit ``index`` (0-based) lies: (t, epoch within the phase, epochs of the phase), where
        t is the layer-wise stage (layers 1..t trained on layer t's output) or None in the joint phase.

        Example:
            >>> config = LISTAConfig(n_samples=60, layers=3, schedule="layerwise", stage_epochs=2, epochs=4)
            >>> recipe = LISTARecipe(config)
            >>> recipe.total, [recipe.stage(i) for i in (0, 1, 2, 5, 6, 9)]
            (10, [(1, 0, 2), (1, 1, 2), (2, 0, 2), (3, 1, 2), (None, 0, 4), (None, 3, 4)])
        """
        config = self.config
        if index < self.stage_units:
            return index // config.stage_epochs + 1, index % config.stage_epochs, config.stage_epochs
        return None, index - self.stage_units, config.epochs

    # ------------------------------------------------------------------ set-up

    def _set_up(self) -> None:
        """A new run's dictionary and FISTA targets, then a LISTA initialised at ISTA on them."""
        config = self.config
        coder = SparseCoding(
            config.n_components,
            alpha=config.alpha,
            max_iter=config.dictionary_epochs,
            random_state=config.seed,
            device=self.device,
        )
        dictionary = coder.fit(self.train_data[: self.n_drawn]).dictionary_  # (64, K), from the drawn patches
        exact = sparse_encode(self.test_data, dictionary, config.alpha, max_iter=5000, tol=1e-8).codes  # (M, K)
        target = None
        if config.objective == "codes":
            target = sparse_encode(self.train_data, dictionary, config.alpha, max_iter=5000, tol=1e-8).codes  # (N, K)
        self._build(dictionary, target, exact)

    def _build(self, dictionary: Tensor, target: Tensor | None, exact: Tensor) -> None:
        config = self.config
        self.dictionary = dictionary.to(self.device)  # (64, K)
        self.target = None if target is None else target.to(self.device)  # (N, K)
        self.exact = exact.to(self.device)  # (M, K)
        self.scale = 1.0 if self.target is None else float(self.target.pow(2).sum(dim=1).mean().clamp_min(1e-12))
        self.net = LISTA(
            self.dictionary,
            config.alpha,
            config.layers,
            tied=config.tied,
            variant=config.variant,
            support_step=config.support_step,
            support_max=config.support_max,
        ).to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.losses: list[float] = []
        self.held_out: list[float] = []

    def _ready(self) -> LISTA:
        if self.net is None:
            self._set_up()
        return self.net

    # ------------------------------------------------------------------ training

    def _loss(self, rows: Tensor | slice, stage: int | None = None) -> Tensor:
        """The joint loss (``stage=None``), or layer-wise stage t's: layer t's output alone."""
        batch = self.train_data[rows]  # (b, 64)
        if self.target is None:
            return lista_energy_loss(self.net, batch, stage)
        deep = stage is None and self.config.supervision == "all"
        target = self.target[rows]  # (b, K)
        return lista_code_loss(self.net, batch, target, scale=self.scale, deep_supervision=deep, layers=stage)

    def step(self, index: int) -> dict[str, Any]:
        net, config = self._ready(), self.config
        size = len(self.train_data)
        per_epoch = math.ceil(size / config.batch_size)
        stage, position, epochs = self.stage(index)
        step, steps = position * per_epoch, epochs * per_epoch
        lr = config.lr * (FINE_TUNING_LR if stage is None and self.stage_units else 1.0)
        order = torch.randperm(size, generator=self.generator).to(self.device)
        total = torch.zeros((), device=self.device)
        for begin in range(0, size, config.batch_size):
            rows = order[begin : begin + config.batch_size]
            loss = self._loss(rows, stage)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for group in self.optimizer.param_groups:  # closed-form cosine decay: resumes continue it
                group["lr"] = cosine_decay(lr, step, steps)
            self.optimizer.step()
            step += 1
            total += loss.detach() * len(rows)
        epoch_loss = float(total) / size  # one sync per epoch
        self.losses.append(epoch_loss)
        metrics: dict[str, Any] = {"loss": epoch_loss}
        if math.isfinite(epoch_loss):
            with torch.no_grad():
                metrics["held_out_code_error"] = code_error(net(self.test_data), self.exact)
            self.held_out.append(metrics["held_out_code_error"])
        return metrics

    def initial_loss(self) -> float:
        """The first unit's loss (the joint loss, or stage 1's) of the untrained LISTA over the training patches."""
        self._ready()
        size, chunk, stage = len(self.train_data), 2048, self.stage(0)[0]
        with torch.no_grad():
            total = sum(
                float(self._loss(slice(begin, begin + chunk), stage)) * len(self.train_data[begin : begin + chunk])
                for begin in range(0, size, chunk)
            )
        return total / size

    def state_dict(self) -> dict[str, Any]:
        net = self._ready()
        return {
            "dictionary": self.dictionary,
            "target": self.target,
            "exact": self.exact,
            "net": net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": generator_state(self.generator),
            "losses": list(self.losses),
            "held_out": list(self.held_out),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._build(state["dictionary"], state["target"], state["exact"])
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        set_generator_state(self.generator, state["generator"])
        self.losses = [float(value) for value in state["losses"]]
        self.held_out = [float(value) for value in state["held_out"]]

    # ------------------------------------------------------------------ the finished run

    def model(self) -> LISTA:
        return self._ready()

    def _fista_error(self, iterations: int, method: str = "fista") -> float:
        found = sparse_encode(
            self.test_data, self.dictionary, self.config.alpha, method=method, max_iter=iterations, tol=1e-14
        )
        return code_error(found.codes, self.exact)

    def evaluate(self, **options: Any) -> dict[str, float]:
        """Held-out code error ‖z − ž‖²/‖ž‖² of LISTA with T layers, and of ISTA and FISTA with T iterations."""
        self._no_options(options)
        net, layers = self._ready(), self.config.layers
        with torch.no_grad():
            lista = code_error(net(self.test_data), self.exact)
        return {
            "lista_code_error": lista,
            "fista_code_error": self._fista_error(layers),
            "ista_code_error": self._fista_error(layers, "ista"),
        }

    def summary(self, metrics: dict[str, float]) -> str:
        layers = self.config.layers
        return (
            f"held-out code error: LISTA-{layers} {metrics['lista_code_error']:.3g}, "
            f"FISTA with {layers} iterations {metrics['fista_code_error']:.3g}, "
            f"ISTA with {layers} {metrics['ista_code_error']:.3g}"
        )

    def plot(self, out: Path) -> list[Path]:
        from ..plotting import sparse as plots
        from ..plotting import training_curve

        net, out = self._ready(), Path(out)
        curves = {
            method.upper(): (list(CURVE_ITERATIONS), [self._fista_error(k, method) for k in CURVE_ITERATIONS])
            for method in ("ista", "fista")
        }
        with torch.no_grad():
            path = net.trajectory(self.test_data)  # (T, M, K)
        config = self.config
        name = "LISTA" if config.variant == "lista" else f"LISTA-{config.variant.upper()}"
        loss = "every layer's loss" if config.supervision == "all" else "last layer's loss"
        curves[f"{name} ({'tied' if config.tied else 'untied'}, {config.schedule}, {loss})"] = (
            list(range(1, self.config.layers + 1)),
            [code_error(z, self.exact) for z in path],
        )
        return [
            plots.plot_code_error_curves(curves, out / "code_error.png"),
            training_curve(
                self.losses,
                out / "training_curve.png",
                ylabel="mean ‖z_t − ž‖² / mean ‖ž‖²" if self.config.objective == "codes" else "mean E(y, Enc(y))",
                title="LISTA training loss per epoch (lower is better)",
                log=True,
            ),
            plots.plot_atoms(self.dictionary.T.cpu().numpy(), (8, 8), out / "atoms.png"),
        ]
