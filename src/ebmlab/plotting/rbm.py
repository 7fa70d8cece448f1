"""Figures of a trained RBM: filters, samples from long Gibbs chains, the training curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..recipes.rbm import RBMFit
from . import image_grid, training_curve, unit_scale

__all__ = ["plot_all", "plot_filters", "plot_samples"]


def plot_filters(fit: RBMFit, path: Path, count: int = 100) -> Path:
    """The first ``count`` rows of W (``components_``), each as an image tile (symmetric colour map).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.rbm import RBMConfig, RBMRecipe
        >>> from ebmlab.training import train
        >>> recipe = RBMRecipe(RBMConfig(n_components=8, epochs=1, n_samples=100, sample_steps=5))
        >>> _ = train(recipe, progress=False)
        >>> plot_filters(recipe.fit(), out / "filters.png").exists()
        True
    """
    shape = fit.data.image_shape
    if shape is None:
        raise ValueError("plot_filters needs image data (fit.data.image_shape is None)")
    weights = fit.model.params_.weight[:count].detach().cpu().numpy()  # (shown, D), whatever type components_ has
    hidden = fit.model.params_.n_hidden
    shown = (
        f"first {len(weights)} of {hidden} hidden units"
        if len(weights) < hidden
        else f"{hidden} hidden units, all shown"
    )
    return image_grid(
        weights.reshape(-1, *shape),
        path,
        title=f"RBM filters: the weights W of each hidden unit ({shown})\nred: positive, blue: negative",
        symmetric=True,
        cmap="RdBu_r",
    )


def plot_samples(fit: RBMFit, path: Path) -> Path:
    """The final states of ``fit.samples``' Gibbs chains as images (Gaussian data un-standardised).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.rbm import RBMConfig, RBMRecipe
        >>> from ebmlab.training import train
        >>> recipe = RBMRecipe(RBMConfig(n_components=8, epochs=1, n_samples=100, sample_steps=5))
        >>> _ = train(recipe, progress=False)
        >>> plot_samples(recipe.fit(), out / "samples.png").exists()
        True
    """
    shape = fit.data.image_shape
    if shape is None:
        raise ValueError("plot_samples needs image data (fit.data.image_shape is None)")
    samples = fit.samples.samples.detach().cpu().numpy() * fit.data.scale + fit.data.mean  # (S, D)
    title = f"RBM samples: {len(samples)} Gibbs chains after {fit.samples.steps} steps each"
    samples = np.clip(samples, 0, None)
    return image_grid(samples.reshape(-1, *shape), path, title=title, **unit_scale(samples))


def plot_all(fit: RBMFit, out: Path) -> list[Path]:
    """Every RBM figure into ``out``: filters, samples and data (image data), the training curves.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.rbm import RBMConfig, RBMRecipe
        >>> from ebmlab.training import train
        >>> recipe = RBMRecipe(RBMConfig(n_components=8, epochs=1, n_samples=100, sample_steps=5))
        >>> _ = train(recipe, progress=False)
        >>> all(path.exists() for path in plot_all(recipe.fit(), out))
        True
    """
    out = Path(out)
    paths = []
    if fit.data.image_shape is not None:
        paths += [plot_filters(fit, out / "filters.png"), plot_samples(fit, out / "samples.png")]
        paths.append(
            image_grid(
                fit.data.train[:64].reshape(-1, *fit.data.image_shape),
                out / "data.png",
                title="RBM training data, as the RBM sees it (64 images)",
                **unit_scale(fit.data.train[:64]),
            )
        )
    if fit.pseudo_likelihoods:
        paths.append(
            training_curve(
                fit.pseudo_likelihoods,
                out / "pseudo_likelihood.png",
                ylabel="Σ_i log p(y_i | other pixels), nats",
                title="training fit: pseudo-log-likelihood per image (higher is better)\n"
                "how well each pixel is predicted from all the others",
            )
        )
    paths.append(
        training_curve(
            fit.reconstruction_errors,
            out / "reconstruction_error.png",
            ylabel="mean squared error per pixel",
            title="reconstruction error: y → hidden → y, mean-field (lower is better)",
        )
    )
    return paths
