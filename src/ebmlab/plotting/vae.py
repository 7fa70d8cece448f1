"""Figures of the VAE and of the plain autoencoder, drawn the same way so the two can be compared.

* :func:`plot_prior_samples` — decoded samples of the prior (VAE);
* :func:`plot_reconstructions` — held-out images beside their reconstructions;
* :func:`plot_latent_codes` — the codes ž of held-out images coloured by class (a PCA projection
  when d > 2), with :func:`plot_latent_comparison` putting a VAE's and an autoencoder's side by side;
* :func:`plot_manifold` — for a 2-D latent, the decoded latent plane as a grid of images;
* :func:`plot_interpolation` — decoded points on the segment between two test images' codes;
* :func:`plot_training_terms` — the loss, reconstruction and KL per epoch, from the run's metrics rows.

ž is what the model's amortised inference returns (``model.encoder(model.energy, y).latent``):
the posterior mean μ(y) of a VAE, Enc(y) of an autoencoder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..models.vae import VAE, Autoencoder
from ..recipes.vae import LatentModelFit
from . import image_grid, pyplot, save_figure, unit_scale

__all__ = [
    "latent_codes",
    "plot_interpolation",
    "plot_latent_codes",
    "plot_latent_comparison",
    "plot_latent_model",
    "plot_manifold",
    "plot_prior_samples",
    "plot_reconstructions",
    "plot_training_terms",
    "project_codes",
]

_SCATTER_POINTS = 3000
_PRIOR_QUANTILES = (0.05, 0.95)


def _kind(model: VAE | Autoencoder) -> str:
    return "VAE" if isinstance(model, VAE) else "autoencoder"


def latent_codes(model: VAE | Autoencoder, y: Tensor, batch: int = 1000) -> Tensor:
    """ž of every row of ``y`` by the model's amortised inference, ``(M, D)`` → ``(M, d)``.

    Example:
        >>> import torch
        >>> from ebmlab.models.vae import mlp_vae
        >>> latent_codes(mlp_vae(64, hidden=(16,), latent=2, seed=0), torch.rand(5, 64)).shape  # untrained
        torch.Size([5, 2])
    """
    with torch.no_grad():
        return torch.cat([model.encoder(model.energy, y[i : i + batch]).latent for i in range(0, len(y), batch)])


def project_codes(codes: np.ndarray) -> tuple[np.ndarray, str]:
    """The codes ``(M, d)`` on two axes: themselves for d ≤ 2, else their first two principal components
    (with the share of the variance they explain, for the axis labels).

    Example:
        >>> import numpy as np
        >>> points, axis = project_codes(np.random.default_rng(0).normal(size=(50, 4)))
        >>> points.shape, axis.startswith("PCA")
        ((50, 2), True)
    """
    if codes.shape[1] <= 2:
        padded = np.pad(codes, ((0, 0), (0, 2 - codes.shape[1])))
        return padded, "z"
    centred = codes - codes.mean(0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    share = singular**2 / max(float((singular**2).sum()), 1e-300)
    return centred @ vt[:2].T, f"PCA ({100 * share[:2].sum():.0f} % of the variance)"


def _images(y: Tensor | np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    array = y.detach().cpu().numpy() if isinstance(y, Tensor) else np.asarray(y)
    return array.reshape(len(array), *image_shape)


def _tiled(images: np.ndarray, path: str | os.PathLike[str], columns: int, title: str, pad: int = 1) -> Path:
    """Images ``(N, H, W)`` tiled into one picture (one ``imshow``: fast for hundreds of tiles), on one
    grey scale shared by all of them (0 to 1 for values in [0, 1]), with ``pad`` pixels between the tiles."""
    plt = pyplot()
    count, height, width = images.shape
    rows = -(-count // columns)
    low, high = (0.0, 1.0) if unit_scale(images) else (float(images.min()), float(images.max()))
    canvas = np.full((rows * (height + pad) - pad, columns * (width + pad) - pad), low, dtype=np.float32)
    for index, image in enumerate(images):
        top, left = (index // columns) * (height + pad), (index % columns) * (width + pad)
        canvas[top : top + height, left : left + width] = image
    inches = min(9.0, max(5.0, 0.05 * canvas.shape[1]))  # the width; the height keeps the aspect
    fig, ax = plt.subplots(figsize=(inches, inches * canvas.shape[0] / canvas.shape[1] + 0.5))
    ax.imshow(canvas, cmap="gray", vmin=low, vmax=high if high > low else low + 1, interpolation="nearest")
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    return save_figure(fig, path)


def _image_grid(
    model: VAE | Autoencoder,
    images: Tensor,
    path: str | os.PathLike[str],
    image_shape: tuple[int, int],
    columns: int,
    caption: str,
) -> Path:
    """Rows ``(N, D)`` as images by :func:`~ebmlab.plotting.image_grid`, titled with the model's kind,
    on the one 0-to-1 grey scale when they lie in [0, 1]."""
    title = f"{_kind(model)}: {caption}"
    return image_grid(_images(images, image_shape), path, columns=columns, title=title, **unit_scale(images))


def plot_prior_samples(
    model: VAE, path: str | os.PathLike[str], image_shape: tuple[int, int], n: int = 64, seed: int = 0
) -> Path:
    """``n`` images :math:`\\mathbb E[y \\mid z]`, :math:`z \\sim \\mathcal N(0, I)`: new samples of the VAE.

    Example:
        >>> import tempfile
        >>> from ebmlab.models.vae import mlp_vae
        >>> model = mlp_vae(64, hidden=(16,), latent=2, seed=0)  # untrained, for 8 × 8 images
        >>> plot_prior_samples(model, tempfile.mkdtemp() + "/prior_samples.png", (8, 8), n=9).exists()
        True
    """
    with torch.no_grad():
        samples = model.sample(n, generator=torch.Generator().manual_seed(seed))
    columns = max(1, round(n**0.5))
    return _tiled(_images(samples, image_shape), path, columns, f"VAE: {n} new images, E[y | z] for z ~ N(0, I)")


def plot_reconstructions(
    model: VAE | Autoencoder, y: Tensor, path: str | os.PathLike[str], image_shape: tuple[int, int], count: int = 12
) -> Path:
    """Pairs of columns: a held-out image, then its reconstruction :math:`\\mathbb E[y \\mid z = \\check z]`.

    Example:
        >>> import tempfile, torch
        >>> from ebmlab.models.vae import mlp_autoencoder
        >>> model = mlp_autoencoder(64, hidden=(16,), latent=2, seed=0)  # untrained, for 8 × 8 images
        >>> plot_reconstructions(model, torch.rand(4, 64), tempfile.mkdtemp() + "/reconstructions.png", (8, 8)).exists()
        True
    """
    y = y[:count]
    with torch.no_grad():
        recon = model.reconstruct(y)
    pairs = torch.stack([y, recon], 1).reshape(-1, y.shape[1])  # (2·count, D): input, reconstruction, ...
    return _image_grid(model, pairs, path, image_shape, 8, "held-out image, then its reconstruction, pair by pair")


def _scatter(ax: Any, model: VAE | Autoencoder, y: Tensor, labels: np.ndarray | None) -> None:
    y = y[:_SCATTER_POINTS]
    codes = latent_codes(model, y).cpu().numpy()
    points, axis = project_codes(codes)
    colours = None if labels is None else labels[: len(points)]
    shown = ax.scatter(points[:, 0], points[:, 1], c=colours, cmap="tab10", s=4, alpha=0.7)
    if labels is not None:
        handles, names = shown.legend_elements()
        ax.legend(
            handles, names, title="class", fontsize=7, title_fontsize=8, markerscale=0.8, loc="best", framealpha=0.6
        )
    if codes.shape[1] == 2 and isinstance(model, VAE):
        for radius in (1.0, 2.0):  # the prior's 1σ and 2σ circles
            ax.add_patch(pyplot().Circle((0, 0), radius, fill=False, ls="--", lw=0.8, color="black", alpha=0.5))
    name = "μ(y)" if isinstance(model, VAE) else "Enc(y)"
    plane = axis == "z"
    ax.set_xlabel("z₁" if plane else "principal component 1")
    ax.set_ylabel("z₂" if plane else "principal component 2")
    ax.set_title(
        f"{_kind(model)}: codes {name} of {len(points)} held-out images (d = {codes.shape[1]})"
        + ("" if plane else f"\nprojected by {axis}"),
        fontsize=10,
    )
    ax.set_aspect("equal", adjustable="datalim")


def _scatter_panels(
    panels: Sequence[tuple[VAE | Autoencoder, Tensor, np.ndarray | None]],
    path: str | os.PathLike[str],
    titles: Sequence[str] | None = None,
) -> Path:
    """One :func:`_scatter` panel per (model, held-out images, labels), side by side."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 5), squeeze=False, layout="constrained")
    for i, (ax, (model, y, labels)) in enumerate(zip(axes[0], panels, strict=True)):
        _scatter(ax, model, y, labels)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    return save_figure(fig, path)


