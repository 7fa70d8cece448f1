"""``ebmlab train rbm``: a restricted Boltzmann machine trained by (persistent) contrastive divergence."""

from __future__ import annotations

import argparse
from typing import Any

from .._args import add_data_arguments, add_run_arguments, nonnegative_int, positive_float, positive_int

NAME = "rbm"
HELP = "restricted Boltzmann machine, Bernoulli or Gaussian visible units, trained by PCD-k or CD-k"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser, default="digits", choices="digits, mnist, fashion-mnist")
    parser.add_argument(
        "--n-samples", type=positive_int, default=None, help="random subset of the training rows (default: all)"
    )
    parser.add_argument("--visible", choices=("bernoulli", "gaussian"), default="bernoulli", help="visible units")
    parser.add_argument("--sigma", type=positive_float, default=1.0, help="Gaussian units' standard deviation")
    parser.add_argument("--no-binarize", action="store_true", help="keep Bernoulli data in [0, 1] (no 0.5 threshold)")
    parser.add_argument("--hidden", type=positive_int, default=64, help="hidden units K")
    parser.add_argument("--lr", type=positive_float, default=0.05, help="learning rate")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="minibatch size and number of chains")
    parser.add_argument("--cd", action="store_true", help="CD-k chains started at the data (default: persistent CD)")
    parser.add_argument("--gibbs-steps", type=positive_int, default=1, help="k, Gibbs steps per update")
    recipe = parser.add_argument_group("quality recipe (Hinton 2010; defaults: scikit-learn's plain update)")
    recipe.add_argument("--momentum", type=float, default=0.0, help="momentum after the warm-up epochs")
    recipe.add_argument(
        "--initial-momentum", type=float, default=None, help="momentum during the warm-up epochs (default: --momentum)"
    )
    recipe.add_argument("--momentum-warmup", type=nonnegative_int, default=5, help="epochs run at --initial-momentum")
    recipe.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty on W")
    recipe.add_argument(
        "--final-lr",
        type=float,
        default=None,
        help="anneal the learning rate linearly to this value, e.g. 0 (default: a constant learning rate)",
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
        help="dtype of the training products (bfloat16: ~0.6x the time on CPUs with AVX-512 BF16)",
    )
    parser.add_argument("--sample-steps", type=nonnegative_int, default=1000, help="Gibbs steps of the sample chains")
    parser.add_argument(
        "--ais-betas", type=positive_int, default=10000, help="AIS steps (log Z is exact up to 20 units)"
    )
    parser.add_argument("--ais-chains", type=positive_int, default=100, help="AIS runs")
    add_run_arguments(parser, epochs=20)


#: what ``--quality`` stands for (Hinton 2010, Tieleman 2008), and the plain update it replaces
QUALITY: dict[str, Any] = {
    "momentum": 0.9,
    "initial_momentum": 0.5,
    "weight_decay": 2e-4,
    "final_learning_rate": 0.0,
    "init_visible_bias": "data",
}
PLAIN: dict[str, Any] = {
    "momentum": 0.0,
    "initial_momentum": None,
    "weight_decay": 0.0,
    "final_learning_rate": None,
    "init_visible_bias": "zero",
}


def _recipe_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The quality-recipe settings: ``--quality``'s values, overridden by any recipe flag set explicitly."""
    given = {
        "momentum": args.momentum,
        "initial_momentum": args.initial_momentum,
        "weight_decay": args.weight_decay,
        "final_learning_rate": args.final_lr,
        "init_visible_bias": args.init_visible_bias,
    }
    settings = dict(QUALITY) if args.quality else dict(PLAIN)
    settings.update({name: value for name, value in given.items() if value != PLAIN[name]})
    settings["momentum_warmup_epochs"] = args.momentum_warmup
    return settings


def make_config(args: argparse.Namespace) -> Any:
    from ...recipes.rbm import RBMConfig

    return RBMConfig(
        data=args.data,
        data_root=args.data_root,
        download=args.download,
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
        **_recipe_settings(args),
        matmul_dtype=args.matmul_dtype,
        seed=args.seed,
        device=args.device,
        sample_steps=args.sample_steps,
        ais_betas=args.ais_betas,
        ais_chains=args.ais_chains,
    ).validated()
