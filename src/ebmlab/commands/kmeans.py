"""``ebmlab train kmeans``: K-means, the lecture's first latent-variable EBM, E(y, z) = ‖y − Wz‖²."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ._common import add_run_arguments, beta_type, out_dir, positive_int, print_figures

NAME = "kmeans"
HELP = "K-means: E(y, z) = ||y - Wz||^2 with one-hot z; Lloyd at beta = inf, soft k-means at finite beta"


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", default="blobs", help="blobs, digits, mnist, fashion-mnist, PATH.npy or PATH.csv (default blobs)"
    )
    parser.add_argument("--k", type=positive_int, default=8, help="number of clusters K (default 8)")
    parser.add_argument("--beta", type=beta_type, default=math.inf, help="inverse temperature (default inf: Lloyd)")
    parser.add_argument(
        "--init", choices=("k-means++", "random"), default="k-means++", help="seeding (default k-means++)"
    )
    parser.add_argument("--max-iter", type=positive_int, default=300, help="iterations per restart (default 300)")
    parser.add_argument("--n-init", type=positive_int, default=1, help="restarts, the best kept (default 1)")
    parser.add_argument("--tol", type=_tolerance, default=1e-4, help="relative centroid-shift tolerance (1e-4)")
    parser.add_argument("--n-samples", type=positive_int, default=None, help="keep a random subset of this size")
    parser.add_argument("--data-root", default=None, help="folder holding MNIST-style IDX files")
    parser.add_argument("--download", action="store_true", help="download MNIST-style data if missing")
    add_run_arguments(parser)


def run(args: argparse.Namespace) -> Path:
    from ..models.kmeans import KMeansConfig, train_kmeans
    from ..plotting import kmeans as plots
    from ..runs import RunDirectory

    config = KMeansConfig(
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
    run_dir = RunDirectory(out_dir(args, "kmeans"))
    fit = train_kmeans(config, run=run_dir, resume=args.resume, show_progress=not args.no_progress)
    plots.plot_all(fit, run_dir.path)
    print(f"K = {config.k}: inertia {fit.inertia:.6g} after {len(fit.inertia_history)} iterations")
    print_figures(run_dir.path)
    return run_dir.path
