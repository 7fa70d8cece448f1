"""Training on several processes: torchrun's process group, rank 0 as the writer, sharded batches.

``torchrun --nproc-per-node N -m ebmlab train MODEL ...`` starts N copies of the command. Each
reads the variables torchrun sets — the documented ones this module reads are ``WORLD_SIZE``
(processes in all), ``RANK`` (this process's number), ``LOCAL_RANK`` (its number on its machine,
hence its GPU) and, through ``init_method="env://"``, ``MASTER_ADDR``/``MASTER_PORT`` (the
rendezvous) — and :func:`process_group` joins them into one group: gloo on the CPU, NCCL on GPUs.
Without those variables (a plain ``ebmlab train``) nothing here does anything: :func:`world_size`
is 1, :func:`rank` is 0, every collective returns its input, :func:`data_parallel` returns the
module itself.

How a data-parallel recipe makes N processes take the step one process takes with the whole batch B:

* every rank uses the same seed, so each draws the same batch order and then keeps its block of the
  batch (:func:`shard`); per-example noise (corruptions, reparameterisation noise) is drawn for the
  whole batch on every rank and sliced the same way, so the union of the shards is the
  single-process batch and every generator stays in step;
* the module is wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`
  (:func:`data_parallel`), which averages the ranks' gradients; each rank's loss is
  :func:`shard_mean` of its examples, so that average is the gradient of the mean over the batch:
  :math:`\\frac1N \\sum_r \\frac{N}{B} \\sum_{b \\in r} \\nabla \\ell_b = \\frac1B \\sum_b \\nabla \\ell_b`;
* the batch size must be divisible by the number of processes (:func:`check_batch_size`), so each
  does B/N examples (a short last batch of an epoch is split as evenly as it goes; the weighting
  of :func:`shard_mean` keeps its step exact);
* only rank 0 writes (metrics, checkpoints, summary, figures) and shows progress; the loop agrees
  on every decision (stop, divergence) across ranks, so no rank waits for one that has left.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = [
    "Launch",
    "all_reduce",
    "any_rank",
    "barrier",
    "broadcast",
    "check_batch_size",
    "data_parallel",
    "from_main",
    "gather_rows",
    "is_main",
    "launch",
    "process_group",
    "rank",
    "shard",
    "shard_mean",
    "world_size",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Launch:
    """Where torchrun placed this process: its ``rank`` among ``world_size`` processes, and its
    ``local_rank`` on its machine (the GPU it uses).

    Example:
        >>> where = launch({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"})
        >>> where.rank, where.world_size, where.local_rank
        (3, 4, 1)
    """

    rank: int
    world_size: int
    local_rank: int


def launch(environ: dict[str, str] | None = None) -> Launch | None:
    """This process's place as torchrun's variables give it, or None without them (a plain run).

    Example:
        >>> launch({"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"})
        Launch(rank=1, world_size=2, local_rank=1)
        >>> launch({}) is None
        True
    """
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" not in env:
        return None
    try:
        size, where, local = int(env["WORLD_SIZE"]), int(env.get("RANK", "0")), int(env.get("LOCAL_RANK", "0"))
    except ValueError:
        found = {key: env.get(key) for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
        raise ValueError(f"torchrun's WORLD_SIZE, RANK and LOCAL_RANK must be integers, found {found}") from None
    if size < 1 or not 0 <= where < size or local < 0:
        raise ValueError(f"expected 0 <= RANK < WORLD_SIZE and LOCAL_RANK >= 0, got RANK={where}, WORLD_SIZE={size}")
    return Launch(where, size, local)


def _backend(device: str | torch.device) -> str:
    kind = torch.device(device).type
    if kind == "cuda":
        return "nccl"
    if kind == "cpu":
        return "gloo"
    raise ValueError(f"training on several processes runs on cpu (gloo) or cuda (nccl), got device={device!r}")


@contextmanager
def process_group(device: str | torch.device = "cpu") -> Iterator[int]:
    """Join torchrun's processes for the block (gloo for ``device`` cpu, NCCL for cuda); yields the world size.

    On CUDA each process takes the GPU of its ``LOCAL_RANK`` (``torch.cuda.set_device``), so
    ``--device cuda`` means "my GPU"; an explicit index (``cuda:1``) is refused under several
    processes. A plain run (no torchrun variables, or one process) and a group that is already
    initialised (by the caller) are left as they are. The group is destroyed on leaving the block.

    Example:
        >>> with process_group("cpu") as size:  # outside torchrun: nothing to join
        ...     size, rank(), is_main()
        (1, 0, True)
    """
    where = launch()
    if where is None or where.world_size == 1 or dist.is_initialized():
        yield world_size()
        return
    backend = _backend(device)
    if backend == "nccl":
        if torch.device(device).index is not None:
            raise ValueError(
                f"--device {device}: under torchrun each process uses the GPU of its LOCAL_RANK; pass --device cuda"
            )
        torch.cuda.set_device(where.local_rank)
    dist.init_process_group(backend, init_method="env://", rank=where.rank, world_size=where.world_size)
    try:
        yield where.world_size
    finally:
        dist.destroy_process_group()


def world_size() -> int:
    """The number of processes training together (1 outside a process group).

    Example:
        >>> world_size()  # a plain run
        1
    """
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's number, 0 to :func:`world_size` − 1 (0 outside a process group).

    Example:
        >>> rank()  # a plain run
        0
    """
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """True on rank 0, the process that writes the run and shows progress (and in a plain run).

    Example:
        >>> is_main()
        True
    """
    return rank() == 0


def _collective_device() -> torch.device:
    """Where the group's tensors must be: the current GPU for NCCL, the CPU for gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce(tensor: Tensor, op: str = "sum") -> Tensor:
    """``tensor`` summed (``op="sum"``), averaged (``"mean"``) or maximised (``"max"``) over the
    ranks, in place, and returned; the tensor itself in a plain run.

    Example:
        >>> all_reduce(torch.tensor([1.0, 2.0]), "mean")  # one process: unchanged
        tensor([1., 2.])
    """
    if op not in ("sum", "mean", "max"):
        raise ValueError(f"op must be 'sum', 'mean' or 'max', got op={op!r}")
    size = world_size()
    if size == 1:
        return tensor
    reduce = dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM
    device = _collective_device()
    if tensor.device == device:
        dist.all_reduce(tensor, op=reduce)
    else:
        moved = tensor.to(device)
        dist.all_reduce(moved, op=reduce)
        tensor.copy_(moved)
    if op == "mean":
        tensor /= size
    return tensor


def any_rank(*flags: bool) -> tuple[bool, ...]:
    """Each flag, true when it is true on any rank (one small all-reduce; the flags themselves in a plain run).

    Example:
        >>> any_rank(True, False)
        (True, False)
    """
    if world_size() == 1:
        return tuple(bool(flag) for flag in flags)
    found = all_reduce(torch.tensor([float(flag) for flag in flags], device=_collective_device()), "max")
    return tuple(bool(value) for value in found.tolist())


def broadcast(tensor: Tensor, src: int = 0) -> Tensor:
    """``tensor`` replaced, in place, by rank ``src``'s (it must have the same shape and dtype there).

    Example:
        >>> broadcast(torch.tensor([1.0, 2.0]))  # one process: its own tensor
        tensor([1., 2.])
    """
    if world_size() == 1:
        return tensor
    device = _collective_device()
    moved = tensor if tensor.device == device else tensor.to(device)
    dist.broadcast(moved, src=src)
    if moved is not tensor:
        tensor.copy_(moved)
    return tensor


def gather_rows(tensor: Tensor, sizes: list[int]) -> Tensor:
    """Every rank's rows, in rank order: rank r contributes ``sizes[r]`` rows (its ``tensor``).

    Shape:
        ``(sizes[rank()], ...)`` → ``(sum(sizes), ...)``.

    Example:
        >>> gather_rows(torch.arange(3), [3])  # one process: its own rows
        tensor([0, 1, 2])
    """
    if world_size() == 1:
        return tensor
    device, widest = _collective_device(), max(sizes)
    padded = torch.zeros((widest, *tensor.shape[1:]), dtype=tensor.dtype, device=device)
    padded[: tensor.shape[0]] = tensor.to(device)
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([part[:size] for part, size in zip(parts, sizes, strict=True)]).to(tensor.device)


def barrier() -> None:
    """Wait until every rank gets here (nothing in a plain run).

    Example:
        >>> barrier()  # a plain run: returns at once
    """
    if world_size() > 1:
        dist.barrier()


def from_main(make: Callable[[], T]) -> T:
    """``make()`` called on rank 0 only, its result shared with every rank; an exception it raises
    is raised on every rank (so no rank waits for one that has failed). For small, picklable results
    (a run directory, a path).

    Example:
        >>> from_main(lambda: "runs/dae")
        'runs/dae'
    """
    if world_size() == 1:
        return make()
    outcome: list[Any] = [None]
    error: BaseException | None = None
    if is_main():
        try:
            outcome = [("value", make())]
        except Exception as exc:
            error = exc
            try:
                pickle.dumps(exc)
                outcome = [("error", exc)]
            except Exception:
                outcome = [("error", RuntimeError(f"{type(exc).__name__}: {exc}"))]
    dist.broadcast_object_list(outcome, src=0)
    if error is not None:
        raise error
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return value


def shard(count: int) -> slice:
    """This rank's contiguous block of ``count`` rows: ``[count·r/N, count·(r+1)/N)`` for rank r of N.

    The blocks of the N ranks tile the rows in order; their sizes differ by at most one.

    Example:
        >>> shard(8)  # one process: every row
        slice(0, 8, None)
    """
    size, where = world_size(), rank()
    return slice(count * where // size, count * (where + 1) // size)


def shard_mean(values: Tensor, count: int) -> Tensor:
    """The loss of one rank: its examples' ``values`` (its :func:`shard` of a batch of ``count``) so
    weighted that the ranks' average gradient (DDP's) is the gradient of the batch mean.

    .. math:: \\ell_r = \\frac{N}{B} \\sum_{b \\in \\text{shard } r} \\ell_b
              \\quad\\text{(the shard's mean when the shards are equal, } B/N \\text{ each)}

    Shape:
        values ``(b,)`` with b = this rank's share of ``count`` → 0-dim.

    Example:
        >>> shard_mean(torch.tensor([1.0, 3.0]), 2)  # one process: the mean
        tensor(2.)
    """
    size = world_size()
    if size == 1 or values.shape[0] * size == count:
        return values.mean()
    return values.sum() * (size / count)


def check_batch_size(batch_size: int, name: str = "batch_size") -> int:
    """``batch_size`` itself when the processes can share it equally, else a ValueError naming both.

    Example:
        >>> check_batch_size(128)
        128
    """
    size = world_size()
    if batch_size % size:
        raise ValueError(
            f"{name}={batch_size} must be divisible by the number of processes (world_size={size}): each "
            f"process takes {name}/world_size examples of every batch; pass a multiple of {size}"
        )
    return batch_size


def data_parallel(module: nn.Module) -> nn.Module:
    """``module`` wrapped in :class:`~torch.nn.parallel.DistributedDataParallel` over the ranks
    (gradients averaged in backward), or ``module`` itself in a plain run.

    Call the wrapper (its ``forward``) in the training step: DDP synchronises the gradients of
    what flows through it. Parameters, state dicts and optimisers stay with ``module``.

    Example:
        >>> net = nn.Linear(2, 1)
        >>> data_parallel(net) is net
        True
    """
    if world_size() == 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    device = next(module.parameters()).device
    ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)
