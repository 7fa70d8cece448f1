"""Argument helpers shared by the training commands."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

__all__ = ["add_run_arguments", "beta_type", "out_dir", "positive_float", "positive_int", "print_figures"]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
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


def add_run_arguments(parser: argparse.ArgumentParser, *, epochs: int | None = None) -> None:
    """``--seed --device --out --resume --no-progress`` (and ``--epochs`` when a default is given)."""
    if epochs is not None:
        parser.add_argument("--epochs", type=positive_int, default=epochs, help=f"training epochs (default {epochs})")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    parser.add_argument("--out", type=Path, default=None, help="run directory (default runs/MODEL-TIMESTAMP)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def out_dir(args: argparse.Namespace, model: str) -> Path:
    """The run directory: ``--out`` or ``runs/MODEL-YYYYmmdd-HHMMSS``; ``--resume`` needs ``--out``."""
    if args.out is not None:
        return Path(args.out)
    if args.resume:
        raise ValueError("--resume needs --out DIR naming the run to continue")
    return Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"


def print_figures(run_path: Path) -> None:
    """List the PNG figures a command wrote into its run directory, one ``figure: PATH`` line each."""
    for figure in sorted(run_path.glob("*.png")):
        print(f"figure: {figure}")
