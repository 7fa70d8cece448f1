"""Block Gibbs sampling: a transition kernel alternating two conditional samplers, y → z ~ p(z | y) → y' ~ p(y | z),
and the Bernoulli draw of binary conditionals (from a torch generator, or faster from a numpy bit generator)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

__all__ = ["BlockGibbsKernel", "RandomSource", "bernoulli"]

Conditional = Callable[[Tensor, "torch.Generator | None"], Tensor]
RandomSource = torch.Generator | np.random.BitGenerator | None  # a numpy bit generator: faster, CPU only

_LEAST_WORD = torch.tensor(-2147483648.0)  # -2^31


def _torch_generator(source: RandomSource, device: torch.device) -> torch.Generator | None:  # seeded from numpy's
    if isinstance(source, np.random.BitGenerator):
        return torch.Generator(device=device).manual_seed(int(source.random_raw()) >> 1)
    return source


def _words_below(words: Tensor, probabilities: Tensor, out: Tensor, *, overwrite: bool = False) -> Tensor:
    """1.0 where uniform int32 ``words`` (1-D, at least p's size) fall below p, as float32, into ``out``:
    u = float32(w) ∈ [−2³¹, 2³¹] against p (2³² + 512) − 2³¹, never at p = 0 (the least word is −2³¹),
    always at p = 1 (the largest round up to 2³¹ < 2³¹ + 512), in between off by at most 2⁻²³."""
    uniform = words[: probabilities.numel()].view(probabilities.shape).float()
    threshold = torch.add(_LEAST_WORD, probabilities, alpha=4294967808.0, out=probabilities if overwrite else None)
    return torch.lt(uniform, threshold, out=out)


def bernoulli(
    probabilities: Tensor, generator: RandomSource, out: Tensor | None = None, *, overwrite: bool = False
) -> Tensor:
    """b ~ Bernoulli(p) elementwise, :math:`b = \\mathbb 1[u < p]`, u ~ U(0, 1), drawn in p's logical order, as p's
    dtype (into ``out`` if given; ``overwrite``: p's storage may serve as scratch). A numpy bit generator on float32
    CPU tensors gives each draw half a 64-bit word (~2 ns a draw; ``torch.rand`` ~3 ns), compared with p by
    :func:`_words_below`; otherwise u comes from ``torch.rand`` (a numpy source seeds a torch generator).

    Example:
        >>> p = torch.tensor([0.0, 0.5, 1.0]).repeat(4000, 1)  # (4000, 3)
        >>> from_torch = bernoulli(p, torch.Generator().manual_seed(0)).mean(0)
        >>> from_numpy = bernoulli(p, np.random.SFC64(0)).mean(0)
        >>> from_torch[[0, 2]].tolist(), from_numpy[[0, 2]].tolist(), abs(from_numpy[1].item() - 0.5) < 0.03
        ([0.0, 1.0], [0.0, 1.0], True)
    """
    if out is None:
        out = torch.empty_like(probabilities, memory_format=torch.contiguous_format)
    if isinstance(generator, np.random.BitGenerator) and probabilities.is_cpu and probabilities.dtype == torch.float32:
        words = generator.random_raw((probabilities.numel() + 1) // 2)  # two draws per 64-bit word
        return _words_below(torch.from_numpy(words.view(np.int32)), probabilities, out, overwrite=overwrite)
    generator, device = _torch_generator(generator, probabilities.device), probabilities.device
    uniform = torch.rand(probabilities.shape, generator=generator, device=device, dtype=probabilities.dtype)
    return torch.lt(uniform, probabilities, out=out)


class BlockGibbsKernel:
    """One block-Gibbs sweep, a :class:`~ebmlab.samplers.TransitionKernel` on the joint p(y, z) ∝ e^{−E(y, z)}:

    .. math:: z_t \\sim p(z \\mid y_t), \\qquad y_{t+1} \\sim p(y \\mid z_t)

    Both moves leave p(y, z) invariant, so the chain's y follow the marginal p(y) ∝ e^{−F(y)}. The model supplies
    the two conditional samplers (an RBM: Bernoulli hidden units given the visible ones and back) and the free
    energy F reported at the final states; ``step`` reports the row sums of y_t as its check (finite while the
    states are).

    Args:
        sample_latent: ``(y (S, D), generator) → z (S, K)``, a draw from p(z | y).
        sample_visible: ``(z (S, K), generator) → y (S, D)``, a draw from p(y | z).
        free_energy: F ``(S, D)`` → ``(S,)``.
        advice: appended to the divergence message (what to check or change).

    Example:
        >>> import torch
        >>> rho = 0.5  # (y, z) ~ N(0, [[1, ρ], [ρ, 1]]): each given the other is N(ρ ·, 1 − ρ²)
        >>> conditional = lambda other, g: rho * other + (1 - rho**2) ** 0.5 * torch.randn(other.shape, generator=g)
        >>> kernel = BlockGibbsKernel(conditional, conditional, lambda y: 0.5 * y.pow(2).sum(1))
        >>> from ebmlab.samplers import run_chain
        >>> result = run_chain(kernel, torch.zeros(4000, 1), 20, generator=torch.Generator().manual_seed(0))
        >>> abs(result.samples.mean().item()) < 0.05, round(result.samples.var().item(), 1)  # y ~ N(0, 1)
        (True, 1.0)
    """

    def __init__(
        self, sample_latent: Conditional, sample_visible: Conditional, free_energy: Callable[[Tensor], Tensor],
        *, advice: str = "",
    ) -> None:
        self.sample_latent, self.sample_visible, self.free_energy = sample_latent, sample_visible, free_energy
        self.advice = advice

    def step(self, y: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        z = self.sample_latent(y, generator)  # (S, K)
        return self.sample_visible(z, generator), y.sum(dim=1)  # (S, D), (S,)

    def energy(self, y: Tensor) -> Tensor:
        return self.free_energy(y)

    def diverged(self, step: int, steps: int) -> str:
        return f"Gibbs chain diverged: NaN or infinite states at step {step} of {steps}" + (
            f"; {self.advice}" if self.advice else ""
        )
