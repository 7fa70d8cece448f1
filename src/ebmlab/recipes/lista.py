"""``ebmlab train lista``: a T-layer LISTA encoder trained to predict FISTA's codes (or to minimise the energy).

Set-up, once per run: 8 × 8 china.jpg patches (a sixth held out), a dictionary W learned from the
training patches by :class:`~ebmlab.models.sparse_coding.SparseCoding` (``dictionary_epochs``
passes) and FISTA's converged codes ž (tol 1e-8) of the training and held-out patches. W and ž are
kept in the checkpoint, so a resumed run continues from exactly the targets it started with
instead of recomputing them (the slowest part of the set-up).

Training: Adam with a cosine-decayed learning rate on :func:`~ebmlab.models.lista.lista_code_loss`
(deep supervision, normalised by mean ‖ž‖²) or :func:`~ebmlab.models.lista.lista_energy_loss`.
One unit of the budget is one epoch over the training patches in shuffled mini-batches; the
optimiser's state and the shuffling generator's state are in the checkpoint.
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
from ..models.lista import LISTA, OBJECTIVES, code_error, lista_code_loss, lista_energy_loss
from ..models.sparse_coding import SparseCoding
from ..training import generator_state, set_generator_state
from ..training.schedules import cosine_decay
from ._base import Recipe

__all__ = ["LISTAConfig", "LISTARecipe"]

#: the iteration counts of ISTA and FISTA on the code-error figure
CURVE_ITERATIONS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


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
    objective: str = "codes"
    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 256
    dictionary_epochs: int = 3
    seed: int = 0
    device: str = "cpu"

    def validated(self) -> LISTAConfig:
        """Itself, after checking every field (ValueError naming the field, expected vs given)."""
        for name in ("n_samples", "n_components", "layers", "epochs", "batch_size", "dictionary_epochs"):
            check_int(getattr(self, name), name)
        check_positive(self.alpha, "alpha", strict=False)
        check_positive(self.lr, "lr")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got objective={self.objective!r}")
        resolve_device(self.device)
        return self


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
        self.net: LISTA | None = None  # built by _set_up (a new run) or load_state_dict (a saved one)

    @property
    def total(self) -> int:
        return self.config.epochs

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
        dictionary = coder.fit(self.train_data).dictionary_  # (64, K)
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
        self.net = LISTA(self.dictionary, config.alpha, config.layers, tied=config.tied).to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.losses: list[float] = []
        self.held_out: list[float] = []

    def _ready(self) -> LISTA:
        if self.net is None:
            self._set_up()
        return self.net

    # ------------------------------------------------------------------ training

    def _loss(self, rows: Tensor | slice) -> Tensor:
        batch = self.train_data[rows]  # (b, 64)
        if self.target is None:
            return lista_energy_loss(self.net, batch)
        return lista_code_loss(self.net, batch, self.target[rows], scale=self.scale)

    def step(self, index: int) -> dict[str, Any]:
        net, config = self._ready(), self.config
        size = len(self.train_data)
        per_epoch = math.ceil(size / config.batch_size)
        step, steps = index * per_epoch, config.epochs * per_epoch
        order = torch.randperm(size, generator=self.generator).to(self.device)
        total = torch.zeros((), device=self.device)
        for begin in range(0, size, config.batch_size):
            rows = order[begin : begin + config.batch_size]
            loss = self._loss(rows)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for group in self.optimizer.param_groups:  # closed-form cosine decay: resumes continue it
                group["lr"] = cosine_decay(config.lr, step, steps)
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
        """The loss of the untrained LISTA (T ISTA steps) over the training patches."""
        self._ready()
        size, chunk = len(self.train_data), 2048
        with torch.no_grad():
            total = sum(
                float(self._loss(slice(begin, begin + chunk))) * len(self.train_data[begin : begin + chunk])
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
        curves[f"LISTA ({'tied' if self.config.tied else 'untied'})"] = (
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
