"""Training: the one loop every model runs through, its state, checkpoints and run directories.

* :func:`train` drives a :class:`Task` (a model's step and state) through its budget, with
  progress, metrics, atomic checkpoints, divergence checks, interrupts and exact resume;
* :class:`RunDirectory` is the on-disk convention of a run (config, metrics, checkpoint, summary,
  figures);
* :mod:`ebmlab.training.state` turns a training state (tensors, numbers, generator states) into
  one checkpoint and back;
* :mod:`ebmlab.training.distributed` runs the loop on several processes (``torchrun``): the process
  group, rank 0 as the one writer, sharded batches and data-parallel modules.
"""

from . import distributed
from .errors import Diverged, Interrupted, RunError
from .loop import Task, TrainResult, train
from .run import Checkpoint, RunDirectory, jsonable, key_metric
from .state import flatten_state, generator_state, set_generator_state, unflatten_state

__all__ = [
    "Checkpoint",
    "Diverged",
    "Interrupted",
    "RunDirectory",
    "RunError",
    "Task",
    "TrainResult",
    "distributed",
    "flatten_state",
    "generator_state",
    "jsonable",
    "key_metric",
    "set_generator_state",
    "train",
    "unflatten_state",
]
