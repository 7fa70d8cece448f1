"""Argument types and the flags every command shares (one vocabulary, every default shown).

This module is imported by ``ebmlab --help``: it must not import torch.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

__all__ = [
    "add_data_arguments",
    "add_run_arguments",
    "beta_type",
    "fraction",
    "nonnegative_float",
    "nonnegative_int",
    "positive_float",
    "positive_int",
]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return value


def beta_type(text: str) -> float:
    """A positive inverse temperature; ``inf`` is the zero-temperature limit."""
    if text.strip().lower() in ("inf", "infinity", "+inf"):
        return math.inf
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number or 'inf', got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"beta must be > 0 (or 'inf'), got {text}")
    return value


def add_data_arguments(
    parser: argparse.ArgumentParser, *, default: str, choices: str, files: str = "PATH.npy or PATH.csv"
) -> None:
    """``--data --data-root --download`` (``choices`` is the help's list of names, ``files`` the file kinds read)."""
    parser.add_argument("--data", default=default, help=f"{choices}, {files}")
    parser.add_argument(
        "--data-root",
        default=None,
        help="folder holding MNIST-style IDX files (default: $EBMLAB_DATA, else ~/.cache/ebmlab)",
    )
    parser.add_argument("--download", action="store_true", help="download MNIST-style data when missing (md5-checked)")


def add_run_arguments(
    parser: argparse.ArgumentParser,
    *,
    epochs: int | None = None,
    steps: int | None = None,
    max_iter: int | None = None,
    checkpoint_every: int = 1,
    budget_help: str = "",
) -> None:
    """The budget flag(s) given a default, then ``--seed --device --out --resume --overwrite
    --no-progress --no-plots --checkpoint-every``."""
    extra = f" {budget_help}" if budget_help else ""
    if epochs is not None:
        parser.add_argument(
            "--epochs",
            type=positive_int,
            default=epochs,
            help=f"passes over the training data{extra}",
        )
    if steps is not None:
        parser.add_argument("--steps", type=positive_int, default=steps, help=f"parameter updates{extra}")
    if max_iter is not None:
        parser.add_argument("--max-iter", type=positive_int, default=max_iter, help=f"solver iterations{extra}")
    run = parser.add_argument_group("run")
    run.add_argument("--seed", type=int, default=0, help="random seed")
    run.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1, mps")
    run.add_argument("--out", type=Path, default=None, help="run directory (default runs/MODEL-TIMESTAMP)")
    run.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    run.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    run.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=checkpoint_every,
        help="units of the budget between checkpoints",
    )
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument(
        "--no-plots", action="store_true", help="skip drawing the figures (ebmlab plot RUN draws them later)"
    )
