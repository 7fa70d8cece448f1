"""``ebmlab train sparse-coding``: dictionary learning for E(y, z) = ‖y − Wz‖² + α‖z‖₁, ‖w_j‖ = 1.

The loss functional is :math:`\\mathcal{L} = \\mathrm{mean}_y F_\\infty(y) = \\mathrm{mean}_y E(y, \\check z)`
(with the top-2 rule, E(y, ž₂)), minimised by :class:`~ebmlab.models.sparse_coding.SparseCoding`:
FISTA inference and one block-coordinate sweep over the atoms per mini-batch. One unit of the
budget is one epoch, :meth:`SparseCoding.fit_epoch` — a pass over the training rows in shuffled
mini-batches — and a tenth of the data is held out to measure mean F_∞ after every epoch.

``lecture_example=True`` trains the slides' anti-collapse example instead, through the same loop:
two coders (:func:`~ebmlab.models.sparse_coding.lecture_setup`) on the 50 ellipse points, one on
y and one on ẏ = [1; y], each taking one full-batch step of :meth:`SparseCoding.fit_epoch` per unit.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._validation import check_int, check_positive, resolve_device
from ..models.sparse_coding import REFITS, SparseCoding, lecture_setup
from ._base import Recipe

__all__ = ["SparseCodingConfig", "SparseCodingRecipe"]

#: settings the lecture's example fixes (50 ellipse points, 12 atoms, α = 0.02, top-2 rule, full batch)
_LECTURE_FIXED = ("data", "n_samples", "n_components", "alpha", "batch_size", "refit")


@dataclass
class SparseCodingConfig:
    """Settings of the sparse-coding recipe.

    ``epochs=None`` means 5, or 30 with ``lecture_example`` (whose data, size, α, batch and
    top-2 rule are the slides': the fields in ``_LECTURE_FIXED`` must stay at their defaults).
    ``step_size`` is a fixed FISTA step on the codes while training; None means 1/L with
    L = 2λ_max(WᵀW) by power iteration on every batch. ``seed`` is the estimator's ``random_state``.

    Example:
        >>> SparseCodingConfig(lecture_example=True).resolved().epochs
        30
    """

    data: str = "china-patches"
    n_samples: int = 20000
    n_components: int = 128
    alpha: float = 0.2
    batch_size: int = 256
    epochs: int | None = None  # 5 / 30 with lecture_example
    refit: str | None = None
    step_size: float | None = None
    lecture_example: bool = False
    seed: int = 0
    device: str = "cpu"
    data_root: str | None = None
    download: bool = False

    def resolved(self) -> SparseCodingConfig:
        """A copy with ``epochs`` filled in, validated (ValueError naming the field)."""
        epochs = (30 if self.lecture_example else 5) if self.epochs is None else self.epochs
        config = dataclasses.replace(self, epochs=epochs)
        for name in ("n_samples", "n_components", "batch_size", "epochs"):
            check_int(getattr(config, name), name)
        check_positive(config.alpha, "alpha", strict=False)
        if config.step_size is not None:
            check_positive(config.step_size, "step_size")
        if config.refit not in REFITS:
            raise ValueError(f"refit must be one of {REFITS}, got refit={config.refit!r}")
        if config.refit == "top2" and config.n_components < 2:
            raise ValueError(f"refit='top2' needs n_components >= 2, got n_components={config.n_components}")
        if config.lecture_example:
            defaults = SparseCodingConfig()
            changed = [name for name in _LECTURE_FIXED if getattr(config, name) != getattr(defaults, name)]
            if changed:
                given = ", ".join(f"{name}={getattr(config, name)!r}" for name in changed)
                raise ValueError(
                    f"lecture_example trains the slides' 50-point ellipse example (12 atoms, alpha 0.02, top-2 rule, "
                    f"full batch); expected {', '.join(changed)} at the default, got {given}"
                )
        resolve_device(config.device)
        return config


def _load(config: SparseCodingConfig) -> tuple[np.ndarray, tuple[int, int] | None]:
    """The data matrix ``(N, D)`` and its image shape (None for non-images)."""
    from ..data import image_patches, load_data

    if config.data == "china-patches":
        return image_patches(config.n_samples, 8, seed=config.seed), (8, 8)
    dataset = load_data(
        config.data, n_samples=config.n_samples, seed=config.seed, root=config.data_root, download=config.download
    )
    return np.ascontiguousarray(dataset.data), dataset.image_shape


class SparseCodingRecipe(Recipe):
    """Sparse coding's training task: one unit is one epoch of :meth:`SparseCoding.fit_epoch`.

    Example:
        >>> from ebmlab.training import train
        >>> recipe = SparseCodingRecipe(SparseCodingConfig(data="digits", n_samples=300, n_components=16, epochs=2))
        >>> _ = train(recipe, progress=False)
        >>> tuple(recipe.model().components_.shape), len(recipe.held_out)
        ((16, 64), 2)
    """

    name = "sparse-coding"
    unit = "epoch"
    setting = "--step-size"  # block coordinate descent on unit atoms cannot blow up; a FISTA step beyond 1/L can
    config_class = SparseCodingConfig
    budget = ("epochs",)
    runtime = ("device", "data_root", "download")

    def __init__(self, config: SparseCodingConfig) -> None:
        self.config = config = config.resolved()
        self.device = resolve_device(config.device)
        self.held_out: list[float] = []
        if config.lecture_example:
            self.examples = [
                lecture_setup(augmented, fit_encode_step=config.step_size, seed=config.seed, device=self.device)
                for augmented in (False, True)
            ]
            self.coders = [example.model for example in self.examples]
            self.inputs = [example.inputs.to(self.device) for example in self.examples]  # (50, 2), (50, 3)
            self.image_shape = None
        else:
            data, self.image_shape = _load(config)
            held = max(1, len(data) // 10)
            if len(data) - held < 1:
                raise ValueError(f"n_samples must leave training rows after the held-out tenth, got {len(data)} rows")
            coder = SparseCoding(
                config.n_components,
                alpha=config.alpha,
                max_iter=config.epochs,
                batch_size=config.batch_size,
                refit=config.refit,
                fit_encode_step=config.step_size,
                random_state=config.seed,
                device=self.device,
                dtype=torch.float32,
            )
            self.test = data[-held:]  # (N/10, D), numpy
            self.coders = [coder]
            self.inputs = [torch.as_tensor(data[:-held]).to(self.device)]  # (N - N/10, D)
        for coder, inputs in zip(self.coders, self.inputs, strict=True):
            coder.initialize(inputs)

    @property
    def total(self) -> int:
        return self.config.epochs

    def step(self, index: int) -> dict[str, Any]:
        values = [coder.fit_epoch(inputs) for coder, inputs in zip(self.coders, self.inputs, strict=True)]
        if self.config.lecture_example:
            return {"loss": sum(values) / 2, "energy": values[0], "energy_augmented": values[1]}
        metrics: dict[str, Any] = {"loss": values[0]}
        if math.isfinite(values[0]):  # a diverged dictionary is not scored: the loop stops on the loss
            metrics["held_out_energy"] = -self.coders[0].score(self.test)
            self.held_out.append(metrics["held_out_energy"])
        return metrics

    def initial_loss(self) -> float:
        """Mean E(y, 0) = mean ‖y‖² of the training rows: the energy of the all-zero code, where
        inference starts (the reference of the divergence check)."""
        norms = [float(inputs.double().pow(2).sum(dim=1).mean()) for inputs in self.inputs]
        return sum(norms) / len(norms)

    def state_dict(self) -> dict[str, Any]:
        return {"coders": [coder.state_dict() for coder in self.coders], "held_out": list(self.held_out)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for coder, coder_state in zip(self.coders, state["coders"], strict=True):
            coder.load_state_dict(coder_state)
        self.held_out = [float(value) for value in state["held_out"]]

    # ------------------------------------------------------------------ the finished run

    def model(self) -> SparseCoding:
        """The trained coder (with ``lecture_example``, the one on ẏ = [1; y]; :attr:`examples` holds both)."""
        return self.coders[-1]

    def evaluate(self, **options: Any) -> dict[str, float]:
        """Held-out mean F_∞ and mean non-zero codes; for the lecture's example, each coder's final
        training energy and its largest reconstruction cost off the data (at 1.5 y)."""
        self._no_options(options)
        if self.config.lecture_example:
            metrics = {}
            for example, suffix in zip(self.examples, ("", "_augmented"), strict=True):
                cost = float(example.reconstruction_cost(example.data * 1.5).max())
                metrics[f"energy{suffix}"] = -example.model.score(example.inputs)
                metrics[f"reconstruction_cost_off_data{suffix}"] = cost
            return metrics
        coder = self.coders[0]
        encoded = coder.encode(self.test)
        nonzero = (encoded.codes != 0).sum(dim=1).double().mean()
        return {"held_out_energy": float(encoded.energy.double().mean()), "nonzero_codes": float(nonzero)}

    def summary(self, metrics: dict[str, float]) -> str:
        if self.config.lecture_example:
            return (
                f"without [1; y]: mean energy {metrics['energy']:.4f}, max reconstruction cost off the data "
                f"(y scaled by 1.5) {metrics['reconstruction_cost_off_data']:.3g}; with [1; y]: "
                f"{metrics['energy_augmented']:.4f}, {metrics['reconstruction_cost_off_data_augmented']:.3g}"
            )
        return (
            f"held-out mean energy {metrics['held_out_energy']:.5f}; "
            f"mean non-zero codes {metrics['nonzero_codes']:.2f} of {self.config.n_components}"
        )

    def plot(self, out: Path) -> list[Path]:
        from ..plotting import sparse as plots
        from ..plotting import training_curve

        out = Path(out)
        if self.config.lecture_example:
            curves = {
                "y (collapses)": self.coders[0].objective_,
                "[1; y]": self.coders[1].objective_,
            }
            return [
                plots.plot_collapse(self.examples, out / "collapse.png"),
                training_curve(
                    curves,
                    out / "training_curve.png",
                    ylabel="mean energy F(y)",
                    title="the lecture's example: mean energy of the data per epoch (lower is better)",
                ),
            ]
        coder = self.coders[0]
        curves = {"training": coder.objective_, "held-out": self.held_out}
        figures = [
            training_curve(
                curves,
                out / "training_curve.png",
                ylabel="mean energy F(y)",
                title="sparse coding training: mean energy per epoch (lower is better)",
            )
        ]
        codes = coder.transform(self.test)  # (N/10, K)
        figures.append(plots.plot_code_sparsity(codes, out / "code_sparsity.png"))
        shape = self.image_shape or plots.tile_shape(self.test.shape[1])
        if shape is not None:
            figures.append(plots.plot_atoms(coder.components_, shape, out / "atoms.png"))
            reconstructions = coder.inverse_transform(codes)
            figures.append(plots.plot_reconstructions(self.test, reconstructions, shape, out / "reconstructions.png"))
        return figures
