"""Recipes: each model's training as the one loop runs it, and the way back from a saved run.

A recipe (:class:`Recipe`) is a settings dataclass plus a task — the model's step and state — and
what a finished run offers: the trained model, its evaluation, its figures and samples.
:func:`load_run` rebuilds any saved run's model from its directory.

Recipes by model name (``ebmlab train NAME``) are listed in :data:`RECIPES` and imported on first use.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..training import RunDirectory, RunError
from ._base import Recipe, config_from_dict

__all__ = ["RECIPES", "LoadedRun", "Recipe", "config_from_dict", "load_run", "recipe_class"]

#: model name -> "module:class" of its recipe
RECIPES: dict[str, str] = {
    "autoencoder": "ebmlab.recipes.vae:AutoencoderRecipe",
    "collapse": "ebmlab.recipes.collapse:CollapseRecipe",
    "conv-sparse-coding": "ebmlab.recipes.conv_sparse_coding:ConvSparseCodingRecipe",
    "dae": "ebmlab.recipes.dae:DAERecipe",
    "ebm2d": "ebmlab.recipes.ebm2d:EBM2DRecipe",
    "ellipse": "ebmlab.recipes.ellipse:EllipseRecipe",
    "kmeans": "ebmlab.recipes.kmeans:KMeansRecipe",
    "lista": "ebmlab.recipes.lista:LISTARecipe",
    "rbm": "ebmlab.recipes.rbm:RBMRecipe",
    "sparse-coding": "ebmlab.recipes.sparse_coding:SparseCodingRecipe",
    "words": "ebmlab.recipes.words:WordsRecipe",
    "vae": "ebmlab.recipes.vae:VAERecipe",
}


def recipe_class(name: str) -> type[Recipe]:
    """The recipe class of model ``name``; a clear error for an unknown name.

    Example:
        >>> recipe_class("kmeans").__name__
        'KMeansRecipe'
        >>> recipe_class("kmean")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ebmlab.training.errors.RunError: unknown model 'kmean'; expected one of [...]
    """
    if name not in RECIPES:
        raise RunError(f"unknown model {name!r}; expected one of {sorted(RECIPES)}")
    module, _, attribute = RECIPES[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class LoadedRun:
    """A saved run: its directory, model name, settings, the recipe holding the trained state, and
    the trained model (:meth:`Recipe.model`).

    Example:
        >>> import tempfile
        >>> from ebmlab.cli import main
        >>> out = tempfile.mkdtemp() + "/run"
        >>> main(["train", "kmeans", "--k", "3", "--out", out, "--no-progress", "--no-plots"])  # doctest: +ELLIPSIS
        kmeans: ...
        0
        >>> run = load_run(out)
        >>> run.name, run.config.k, type(run.recipe).__name__, tuple(run.model.centroids.shape), run.step > 0
        ('kmeans', 3, 'KMeansRecipe', (3, 2), True)
    """

    path: Path
    name: str
    config: Any
    recipe: Recipe
    model: Any
    step: int


def load_run(path: str | os.PathLike[str], *, device: str | None = None) -> LoadedRun:
    """Load the run in ``path`` (written by ``ebmlab train``): its settings and trained model.

    Args:
        path: a run directory.
        device: where to put the model (default: the device it was trained on).

    Example:
        >>> import tempfile
        >>> from ebmlab.cli import main
        >>> out = tempfile.mkdtemp() + "/run"
        >>> flags = ["--epochs", "3", "--out", out, "--no-progress", "--no-plots"]
        >>> main(["train", "ellipse", *flags])  # doctest: +ELLIPSIS
        ellipse: 3 epochs; energy loss ...
        run saved in ...
        0
        >>> run = load_run(out)
        >>> run.name, run.step, tuple(run.model.w.shape)
        ('ellipse', 3, (2,))
    """
    directory = RunDirectory(path)
    if not directory.path.is_dir():
        found = "a file" if directory.path.exists() else "nothing"
        raise RunError(f"run {directory.path}: expected a run directory, found {found}")
    checkpoint = directory.load_checkpoint()
    recipe_type = recipe_class(checkpoint.model)
    config = config_from_dict(recipe_type.config_class, checkpoint.config)
    if device is not None and hasattr(config, "device"):
        config = type(config)(**{**vars(config), "device": device})
    recipe = recipe_type(config)
    recipe.load_state_dict(checkpoint.state["task"])
    return LoadedRun(directory.path, checkpoint.model, config, recipe, recipe.model(), checkpoint.step)
