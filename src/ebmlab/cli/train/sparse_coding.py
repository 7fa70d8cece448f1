"""``ebmlab train sparse-coding``: dictionary learning, or the lecture's anti-collapse example."""

from __future__ import annotations

import argparse
from typing import Any

from .._args import add_data_arguments, add_run_arguments, positive_float, positive_int

NAME = "sparse-coding"
HELP = "sparse coding: E(y, z) = ||y - Wz||^2 + alpha ||z||_1 with unit atoms; or the lecture's anti-collapse example"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    names = "china-patches (8x8 patches of china.jpg), digits, mnist, fashion-mnist"
    add_data_arguments(parser, default="china-patches", choices=names)
    parser.add_argument("--n-samples", type=positive_int, default=20000, help="samples, a tenth held out")
    parser.add_argument("--n-components", type=positive_int, default=128, help="atoms K")
    parser.add_argument("--alpha", type=positive_float, default=0.2, help="the lecture's alpha")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="mini-batch size")
    parser.add_argument(
        "--refit", choices=["none", "top2"], default="none", help="top2: the lecture's rule, F = E(y, z2) on two atoms"
    )
    parser.add_argument(
        "--step-size",
        type=positive_float,
        default=None,
        help="a fixed FISTA step on the codes while training (default: none, 1/L with L = 2 lambda_max(W^T W) "
        "from power iteration on every batch); steps above 1/L may diverge",
    )
    parser.add_argument(
        "--lecture-example",
        action="store_true",
        help="the slides' 50 x 2 ellipse data with and without [1; y] (12 atoms, alpha 0.02, top-2 rule, full batch)",
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="passes over the training data (default 5; 30 with --lecture-example)",
    )
    add_run_arguments(parser)


def make_config(args: argparse.Namespace) -> Any:
    from ...recipes.sparse_coding import SparseCodingConfig

    return SparseCodingConfig(
        data=args.data,
        n_samples=args.n_samples,
        n_components=args.n_components,
        alpha=args.alpha,
        batch_size=args.batch_size,
        epochs=args.epochs,
        refit=None if args.refit == "none" else args.refit,
        step_size=args.step_size,
        lecture_example=args.lecture_example,
        seed=args.seed,
        device=args.device,
        data_root=args.data_root,
        download=args.download,
    ).resolved()
