"""``ebmlab train ellipse``: the lecture's ellipse manifold trained by the energy loss.

Unconditional E(y, z) = [y₁ − w₁ cos z]² + [y₂ − w₂ sin z]², or conditional with radii f(x) from an
MLP 1 → 8 → 8 → 2; the loss functional is :math:`\\mathcal{L} = \\mathrm{mean}_y F_\\beta(y[, x])`.
Each restart runs Adam with a cosine learning-rate decay for ``epochs`` epochs, then
``lbfgs_iterations`` of full-batch L-BFGS; the restart with the lowest final loss is kept.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._validation import check_int, check_positive, resolve_device
from ..data import make_ellipse
from ..energy import Energy
from ..losses import energy_loss
from ..models.ellipse import ConditionalEllipseEnergy, EllipseEnergy
from ..training import generator_state, set_generator_state
from ..training.schedules import cosine_decay
from ._base import Recipe

__all__ = ["EllipseConfig", "EllipseFit", "EllipseRecipe"]


@dataclass
class EllipseConfig:
    """Settings of the ellipse recipe. ``beta = math.inf`` trains on F_∞ (zero temperature).

    Fields left at ``None`` take the model's default, shown as (unconditional / conditional).

    Example:
        >>> EllipseConfig(conditional=True).resolved().epochs
        150
    """

    conditional: bool = False
    beta: float = math.inf
    epochs: int | None = None  # 100 / 150
    lr: float | None = None  # 0.05 / 0.02
    batch_size: int | None = None  # 256 / 512
    n_samples: int | None = None  # 1000 / 5100 (100 per x on the grid)
    lbfgs_iterations: int | None = None  # 0 / 300
    n_init: int | None = None  # 1 / 3
    seed: int = 0
    device: str = "cpu"

    def resolved(self) -> EllipseConfig:
        """A copy with the model-dependent defaults filled in, validated."""
        defaults = {
            "epochs": (100, 150),
            "lr": (0.05, 0.02),
            "batch_size": (256, 512),
            "n_samples": (1000, 5100),
            "lbfgs_iterations": (0, 300),
            "n_init": (1, 3),
        }
        values = asdict(self)
        for name, pair in defaults.items():
            if values[name] is None:
                values[name] = pair[int(self.conditional)]
        config = EllipseConfig(**values)
        check_positive(config.beta, "beta")
        check_positive(config.lr, "lr")
        for name in ("epochs", "batch_size", "n_samples", "n_init"):
            check_int(getattr(config, name), name)
        check_int(config.lbfgs_iterations, "lbfgs_iterations", minimum=0)
        resolve_device(config.device)
        return config


@dataclass(frozen=True)
class EllipseFit:
    """A trained ellipse: the energy, the data it saw, the per-epoch losses of the kept restart.

    Example:
        >>> from ebmlab.training import train
        >>> recipe = EllipseRecipe(EllipseConfig(epochs=2))
        >>> _ = train(recipe, progress=False)
        >>> fit = recipe.fit()
        >>> fit.y.shape[1], len(fit.losses), fit.final_loss > 0
        (2, 2, True)
    """

    model: Energy
    y: Tensor
    x: Tensor
    losses: list[float]
    final_loss: float


def _new_model(config: EllipseConfig, restart: int) -> Energy:
    if config.conditional:
        return ConditionalEllipseEnergy(seed=config.seed + 1000 * restart)
    return EllipseEnergy()


def _full_loss(model: Energy, y: Tensor, x: Tensor | None, beta: float) -> Tensor:
    """The energy loss functional L = mean_y F_β(y[, x])."""
    return energy_loss(model.free_energy(y, beta, x))


class EllipseRecipe(Recipe):
    """The ellipse's training task: one unit is one epoch of one restart (``n_init × epochs`` in all).

    Example:
        >>> from ebmlab.training import train
        >>> recipe = EllipseRecipe(EllipseConfig(epochs=60))
        >>> _ = train(recipe, progress=False)
        >>> [round(v, 1) for v in recipe.model().w.tolist()]
        [2.0, 1.5]
    """

    name = "ellipse"
    unit = "epoch"
    setting = "--lr"
    config_class = EllipseConfig
    budget = ("epochs",)
    runtime = ("device",)
    checkpoint_every = 10

    def __init__(self, config: EllipseConfig) -> None:
        self.config = config = config.resolved()
        self.device = resolve_device(config.device)
        self.data = make_ellipse(config.n_samples, conditional=config.conditional, seed=config.seed)
        self.y = self.data.y.to(self.device)  # (N, 2)
        self.x = self.data.x.to(self.device) if config.conditional else None  # (N, 1)
        self.steps_per_epoch = math.ceil(len(self.y) / config.batch_size)
        self.best_state: dict[str, Tensor] | None = None
        self.best_loss, self.best_losses = math.inf, []
        self._start_restart(0)

    @property
    def total(self) -> int:
        return self.config.n_init * self.config.epochs

    def _start_restart(self, restart: int) -> None:
        self.restart = restart
        self.current = _new_model(self.config, restart).to(self.device)
        self.optimizer = torch.optim.Adam(self.current.parameters(), lr=self.config.lr)
        self.generator = torch.Generator().manual_seed(self.config.seed + 1 + 1000 * restart)
        self.losses: list[float] = []

    def step(self, index: int) -> dict[str, Any]:
        config = self.config
        restart, epoch = divmod(index, config.epochs)
        if restart != self.restart:
            self._start_restart(restart)
        order = torch.randperm(len(self.y), generator=self.generator).to(self.device)
        total_loss = torch.zeros((), device=self.device)
        step, steps = epoch * self.steps_per_epoch, config.epochs * self.steps_per_epoch
        for begin in range(0, len(self.y), config.batch_size):
            batch = order[begin : begin + config.batch_size]
            loss = _full_loss(self.current, self.y[batch], None if self.x is None else self.x[batch], config.beta)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for group in self.optimizer.param_groups:  # closed-form cosine decay: resumes continue it
                group["lr"] = cosine_decay(config.lr, step, steps)
            self.optimizer.step()
            step += 1
            total_loss += loss.detach() * len(batch)
        epoch_loss = float(total_loss) / len(self.y)
        self.losses.append(epoch_loss)
        metrics: dict[str, Any] = {"loss": epoch_loss, "restart": restart + 1}
        if isinstance(self.current, EllipseEnergy):
            metrics["w1"], metrics["w2"] = self.current.w.tolist()
        if epoch + 1 == config.epochs:
            if config.lbfgs_iterations and math.isfinite(epoch_loss):
                self._refine()
            final = float(_full_loss(self.current, self.y, self.x, config.beta).detach())
            if final < self.best_loss or self.best_state is None:
                self.best_loss, self.best_losses = final, list(self.losses)
                self.best_state = {k: v.detach().clone() for k, v in self.current.state_dict().items()}
            metrics["final_loss"] = final
        return metrics

    def initial_loss(self) -> float:
        with torch.no_grad():
            return float(_full_loss(self.current, self.y, self.x, self.config.beta))

    def _refine(self) -> None:
        """Full-batch L-BFGS on the same energy loss, from where Adam stopped."""
        optimizer = torch.optim.LBFGS(
            self.current.parameters(),
            lr=1.0,
            max_iter=self.config.lbfgs_iterations,
            history_size=50,
            line_search_fn="strong_wolfe",
            tolerance_grad=1e-10,
            tolerance_change=1e-12,
        )

        def closure() -> Tensor:
            optimizer.zero_grad(set_to_none=True)
            loss = _full_loss(self.current, self.y, self.x, self.config.beta)
            loss.backward()
            return loss

        optimizer.step(closure)

    def state_dict(self) -> dict[str, Any]:
        return {
            "restart": self.restart,
            "model": self.current.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": generator_state(self.generator),
            "losses": list(self.losses),
            "best": self.best_state,
            "best_loss": self.best_loss,
            "best_losses": list(self.best_losses),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._start_restart(int(state["restart"]))
        self.current.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        set_generator_state(self.generator, state["generator"])
        self.losses = list(state["losses"])
        self.best_state = None if state["best"] is None else {k: v.to(self.device) for k, v in state["best"].items()}
        self.best_loss, self.best_losses = float(state["best_loss"]), list(state["best_losses"])

    # ------------------------------------------------------------------ the finished run

    def model(self) -> Energy:
        """The kept restart's energy (the current one before any restart has finished)."""
        if self.best_state is None:
            return self.current
        model = _new_model(self.config, 0).to(self.device)
        model.load_state_dict(self.best_state)
        return model

    def fit(self) -> EllipseFit:
        losses = self.best_losses if self.best_state is not None else self.losses
        return EllipseFit(self.model().cpu(), self.data.y, self.data.x, losses, self.evaluate()["loss"])

    def evaluate(self, **options: Any) -> dict[str, float]:
        """The energy loss mean F_β(y) of the kept model on the training data (and w for the unconditional)."""
        self._no_options(options)
        model = self.model()
        metrics = {"loss": float(_full_loss(model, self.y, self.x, self.config.beta).detach())}
        if isinstance(model, EllipseEnergy):
            metrics["w1"], metrics["w2"] = model.w.tolist()
        return metrics

    def summary(self, metrics: dict[str, float]) -> str:
        text = f"energy loss mean F(y) = {metrics['loss']:.5f}"
        if "w1" in metrics:
            text += f", w = ({metrics['w1']:.4f}, {metrics['w2']:.4f}) (the data's radii: 2, 1.5)"
        return text

    def plot(self, out: Path) -> list[Path]:
        from ..plotting import ellipse as plots

        return plots.plot_all(self.fit(), out)