def plot_latent_codes(
    model: VAE | Autoencoder, y: Tensor, labels: np.ndarray | None, path: str | os.PathLike[str]
) -> Path:
    """The codes ž of held-out images, coloured by class; the first two principal components when d > 2
    (for a 2-D VAE, the prior's 1σ and 2σ circles).

    Example:
        >>> import tempfile, torch
        >>> from ebmlab.models.vae import mlp_vae
        >>> model, y, labels = mlp_vae(64, hidden=(16,), latent=2, seed=0), torch.rand(30, 64), torch.arange(30) % 3
        >>> plot_latent_codes(model, y, labels.numpy(), tempfile.mkdtemp() + "/latent_codes.png").exists()
        True
    """
    return _scatter_panels([(model, y, labels)], path)


def plot_latent_comparison(
    fits: Sequence[LatentModelFit], path: str | os.PathLike[str], titles: Sequence[str] | None = None
) -> Path:
    """Several runs' :func:`plot_latent_codes` side by side (an autoencoder's and a VAE's, for the practicum).

    Example:
        >>> import tempfile
        >>> from ebmlab.recipes.vae import AutoencoderConfig, AutoencoderRecipe, VAEConfig, VAERecipe
        >>> fits = [cls(config(epochs=1, hidden=(16,), latent=2)).fit()
        ...         for cls, config in ((AutoencoderRecipe, AutoencoderConfig), (VAERecipe, VAEConfig))]
        >>> plot_latent_comparison(fits, tempfile.mkdtemp() + "/latent.png").name
        'latent.png'
    """
    return _scatter_panels([(fit.model, fit.heldout, fit.labels) for fit in fits], path, titles)


