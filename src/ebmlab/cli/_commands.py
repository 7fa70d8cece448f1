"""What each command does once its arguments are parsed (imports torch; ``--help`` never gets here)."""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

from ..recipes import Recipe, config_from_dict, load_run, recipe_class
from ..training import Diverged, Interrupted, RunDirectory, RunError, jsonable, train

__all__ = ["run_evaluate", "run_plot", "run_runs", "run_sample", "run_train", "run_transcribe"]


def _versions() -> dict[str, str]:
    import numpy
    import torch

    from .. import __version__

    return {
        "ebmlab": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def _merge_resumed(cls: type[Recipe], stored: dict[str, Any], given: Any, defaults: Any) -> Any:
    """The run's settings, with the budget (and runtime) flags the user gave; a changed setting is an error."""
    given_json, default_json = jsonable(given), jsonable(defaults)
    merged = dict(stored)
    differing = []
    for key, value in given_json.items():
        explicit = value != default_json.get(key)
        if key in cls.budget or key in cls.runtime:
            if explicit:
                merged[key] = value
        elif explicit and value != stored.get(key):
            differing.append(f"{key}: {stored.get(key)} in the run, {value} given")
    if differing:
        allowed = ", ".join("--" + key.replace("_", "-") for key in cls.budget)
        raise RunError(f"--resume: settings differ from the run's ({'; '.join(differing)}); only {allowed} may change")
    return config_from_dict(cls.config_class, merged)


def run_train(args: argparse.Namespace) -> int:
    module = args._module
    cls = recipe_class(module.NAME)
    config = module.make_config(args)
    checkpoint = None
    if args.resume:
        if args.out is None:
            raise RunError("--resume needs --out DIR naming the run to continue")
        run = RunDirectory(args.out)
        if not run.path.is_dir():
            found = "a file" if run.path.exists() else "nothing"
            raise RunError(f"--resume: expected a run directory at {run.path}, found {found}")
        checkpoint = run.load_checkpoint()
        if checkpoint.model != module.NAME:
            raise RunError(f"--resume: {run.path} holds a {checkpoint.model} run, not {module.NAME}")
        defaults = module.make_config(args._parser.parse_args([]))
        config = _merge_resumed(cls, checkpoint.config, config, defaults)
        run.write_config(module.NAME, config)
    else:
        out = args.out or Path("runs") / f"{module.NAME}-{time.strftime('%Y%m%d-%H%M%S')}"
        run = RunDirectory.create(out, model=module.NAME, config=config, overwrite=args.overwrite)
    recipe = cls(config)
    started = time.perf_counter()
    summary: dict[str, Any] = {
        "model": module.NAME,
        "command": ["ebmlab", *args._argv],
        "versions": _versions(),
        "world_size": 1,
        "unit": cls.unit,
        "total": recipe.total,
    }
    try:
        result = train(
            recipe,
            run=run,
            resume_from=checkpoint,
            checkpoint_every=args.checkpoint_every,
            log_every=cls.log_every,
            progress=not args.no_progress,
        )
    except Diverged as exc:
        run.write_summary(
            {
                **summary,
                "status": "diverged",
                "step": exc.step,
                "error": str(exc),
                "wall_time": time.perf_counter() - started,
            }
        )
        raise
    except Interrupted as exc:
        run.write_summary(
            {**summary, "status": "interrupted", "step": exc.step, "wall_time": time.perf_counter() - started}
        )
        raise
    metrics = recipe.evaluate()
    figures = [] if args.no_plots else recipe.plot(run.path)
    run.write_summary(
        {
            **summary,
            "status": "finished",
            "step": result.step,
            "metrics": {**result.metrics, **metrics},
            "train_time": result.time,
            "wall_time": time.perf_counter() - started,
            "figures": [Path(figure).name for figure in figures],
        }
    )
    print(f"{module.NAME}: {result.step} {cls.unit}s; {recipe.summary(metrics)}")
    shown = f" ({len(figures)} figures)" if figures else ""
    print(f"run saved in {run.path}{shown}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    loaded = load_run(args.run, device=args.device)
    options = {"iwae_k": args.iwae_k}
    metrics = loaded.recipe.evaluate(**{key: value for key, value in options.items() if value is not None})
    for key, value in metrics.items():
        print(f"{key} {value:.6g}")
    directory = RunDirectory(loaded.path)
    summary = directory.read_summary() or {"model": loaded.name}
    summary["evaluation"] = metrics
    directory.write_summary(summary)
    return 0


def run_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from ..plotting import plot_samples

    loaded = load_run(args.run, device=args.device)
    samples = loaded.recipe.sample(args.n_samples, seed=args.seed).detach().cpu()
    png = Path(args.out) if args.out is not None else loaded.path / "samples.png"
    if png.suffix != ".png":
        raise RunError(f"--out {png}: expected a .png file name")
    png.parent.mkdir(parents=True, exist_ok=True)
    np.save(png.with_suffix(".npy"), samples.numpy())
    plot_samples(
        samples,
        png,
        image_shape=getattr(loaded.recipe, "image_shape", None),
        title=f"{args.n_samples} samples of the {loaded.name} run",
    )
    print(f"{args.n_samples} samples written to {png} and {png.with_suffix('.npy')}")
    return 0


def run_plot(args: argparse.Namespace) -> int:
    loaded = load_run(args.run)
    figures = loaded.recipe.plot(loaded.path)
    for figure in figures:
        print(f"figure: {figure}")
    return 0


def run_transcribe(args: argparse.Namespace) -> int:
    loaded = load_run(args.run)
    transcribe = getattr(loaded.recipe, "transcribe", None)
    if transcribe is None:
        raise RunError(f"{args.run} holds a {loaded.name} run; 'ebmlab transcribe' needs a run of 'ebmlab train words'")
    print(transcribe(args.image))
    return 0


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def run_runs(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if not folder.is_dir():
        raise RunError(
            f"runs: expected a folder of runs at {folder}, found {'a file' if folder.exists() else 'nothing'}"
        )
    rows = []
    for path in sorted(folder.iterdir()):
        run = RunDirectory(path)
        if not path.is_dir() or not run.file("config.json").exists():
            continue
        try:
            model = run.read_config()["model"]
        except RunError:
            continue
        summary = run.read_summary() or {}
        status = summary.get("status", "stopped" if run.has_checkpoint() else "empty")
        metrics = summary.get("metrics", {})
        step = summary.get("step")
        if step is None and run.has_checkpoint():
            try:
                step = run.load_checkpoint().step
            except RunError:
                status = "damaged"
        key = next(iter(k for k in ("loss", "inertia", "mmd", "log_likelihood_test") if k in metrics), None)
        shown = f"{key} {metrics[key]:.5g}" if key else "-"
        stamp = max(entry.stat().st_mtime for entry in path.iterdir())
        total = summary.get("total")
        steps = "-" if step is None else (f"{step}/{total}" if total else str(step))
        rows.append((str(path), model, status, steps, shown, _age(time.time() - stamp)))
    if not rows:
        print(f"no runs in {folder}")
        return 0
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    sys.stdout.flush()
    return 0
