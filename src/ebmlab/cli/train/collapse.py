"""``ebmlab train collapse``: the linear latent model trained by the energy loss alone (it collapses), by a
contrastive loss and with a regulariser, side by side; draws collapse.png."""

from __future__ import annotations

import argparse
from typing import Any

from .._args import add_run_arguments, positive_float, positive_int

NAME = "collapse"
HELP = (
    "collapse, shown: E(y, z) = ||y - Wz - b||^2 + lambda ||z||^2 trained by the energy loss alone (flattens), "
    "a contrastive loss and a regulariser"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lr", type=positive_float, default=0.1, help="Adam learning rate of every shaping")
    parser.add_argument(
        "--margin", type=positive_float, default=1.0, help="m of the contrastive loss [F(y)]+ + [m - F(y_bar)]+"
    )
    parser.add_argument(
        "--n-negatives", type=positive_int, default=16, help="uniform negatives per point (contrastive shaping)"
    )
    parser.add_argument("--n-samples", type=positive_int, default=500, help="training points near the line segment")
    parser.add_argument("--ridge", type=positive_float, default=0.5, help="lambda of the latent penalty")
    add_run_arguments(
        parser, epochs=300, checkpoint_every=100, budget_help="(each one full-batch step of all three shapings)"
    )


def make_config(args: argparse.Namespace) -> Any:
    from ...recipes.collapse import CollapseConfig

    return CollapseConfig(
        epochs=args.epochs,
        lr=args.lr,
        margin=args.margin,
        n_negatives=args.n_negatives,
        n_samples=args.n_samples,
        ridge=args.ridge,
        seed=args.seed,
        device=args.device,
    ).validated()
