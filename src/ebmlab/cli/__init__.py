"""The ``ebmlab`` command line: argv → settings → the one training loop.

Commands: ``train MODEL`` (one module per model in :mod:`ebmlab.cli.train`), ``evaluate RUN``,
``sample RUN``, ``plot RUN``, ``transcribe RUN IMAGE``, ``runs [DIR]``, ``tour`` (every model and
one HTML report) and ``report RUN...``. Exit codes, for every command:

* 0 success;
* 1 a training that diverged (one line naming the step and the setting to lower);
* 2 bad input: arguments, data files, run directories, checkpoints (one line naming the argument
  or file, what was expected and what was found);
* 130 interrupted (after saving a checkpoint).

Nothing here imports torch until a command runs, so ``ebmlab --help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from . import train as train_commands
from ._args import positive_int

__all__ = ["EXIT_DIVERGED", "EXIT_INTERRUPTED", "EXIT_USAGE", "build_parser", "main"]

EXIT_DIVERGED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_INTERNAL = 1, 2, 130, 3
VERSION = "0.1.0"


class _ShowDefaults(argparse.HelpFormatter):
    """Appends ``(default: X)`` to every option that takes a value, unless its help already says
    ``default`` (options whose default is None explain it in their help)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        shown = default is not None and default is not False and default != argparse.SUPPRESS and action.nargs != 0
        if shown and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (``ebmlab: error: ...``) and exit code 2; help shows defaults."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("formatter_class", _ShowDefaults)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def _discover() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(train_commands.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{train_commands.__name__}.{info.name}")
        if all(hasattr(module, attr) for attr in ("NAME", "HELP", "add_arguments", "make_config")):
            found[module.NAME] = module
    return dict(sorted(found.items()))


def _model_list(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated model names, got {text!r}")
    return names


def build_parser() -> argparse.ArgumentParser:
    """The ``ebmlab`` argument parser: ``train MODEL`` (one sub-command per :mod:`ebmlab.cli.train`
    module), ``tour`` and ``report``, each flag with its default shown in ``--help``.

    Example:
        >>> args = build_parser().parse_args(["train", "kmeans", "--k", "3"])
        >>> args.command, args.model, args.k, args.data
        ('train', 'kmeans', 3, 'blobs')
    """
    parser = _Parser(
        prog="ebmlab",
        description="Energy-based models: train the lecture's models, save runs, use them, draw their figures.",
        epilog="exit codes: 0 success, 1 diverged training, 2 bad input, 130 interrupted (after saving)",
    )
    parser.add_argument("--version", action="version", version=f"ebmlab {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    train = sub.add_parser("train", help="train a model into a run directory", description="Train a model.")
    models = train.add_subparsers(dest="model", metavar="MODEL", parser_class=_Parser)
    models.required = True
    for name, module in _discover().items():
        model_parser = models.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(model_parser)
        model_parser.set_defaults(_handler="train", _module=module, _parser=model_parser)

    evaluate = sub.add_parser("evaluate", help="a saved run's metrics on its evaluation data")
    evaluate.add_argument("run", type=Path, metavar="RUN", help="run directory")
    evaluate.add_argument("--device", default=None, help="torch device (default: the run's)")
    evaluate.add_argument(
        "--iwae-k", type=positive_int, default=None, help="VAE runs: importance samples of the log-likelihood bound"
    )
    evaluate.set_defaults(_handler="evaluate")

    sample = sub.add_parser("sample", help="draw samples of a saved generative model (PNG + .npy)")
    sample.add_argument("run", type=Path, metavar="RUN", help="run directory")
    sample.add_argument("-n", "--n-samples", type=positive_int, default=64, help="how many samples")
    sample.add_argument("--seed", type=int, default=0, help="random seed")
    sample.add_argument("--out", type=Path, default=None, help="PNG (default RUN/drawn-N-seedS.png; .npy beside it)")
    sample.add_argument("--device", default=None, help="torch device (default: the run's)")
    sample.set_defaults(_handler="sample")

    plot = sub.add_parser("plot", help="redraw a saved run's figures")
    plot.add_argument("run", type=Path, metavar="RUN", help="run directory")
    plot.set_defaults(_handler="plot")

    transcribe = sub.add_parser("transcribe", help="transcribe a word image with a saved word-transcription run")
    transcribe.add_argument("run", type=Path, metavar="RUN", help="run directory of 'ebmlab train words'")
    transcribe.add_argument("image", type=Path, metavar="IMAGE", help="grayscale PNG of a word, 32 pixels high")
    transcribe.set_defaults(_handler="transcribe")

    tour = sub.add_parser(
        "tour",
        help="train every lecture model on embedded data and write one interactive HTML report",
        description="Train every lecture model on embedded data (each into its own run directory, "
        "through 'ebmlab train') and write DIR/index.html: formulas, figures, metrics, the command "
        "of each run, and an interactive free energy.",
    )
    tour.add_argument("--quick", action="store_true", help="small budgets: under two minutes on two cores")
    tour.add_argument(
        "--out", type=Path, default=None, help="folder of the runs and index.html (default runs/tour-TIMESTAMP)"
    )
    tour.add_argument(
        "--only", type=_model_list, default=None, metavar="MODELS", help="comma-separated models (default: all)"
    )
    tour.add_argument("--seed", type=int, default=0, help="random seed of every run")
    tour.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1, mps")
    tour.add_argument("--overwrite", action="store_true", help="replace a tour already in --out")
    tour.add_argument(
        "--resume", action="store_true", help="continue the tour in --out: finished models kept, a stopped one resumed"
    )
    tour.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    tour.set_defaults(_handler="tour")

    report = sub.add_parser("report", help="one self-contained HTML page for saved runs")
    report.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="run directories, or folders of runs")
    report.add_argument(
        "--out", type=Path, default=None, help="HTML file (default RUN/report.html for one RUN, else ./report.html)"
    )
    report.add_argument("--title", default="ebmlab report", help="the page's title")
    report.set_defaults(_handler="report")

    runs = sub.add_parser("runs", help="one line per run in a folder: model, status, steps, key metric, age")
    runs.add_argument("folder", type=Path, nargs="?", default=Path("runs"), metavar="DIR", help="folder of runs")
    runs.set_defaults(_handler="runs")
    return parser


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError):
        text = f"missing {text}"
    return text.splitlines()[0]


