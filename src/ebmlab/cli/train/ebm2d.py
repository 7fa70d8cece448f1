"""``ebmlab train ebm2d``: an MLP energy on a 2-D toy density by CD-k or persistent CD with Langevin chains."""

from __future__ import annotations

import argparse
from typing import Any

from .._args import add_run_arguments, fraction, nonnegative_float, positive_float, positive_int

NAME = "ebm2d"
HELP = "MLP energy on a 2-D toy (rings, moons, 8gaussians, checkerboard, pinwheel, spirals) by CD-k or PCD"
TOYS = ("rings", "moons", "8gaussians", "checkerboard", "pinwheel", "spirals")  # ebmlab.data.TOYS, without torch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--toy", choices=TOYS, default="8gaussians", help="the 2-D density to learn")
    parser.add_argument(
        "--method",
        choices=("cd", "pcd"),
        default="pcd",
        help="cd: chains start at the data (CD-k); pcd: persistent chains in a replay buffer",
    )
    parser.add_argument("--batch-size", type=positive_int, default=256, help="data points (and chains) per step")
    parser.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate")
    parser.add_argument("--hidden", type=positive_int, default=128, help="hidden width of the MLP energy")
    parser.add_argument("--depth", type=positive_int, default=2, help="hidden layers of the MLP energy")
    parser.add_argument("--langevin-steps", type=positive_int, default=20, help="k, Langevin steps per chain and step")
    parser.add_argument("--step-size", type=positive_float, default=0.01, help="Langevin step size eta")
    parser.add_argument("--noise-scale", type=nonnegative_float, default=0.1, help="Langevin noise scale sigma")
    parser.add_argument(
        "--grad-clip",
        type=positive_float,
        default=None,
        help="clip Langevin gradient entries to [-c, c] (default: no clipping)",
    )
    parser.add_argument("--buffer-size", type=positive_int, default=10000, help="persistent chains (pcd)")
    parser.add_argument("--reinit-prob", type=fraction, default=0.05, help="share of chains restarted from noise (pcd)")
    parser.add_argument(
        "--energy-reg", type=nonnegative_float, default=0.1, help="alpha of the regulariser alpha (E(y)^2 + E(y_bar)^2)"
    )
    add_run_arguments(parser, steps=2000, checkpoint_every=500)


def make_config(args: argparse.Namespace) -> Any:
    from ...recipes.ebm2d import EBM2DConfig

    return EBM2DConfig(
        toy=args.toy,
        method=args.method,
        hidden=args.hidden,
        depth=args.depth,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        langevin_steps=args.langevin_steps,
        step_size=args.step_size,
        noise_scale=args.noise_scale,
        grad_clip=args.grad_clip,
        buffer_size=args.buffer_size,
        reinit_prob=args.reinit_prob,
        energy_reg=args.energy_reg,
        seed=args.seed,
        device=args.device,
    ).validated()