def _span(model: VAE | Autoencoder, y: Tensor) -> tuple[np.ndarray, np.ndarray, str]:
    """Grid values along each latent axis: the prior's 5–95 % quantiles (VAE) or the codes' (autoencoder)."""
    if isinstance(model, VAE):
        normal = torch.distributions.Normal(0.0, 1.0)
        low, high = (float(normal.icdf(torch.tensor(q))) for q in _PRIOR_QUANTILES)
        return np.array([low, low]), np.array([high, high]), "the prior's 5-95 % quantiles"
    codes = latent_codes(model, y[:_SCATTER_POINTS]).cpu().numpy()
    low, high = np.percentile(codes, [5, 95], axis=0)
    return low, high, "the codes' 5-95 % percentiles"


def plot_manifold(
    model: VAE | Autoencoder, y: Tensor, path: str | os.PathLike[str], image_shape: tuple[int, int], size: int = 15
) -> Path:
    """For a 2-D latent: the decoded plane, :math:`\\mathbb E[y \\mid z]` on a ``size × size`` grid of z
    (over the prior's 5–95 % quantiles for a VAE, over the held-out codes' for an autoencoder).

    Example:
        >>> import tempfile, torch
        >>> from ebmlab.models.vae import mlp_autoencoder
        >>> model = mlp_autoencoder(64, hidden=(16,), latent=2, seed=0)  # untrained, for 8 × 8 images
        >>> plot_manifold(model, torch.rand(20, 64), tempfile.mkdtemp() + "/manifold.png", (8, 8), size=5).exists()
        True
    """
    if model.latent_dim != 2:
        raise ValueError(f"plot_manifold needs a 2-D latent, the model has d = {model.latent_dim}")
    low, high, where = _span(model, y)
    xs, ys = np.linspace(low[0], high[0], size), np.linspace(high[1], low[1], size)  # top row: largest z₂
    grid = torch.tensor([[x, v] for v in ys for x in xs], dtype=torch.float32)  # (size², 2)
    with torch.no_grad():
        images = model.energy.decode(grid)  # (size², D)
    return _tiled(_images(images, image_shape), path, size, f"{_kind(model)}: decoded latent plane over {where}")


def plot_interpolation(
    model: VAE | Autoencoder,
    first: Tensor,
    second: Tensor,
    path: str | os.PathLike[str],
    image_shape: tuple[int, int],
    steps: int = 10,
) -> Path:
    """The two images, and between them :math:`\\mathbb E[y \\mid z_t]` for
    :math:`z_t = (1 - t)\\,\\check z_1 + t\\,\\check z_2`, t from 0 to 1 in ``steps`` steps.

    Example:
        >>> import tempfile, torch
        >>> from ebmlab.models.vae import mlp_vae
        >>> model, (first, second) = mlp_vae(64, hidden=(16,), latent=2, seed=0), torch.rand(2, 64)  # untrained
        >>> plot_interpolation(model, first, second, tempfile.mkdtemp() + "/interpolation.png", (8, 8)).exists()
        True
    """
    codes = latent_codes(model, torch.stack([first, second]))  # (2, d)
    t = torch.linspace(0.0, 1.0, steps).unsqueeze(1)  # (T, 1)
    with torch.no_grad():
        middle = model.energy.decode((1 - t) * codes[0] + t * codes[1])  # (T, D)
    row = torch.cat([first.unsqueeze(0), middle, second.unsqueeze(0)])  # (T + 2, D)
    caption = "two held-out images (ends) and decoded codes on the line between them"
    return _image_grid(model, row, path, image_shape, len(row), caption)


