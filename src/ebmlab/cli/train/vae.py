"""``ebmlab train vae``: a variational autoencoder on images (MLP or convolutional; ELBO, beta-VAE or IWAE)."""

from __future__ import annotations

import argparse
from typing import Any

from .._args import add_run_arguments, nonnegative_float, positive_int
from .autoencoder import add_model_arguments, model_settings

NAME = "vae"
HELP = "variational autoencoder: E(y, z) = -log p(y|z) - log p(z), amortised inference q(z|y), ELBO or IWAE"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--beta-kl", type=nonnegative_float, default=1.0, help="weight of the KL term (beta-VAE)")
    parser.add_argument(
        "--iwae-k", type=positive_int, default=1, help="importance samples of the training bound (1: the ELBO)"
    )
    add_run_arguments(parser, checkpoint_every=5)


def make_config(args: argparse.Namespace) -> Any:
    from ...recipes.vae import VAEConfig

    return VAEConfig(**model_settings(args), beta_kl=args.beta_kl, iwae_k=args.iwae_k).resolved()
