"""What every model's training recipe adds to :class:`ebmlab.training.Task`."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, ClassVar

from torch import Tensor

from ..training import RunError, Task

__all__ = ["Recipe", "config_from_dict"]


class Recipe(Task):
    """A model's training: settings, step and state (:class:`~ebmlab.training.Task`), plus what a
    finished run offers — the trained model, its evaluation, its figures and, for generative
    models, samples.

    Class attributes a recipe sets besides the task's:
        config_class: the settings dataclass; ``Recipe(config)`` builds the task from it.
        budget: the config fields that count units (``("epochs",)``): the only settings a
            ``--resume`` may change, to extend a run.
        checkpoint_every, log_every: the loop's defaults for this model, in units.
        shards_data: True when the recipe trains on several processes (``torchrun``) by sharding
            its data across them, so that N processes take the step one process takes (see
            :mod:`ebmlab.training.distributed` for the rules); the command line refuses to run
            other recipes on more than one process. To opt in, a gradient-trained recipe calls its
            module through :func:`~ebmlab.training.distributed.data_parallel`, draws each batch
            (and its noise) in full on every rank, trains on its
            :func:`~ebmlab.training.distributed.shard` with the loss
            :func:`~ebmlab.training.distributed.shard_mean`, and reduces its logged metrics.

    Example:
        >>> from ebmlab.recipes.kmeans import KMeansConfig, KMeansRecipe
        >>> from ebmlab.training import train
        >>> recipe = KMeansRecipe(KMeansConfig(data="blobs", k=3, n_samples=200))
        >>> isinstance(recipe, Recipe), recipe.name, recipe.unit, recipe.budget
        (True, 'kmeans', 'iteration', ('max_iter', 'n_init'))
        >>> _ = train(recipe, progress=False)
        >>> sorted(recipe.evaluate()), tuple(recipe.model().centroids.shape)
        (['inertia', 'n_iter', 'restart'], (3, 2))
    """

    config_class: ClassVar[type]
    budget: ClassVar[tuple[str, ...]] = ("epochs",)
    runtime: ClassVar[tuple[str, ...]] = ("device", "data_root", "download")
    checkpoint_every: ClassVar[int] = 1
    log_every: ClassVar[int] = 1
    can_sample: ClassVar[bool] = False
    shards_data: ClassVar[bool] = False

    def model(self) -> Any:
        """The trained object (an estimator, a module or an energy)."""
        raise NotImplementedError

    def evaluate(self, **options: Any) -> dict[str, float]:
        """The model's metrics on its held-out (or training) data, for ``summary.json`` and ``ebmlab evaluate``.

        ``options`` are the evaluate command's model-specific flags (``iwae_k`` for VAEs); a recipe
        that takes none raises on any (see :meth:`_no_options`)."""
        self._no_options(options)
        return {}

    def _no_options(self, options: dict[str, Any]) -> None:
        if options:
            flags = ", ".join("--" + key.replace("_", "-") for key in options)
            raise RunError(f"{flags}: not an option of {self.name} runs")

    def summary(self, metrics: dict[str, float]) -> str:
        """One line saying how the run ended, from the final metrics."""
        shown = ", ".join(f"{key} {value:.5g}" for key, value in metrics.items() if key not in ("step", "epoch"))
        return shown

    def plot(self, out: Path) -> list[Path]:
        """Draw the model's figures into ``out``; returns their paths."""
        return []

    def sample(self, n: int, seed: int = 0) -> Tensor:
        """``n`` samples of the trained model, shape ``(n, D)`` (generative models only)."""
        raise RunError(f"{self.name} is not a generative model; 'ebmlab sample' works for runs of models that sample")


def _is_float(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return "float" in text


def config_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a settings dataclass from its JSON form (``"inf"`` back to ``math.inf``, lists to tuples).

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass
        ... class Settings:
        ...     beta: float = 1.0
        ...     sizes: tuple = (2,)
        >>> config_from_dict(Settings, {"beta": "inf", "sizes": [3, 4]})
        Settings(beta=inf, sizes=(3, 4))
    """
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RunError(f"settings {unknown} are not settings of {cls.__name__}; the run was made by another version")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in data.items():
        hint = hints.get(name, fields[name].type)
        if isinstance(value, str) and value in ("inf", "-inf", "nan") and _is_float(hint):
            value = float(value)
        elif isinstance(value, list) and _wants_tuple(hint, fields[name]):
            value = tuple(tuple(item) if isinstance(item, list) else item for item in value)
        values[name] = value
    return cls(**values)


def _wants_tuple(hint: Any, field: dataclasses.Field) -> bool:
    if field.default is not dataclasses.MISSING and isinstance(field.default, tuple):
        return True
    origin = typing.get_origin(hint)
    if origin is tuple:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(typing.get_origin(arg) is tuple or arg is tuple for arg in typing.get_args(hint))
    return False
