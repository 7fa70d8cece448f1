"""``ebmlab train ellipse``: the lecture's ellipse manifold, unconditional or conditional."""

from __future__ import annotations

import argparse
import math
from typing import Any

from .._args import add_run_arguments, beta_type, positive_float, positive_int

NAME = "ellipse"
HELP = "the lecture's ellipse: E(y, z) = [y1 - w1 cos z]^2 + [y2 - w2 sin z]^2, z on [0 : pi/24 : 2pi)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conditional", action="store_true", help="E(x, y, z) with radii f(x) from an MLP 1-8-8-2")
    parser.add_argument(
        "--beta", type=beta_type, default=math.inf, help="inverse temperature of F_beta (inf: zero temperature)"
    )
    parser.add_argument(
        "--lr", type=positive_float, default=None, help="Adam learning rate (default 0.05 / 0.02 conditional)"
    )
    parser.add_argument("--n-samples", type=positive_int, default=None, help="training points (default 1000 / 5100)")
    parser.add_argument("--n-init", type=positive_int, default=None, help="restarts, best kept (default 1 / 3)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="Adam epochs per restart (default 100 / 150)")
    add_run_arguments(parser, checkpoint_every=10)


def make_config(args: argparse.Namespace) -> Any:
    from ...recipes.ellipse import EllipseConfig

    return EllipseConfig(
        conditional=args.conditional,
        beta=args.beta,
        epochs=args.epochs,
        lr=args.lr,
        n_samples=args.n_samples,
        n_init=args.n_init,
        seed=args.seed,
        device=args.device,
    ).resolved()
