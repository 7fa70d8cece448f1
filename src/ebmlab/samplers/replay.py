"""The replay buffer of persistent contrastive divergence: a bank of chain states, restarted from noise."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from .._validation import check_int

__all__ = ["BufferDraw", "ReplayBuffer"]


class BufferDraw(NamedTuple):
    """Chain starts drawn from a :class:`ReplayBuffer`: ``samples`` ``(S, D)`` (y_s = states[i_s] or fresh noise) and
    their slots ``index`` ``(S,)`` (i_s).

    Example:
        >>> draw = ReplayBuffer(100, 2, seed=0).draw(8)
        >>> tuple(draw.samples.shape), tuple(draw.index.shape)
        ((8, 2), (8,))
    """

    samples: Tensor
    index: Tensor


class ReplayBuffer:
    """Persistent chains for PCD: a fixed bank of states, restarted from noise with probability ``reinit_prob``.

    ``draw(S)`` picks ``S`` random slots i_s and starts each chain from

    .. math:: y_s = \\mathrm{states}[i_s] \\text{ with probability } 1 - p, \\text{ else }
              u_s \\sim \\mathcal U([\\mathrm{low}, \\mathrm{high}]^D)

    (p = ``reinit_prob``). After the MCMC steps, ``update(samples, index)`` writes the chains back into their slots.
    The bank starts as uniform noise.

    Args:
        capacity: number of stored states (e.g. 10,000).
        dim: ``D``.
        reinit_prob: probability of a fresh start (default 0.05).
        low, high: the noise box.
        seed: seeds the buffer's own generator (initial noise, slots, restarts).

    Example:
        >>> buffer = ReplayBuffer(100, 2, seed=0)
        >>> draw = buffer.draw(8)
        >>> buffer.update(draw.samples * 0, draw.index)
        >>> float(buffer.states[draw.index].abs().sum())
        0.0
    """

    def __init__(
        self,
        capacity: int,
        dim: int,
        *,
        reinit_prob: float = 0.05,
        low: float = -1.0,
        high: float = 1.0,
        seed: int = 0,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.capacity = check_int(capacity, "capacity")
        self.dim = check_int(dim, "dim")
        if isinstance(reinit_prob, bool) or not isinstance(reinit_prob, (int, float)) or not 0 <= reinit_prob <= 1:
            raise ValueError(f"reinit_prob must be a probability in [0, 1], got reinit_prob={reinit_prob!r}")
        if not low < high:
            raise ValueError(f"need low < high for the noise box, got low={low}, high={high}")
        self.reinit_prob, self.low, self.high = float(reinit_prob), float(low), float(high)
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.states = self._noise(self.capacity, dtype)  # (capacity, D)

    def _noise(self, count: int, dtype: torch.dtype) -> Tensor:
        unit = torch.rand((count, self.dim), generator=self.generator, device=self.device, dtype=dtype)
        return unit.mul_(self.high - self.low).add_(self.low)

    def draw(self, count: int) -> BufferDraw:
        """``count`` chain starts and the slots they came from. Shape: ``(S, D)``, ``(S,)``."""
        count = check_int(count, "count")
        index = torch.randint(self.capacity, (count,), generator=self.generator, device=self.device)  # (S,)
        samples = self.states[index]  # (S, D)
        if self.reinit_prob > 0:
            fresh = torch.rand(count, generator=self.generator, device=self.device) < self.reinit_prob  # (S,)
            samples = torch.where(fresh.unsqueeze(1), self._noise(count, samples.dtype), samples)
        return BufferDraw(samples, index)

    def update(self, samples: Tensor, index: Tensor) -> None:
        """Store the chains' new states in their slots. Shape: samples ``(S, D)``, index ``(S,)``."""
        if samples.shape != (index.shape[0], self.dim):
            raise ValueError(f"samples must have shape ({index.shape[0]}, {self.dim}), got {tuple(samples.shape)}")
        self.states[index] = samples.detach().to(self.states.dtype)

    def __len__(self) -> int:
        return self.capacity
