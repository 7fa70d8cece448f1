"""``ebmlab train conv-sparse-coding``: k × k filters learned on images by convolutional sparse coding.

.. math:: E(y, z) = \\big\\|y - \\textstyle\\sum_j f_j * z_j\\big\\|_2^2 + \\alpha \\|z\\|_1,
          \\qquad \\|f_j\\|_2 = 1

One unit is one epoch of :meth:`ebmlab.models.conv_sparse_coding.ConvSparseCoding.partial_fit`
(``steps_per_epoch`` Adam steps on the filters, each on FISTA codes of random crops); the estimator's
state (filters, Adam's moments, the crop generator) is the recipe's state, so a resumed run draws
the same crops as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from .._validation import check_int, check_positive, resolve_device
from ..data.images import load_images
from ..models.conv_sparse_coding import ConvSparseCoding
from ._base import Recipe

__all__ = ["ConvSparseCodingConfig", "ConvSparseCodingExamples", "ConvSparseCodingRecipe"]

_EXAMPLE_COUNT = 8  # images the evaluation codes
_EXAMPLE_SIZE = 96  # their size at most (a centred crop): 96 x 96 of a photograph


@dataclass
class ConvSparseCodingConfig:
    """Settings of the convolutional sparse coding recipe.

    ``data`` is ``photos``, ``digits``, ``mnist``, ``fashion-mnist`` or a ``.npy`` path of ``(N, H, W)``
    images (see :func:`ebmlab.data.images.load_images`); ``n_samples`` images are kept of the last
    three (the photographs are always both). ``step_size`` None means 1/L with L = 2λ_max(DecᵀDec)
    by power iteration on every batch. ``n_filters`` (the ``--n-filters`` flag) is K, the estimator's
    ``n_components``; ``seed`` is its ``random_state``.

    Example:
        >>> ConvSparseCodingConfig(kernel_size=5).validated().kernel_size
        5
    """

    data: str = "photos"
    n_samples: int = 2000
    n_filters: int = 16
    kernel_size: int = 8
    alpha: float = 0.5
    epochs: int = 20
    steps_per_epoch: int = 20
    batch_size: int = 8
    crop: int = 48
    lr: float = 0.01
    step_size: float | None = None
    encode_max_iter: int = 50
    seed: int = 0
    device: str = "cpu"
    data_root: str | None = None
    download: bool = False

    def validated(self) -> ConvSparseCodingConfig:
        """This config, checked (ValueError/TypeError naming the field)."""
        if not isinstance(self.data, str):
            raise TypeError(f"data must be a data set name or a .npy path (str), got {type(self.data).__name__}")
        for name in (
            "n_samples",
            "n_filters",
            "kernel_size",
            "epochs",
            "steps_per_epoch",
            "batch_size",
            "crop",
            "encode_max_iter",
        ):
            check_int(getattr(self, name), name)
        check_positive(self.alpha, "alpha", strict=False)
        check_positive(self.lr, "lr")
        if self.step_size is not None:
            check_positive(self.step_size, "step_size")
        check_int(self.seed, "seed", minimum=0)
        resolve_device(self.device)
        return self


@dataclass(frozen=True)
class ConvSparseCodingExamples:
    """Evaluation images ``(B, C, H, W)``, their codes ``(B, K, H', W')``, reconstructions and energies ``(B,)``.

    The energy of each image at its sparse code ž is

    .. math:: E(y, z) = \\big\\|y - \\textstyle\\sum_j f_j * z_j\\big\\|_2^2 + \\alpha \\|z\\|_1 .

    Example:
        >>> from ebmlab.training import train
        >>> config = ConvSparseCodingConfig(data="digits", n_samples=32, n_filters=2, kernel_size=3, epochs=1,
        ...                                 steps_per_epoch=1)
        >>> recipe = ConvSparseCodingRecipe(config)
        >>> _ = train(recipe, progress=False)
        >>> examples = recipe.examples()
        >>> examples.images.shape[1:] == examples.reconstructions.shape[1:], examples.codes.shape[1]
        (True, 2)
    """

    images: Tensor
    codes: Tensor
    reconstructions: Tensor
    energies: Tensor


class ConvSparseCodingRecipe(Recipe):
    """Convolutional sparse coding's training task: one unit is one epoch of filter learning.

    Example:
        >>> from ebmlab.training import train
        >>> config = ConvSparseCodingConfig(data="digits", n_samples=64, n_filters=4, kernel_size=3,
        ...                                 epochs=3, steps_per_epoch=2)
        >>> recipe = ConvSparseCodingRecipe(config)
        >>> _ = train(recipe, progress=False)
        >>> tuple(recipe.model().filters_.shape), len(recipe.model().losses_)
        ((4, 1, 3, 3), 3)
    """

    name = "conv-sparse-coding"
    unit = "epoch"
    setting = "--step-size"  # Adam on renormalised filters cannot blow up; a FISTA step beyond 1/L can
    config_class = ConvSparseCodingConfig
    budget = ("epochs",)
    runtime = ("device", "data_root", "download")
    checkpoint_every = 1

    def __init__(self, config: ConvSparseCodingConfig) -> None:
        self.config = config = config.validated()
        self.device = resolve_device(config.device)
        images = load_images(
            config.data, n_samples=config.n_samples, seed=config.seed, root=config.data_root, download=config.download
        )
        smallest = min(images.shape[2], images.shape[3], config.crop)
        if smallest < config.kernel_size:
            raise ValueError(
                f"kernel_size={config.kernel_size} is larger than the images/crops of {config.data} "
                f"({images.shape[2]} x {images.shape[3]}, crop={config.crop}); expected kernel_size <= {smallest}"
            )
        self.images = images.to(self.device)  # (N, 1, H, W)
        self.image_shape = tuple(images.shape[2:])
        self.estimator = ConvSparseCoding(
            n_components=config.n_filters,
            kernel_size=config.kernel_size,
            alpha=config.alpha,
            max_iter=config.epochs,
            steps_per_epoch=config.steps_per_epoch,
            batch_size=config.batch_size,
            crop=config.crop,
            lr=config.lr,
            step_size=config.step_size,
            encode_max_iter=config.encode_max_iter,
            random_state=config.seed,
            device=self.device,
        )
        self._examples: ConvSparseCodingExamples | None = None

    @property
    def total(self) -> int:
        return self.config.epochs

    def step(self, index: int) -> dict[str, Any]:
        self._examples = None
        self.estimator.partial_fit(self.images)
        return {"loss": self.estimator.losses_[-1]}

    def state_dict(self) -> dict[str, Any]:
        return {"estimator": self.estimator.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._examples = None
        self.estimator.load_state_dict(state["estimator"])

    # ------------------------------------------------------------------ the finished run

    def model(self) -> ConvSparseCoding:
        """The fitted estimator (``components_``, ``filters_``, ``losses_``, ``transform``, ``inverse_transform``)."""
        return self.estimator

    def examples(self) -> ConvSparseCodingExamples:
        """Up to 8 training images, centred crops of at most 96 x 96, coded with the learned filters."""
        if self._examples is None:
            count = min(_EXAMPLE_COUNT, len(self.images))
            height, width = min(_EXAMPLE_SIZE, self.image_shape[0]), min(_EXAMPLE_SIZE, self.image_shape[1])
            top, left = (self.image_shape[0] - height) // 2, (self.image_shape[1] - width) // 2
            images = self.images[:count, :, top : top + height, left : left + width]  # (B, 1, h, w)
            result = self.estimator.encode(images)
            reconstructions = self.estimator.inverse_transform(result.codes)
            self._examples = ConvSparseCodingExamples(images, result.codes, reconstructions, result.energy)
        return self._examples

    def evaluate(self) -> dict[str, float]:
        """On the :meth:`examples`: mean energy E(y, ž) per image, relative reconstruction error
        ‖y − ỹ‖² / ‖y‖², and the fraction of code entries that are not zero."""
        examples = self.examples()
        error = (examples.images - examples.reconstructions).pow(2).sum() / examples.images.pow(2).sum()
        return {
            "energy": float(examples.energies.mean()),
            "relative_error": float(error),
            "active_codes": float((examples.codes != 0).float().mean()),
        }

    def summary(self, metrics: dict[str, float]) -> str:
        examples = self.examples()
        height, width = examples.images.shape[2:]
        return (
            f"mean energy E(y, z) = {metrics['energy']:.4g} per {height}x{width} image "
            f"({len(examples.images)} of {self.config.data}), "
            f"||y - y~||^2 / ||y||^2 = {metrics['relative_error']:.3f}, "
            f"{metrics['active_codes']:.1%} of codes active"
        )

    def plot(self, out: Path) -> list[Path]:
        from ..plotting import conv_sparse_coding as plots

        examples = self.examples()
        return plots.plot_all(
            self.estimator.filters_.cpu(),
            self.estimator.losses_,
            examples.images[0].cpu(),
            examples.reconstructions[0].cpu(),
            examples.codes[0].cpu(),
            out,
        )
