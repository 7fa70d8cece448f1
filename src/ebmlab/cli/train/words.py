"""``ebmlab train words``: transcribe rendered word images, the alignment of windows to characters latent."""

from __future__ import annotations

import argparse
from typing import Any

from .._args import add_run_arguments, fraction, nonnegative_float, nonnegative_int, positive_float, positive_int

NAME = "words"
HELP = (
    "word transcription: E(x, y, z) = C_y(z) + sum_t E_t[z_t] over alignments z of 32x18 windows; "
    "characters first, then words"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--loss",
        choices=("energy", "nll", "hinge"),
        default="hinge",
        help="stage-2 loss: energy = F_inf(x, y) (Viterbi path), nll = F_beta(x, y) - F_beta(x, any y), "
        "hinge = [margin + F_inf(x, y) - F_inf(x, most offending y)]+",
    )
    parser.add_argument(
        "--graph",
        choices=("homework", "ctc"),
        default="homework",
        help="alignment graph: homework = every character followed by the between-characters class; "
        "ctc = optional blanks, repeats collapse",
    )
    parser.add_argument("--beta", type=positive_float, default=1.0, help="inverse temperature of the nll loss")
    parser.add_argument("--margin", type=nonnegative_float, default=1.0, help="margin of the hinge loss")
    parser.add_argument("--char-epochs", type=nonnegative_int, default=2, help="stage 1: epochs on single characters")
    parser.add_argument("--n-chars", type=positive_int, default=5000, help="rendered characters for stage 1")
    parser.add_argument("--n-train", type=positive_int, default=5000, help="rendered training words")
    parser.add_argument("--n-eval", type=positive_int, default=1000, help="rendered held-out words for evaluation")
    parser.add_argument("--min-length", type=positive_int, default=1, help="shortest word")
    parser.add_argument("--max-length", type=positive_int, default=6, help="longest word")
    parser.add_argument("--jitter", type=nonnegative_int, default=2, help="random extra pixels before each character")
    parser.add_argument("--scale", type=fraction, default=0.1, help="font size varies by up to this fraction (<= 0.25)")
    parser.add_argument("--noise", type=nonnegative_float, default=0.1, help="pixel noise standard deviation")
    parser.add_argument("--stride", type=positive_int, default=4, help="pixels between 32x18 windows")
    parser.add_argument("--hidden", type=positive_int, default=128, help="units of the window layer")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="minibatch size")
    parser.add_argument("--lr", type=positive_float, default=2e-3, help="Adam learning rate (cosine decay in stage 2)")
    add_run_arguments(parser, epochs=12, budget_help="of stage 2 (words)")


def make_config(args: argparse.Namespace) -> Any:
    from ...recipes.words import WordsConfig

    return WordsConfig(
        loss=args.loss,
        graph=args.graph,
        beta=args.beta,
        margin=args.margin,
        char_epochs=args.char_epochs,
        epochs=args.epochs,
        n_chars=args.n_chars,
        n_train=args.n_train,
        n_eval=args.n_eval,
        min_length=args.min_length,
        max_length=args.max_length,
        jitter=args.jitter,
        scale=args.scale,
        noise=args.noise,
        stride=args.stride,
        hidden=args.hidden,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
    ).resolved()
