"""``ebmlab train collapse``: collapse, shown — the energy loss alone flattens the energy; contrast or a
regulariser keep it shaped.

Three copies of the linear latent model :math:`E(y, z) = \\|y - Wz - b\\|^2 + \\lambda\\|z\\|^2`
(:mod:`ebmlab.models.collapse`), started from one initialisation, are trained side by side on the same
points near a line segment, one per shaping of :data:`~ebmlab.models.collapse.SHAPINGS`: the energy
loss alone, the simple contrastive loss with uniform negatives on ``[-3, 3]²``, and the energy loss
with unit-norm columns of W. One unit of the budget (``--epochs``) is one epoch of all three: a
full-batch Adam step of each on its loss over the whole data set (the contrastive shaping drawing
``n_negatives`` fresh negatives per point), so every logged row compares the three at the same
point of training. The loss the loop watches is the mean of the three; each one's loss and energy
spread off the manifold (:func:`~ebmlab.models.collapse.energy_spread`, 0 for a flat energy) are
logged beside it.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._validation import check_int, check_positive, resolve_device
from ..models.collapse import SHAPINGS, LinearLatentEnergy, _spread, line_data, shaping_loss, uniform_negatives
from ..training import Diverged, generator_state, set_generator_state
from ._base import Recipe

__all__ = ["CollapseConfig", "CollapseRecipe"]


@dataclass
class CollapseConfig:
    """Settings of the collapse recipe: ``epochs`` full-batch Adam steps (learning rate ``lr``) of each
    shaping on ``n_samples`` points; the contrastive shaping pushes the most offending of
    ``n_negatives`` uniform negatives per point up to ``margin``; ``ridge`` is λ of the latent penalty.

    Example:
        >>> CollapseConfig(n_negatives=0).validated()
        Traceback (most recent call last):
        ...
        ValueError: n_negatives must be >= 1, got n_negatives=0
    """

    epochs: int = 300
    lr: float = 0.1
    margin: float = 1.0
    n_negatives: int = 16
    n_samples: int = 500
    ridge: float = 0.5
    seed: int = 0
    device: str = "cpu"

    def validated(self) -> CollapseConfig:
        """The settings, checked (ValueError/TypeError naming the field, expected vs given)."""
        for name in ("epochs", "n_negatives", "n_samples"):
            check_int(getattr(self, name), name)
        for name in ("lr", "margin", "ridge"):
            if not math.isfinite(check_positive(getattr(self, name), name)):
                raise ValueError(f"{name} must be finite, got {name}={getattr(self, name)}")
        resolve_device(self.device)
        return self


class CollapseRecipe(Recipe):
    """The collapse demonstration's training task: one unit is one epoch of every shaping (module doc).

    Example:
        >>> from ebmlab.training import train
        >>> recipe = CollapseRecipe(CollapseConfig(epochs=60, n_samples=100))
        >>> _ = train(recipe, progress=False)
        >>> spreads = recipe.evaluate()
        >>> [round(spreads[f"spread_{shaping}"], 1) for shaping in ("energy", "contrastive", "regularised")]
        [0.1, 1.0, 1.0]
    """

    name = "collapse"
    unit = "epoch"
    setting = "--lr"
    config_class = CollapseConfig
    budget = ("epochs",)
    runtime = ("device",)
    checkpoint_every = 100
    log_every = 10

    def __init__(self, config: CollapseConfig) -> None:
        self.config = config = config.validated()
        self.device = resolve_device(config.device)
        self.data = line_data(config.n_samples, seed=config.seed).to(self.device)  # (N, 2)
        self.energies = {
            shaping: LinearLatentEnergy(2, 2, ridge=config.ridge, seed=config.seed).to(self.device)
            for shaping in SHAPINGS
        }
        self.energies["regularised"].normalise_columns()
        self.optimizers = {
            shaping: torch.optim.Adam(energy.parameters(), lr=config.lr, betas=(0.9, 0.9))
            for shaping, energy in self.energies.items()
        }
        self.generator = torch.Generator().manual_seed(config.seed + 1)  # the contrastive negatives
        self._losses = torch.zeros(0, len(SHAPINGS), device=self.device)  # (T, 3) per-epoch losses
        self._pending: list[Tensor] = []

    @property
    def total(self) -> int:
        return self.config.epochs

    def _negatives(self, generator: torch.Generator) -> Tensor:
        count = self.config.n_samples * self.config.n_negatives
        return uniform_negatives(count, generator).to(self.device)  # (N*M, 2)

    def step(self, index: int) -> dict[str, Any]:
        try:
            return self._epoch()
        except torch.linalg.LinAlgError:  # W W^T + λI is positive definite: singular only once W has blown up
            raise self._singular(index + 1) from None

    def _epoch(self) -> dict[str, Any]:
        losses = []
        for shaping in SHAPINGS:
            energy, optimizer = self.energies[shaping], self.optimizers[shaping]
            negatives = self._negatives(self.generator) if shaping == "contrastive" else None
            loss = shaping_loss(energy, self.data, shaping, negatives, margin=self.config.margin)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if shaping == "regularised":
                energy.normalise_columns()
            losses.append(loss.detach())
        stacked = torch.stack(losses)  # (3,)
        self._pending.append(stacked)
        metrics: dict[str, Any] = {"loss": stacked.mean()}
        metrics.update({f"loss_{shaping}": loss for shaping, loss in zip(SHAPINGS, losses, strict=True)})
        metrics.update({f"spread_{shaping}": _spread(energy) for shaping, energy in self.energies.items()})
        return metrics

    def _singular(self, done: int) -> Diverged:
        sizes = {shaping: float(energy.weight.detach().abs().max()) for shaping, energy in self.energies.items()}
        shaping = max(sizes, key=lambda name: sizes[name] if math.isfinite(sizes[name]) else math.inf)
        return Diverged(
            f"{self.name} training diverged at epoch {done}: the {shaping} shaping's W grew to max |w| = "
            f"{sizes[shaping]:.3g}, so that W W^T + {self.config.ridge:g} I is singular in {self.data.dtype}; "
            f"lower --lr (now {self.config.lr:g})",
            step=done,
            setting="--lr",
        )

    def initial_loss(self) -> float:
        """The mean of the three losses before training (negatives from a generator of their own)."""
        generator = torch.Generator().manual_seed(self.config.seed + 2)
        with torch.no_grad():
            losses = [
                shaping_loss(
                    energy,
                    self.data,
                    shaping,
                    self._negatives(generator) if shaping == "contrastive" else None,
                    margin=self.config.margin,
                )
                for shaping, energy in self.energies.items()
            ]
        return float(torch.stack(losses).mean())

    def losses(self) -> Tensor:
        """Each shaping's loss at every epoch so far, shape ``(T, 3)`` (columns in :data:`SHAPINGS` order)."""
        if self._pending:
            self._losses = torch.cat([self._losses, torch.stack(self._pending)])
            self._pending.clear()
        return self._losses

    def state_dict(self) -> dict[str, Any]:
        return {
            "models": {shaping: energy.state_dict() for shaping, energy in self.energies.items()},
            "optimizers": {shaping: optimizer.state_dict() for shaping, optimizer in self.optimizers.items()},
            "generator": generator_state(self.generator),
            "losses": self.losses(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for shaping in SHAPINGS:
            self.energies[shaping].load_state_dict(state["models"][shaping])
            self.optimizers[shaping].load_state_dict(state["optimizers"][shaping])
        set_generator_state(self.generator, state["generator"])
        self._losses, self._pending = state["losses"].to(self.device).clone(), []

    # ------------------------------------------------------------------ the finished run

    def model(self) -> dict[str, LinearLatentEnergy]:
        """The trained energy of each shaping."""
        return dict(self.energies)

    def evaluate(self, **options: Any) -> dict[str, float]:
        """Per shaping: the energy spread off the manifold (0 when flat) and the mean F(y) on the data."""
        self._no_options(options)
        metrics = {f"spread_{shaping}": float(_spread(energy)) for shaping, energy in self.energies.items()}
        with torch.no_grad():
            for shaping, energy in self.energies.items():
                metrics[f"data_energy_{shaping}"] = float(energy.free_energy(self.data).mean())
        return metrics

    def summary(self, metrics: dict[str, float]) -> str:
        spreads = ", ".join(f"{shaping} {metrics[f'spread_{shaping}']:.4f}" for shaping in SHAPINGS)
        return f"energy spread off the manifold (0: flat, collapsed) {spreads}"

    def plot(self, out: Path) -> list[Path]:
        from ..plotting.contrastive import plot_collapse

        energies = {shaping: copy.deepcopy(energy).cpu() for shaping, energy in self.energies.items()}
        free_energies = {shaping: energy.free_energy for shaping, energy in energies.items()}
        spreads = {shaping: float(_spread(energy)) for shaping, energy in energies.items()}
        return [plot_collapse(free_energies, self.data, spreads, Path(out) / "collapse.png")]
