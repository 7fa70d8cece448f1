"""``ebmlab train conv-sparse-coding``: k x k filters learned on scikit-learn's photographs or digits."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ._common import add_run_arguments, out_dir, positive_float, positive_int

NAME = "conv-sparse-coding"
HELP = "convolutional sparse coding: E(y, z) = ||y - sum_j f_j * z_j||^2 + alpha ||z||_1, unit filters"


@dataclass
class ConvSparseCodingConfig:
    data: str = "photos"
    n_filters: int = 16
    kernel_size: int = 8
    alpha: float = 0.5
    epochs: int = 20
    steps_per_epoch: int = 20
    lr: float = 0.01
    seed: int = 0
    device: str = "cpu"
    data_root: str | None = None
    download: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        choices=["photos", "digits", "mnist"],
        default="photos",
        help="scikit-learn's sample photographs (contrast-normalised), digits, or MNIST",
    )
    parser.add_argument("--n-filters", type=positive_int, default=16, help="filters K (default 16)")
    parser.add_argument("--kernel-size", type=positive_int, default=8, help="filter size k (default 8)")
    parser.add_argument("--alpha", type=positive_float, default=0.5, help="the lecture's alpha (default 0.5)")
    parser.add_argument("--steps-per-epoch", type=positive_int, default=20, help="Adam steps per epoch (default 20)")
    parser.add_argument("--lr", type=positive_float, default=0.01, help="Adam learning rate (default 0.01)")
    parser.add_argument("--data-root", default=None, help="folder holding the MNIST IDX files (default $EBMLAB_DATA)")
    parser.add_argument("--download", action="store_true", help="download MNIST if missing")
    add_run_arguments(parser, epochs=20)


def run(args: argparse.Namespace) -> Path:
    import torch

    from ..data import load_data, sample_images
    from ..models.conv_sparse_coding import ConvSparseCoding, local_contrast_normalize
    from ..plotting import image_grid, training_curve
    from ..plotting import sparse as plots
    from ..runs import RunDirectory

    config = ConvSparseCodingConfig(
        args.data,
        args.n_filters,
        args.kernel_size,
        args.alpha,
        args.epochs,
        args.steps_per_epoch,
        args.lr,
        args.seed,
        args.device,
        data_root=args.data_root,
        download=args.download,
    )
    run_dir = RunDirectory(out_dir(args, "conv-sparse-coding"))
    run_dir.write_config(config)
    run_dir.file("metrics.jsonl").unlink(missing_ok=True)
    if config.data == "photos":
        images = sample_images(256)
    else:
        dataset = load_data(
            config.data, n_samples=2000, seed=config.seed, root=config.data_root, download=config.download
        )
        images = torch.from_numpy(dataset.data).reshape(-1, 1, *dataset.image_shape)
        images = local_contrast_normalize(images, sigma=1.0) if config.data == "mnist" else images
    model = ConvSparseCoding(
        config.n_filters,
        config.kernel_size,
        alpha=config.alpha,
        max_iter=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        lr=config.lr,
        seed=config.seed,
        crop=48 if config.data == "photos" else images.shape[-1],
        device=config.device,
    )

    def on_epoch(epoch: int, loss: float) -> None:
        run_dir.log_metrics({"epoch": epoch, "mean_energy": loss})

    model.fit(images, on_epoch=on_epoch)
    run_dir.save_checkpoint({"filters": model.filters_}, step=config.epochs, config=config)
    sample = images[:1, :, :96, :96]
    recon = model.inverse_transform(model.transform(sample.to(model.filters_.device)))
    for figure in (
        plots.plot_filters(model.filters_, run_dir.path / "filters.png"),
        training_curve(model.losses_, run_dir.path / "training_curve.png", ylabel="mean energy"),
        image_grid(
            torch.cat([sample, recon.cpu()])[:, 0],
            run_dir.path / "reconstruction.png",
            title="image (left) and reconstruction (right)",
            columns=2,
        ),
    ):
        print(f"figure: {figure}")
    return run_dir.path
