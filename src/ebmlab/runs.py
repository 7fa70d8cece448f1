"""The run-directory convention shared by every model's training command.

A run directory holds::

    config.json        the settings of the run (a dataclass, as JSON)
    metrics.jsonl      one JSON object per logged step/epoch, appended as training goes
    checkpoint.safetensors + checkpoint.json
                       model tensors, and the step, config and extra state needed to resume
    optimizer.pt       optimizer state (torch.save), when there is one
    *.png              figures

Every file is written atomically (temporary file + ``os.replace``), so an interrupted run never
leaves a torn checkpoint and can be resumed from the last one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

__all__ = ["Checkpoint", "RunDirectory", "progress"]

T = TypeVar("T")


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then move the result over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {key: _jsonable(item) for key, item in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """What :meth:`RunDirectory.load_checkpoint` returns."""

    tensors: dict[str, torch.Tensor]
    step: int
    config: dict[str, Any]
    extra: dict[str, Any]


class RunDirectory:
    """A folder for one training run (see the module docstring for its files).

    Example:
        >>> import tempfile, torch
        >>> run = RunDirectory(tempfile.mkdtemp())
        >>> run.write_config({"epochs": 3})
        >>> run.log_metrics({"epoch": 1, "loss": 0.5})
        >>> path = run.save_checkpoint({"w": torch.ones(2)}, step=1, config={"epochs": 3})
        >>> run.load_checkpoint().step, run.read_metrics()
        (1, [{'epoch': 1, 'loss': 0.5}])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def file(self, name: str) -> Path:
        return self.path / name

    def write_config(self, config: Any) -> None:
        text = json.dumps(_jsonable(config), indent=2, sort_keys=True) + "\n"
        _atomic_write(self.file("config.json"), lambda tmp: Path(tmp).write_text(text))

    def log_metrics(self, metrics: dict[str, Any]) -> None:
        with open(self.file("metrics.jsonl"), "a") as handle:
            handle.write(json.dumps(_jsonable(metrics)) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        path = self.file("metrics.jsonl")
        if not path.exists():
            return []
        rows = []
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line torn by an interruption
                continue
        return rows

    def truncate_metrics(self, step_key: str, last_step: int) -> None:
        """Keep only the metrics rows whose ``step_key`` is at most ``last_step`` (used when resuming).

        Rows without ``step_key`` cannot be placed before the checkpoint and are dropped too.
        """
        rows = [row for row in self.read_metrics() if step_key in row and row[step_key] <= last_step]
        text = "".join(json.dumps(row) + "\n" for row in rows)
        _atomic_write(self.file("metrics.jsonl"), lambda tmp: Path(tmp).write_text(text))

    def save_checkpoint(
        self,
        tensors: dict[str, torch.Tensor],
        *,
        step: int,
        config: Any,
        extra: dict[str, Any] | None = None,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> Path:
        """Write ``checkpoint.safetensors`` and ``checkpoint.json`` (and ``optimizer.pt``) atomically."""
        cpu = {name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()}
        meta = {"step": step, "config": _jsonable(config), "extra": _jsonable(extra or {})}
        if optimizer is not None:
            state = optimizer.state_dict()
            _atomic_write(self.file("optimizer.pt"), lambda tmp: torch.save(state, tmp))
        _atomic_write(self.file("checkpoint.safetensors"), lambda tmp: save_file(cpu, tmp))
        # the JSON goes last: its presence marks a complete checkpoint
        text = json.dumps(meta, indent=2) + "\n"
        _atomic_write(self.file("checkpoint.json"), lambda tmp: Path(tmp).write_text(text))
        return self.file("checkpoint.safetensors")

    def has_checkpoint(self) -> bool:
        return self.file("checkpoint.json").exists() and self.file("checkpoint.safetensors").exists()

    def load_checkpoint(self, optimizer: torch.optim.Optimizer | None = None) -> Checkpoint:
        if not self.has_checkpoint():
            raise FileNotFoundError(f"no checkpoint in {self.path} (expected checkpoint.json and .safetensors)")
        meta = json.loads(self.file("checkpoint.json").read_text())
        tensors = load_file(self.file("checkpoint.safetensors"))
        if optimizer is not None and self.file("optimizer.pt").exists():
            optimizer.load_state_dict(torch.load(self.file("optimizer.pt"), weights_only=True))
        return Checkpoint(tensors, int(meta["step"]), meta["config"], meta.get("extra", {}))


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "", enabled: bool = True) -> Iterator[T]:
    """A tqdm progress bar on stderr, or the bare iterable when ``enabled`` is False."""
    if not enabled:
        return iter(iterable)
    return iter(tqdm(iterable, total=total, desc=desc, dynamic_ncols=True, leave=True))
