"""The run directory: one convention for every ``ebmlab train`` command.

A run directory holds::

    config.json              {"model": NAME, "config": {...the settings...}, "world_size": N}
                             (N: the processes that trained it, 1 unless run under torchrun)
    metrics.jsonl            one JSON object per logged step: step, epoch, loss, time, then the
                             model's named metrics (non-finite numbers as "inf", "-inf", "nan")
    checkpoint.safetensors   every tensor of the training state, with the rest of the state
                             (step, config, numbers, generator states) as JSON in its header
    summary.json             final metrics, status, wall time, versions and the command line
    *.png                    figures
    tensorboard/             the metrics as TensorBoard scalars, when ``tensorboard`` is installed
                             (``EBMLAB_TENSORBOARD=0`` turns it off)

The checkpoint is one file, so tensors and step can never pair across two saves: it is written
to a temporary file, fsynced, renamed over the old one, and the directory fsynced.

Under several processes only rank 0 writes a run (:func:`ebmlab.training.train` and the command
line see to it); every rank may read it, e.g. to load the checkpoint of a ``--resume``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .errors import RunError
from .state import flatten_state, unflatten_state

__all__ = ["Checkpoint", "RunDirectory", "atomic_write", "jsonable", "key_metric"]

#: the metric that sums up a finished run, first found wins (``ebmlab runs``, the report's contents)
KEY_METRICS = (
    "inertia",
    "mmd",
    "word_accuracy",
    "test_elbo",
    "log_likelihood_test",
    "log_likelihood_train",
    "lista_code_error",
    "loss",
)

CHECKPOINT = "checkpoint.safetensors"
FORMAT = 1
_RUN_FILES = ("config.json", "metrics.jsonl", CHECKPOINT, "summary.json")
_TENSORBOARD = "tensorboard"


def jsonable(value: Any) -> Any:
    """Dataclasses, paths, tensors, tuples and non-finite floats as plain JSON values.

    Example:
        >>> jsonable({"beta": float("inf"), "shape": (2, 3)})
        {'beta': 'inf', 'shape': [2, 3]}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: jsonable(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, torch.Tensor):
        return jsonable(value.tolist())
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return jsonable(value.item())
    return value