def _say(message: str) -> None:
    """Write one line to stderr; under torchrun only rank 0 speaks (every rank fails alike)."""
    import os

    if os.environ.get("RANK", "0") == "0":
        sys.stderr.write(message)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ebmlab`` console script; returns the exit code.

    0: done; 1: the training diverged; 2: bad input (one line on stderr naming it); 130: interrupted.

    Example:
        >>> import tempfile
        >>> out = tempfile.mkdtemp() + "/run"
        >>> main(["train", "kmeans", "--data", "blobs", "--k", "3", "--out", out, "--no-progress", "--no-plots"])
        ... # doctest: +ELLIPSIS
        kmeans: ... iterations; K = 3: inertia ... (restart 1 of 1 kept)
        run saved in ...
        0
        >>> main(["train", "kmeans", "--k", "5000", "--out", out + "2"])  # more clusters than points: stderr says so
        2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args._argv = argv
    from . import _commands, _tour

    module = _tour if args._handler in ("tour", "report") else _commands
    try:
        return getattr(module, f"run_{args._handler}")(args)
    except KeyboardInterrupt as exc:
        from ..training import Interrupted

        if getattr(exc, "resume_command", None):
            _say(f"ebmlab: interrupted; what was trained is kept; continue with: {exc.resume_command}\n")
        elif isinstance(exc, Interrupted) and exc.checkpoint is not None:
            where = Path(exc.checkpoint).parent
            _say(
                f"ebmlab: interrupted after step {exc.step}; checkpoint saved in {where}; "
                f"continue with the same command plus --resume --out {where}\n"
            )
        else:
            _say("ebmlab: interrupted; the last checkpoint (if any) is kept; continue with --resume\n")
        return EXIT_INTERRUPTED
    except FloatingPointError as exc:  # training.Diverged and the samplers' DivergedChainError
        _say(f"ebmlab: {_first_line(exc)}\n")
        return EXIT_DIVERGED
    except (ValueError, TypeError, LookupError, OSError, RuntimeError) as exc:
        # bad input: arguments, files, run directories, checkpoints, devices
        _say(f"ebmlab: error: {_first_line(exc)}\n")
        return EXIT_USAGE
    except Exception as exc:  # a bug: one line, not a traceback; EBMLAB_DEBUG=1 re-raises
        import os

        if os.environ.get("EBMLAB_DEBUG"):
            raise
        _say(
            f"ebmlab: internal error ({type(exc).__name__}: {_first_line(exc)}); "
            "run with EBMLAB_DEBUG=1 for the traceback\n"
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
