"""``ebmlab train autoencoder``: a plain autoencoder on images, to compare with ``ebmlab train vae``."""

from __future__ import annotations

import argparse
from typing import Any

from .._args import add_data_arguments, add_run_arguments, positive_float, positive_int

NAME = "autoencoder"
HELP = "plain autoencoder: E(y, z) = -log p(y|z), z = Enc(y) (the VAE's comparison, same layers)"
ACTIVATIONS = ("relu", "tanh", "elu", "softplus", "leaky-relu", "silu")  # ebmlab.models.vae.ACTIVATIONS
DECODERS = ("bernoulli", "gaussian")  # ebmlab.models.vae.LIKELIHOODS


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags the autoencoder and the VAE share: data, layers, decoder, binarisation, optimisation
    (the run flags come after the model's own, from :func:`add_run_arguments`)."""
    add_data_arguments(parser, default="digits", choices="digits (8x8, trains in seconds), mnist, fashion-mnist")
    parser.add_argument(
        "--conv", action="store_true", help="two 4x4 stride-2 convolutions (32, 64 channels) before the hidden layers"
    )
    parser.add_argument(
        "--hidden", type=positive_int, nargs="+", default=[400], metavar="H", help="hidden layer widths of the encoder"
    )
    parser.add_argument("--latent", type=positive_int, default=20, help="latent dimension d")
    parser.add_argument("--activation", choices=ACTIVATIONS, default="relu", help="hidden activation")
    parser.add_argument(
        "--decoder",
        choices=DECODERS,
        default="bernoulli",
        help="p(y|z): Bernoulli pixels (logits; data in [0, 1]) or Gaussian (means, one learned sigma)",
    )
    parser.add_argument(
        "--binarize",
        choices=("none", "static", "dynamic"),
        default="none",
        help="grey values as pixel probabilities: keep them, draw binary images once, or per minibatch",
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="passes over the training data (default 10 for mnist and fashion-mnist, else 100)",
    )
    parser.add_argument("--batch-size", type=positive_int, default=128, help="minibatch size")
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate")
    parser.add_argument(
        "--n-samples", type=positive_int, default=None, help="training images (default: all of the training part)"
    )


def model_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings :func:`add_model_arguments` reads, as config fields."""
    return {
        "data": args.data,
        "conv": args.conv,
        "hidden": tuple(args.hidden),
        "latent": args.latent,
        "activation": args.activation,
        "decoder": args.decoder,
        "binarize": args.binarize,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "n_samples": args.n_samples,
        "data_root": args.data_root,
        "download": args.download,
        "seed": args.seed,
        "device": args.device,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    add_run_arguments(parser, checkpoint_every=5)


def make_config(args: argparse.Namespace) -> Any:
    from ...recipes.vae import AutoencoderConfig

    return AutoencoderConfig(**model_settings(args)).resolved()
