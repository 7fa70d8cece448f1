"""Samplers: MCMC chains that draw negatives from an energy (Langevin dynamics, Gibbs sampling).

Every sampler returns a :class:`SampleResult`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

__all__ = ["SampleResult"]


@dataclass(frozen=True)
class SampleResult:
    """The end of a batch of MCMC chains.

    Attributes:
        samples: final states, shape ``(S, D)``, detached.
        energy: their energies (or free energies), shape ``(S,)``, detached.
        steps: MCMC steps taken.
    """

    samples: Tensor
    energy: Tensor
    steps: int
