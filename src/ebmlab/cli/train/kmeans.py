"""``ebmlab train kmeans``: K-means, the lecture's first latent-variable EBM, E(y, z) = ||y - Wz||^2."""

from __future__ import annotations

import argparse
import math
from typing import Any

from .._args import add_data_arguments, add_run_arguments, beta_type, nonnegative_float, positive_int

NAME = "kmeans"
HELP = "K-means: E(y, z) = ||y - Wz||^2 with one-hot z; Lloyd at beta = inf, soft k-means at finite beta"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser, default="blobs", choices="blobs, digits, mnist, fashion-mnist")
    parser.add_argument(
        "--n-samples",
        type=positive_int,
        default=None,
        help="keep a random subset of this size (default: all; blobs draws 2000)",
    )
    parser.add_argument("--k", type=positive_int, default=8, help="number of clusters K")
    parser.add_argument(
        "--beta",
        type=beta_type,
        default=math.inf,
        help="inverse temperature (inf: Lloyd's algorithm; finite: soft k-means)",
    )
    parser.add_argument("--init", choices=("k-means++", "random"), default="k-means++", help="seeding of each restart")
    parser.add_argument(
        "--n-init", type=positive_int, default=1, help="restarts; the one with the lowest inertia is kept"
    )
    parser.add_argument(
        "--tol",
        type=nonnegative_float,
        default=1e-4,
        help="a restart ends when sum_k ||dw_k||^2 <= tol x the data's mean variance (0: when no label changes)",
    )
    add_run_arguments(parser, max_iter=300, checkpoint_every=10, budget_help="per restart")


def make_config(args: argparse.Namespace) -> Any:
    from ...recipes.kmeans import KMeansConfig

    return KMeansConfig(
        data=args.data,
        k=args.k,
        beta=args.beta,
        init=args.init,
        n_init=args.n_init,
        max_iter=args.max_iter,
        tol=args.tol,
        n_samples=args.n_samples,
        data_root=args.data_root,
        download=args.download,
        seed=args.seed,
        device=args.device,
    ).validated()
