"""``ebmlab train rbm``: a restricted Boltzmann machine trained by (persistent) contrastive divergence."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_run_arguments, out_dir, positive_float, positive_int, print_figures

NAME = "rbm"
HELP = "restricted Boltzmann machine, Bernoulli or Gaussian visible units, trained by PCD-k or CD-k"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="digits", help="digits, mnist, fashion-mnist or a .npy/.csv (default digits)")
    parser.add_argument("--data-root", default=None, help="folder holding the MNIST IDX files")
    parser.add_argument("--n-samples", type=positive_int, default=None, help="random subset of the training rows")
    parser.add_argument("--visible", choices=("bernoulli", "gaussian"), default="bernoulli", help="visible units")
    parser.add_argument("--sigma", type=positive_float, default=1.0, help="Gaussian units' std (default 1)")
    parser.add_argument("--no-binarize", action="store_true", help="keep Bernoulli data in [0, 1] (no 0.5 threshold)")
    parser.add_argument("--hidden", type=positive_int, default=64, help="hidden units K (default 64)")
    parser.add_argument("--lr", type=positive_float, default=0.05, help="learning rate (default 0.05)")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="minibatch and chains (default 100)")
    parser.add_argument("--cd", action="store_true", help="CD-k chains started at the data (default: persistent CD)")
    parser.add_argument("--gibbs-steps", type=positive_int, default=1, help="k, Gibbs steps per update (default 1)")
    recipe = parser.add_argument_group("quality recipe (Hinton 2010; defaults: scikit-learn's plain update)")
    recipe.add_argument("--momentum", type=float, default=0.0, help="momentum after the warm-up epochs (default 0)")
    recipe.add_argument("--initial-momentum", type=float, default=None, help="momentum during the warm-up epochs")
    recipe.add_argument("--momentum-warmup", type=int, default=5, help="epochs at --initial-momentum (default 5)")
    recipe.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty on W (default 0)")
    recipe.add_argument(
        "--final-lr", type=float, default=None, help="anneal the learning rate linearly to this value (e.g. 0)"
    )
    recipe.add_argument(
        "--init-visible-bias", choices=("zero", "data"), default="zero", help="visible biases: 0 or logit(data mean)"
    )
    recipe.add_argument(
        "--quality",
        action="store_true",
        help="shorthand for --momentum 0.9 --initial-momentum 0.5 --weight-decay 2e-4 --final-lr 0 "
        "--init-visible-bias data (explicit flags given as well win)",
    )
    parser.add_argument(
        "--matmul-dtype",
        choices=("float32", "bfloat16"),
        default="float32",
        help="dtype of the training products (bfloat16: ~0.6x the time on CPUs with AVX-512 BF16; default float32)",
    )
    parser.add_argument("--sample-steps", type=int, default=1000, help="Gibbs steps of the sample chains")
    parser.add_argument("--ais-betas", type=positive_int, default=10000, help="AIS steps when K > 20 (default 10000)")
    parser.add_argument("--ais-chains", type=positive_int, default=100, help="AIS runs (default 100)")
    add_run_arguments(parser, epochs=20)


QUALITY = {
    "momentum": 0.9,
    "initial_momentum": 0.5,
    "weight_decay": 2e-4,
    "final_learning_rate": 0.0,
    "init_visible_bias": "data",
}


def _recipe(args: argparse.Namespace) -> dict:
    """The recipe settings: ``--quality``'s values, overridden by any recipe flag set explicitly."""
    given = {
        "momentum": args.momentum,
        "initial_momentum": args.initial_momentum,
        "weight_decay": args.weight_decay,
        "final_learning_rate": args.final_lr,
        "init_visible_bias": args.init_visible_bias,
    }
    defaults = {"momentum": 0.0, "initial_momentum": None, "weight_decay": 0.0, "final_learning_rate": None}
    defaults["init_visible_bias"] = "zero"
    settings = dict(QUALITY) if args.quality else dict(defaults)
    settings.update({name: value for name, value in given.items() if value != defaults[name]})
    settings["momentum_warmup_epochs"] = args.momentum_warmup
    return settings


def run(args: argparse.Namespace) -> Path:
    from ..models.rbm import RBMConfig, train_rbm
    from ..plotting import rbm as plots
    from ..runs import RunDirectory

    config = RBMConfig(
        data=args.data,
        data_root=args.data_root,
        n_samples=args.n_samples,
        visible=args.visible,
        sigma=args.sigma,
        binarize=not args.no_binarize,
        n_components=args.hidden,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        persistent=not args.cd,
        n_gibbs_steps=args.gibbs_steps,
        **_recipe(args),
        matmul_dtype=args.matmul_dtype,
        seed=args.seed,
        device=args.device,
        sample_steps=args.sample_steps,
        ais_betas=args.ais_betas,
        ais_chains=args.ais_chains,
    ).validated()
    run_dir = RunDirectory(out_dir(args, f"rbm-{args.visible}"))
    try:
        fit = train_rbm(config, run=run_dir, resume=args.resume, show_progress=not args.no_progress)
    except FloatingPointError as exc:  # a diverged chain is a bad setting: a one-line CLI error
        raise ValueError(str(exc)) from exc
    plots.plot_all(fit, run_dir.path)
    per_epoch = sum(fit.epoch_seconds) / max(len(fit.epoch_seconds), 1)
    line = f"{len(fit.epoch_seconds)} epoch(s) this run, {per_epoch:.2f} s/epoch"
    if fit.pseudo_likelihoods:
        line += f"; pseudo-likelihood {fit.pseudo_likelihoods[-1]:.2f}"
    print(line)
    spread = f" ± {fit.log_partition_std:.2f}" if fit.log_partition_method == "ais" else ""
    print(f"log Z = {fit.log_partition:.2f}{spread} ({fit.log_partition_method})")
    print(f"mean log-likelihood: train {fit.log_likelihood_train:.2f} nats", end="")
    print("" if fit.log_likelihood_test is None else f", test {fit.log_likelihood_test:.2f} nats")
    print_figures(run_dir.path)
    return run_dir.path