def _fsync_dir(path: Path) -> None:
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(handle)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(handle)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` for a temporary file beside ``path``, fsync it, then rename it over ``path``
    (with the permissions a plain ``open`` would give, not ``mkstemp``'s private 0600).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "notes.txt"
        >>> atomic_write(path, lambda tmp: Path(tmp).write_text("done"))
        >>> path.read_text(), sorted(p.name for p in path.parent.iterdir())
        ('done', ['notes.txt'])
    """
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def key_metric(metrics: dict[str, Any]) -> str:
    """``"name value"`` of the metric that sums up a run (the first of :data:`KEY_METRICS` it has), or ``""``.

    Example:
        >>> key_metric({"loss": 0.5, "inertia": 4249.0249}), key_metric({})
        ('inertia 4249', '')
    """
    key = next((name for name in KEY_METRICS if name in metrics), None)
    return f"{key} {metrics[key]:.5g}" if key else ""


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the model's name, the position (units done), the elapsed training time,
    the settings and the task's state tree.

    Example:
        >>> import tempfile, torch
        >>> run = RunDirectory(tempfile.mkdtemp())
        >>> _ = run.save_checkpoint(model="toy", step=3, time=1.5, config={"lr": 0.1}, state={"w": torch.ones(2)})
        >>> checkpoint = run.load_checkpoint()
        >>> checkpoint.model, checkpoint.step, checkpoint.config, checkpoint.state["w"]
        ('toy', 3, {'lr': 0.1}, tensor([1., 1.]))
    """

    model: str
    step: int
    time: float
    config: dict[str, Any]
    state: Any


class RunDirectory:
    """A folder holding one training run (see the module docstring for its files).

    Example:
        >>> import tempfile, torch
        >>> run = RunDirectory.create(tempfile.mkdtemp() + "/run", model="toy", config={"epochs": 3})
        >>> run.log_metrics({"step": 1, "loss": 0.5})
        >>> path = run.save_checkpoint(model="toy", step=1, time=0.1, config={"epochs": 3}, state={"w": torch.ones(2)})
        >>> checkpoint = run.load_checkpoint()
        >>> checkpoint.step, checkpoint.state["w"], run.read_metrics()
        (1, tensor([1., 1.]), [{'step': 1, 'loss': 0.5}])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._writer: Any = None  # a TensorBoard SummaryWriter, opened on the first logged row
        self._purge_step: int | None = None

    # ------------------------------------------------------------------ creating and opening

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        model: str,
        config: Any,
        overwrite: bool = False,
        world_size: int = 1,
        flags: list[str] | None = None,
    ) -> RunDirectory:
        """A new run in ``path``: refuses a folder that already holds files unless ``overwrite``
        (which removes the old run's files, and only those), then writes ``config.json``
        (``world_size``: the number of processes training the run)."""
        run = cls(path)
        run._check_writable()
        if run.path.exists():
            held = [entry for entry in run.path.iterdir() if not entry.name.startswith(".")]
            if held and not overwrite:
                what = f"a {run.model_name()} run" if run.model_name() else f"{len(held)} file(s)"
                raise RunError(
                    f"--out {run.path}: expected an empty or new directory, found {what}; "
                    "pass --resume to continue it or --overwrite to replace it"
                )
            for entry in held:
                if entry.name in _RUN_FILES or entry.suffix == ".png":
                    entry.unlink()
                elif entry.name == _TENSORBOARD and entry.is_dir():
                    shutil.rmtree(entry)
        run.path.mkdir(parents=True, exist_ok=True)
        run.write_config(model, config, world_size=world_size, flags=flags)
        return run

    def _check_writable(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise RunError(f"--out {self.path}: expected a directory, found a file")
        parent = self.path
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise RunError(f"--out {self.path}: expected a directory, but {parent} is a file")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise RunError(f"--out {self.path}: expected a writable directory, {parent} is not writable")

    def file(self, name: str) -> Path:
        return self.path / name

    def exists(self) -> bool:
        return self.file("config.json").exists() or self.has_checkpoint()

    # ------------------------------------------------------------------ config, metrics, summary

    def write_config(self, model: str, config: Any, *, world_size: int = 1, flags: list[str] | None = None) -> None:
        """Write ``config.json``; ``flags`` are the command-line flags that made ``config`` (for ``--resume``)."""
        record: dict[str, Any] = {"model": model, "config": jsonable(config), "world_size": world_size}
        if flags is not None:
            record["flags"] = list(flags)
        text = json.dumps(record, indent=2, sort_keys=True) + "\n"
        atomic_write(self.file("config.json"), lambda tmp: Path(tmp).write_text(text))

    def read_config(self) -> dict[str, Any]:
        """``config.json`` as a dict with ``model`` and ``config``; a clear error if it is missing or damaged."""
        path = self.file("config.json")
        try:
            record = json.loads(path.read_text())
        except FileNotFoundError:
            raise RunError(f"{self.path} is not an ebmlab run: expected {path}, found none") from None
        except (OSError, ValueError) as exc:
            raise RunError(f"{path} is damaged: expected JSON, {exc}") from None
        if not isinstance(record, dict) or "model" not in record or "config" not in record:
            raise RunError(f"{path} is not an ebmlab run configuration (expected the keys 'model' and 'config')")
        return record

    def model_name(self) -> str | None:
        """The model named in ``config.json`` (or the checkpoint), or None for a folder that holds no run."""
        try:
            return str(json.loads(self.file("config.json").read_text())["model"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        try:
            return self.load_checkpoint().model
        except RunError:
            return None

    def log_metrics(self, row: dict[str, Any]) -> None:
        """Append ``row`` to ``metrics.jsonl`` (and to the run's TensorBoard scalars when available)."""
        with open(self.file("metrics.jsonl"), "a") as handle:
            handle.write(json.dumps(jsonable(row)) + "\n")
        writer = self._tensorboard()
        if writer is not None and isinstance(row.get("step"), int):
            for key, value in row.items():
                if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    writer.add_scalar(key, value, row["step"])
            writer.flush()

    def _tensorboard(self) -> Any:
        """The run's SummaryWriter (``RUN/tensorboard``), or None without ``tensorboard`` or with
        ``EBMLAB_TENSORBOARD=0``. A resumed run purges the events logged after its checkpoint."""
        if self._writer is None:
            if os.environ.get("EBMLAB_TENSORBOARD", "1") == "0" or importlib.util.find_spec("tensorboard") is None:
                self._writer = False
            else:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(log_dir=str(self.file(_TENSORBOARD)), purge_step=self._purge_step)
        return self._writer or None

    def read_metrics(self) -> list[dict[str, Any]]:
        path = self.file("metrics.jsonl")
        if not path.exists():
            return []
        rows = []
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line torn by a kill
                continue
        return rows

    def truncate_metrics(self, step: int) -> None:
        """Keep the rows logged at or before ``step`` (a resumed run rewrites what came after)."""
        self._purge_step = step + 1
        rows = [row for row in self.read_metrics() if isinstance(row.get("step"), int) and row["step"] <= step]
        text = "".join(json.dumps(row) + "\n" for row in rows)
        atomic_write(self.file("metrics.jsonl"), lambda tmp: Path(tmp).write_text(text))

    def write_summary(self, summary: dict[str, Any]) -> None:
        text = json.dumps(jsonable(summary), indent=2, sort_keys=True) + "\n"
        atomic_write(self.file("summary.json"), lambda tmp: Path(tmp).write_text(text))

    def read_summary(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.file("summary.json").read_text())
        except (OSError, ValueError):
            return None

    def figures(self) -> list[Path]:
        return sorted(self.path.glob("*.png"))

    # ------------------------------------------------------------------ checkpoints

    def has_checkpoint(self) -> bool:
        return self.file(CHECKPOINT).exists()

    def save_checkpoint(self, *, model: str, step: int, time: float, config: Any, state: Any) -> Path:
        """Commit the training state at ``step`` as one file (atomic, fsynced)."""
        tensors, skeleton = flatten_state(state)
        header = {
            "format": FORMAT,
            "model": model,
            "step": step,
            "time": time,
            "config": jsonable(config),
            "state": skeleton,
        }
        metadata = {"ebmlab": json.dumps(header)}
        path = self.file(CHECKPOINT)
        atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))
        return path

    def load_checkpoint(self) -> Checkpoint:
        """The checkpoint; :class:`RunError` naming the file if it is missing, damaged or not ebmlab's."""
        path = self.file(CHECKPOINT)
        if not path.exists():
            raise RunError(f"no checkpoint in {self.path}: expected {path}, found none")
        try:
            with safe_open(str(path), framework="pt", device="cpu") as handle:
                metadata = handle.metadata() or {}
                tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
            header = json.loads(metadata["ebmlab"])
            return Checkpoint(
                model=str(header["model"]),
                step=int(header["step"]),
                time=float(header["time"]),
                config=dict(header["config"] or {}),
                state=unflatten_state(tensors, header["state"]),
            )
        except KeyError as exc:
            raise RunError(f"{path} is not an ebmlab checkpoint (missing {exc})") from None
        except Exception as exc:  # safetensors, JSON and OS errors all mean a damaged file
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RunError(f"{path} is damaged ({reason}); remove it, or start a new run with --overwrite") from None
