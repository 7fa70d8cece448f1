"""``ebmlab tour`` and ``ebmlab report``: every lecture model on embedded data, and one HTML page.

The tour trains each model of :data:`TOUR` through the normal ``ebmlab train`` path (its own run
directory, checkpoints, metrics and figures, the same command line a user would type), then writes
``DIR/index.html`` with :func:`ebmlab.report.write_report`. ``--quick`` uses the small budgets
(under two minutes on two cores); the full tour uses larger ones (under ten minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..training import Diverged, RunError

__all__ = ["TOUR", "TourStop", "run_report", "run_tour"]


@dataclass(frozen=True)
class TourStop:
    """One model of the tour: its ``ebmlab train`` name and the flags of the quick and the full tour."""

    model: str
    quick: tuple[str, ...]
    full: tuple[str, ...]


#: the tour, in the lectures' order; every model trains on data that ships with ebmlab or scikit-learn
TOUR: tuple[TourStop, ...] = (
    TourStop("ellipse", ("--epochs", "40"), ()),
    TourStop("kmeans", (), ()),
    TourStop(
        "sparse-coding",
        ("--n-samples", "3000", "--n-components", "64", "--epochs", "2"),
        ("--n-samples", "8000", "--epochs", "3"),
    ),
    TourStop(
        "lista",
        ("--n-samples", "1500", "--n-components", "64", "--epochs", "6"),
        ("--n-samples", "4000", "--epochs", "15"),
    ),
    TourStop(
        "conv-sparse-coding",
        ("--data", "digits", "--n-samples", "100", "--n-filters", "8", "--kernel-size", "5", "--epochs", "3",
         "--steps-per-epoch", "3", "--encode-max-iter", "30"),
        ("--data", "digits", "--n-samples", "300", "--n-filters", "8", "--kernel-size", "5", "--epochs", "8",
         "--steps-per-epoch", "5"),
    ),
    TourStop("dae", ("--epochs", "25"), ("--epochs", "100")),
    TourStop("ebm2d", ("--steps", "300"), ("--steps", "1500")),
    TourStop("collapse", ("--epochs", "150"), ()),
    TourStop("rbm", ("--epochs", "6", "--hidden", "16", "--sample-steps", "200"), ("--epochs", "15")),
    TourStop("vae", ("--epochs", "20"), ("--epochs", "60")),
    TourStop(
        "words",
        ("--char-epochs", "2", "--n-chars", "2000", "--epochs", "3", "--n-train", "800", "--n-eval", "100",
         "--max-length", "4"),
        ("--epochs", "5", "--n-train", "2500", "--n-eval", "300"),
    ),
)


def _flags(stop: TourStop, args: argparse.Namespace, out: Path) -> list[str]:
    flags = ["train", stop.model, *(stop.quick if args.quick else stop.full)]
    flags += ["--seed", str(args.seed), "--device", args.device, "--out", str(out / stop.model), "--no-progress"]
    run = out / stop.model
    if args.resume and (run / "checkpoint.safetensors").exists():
        return flags + ["--resume"]
    return flags + (["--overwrite"] if args.overwrite or args.resume else [])


def _finished(run: Path) -> bool:
    from ..training import RunDirectory

    summary = RunDirectory(run).read_summary() if (run / "summary.json").exists() else None
    return bool(summary) and summary.get("status") == "finished"


class _Ticker:
    """Refreshes a tqdm bar every second, so its clock moves while one model trains."""

    def __init__(self, bar) -> None:  # type: ignore[no-untyped-def]
        self.bar, self.stop = bar, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        if not sys.stderr.isatty():  # a log file gets one line per model, not one per second
            return
        while not self.stop.wait(1.0):
            self.bar.refresh()

    def __enter__(self) -> _Ticker:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _train(argv: list[str]) -> tuple[int, str]:
    """Run ``ebmlab train`` with ``argv``; its exit code and its last printed line (or error)."""
    from . import _commands, build_parser

    parsed = build_parser().parse_args(argv)
    parsed._argv = argv
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            code = _commands.run_train(parsed)
    except Diverged as exc:
        return 1, str(exc).splitlines()[0]
    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    result = next((line for line in lines if line.startswith(f"{parsed.model}:")), lines[-1] if lines else "")
    return code, result.partition(": ")[2] or result


def run_tour(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from ..report import write_report

    out = Path(args.out) if args.out is not None else Path("runs") / f"tour-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {out}: expected a folder for the tour's runs, found a file")
    if args.resume and args.out is None:
        raise RunError("--resume needs --out DIR naming the tour to continue")
    if args.resume and args.overwrite:
        raise RunError("--resume and --overwrite: give one of them (continue the tour in --out, or replace it)")
    if out.is_dir() and any(out.iterdir()) and not (args.overwrite or args.resume):
        raise RunError(
            f"--out {out}: the folder already holds files; give --resume to continue the tour in it "
            "or --overwrite to replace it"
        )
    out.mkdir(parents=True, exist_ok=True)
    stops = [stop for stop in TOUR if not args.only or stop.model in args.only]
    unknown = sorted(set(args.only or ()) - {stop.model for stop in TOUR})
    if unknown:
        raise RunError(f"--only: {', '.join(unknown)} not in the tour; expected some of {[s.model for s in TOUR]}")
    kind = "quick tour" if args.quick else "tour"
    print(f"ebmlab {kind}: {len(stops)} models into {out}")
    started, failed, lines = time.perf_counter(), [], []
    bar = tqdm(total=len(stops), desc=kind, unit="model", disable=args.no_progress, dynamic_ncols=True)
    try:
        with _Ticker(bar):
            for stop in stops:
                if args.resume and _finished(out / stop.model):
                    bar.update(1)
                    continue
                bar.set_postfix_str(stop.model)
                began = time.perf_counter()
                code, result = _train(_flags(stop, args, out))
                if code:
                    failed.append(stop.model)
                line = f"{stop.model}: {result} ({time.perf_counter() - began:.0f} s)"
                lines.append(line)
                bar.write(line) if not args.no_progress else print(line, flush=True)
                bar.update(1)
    except KeyboardInterrupt as exc:
        bar.close()
        done = [out / stop.model for stop in stops if (out / stop.model / "config.json").exists()]
        if done:
            write_report(done, out / "index.html", title="ebmlab tour (interrupted)")
        command = ["ebmlab", "tour", *(a for a in args._argv[1:] if a not in ("--overwrite", "--resume"))]
        if args.out is None:
            command += ["--out", str(out)]
        exc.resume_command = shlex.join([*command, "--resume"])  # what the interrupt message tells the user
        raise
    bar.close()
    elapsed = time.perf_counter() - started
    subtitle = (
        f"Every lecture model trained on embedded data ({kind}, {elapsed:.0f} s). "
        f"Reproduce the whole page: ebmlab tour {shlex.join(a for a in args._argv[1:] if a != '--resume')}"
    )
    runs = [out / stop.model for stop in stops]
    page = write_report(runs, out / "index.html", title="ebmlab tour", subtitle=subtitle)
    print(f"{len(stops) - len(failed)} of {len(stops)} models trained in {elapsed:.0f} s; report: {page}")
    if failed:
        print(f"failed: {', '.join(failed)} (see the report)")
        return 1
    return 0


def run_report(args: argparse.Namespace) -> int:
    from ..report import write_report

    paths = list(args.runs)
    if args.out is not None:
        target = Path(args.out)
    elif len(paths) == 1:
        target = Path(paths[0]) / "report.html"
    else:
        target = Path("report.html")
    page = write_report(paths, target, title=args.title)
    print(f"report: {page}")
    return 0
