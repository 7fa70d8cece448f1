"""The ``ebmlab`` command line.

``ebmlab train MODEL [options]`` trains one of the models in :mod:`ebmlab.commands`; every module
there that defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> Path`` is a
command, found at start-up. Bad arguments and invalid settings print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from . import __version__, commands

__all__ = ["main"]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (``ebmlab: error: ...``) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def _discover() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if all(hasattr(module, attr) for attr in ("NAME", "HELP", "add_arguments", "run")):
            found[module.NAME] = module
    return dict(sorted(found.items()))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ebmlab",
        description="Energy-based models: train the lecture's models, save runs, draw their figures.",
    )
    parser.add_argument("--version", action="version", version=f"ebmlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    train = sub.add_parser("train", help="train a model and write a run directory", description="Train a model.")
    models = train.add_subparsers(dest="model", metavar="MODEL", parser_class=_Parser)
    models.required = True
    for name, module in _discover().items():
        model_parser = models.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(model_parser)
        model_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ebmlab`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        out: Path = args._run(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        sys.stderr.write(f"ebmlab: error: {exc}\n")
        return EXIT_USAGE
    except FloatingPointError as exc:  # a diverged training: the message names the step and the step size
        sys.stderr.write(f"ebmlab: training diverged: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("ebmlab: interrupted; run again with --resume to continue from the last checkpoint\n")
        return 130
    print(f"run saved in {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
