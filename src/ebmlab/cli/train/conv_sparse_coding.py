"""``ebmlab train conv-sparse-coding``: k x k filters learned on photographs, digits or MNIST."""

from __future__ import annotations

import argparse
from typing import Any

from .._args import add_data_arguments, add_run_arguments, nonnegative_float, positive_float, positive_int

NAME = "conv-sparse-coding"
HELP = "convolutional sparse coding: E(y, z) = ||y - sum_j f_j * z_j||^2 + alpha ||z||_1, unit filters"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(
        parser,
        default="photos",
        choices="photos, digits, mnist, fashion-mnist (grey images)",
        files="PATH.npy holding (N, H, W) images",
    )
    parser.add_argument(
        "--n-samples", type=positive_int, default=2000, help="images kept of digits, MNIST-style sets or a .npy"
    )
    parser.add_argument("--n-filters", type=positive_int, default=16, help="filters K")
    parser.add_argument("--kernel-size", type=positive_int, default=8, help="filter size k")
    parser.add_argument("--alpha", type=nonnegative_float, default=0.5, help="the lecture's alpha, weight of ||z||_1")
    parser.add_argument("--steps-per-epoch", type=positive_int, default=20, help="Adam steps on the filters per epoch")
    parser.add_argument("--batch-size", type=positive_int, default=8, help="crops per Adam step")
    parser.add_argument("--crop", type=positive_int, default=48, help="crop size (larger than the images: the images)")
    parser.add_argument("--lr", type=positive_float, default=0.01, help="Adam learning rate on the filters")
    parser.add_argument(
        "--step-size",
        type=positive_float,
        default=None,
        help="a fixed FISTA step on the codes (default: none, 1/L with L = 2 lambda_max(Dec^T Dec) from power "
        "iteration on every batch); steps above 1/L may diverge",
    )
    parser.add_argument("--encode-max-iter", type=positive_int, default=50, help="FISTA iterations per batch")
    add_run_arguments(parser, epochs=20)


def make_config(args: argparse.Namespace) -> Any:
    from ...recipes.conv_sparse_coding import ConvSparseCodingConfig

    return ConvSparseCodingConfig(
        data=args.data,
        n_samples=args.n_samples,
        n_filters=args.n_filters,
        kernel_size=args.kernel_size,
        alpha=args.alpha,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        crop=args.crop,
        lr=args.lr,
        step_size=args.step_size,
        encode_max_iter=args.encode_max_iter,
        seed=args.seed,
        device=args.device,
        data_root=args.data_root,
        download=args.download,
    ).validated()
