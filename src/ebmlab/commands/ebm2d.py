"""``ebmlab train ebm2d``: an MLP energy on a 2-D toy density by CD-k or persistent CD with Langevin chains."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_run_arguments, out_dir, positive_float, positive_int, print_figures

NAME = "ebm2d"
HELP = "MLP energy on a 2-D toy (rings, moons, 8gaussians, checkerboard, pinwheel, spirals) by CD-k or PCD"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--toy", choices=("rings", "moons", "8gaussians", "checkerboard", "pinwheel", "spirals"), default="8gaussians"
    )
    parser.add_argument(
        "--method",
        choices=("cd", "pcd"),
        default="pcd",
        help="cd: chains start at the data (CD-k); pcd: persistent replay buffer (default)",
    )
    parser.add_argument("--iterations", type=positive_int, default=2000, help="training steps (default 2000)")
    parser.add_argument("--batch-size", type=positive_int, default=256)
    parser.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate (default 3e-3)")
    parser.add_argument("--hidden", type=positive_int, default=128, help="hidden width (default 128)")
    parser.add_argument("--langevin-steps", type=positive_int, default=20, help="k, steps per chain (default 20)")
    parser.add_argument("--step-size", type=positive_float, default=0.01, help="Langevin step size (default 0.01)")
    parser.add_argument("--noise-scale", type=float, default=0.1, help="Langevin noise scale (default 0.1)")
    parser.add_argument("--grad-clip", type=positive_float, default=None, help="clip Langevin gradients to [-c, c]")
    parser.add_argument("--buffer-size", type=positive_int, default=10000)
    parser.add_argument("--reinit-prob", type=float, default=0.05, help="fresh-noise restarts in PCD (default 0.05)")
    parser.add_argument("--energy-reg", type=float, default=0.1, help="alpha of alpha*(E+^2 + E-^2) (default 0.1)")
    parser.add_argument(
        "--collapse-demo",
        action="store_true",
        help="instead: train the linear latent model with the energy loss, a contrastive loss and a "
        "regulariser, and draw collapse.png",
    )
    add_run_arguments(parser)


def _collapse_demo(args: argparse.Namespace) -> Path:
    from ..models.collapse import SHAPINGS, train_collapse
    from ..plotting.contrastive import plot_collapse
    from ..runs import RunDirectory

    run_dir = RunDirectory(out_dir(args, "collapse"))
    run_dir.write_config({"demo": "collapse", "shapings": SHAPINGS, "seed": args.seed})
    fits = [train_collapse(shaping, seed=args.seed) for shaping in SHAPINGS]
    for fit in fits:
        run_dir.log_metrics({"shaping": fit.shaping, "spread": fit.spread, "final_loss": fit.losses[-1]})
        print(f"{fit.shaping:12s} energy spread off the manifold {fit.spread:.5f}")
    print(f"figure: {plot_collapse(fits, run_dir.file('collapse.png'))}")
    return run_dir.path


def run(args: argparse.Namespace) -> Path:
    if args.collapse_demo:
        return _collapse_demo(args)
    from ..models.ebm2d import EBM2DConfig, train_ebm2d
    from ..plotting.contrastive import plot_ebm2d
    from ..runs import RunDirectory

    config = EBM2DConfig(
        toy=args.toy,
        method=args.method,
        iterations=args.iterations,
        batch_size=args.batch_size,
        lr=args.lr,
        hidden=args.hidden,
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
    run_dir = RunDirectory(out_dir(args, f"ebm2d-{args.toy}"))
    fit = train_ebm2d(config, run=run_dir, resume=args.resume, show_progress=not args.no_progress)
    plot_ebm2d(fit, run_dir.path)
    print(f"MMD^2 of {config.n_eval} samples to the true density: {fit.mmd:.5f} (true vs true {fit.mmd_baseline:.5f})")
    print_figures(run_dir.path)
    return run_dir.path
