"""``ebmlab train dae``: a denoising autoencoder on a 2-D toy or on images (digits, MNIST)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_run_arguments, out_dir, positive_float, positive_int, print_figures

NAME = "dae"
HELP = "denoising autoencoder: E(y, y~) = ||y - Dec(Enc(y~))||^2 with gaussian, masking or salt-pepper corruption"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        default="moons",
        help="a 2-D toy (rings, moons, 8gaussians, checkerboard, pinwheel, spirals) or "
        "digits, mnist, fashion-mnist (default moons)",
    )
    parser.add_argument(
        "--data-root",
        default=None,
        help="folder holding the MNIST IDX files (default $EBMLAB_DATA, else ~/.cache/ebmlab)",
    )
    parser.add_argument("--corruption", choices=("gaussian", "masking", "salt-pepper"), default="gaussian")
    parser.add_argument(
        "--noise",
        type=positive_float,
        default=None,
        help="sigma for gaussian, probability for masking and salt-pepper (default 0.5 2-D / 0.3 images)",
    )
    parser.add_argument("--hidden", type=positive_int, default=None, help="hidden width (default 128 / 256)")
    parser.add_argument("--latent", type=positive_int, default=None, help="code size (default 2 / 32)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="epochs (default 200 / 60)")
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate (default 3e-3)")
    parser.add_argument("--n-samples", type=positive_int, default=None, help="training points (default 4000 2-D / all)")
    add_run_arguments(parser)


def run(args: argparse.Namespace) -> Path:
    from ..models.dae import DAEConfig, train_dae
    from ..plotting.contrastive import plot_dae
    from ..runs import RunDirectory

    config = DAEConfig(
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
        seed=args.seed,
        device=args.device,
    ).resolved()
    run_dir = RunDirectory(out_dir(args, f"dae-{args.data}"))
    fit = train_dae(config, run=run_dir, resume=args.resume, show_progress=not args.no_progress)
    plot_dae(fit, run_dir.path)
    print(f"final denoising loss {fit.losses[-1]:.5f}")
    print_figures(run_dir.path)
    return run_dir.path
