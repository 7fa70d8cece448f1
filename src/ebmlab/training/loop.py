"""The one training loop: a small driver over a model's :class:`Task`.

A task contributes its step (one unit of the budget: an epoch, an update or a solver iteration,
metrics out) and its state (everything a resume needs: parameters, optimiser state, every random
generator's state, its position in any schedule). The loop owns the rest — the budget, progress,
``metrics.jsonl``, checkpoints, divergence checks, interrupts and resume — so a run killed at any
point and resumed from its last checkpoint reaches the same parameters as an uninterrupted run.

Divergence policy: a logged metric that is not finite, a float tensor of the state that is not
finite, or a loss that has grown ``task.divergence_growth`` times beyond
``max(|first loss|, 1)`` raises :class:`~ebmlab.training.Diverged` naming the step and the setting
to lower; a diverged state is never checkpointed.

Interrupts: the first SIGINT/SIGTERM lets the current unit finish, saves a checkpoint and raises
:class:`~ebmlab.training.Interrupted`; a second one stops at once (the last checkpoint is kept).

Several processes (``torchrun``, see :mod:`ebmlab.training.distributed`): every rank runs every
unit; only rank 0 writes (metrics, checkpoints) and shows progress. The ranks agree on every
decision, so none waits in a collective for one that has stopped: after each unit a stop request
or convergence on any rank stops them all after that unit; the logged metrics (and the reference
loss) are averaged over the ranks before the divergence checks; a non-finite state on any rank is
divergence on all. A second signal stops its process at once; torchrun then ends the others.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from . import distributed
from .errors import Diverged, Interrupted
from .run import Checkpoint, RunDirectory

__all__ = ["Task", "TrainResult", "train"]


class Task(ABC):
    """One model's training, as :func:`train` drives it.

    Subclasses set ``name`` (the model, as in ``ebmlab train NAME``), ``unit`` (what one
    :meth:`step` does: ``"epoch"``, ``"step"`` or ``"iteration"``) and ``setting`` (the flag a user
    lowers when the training diverges), hold their settings in ``self.config``, give the budget as
    ``total`` (in units) and implement :meth:`step`, :meth:`state_dict` and :meth:`load_state_dict`.

    Under several processes :meth:`step`, :meth:`state_dict`, :meth:`converged` and
    :meth:`initial_loss` are called on every rank at the same points (so they may use collectives),
    and :meth:`step` returns the same metric names on every rank.

    Example:
        >>> import torch
        >>> class Mean(Task):
        ...     name, unit, setting = "mean", "step", "--lr"
        ...     def __init__(self):
        ...         self.w, self.total = torch.zeros(1), 5
        ...     def step(self, index):
        ...         self.w += 0.5 * (3.0 - self.w)
        ...         return {"loss": float((self.w - 3.0) ** 2)}
        ...     def state_dict(self):
        ...         return {"w": self.w}
        ...     def load_state_dict(self, state):
        ...         self.w = state["w"].clone()
        >>> task = Mean()
        >>> train(task, progress=False).step, round(float(task.w), 3)
        (5, 2.906)
    """

    name: ClassVar[str] = "model"
    unit: ClassVar[str] = "epoch"
    setting: ClassVar[str] = "--lr"
    divergence_growth: ClassVar[float] = 1e3
    config: Any = None
    total: int  # the budget, in units (epochs, steps or iterations); an attribute or a property

    @abstractmethod
    def step(self, index: int) -> dict[str, float | Tensor]:
        """Run unit ``index`` (0-based) and return its metrics; ``"loss"`` is the one the loop watches.

        Values may be 0-dim tensors: the loop reads them only when it logs (no sync per step).
        ``"epoch"`` (passes over the data so far) may be given by step-based tasks.
        """

    @abstractmethod
    def state_dict(self) -> Any:
        """Everything a resume needs (see :mod:`ebmlab.training.state` for what a state may hold)."""

    @abstractmethod
    def load_state_dict(self, state: Any) -> None:
        """Restore what :meth:`state_dict` returned."""

    def converged(self) -> bool:
        """True when the task has finished before its budget (a solver within its tolerance): the loop
        then logs, checkpoints and stops. Checked after every unit."""
        return False

    def initial_loss(self) -> float | None:
        """The loss before training, the reference of the divergence check (None: the first logged loss)."""
        return None

    def setting_value(self) -> Any:
        """The current value of :attr:`setting`, read from ``self.config`` (None if it has none)."""
        return getattr(self.config, self.setting.lstrip("-").replace("-", "_"), None)


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns: units done (``step``), where this call began (``start``), the last
    logged metrics, and the training time of the whole run in seconds (resumes included).

    Example:
        >>> from ebmlab.recipes.kmeans import KMeansConfig, KMeansRecipe
        >>> result = train(KMeansRecipe(KMeansConfig(data="blobs", k=3, n_samples=200)), progress=False)
        >>> result.start, result.step > 0, "loss" in result.metrics, result.time >= 0
        (0, True, True, True)
    """

    step: int
    start: int
    metrics: dict[str, float] = field(default_factory=dict)
    time: float = 0.0


