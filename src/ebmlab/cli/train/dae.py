"""``ebmlab train dae``: a denoising autoencoder on a 2-D toy, images (digits, MNIST) or a data file."""

from __future__ import annotations

import argparse
from typing import Any

from .._args import add_data_arguments, add_run_arguments, positive_float, positive_int

NAME = "dae"
HELP = "denoising autoencoder: E(y, y~) = ||y - Dec(Enc(y~))||^2 with gaussian, masking or salt-pepper corruption"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(
        parser,
        default="moons",
        choices="a 2-D toy (rings, moons, 8gaussians, checkerboard, pinwheel, spirals), blobs, digits, mnist, "
        "fashion-mnist",
    )
    parser.add_argument(
        "--corruption",
        choices=("gaussian", "masking", "salt-pepper"),
        default="gaussian",
        help="how y~ is drawn from y",
    )
    parser.add_argument(
        "--noise",
        type=positive_float,
        default=None,
        help="sigma for gaussian, probability for masking and salt-pepper (default 0.5 / 0.3 images)",
    )
    parser.add_argument("--hidden", type=positive_int, default=None, help="hidden width (default 128 / 256 images)")
    parser.add_argument("--latent", type=positive_int, default=None, help="code size (default 2 / 32 images)")
    parser.add_argument(
        "--epochs", type=positive_int, default=None, help="passes over the training data (default 200 / 60 images)"
    )
    parser.add_argument("--batch-size", type=positive_int, default=128, help="minibatch size")
    parser.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate")
    parser.add_argument(
        "--n-samples",
        type=positive_int,
        default=None,
        help="training points (default 4000 for a 2-D toy, else all of the training part)",
    )
    add_run_arguments(parser, checkpoint_every=20)


def make_config(args: argparse.Namespace) -> Any:
    from ...recipes.dae import DAEConfig

    return DAEConfig(
        data=args.data,
        corruption=args.corruption,
        noise=args.noise,
        hidden=args.hidden,
        latent=args.latent,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        n_samples=args.n_samples,
        data_root=args.data_root,
        download=args.download,
        seed=args.seed,
        device=args.device,
    ).resolved()
