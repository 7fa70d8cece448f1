"""``ebmlab train ellipse``: the lecture's ellipse manifold, unconditional or conditional."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ._common import add_run_arguments, beta_type, out_dir, positive_float, positive_int, print_figures

NAME = "ellipse"
HELP = "the lecture's ellipse: E(y, z) = [y1 - w1 cos z]^2 + [y2 - w2 sin z]^2, z on [0 : pi/24 : 2pi)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conditional", action="store_true", help="E(x, y, z) with radii f(x) from an MLP 1-8-8-2")
    parser.add_argument("--beta", type=beta_type, default=math.inf, help="inverse temperature of F_beta (default inf)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="Adam epochs (default 100 / 150 conditional)")
    parser.add_argument("--lr", type=positive_float, default=None, help="Adam learning rate (default 0.05 / 0.02)")
    parser.add_argument("--n-samples", type=positive_int, default=None, help="training points (default 1000 / 5100)")
    parser.add_argument("--n-init", type=positive_int, default=None, help="restarts, best kept (default 1 / 3)")
    add_run_arguments(parser)


def run(args: argparse.Namespace) -> Path:
    from ..models.ellipse import EllipseConfig, train_ellipse
    from ..plotting import ellipse as plots
    from ..runs import RunDirectory

    config = EllipseConfig(
        conditional=args.conditional,
        beta=args.beta,
        epochs=args.epochs,
        lr=args.lr,
        n_samples=args.n_samples,
        n_init=args.n_init,
        seed=args.seed,
        device=args.device,
    )
    config = config.resolved()
    run_dir = RunDirectory(out_dir(args, "ellipse-conditional" if args.conditional else "ellipse"))
    fit = train_ellipse(config, run=run_dir, resume=args.resume, show_progress=not args.no_progress)
    plots.plot_all(fit, run_dir.path)
    if not args.conditional:
        w1, w2 = fit.model.w.tolist()
        print(f"trained w = ({w1:.4f}, {w2:.4f}); the data's radii are (2, 1.5); final loss {fit.final_loss:.5f}")
    else:
        print(f"final loss {fit.final_loss:.5f}")
    print_figures(run_dir.path)
    return run_dir.path