def plot_training_terms(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Per epoch, from the run's metrics rows: the loss and the reconstruction term (left) and, for a
    VAE, the KL term (right), in nats per image.

    Example:
        >>> import tempfile
        >>> rows = [{"epoch": 1, "loss": 40.0, "reconstruction": 35.0, "kl": 5.0},
        ...         {"epoch": 2, "loss": 30.0, "reconstruction": 24.0, "kl": 6.0}]
        >>> plot_training_terms(rows, tempfile.mkdtemp() + "/training_terms.png").exists()
        True
    """
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    rows = [row for row in rows if "loss" in row]
    epochs = [row.get("epoch") or row["step"] for row in rows]
    has_kl = any("kl" in row for row in rows)
    marker = dict(marker="o", markersize=7 if len(rows) == 1 else 4 if len(rows) <= 60 else 0)
    fig, axes = plt.subplots(
        1, 2 if has_kl else 1, figsize=(11 if has_kl else 5.5, 4), squeeze=False, layout="constrained"
    )
    left = axes[0][0]
    left.plot(epochs, [row["loss"] for row in rows], label="loss (the objective)", **marker)
    if has_kl:
        left.plot(epochs, [row["reconstruction"] for row in rows], label="reconstruction −log p(y|z)", **marker)
        right = axes[0][1]
        right.plot(epochs, [row["kl"] for row in rows], color="tab:red", **marker)
        right.set_ylabel("KL(q(z|y) ‖ p(z)), nats per image")
        right.set_title("KL term: how far the codes are from the prior", fontsize=11)
        left.legend(fontsize=8)
    left.set_ylabel("nats per image")
    left.set_title(
        "training objective: negative ELBO (or bound), lower is better"
        if has_kl
        else "training: reconstruction −log p(y|Enc(y)), lower is better",
        fontsize=11,
    )
    for ax in axes[0]:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.grid(alpha=0.3)
    if len(rows) == 1:
        fig.suptitle("one epoch only: a single point per curve, train longer to see the trend", fontsize=10)
    return save_figure(fig, path)


def _interpolation_pair(labels: np.ndarray | None, count: int) -> tuple[int, int]:
    """Two held-out rows to interpolate between: the first image and the first of another class."""
    if labels is None:
        return 0, min(1, count - 1)
    other = np.flatnonzero(labels != labels[0])
    return 0, int(other[0]) if len(other) else min(1, count - 1)


def plot_latent_model(fit: LatentModelFit, out: str | os.PathLike[str]) -> list[Path]:
    """Every figure of a VAE or autoencoder run into ``out``: ``training_terms.png`` (when the run has
    metrics rows), ``latent_codes.png``, and for image data ``reconstructions.png``,
    ``interpolation.png``, ``manifold.png`` (2-D latent) and, for a VAE, ``prior_samples.png``.

    Example:
        >>> import tempfile
        >>> from ebmlab.recipes.vae import VAEConfig, VAERecipe
        >>> fit = VAERecipe(VAEConfig(epochs=1, hidden=(16,), latent=2)).fit()  # untrained, 8 × 8 digits
        >>> sorted(path.name for path in plot_latent_model(fit, tempfile.mkdtemp()))  # doctest: +ELLIPSIS
        ['interpolation.png', 'latent_codes.png', ...]
    """
    out = Path(out)
    model, heldout = fit.model, fit.heldout
    paths = []
    if fit.metrics:
        paths.append(plot_training_terms(fit.metrics, out / "training_terms.png"))
    paths.append(plot_latent_codes(model, heldout, fit.labels, out / "latent_codes.png"))
    if fit.image_shape is not None:
        shape = fit.image_shape
        paths.append(plot_reconstructions(model, heldout, out / "reconstructions.png", shape))
        first, second = _interpolation_pair(fit.labels, len(heldout))
        paths.append(plot_interpolation(model, heldout[first], heldout[second], out / "interpolation.png", shape))
        if model.latent_dim == 2:
            paths.append(plot_manifold(model, heldout, out / "manifold.png", shape))
        if isinstance(model, VAE):
            paths.append(plot_prior_samples(model, out / "prior_samples.png", shape))
    return paths
