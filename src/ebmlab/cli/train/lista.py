"""``ebmlab train lista``: LISTA against ISTA and FISTA on the same learned dictionary."""

from __future__ import annotations

import argparse
from typing import Any

from .._args import add_run_arguments, nonnegative_float, positive_float, positive_int

NAME = "lista"
HELP = "LISTA (Gregor & LeCun 2010): unrolled ISTA with learned weights, vs ISTA and FISTA on the same dictionary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-samples", type=positive_int, default=12000, help="8x8 china.jpg patches, a sixth held out")
    parser.add_argument("--n-components", type=positive_int, default=128, help="atoms K")
    parser.add_argument("--alpha", type=positive_float, default=0.3, help="the lecture's alpha")
    parser.add_argument("--layers", type=positive_int, default=16, help="LISTA layers T")
    parser.add_argument("--tied", action="store_true", help="share weights across layers")
    parser.add_argument(
        "--variant",
        choices=["lista", "cp", "cpss", "cpm"],
        default="lista",
        help="plain LISTA, coupled weights (LISTA-CP), with support selection (LISTA-CPSS) or with learned momentum",
    )
    parser.add_argument(
        "--support-step", type=nonnegative_float, default=1.2, help="cpss: percent of entries selected per layer"
    )
    parser.add_argument("--support-max", type=nonnegative_float, default=13.0, help="cpss: largest percent selected")
    parser.add_argument(
        "--schedule",
        choices=["joint", "layerwise"],
        default="joint",
        help="train all layers together, or layer by layer (--stage-epochs each) then all together (--epochs)",
    )
    parser.add_argument("--stage-epochs", type=positive_int, default=1, help="layerwise: epochs per stage")
    parser.add_argument(
        "--supervision",
        choices=["all", "last"],
        default="all",
        help="codes objective: fit every layer's output (deep supervision) or the last layer's only",
    )
    parser.add_argument(
        "--objective",
        choices=["codes", "energy"],
        default="codes",
        help="fit FISTA's codes, or minimise the energy E(y, Enc(y))",
    )
    parser.add_argument(
        "--flips",
        action="store_true",
        help="add the training patches' mirror images (4x the data, each with its FISTA target)",
    )
    parser.add_argument(
        "--transposes",
        action="store_true",
        help="add the training patches' transposes (2x the data; with --flips the 8 symmetries of the square)",
    )
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate (cosine-decayed)")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="mini-batch size")
    add_run_arguments(parser, epochs=30)


def make_config(args: argparse.Namespace) -> Any:
    from ...recipes.lista import LISTAConfig

    return LISTAConfig(
        n_samples=args.n_samples,
        n_components=args.n_components,
        alpha=args.alpha,
        layers=args.layers,
        tied=args.tied,
        variant=args.variant,
        support_step=args.support_step,
        support_max=args.support_max,
        objective=args.objective,
        schedule=args.schedule,
        stage_epochs=args.stage_epochs,
        supervision=args.supervision,
        flips=args.flips,
        transposes=args.transposes,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
    ).validated()