class _Signals:
    """SIGINT/SIGTERM: the first asks the loop to stop after the current unit, a second stops at once."""

    def __init__(self, enabled: bool) -> None:
        self.requested = False
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> _Signals:
        if self.enabled:
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def _value(metric: float | Tensor) -> float:
    return float(metric.detach().float().mean()) if isinstance(metric, Tensor) else float(metric)


def _nonfinite_tensor(state: Any, path: str = "") -> str | None:
    """The path of the first float tensor of ``state`` holding NaN or ±inf, or None."""
    if isinstance(state, Tensor):
        if state.is_floating_point() and state.numel() and not bool(torch.isfinite(state).all()):
            return path or "state"
        return None
    items = state.items() if isinstance(state, dict) else enumerate(state) if isinstance(state, (list, tuple)) else ()
    for key, value in items:
        found = _nonfinite_tensor(value, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def _mean_over_ranks(values: dict[str, float]) -> dict[str, float]:
    """Each metric averaged over the ranks, in float64 (a NaN on one rank is a NaN on all); same order."""
    names = sorted(values)
    mean = distributed.all_reduce(torch.tensor([values[name] for name in names], dtype=torch.float64), "mean")
    averaged = dict(zip(names, mean.tolist(), strict=True))
    return {name: averaged[name] for name in values}


def train(
    task: Task,
    *,
    run: RunDirectory | None = None,
    resume_from: Checkpoint | None = None,
    checkpoint_every: int = 1,
    log_every: int = 1,
    progress: bool = True,
    handle_signals: bool = True,
) -> TrainResult:
    """Drive ``task`` from its current position (0, or ``resume_from``'s) to ``task.total`` units.

    Args:
        task: the model's training (see :class:`Task`).
        run: where to log ``metrics.jsonl`` and commit checkpoints; None trains in memory. Under
            several processes only rank 0 writes to it (the others may pass it or None).
        resume_from: a checkpoint of this task (from :meth:`RunDirectory.load_checkpoint`): its
            state is loaded and the metrics logged after it are dropped.
        checkpoint_every: units between checkpoints (one is always written after the last unit).
        log_every: units between metric rows (the loss logged is the mean over those units).
        progress: show a progress bar on stderr counting units (a resumed bar starts where the run
            was); rank 0's only under several processes.
        handle_signals: catch SIGINT/SIGTERM to checkpoint before stopping.

    Raises:
        Diverged: non-finite metrics or state, or an exploding loss.
        Interrupted: a signal arrived; the state after the last finished unit was checkpointed.

    Example:
        >>> import tempfile
        >>> from ebmlab.recipes.kmeans import KMeansConfig, KMeansRecipe
        >>> from ebmlab.training import RunDirectory
        >>> run = RunDirectory(tempfile.mkdtemp())
        >>> result = train(KMeansRecipe(KMeansConfig(data="blobs", k=3, n_samples=200)), run=run, progress=False)
        >>> len(run.read_metrics()) == result.step == run.load_checkpoint().step
        True
    """
    several = distributed.world_size() > 1
    if not distributed.is_main():
        run, progress = None, False  # rank 0 writes the run and shows progress
    start, elapsed, initial_loss = 0, 0.0, None
    if resume_from is not None:
        task.load_state_dict(resume_from.state["task"])
        start, elapsed = resume_from.step, resume_from.time
        initial_loss = resume_from.state.get("loop", {}).get("initial_loss")
        if run is not None:
            run.truncate_metrics(start)
    total = task.total
    if resume_from is not None and task.converged():
        total = start  # a solver that had converged has nothing left to do
    last: dict[str, float] = {}
    if initial_loss is None and start < total:
        initial_loss = task.initial_loss()
        if several and initial_loss is not None:
            initial_loss = _mean_over_ranks({"loss": initial_loss})["loss"]

    def check_state(done: int) -> Any:
        state = task.state_dict()
        bad = _nonfinite_tensor(state)
        if several and distributed.any_rank(bad is not None)[0] and bad is None:
            bad = "a state tensor of another process"
        if bad is not None:
            raise Diverged(
                f"{task.name} training diverged at {task.unit} {done}: {bad} is not finite; "
                f"lower {task.setting} (now {task.setting_value()})",
                step=done,
                setting=task.setting,
            )
        return state

    def save(done: int, seconds: float) -> Any:
        state = check_state(done)
        if run is None:
            return None
        return run.save_checkpoint(
            model=task.name,
            step=done,
            time=seconds,
            config=task.config,
            state={"task": state, "loop": {"initial_loss": initial_loss}},
        )

    bar = None
    if progress and start < total:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=start, desc=task.name, unit=task.unit, dynamic_ncols=True, leave=True)
    losses: list[float | Tensor] = []
    began = time.perf_counter() - elapsed
    done = start
    try:
        with _Signals(handle_signals) as signals:
            for index in range(start, total):
                metrics = task.step(index)
                done = index + 1
                if "loss" in metrics:
                    losses.append(metrics["loss"])
                stopping = signals.requested
                finished = done == total or task.converged()
                if several:  # every rank stops after the same unit
                    stopping, finished = distributed.any_rank(stopping, finished)
                due_log = done % log_every == 0 or finished or stopping
                due_save = done % checkpoint_every == 0 or finished or stopping
                if due_log:
                    seconds = time.perf_counter() - began
                    values = {key: _value(value) for key, value in metrics.items()}
                    if losses:
                        values["loss"] = sum(_value(loss) for loss in losses) / len(losses)
                        losses.clear()
                    if several:  # the same numbers, hence the same decisions, on every rank
                        values = _mean_over_ranks(values)
                    for key, value in values.items():
                        if not math.isfinite(value):
                            raise Diverged(
                                f"{task.name} training diverged at {task.unit} {done}: {key} = {value}; "
                                f"lower {task.setting} (now {task.setting_value()})",
                                step=done,
                                setting=task.setting,
                            )
                    if "loss" in values:
                        if initial_loss is None:
                            initial_loss = values["loss"]
                        elif abs(values["loss"]) > task.divergence_growth * max(abs(initial_loss), 1.0):
                            raise Diverged(
                                f"{task.name} training diverged at {task.unit} {done}: loss grew from "
                                f"{initial_loss:.4g} to {values['loss']:.4g}; lower {task.setting} "
                                f"(now {task.setting_value()})",
                                step=done,
                                setting=task.setting,
                            )
                    epoch = values.pop("epoch", done if task.unit == "epoch" else None)
                    row: dict[str, Any] = {"step": done, "epoch": epoch}
                    if "loss" in values:
                        row["loss"] = values.pop("loss")
                    row["time"] = round(seconds, 4)
                    row.update(values)
                    last = {key: value for key, value in row.items() if isinstance(value, (int, float))}
                    if run is not None:
                        run.log_metrics(row)
                    if bar is not None and "loss" in row:
                        bar.set_postfix(loss=f"{row['loss']:.4g}", refresh=False)
                if due_save:
                    saved = save(done, time.perf_counter() - began)
                    if stopping:
                        raise Interrupted(done, saved)
                if bar is not None:
                    bar.update(1)
                if finished:
                    break
    finally:
        if bar is not None:
            bar.close()
    if start >= total:
        check_state(start)
    return TrainResult(step=done, start=start, metrics=last, time=time.perf_counter() - began)
