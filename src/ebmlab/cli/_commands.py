"""What each command does once its arguments are parsed (imports torch; ``--help`` never gets here)."""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

from ..recipes import RECIPES, Recipe, load_run, recipe_class
from ..training import Diverged, Interrupted, RunDirectory, RunError, distributed, jsonable, key_metric, train

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


#: flags that say how to run, not what to train: never compared on --resume
_RUN_FLAGS = ("out", "resume", "overwrite", "no_progress", "no_plots", "checkpoint_every")


def _given(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The model flags the user set on this command line (values that differ from the parser's defaults)."""
    own = {action.dest for action in parser._actions if action.option_strings}
    return {
        dest: value
        for dest, value in vars(args).items()
        if dest in own and dest not in _RUN_FLAGS and value != parser.get_default(dest)
    }


def _tokens(parser: argparse.ArgumentParser, dest: str, value: Any) -> list[str]:
    action = next(action for action in parser._actions if action.dest == dest)
    if action.nargs == 0:
        return [action.option_strings[0]] if value != action.default else []
    return [action.option_strings[0], str(value)]


def _resumed_config(
    module: Any, cls: type[Recipe], args: argparse.Namespace, stored: dict[str, Any]
) -> tuple[Any, list[str]]:
    """The run's settings with the budget (and runtime) flags given now; any other flag that differs
    from the run's is an error listing each (``--k: 10 in the run, 5 given``).

    The run's settings are rebuilt from the flags it was started with (``config.json``), so
    settings whose defaults depend on other flags come out as they were."""
    parser = args._parser
    old_flags = list(stored.get("flags") or [])
    old = parser.parse_args(old_flags)
    mutable = set(cls.budget) | set(cls.runtime)
    new_flags = list(old_flags)
    differing = []
    for dest, value in _given(args, parser).items():
        if dest in mutable:
            new_flags += _tokens(parser, dest, value)
        elif getattr(old, dest, None) != value:
            flag = _tokens(parser, dest, value)[0] if _tokens(parser, dest, value) else "--" + dest.replace("_", "-")
            differing.append(f"{flag}: {getattr(old, dest, None)} in the run, {value} given")
    if differing:
        allowed = ", ".join("--" + key.replace("_", "-") for key in cls.budget)
        raise RunError(f"--resume: settings differ from the run's ({'; '.join(differing)}); only {allowed} may change")
    return module.make_config(parser.parse_args(new_flags)), new_flags


def _model_flags(argv: list[str]) -> list[str]:
    """The flags after ``train MODEL`` (what ``--resume`` rebuilds the settings from)."""
    return list(argv[argv.index("train") + 2 :]) if "train" in argv else list(argv)


def run_train(args: argparse.Namespace) -> int:
    module = args._module
    cls = recipe_class(module.NAME)
    config = module.make_config(args)
    with distributed.process_group(getattr(config, "device", "cpu")) as size:
        return _train(args, module, cls, config, size)


def _train(args: argparse.Namespace, module: Any, cls: type[Recipe], config: Any, size: int) -> int:
    """``run_train`` within the process group: every rank trains; rank 0 writes the run and prints."""
    if size > 1 and not cls.shards_data:
        shared = sorted(name for name in RECIPES if recipe_class(name).shards_data)
        raise RunError(
            f"{module.NAME} trains on one process; run it without torchrun "
            f"(models that train on several: {', '.join(shared)})"
        )
    main = distributed.is_main()
    checkpoint = None
    if args.resume:
        if args.out is None:
            raise RunError("--resume needs --out DIR naming the run to continue")
        run = RunDirectory(args.out)
        if not run.path.is_dir():
            found = "a file" if run.path.exists() else "nothing"
            raise RunError(f"--resume: expected a run directory at {run.path}, found {found}")
        checkpoint = run.load_checkpoint()  # every rank loads it
        if checkpoint.model != module.NAME:
            raise RunError(f"--resume: {run.path} holds a {checkpoint.model} run, not {module.NAME}")
        config, flags = _resumed_config(module, cls, args, run.read_config())
        stored = {key: value for key, value in checkpoint.config.items() if key not in cls.budget + cls.runtime}
        rebuilt = {key: value for key, value in jsonable(config).items() if key not in cls.budget + cls.runtime}
        if stored != rebuilt:
            keys = sorted(key for key in set(stored) | set(rebuilt) if stored.get(key) != rebuilt.get(key))
            raise RunError(f"--resume: {run.path} was made by another version of ebmlab (settings {keys} differ)")
        distributed.barrier()  # every rank has read config.json before rank 0 rewrites it
        if main:
            run.write_config(module.NAME, config, world_size=size, flags=flags)
    else:
        flags = _model_flags(args._argv)

        def create() -> RunDirectory:
            out = args.out or Path("runs") / f"{module.NAME}-{time.strftime('%Y%m%d-%H%M%S')}"
            return RunDirectory.create(
                out, model=module.NAME, config=config, overwrite=args.overwrite, world_size=size, flags=flags
            )

        run = distributed.from_main(create)  # rank 0 makes the directory; its errors stop every rank
    recipe = cls(config)
    started = time.perf_counter()
    summary: dict[str, Any] = {
        "model": module.NAME,
        "command": ["ebmlab", *args._argv],
        "versions": _versions(),
        "world_size": size,
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
        if main:
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
        if main:
            run.write_summary(
                {**summary, "status": "interrupted", "step": exc.step, "wall_time": time.perf_counter() - started}
            )
        raise
    except KeyboardInterrupt:  # a second signal: stopped at once, the last checkpoint is kept
        if main:
            last = run.load_checkpoint().step if run.has_checkpoint() else 0
            run.write_summary(
                {**summary, "status": "interrupted", "step": last, "wall_time": time.perf_counter() - started}
            )
        raise
    if not main:  # the model is trained; rank 0 evaluates, draws and writes
        return 0
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
    default = loaded.path / f"drawn-{args.n_samples}-seed{args.seed}.png"  # never the run's own samples.png
    png = Path(args.out) if args.out is not None else default
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
        shown = key_metric(metrics) or "-"
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
