"""Block Gibbs sampling: a transition kernel alternating two conditional samplers, y → z ~ p(z | y) → y' ~ p(y | z),
and the draws of binary and Gaussian conditionals: from a torch generator, from a numpy ``RandomState`` drawn exactly
as scikit-learn draws (so that a model trained from one reproduces scikit-learn's), or, fastest on the CPU, from a
numpy bit generator's raw words."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

__all__ = ["BlockGibbsKernel", "RandomSource", "bernoulli", "standard_normal", "uniform"]

Conditional = Callable[[Tensor, "RandomSource"], Tensor]
#: torch generator (None: torch's default one), numpy RandomState (scikit-learn's draws) or bit generator (fast words)
RandomSource = torch.Generator | np.random.RandomState | np.random.BitGenerator | None

_LEAST_WORD = torch.tensor(-2147483648.0)  # -2^31


def _torch_generator(source: RandomSource, device: torch.device) -> torch.Generator | None:  # seeded from numpy's
    if isinstance(source, np.random.BitGenerator):
        return torch.Generator(device=device).manual_seed(int(source.random_raw()) >> 1)
    return source


def uniform(like: Tensor, generator: RandomSource) -> Tensor:
    """u ~ U[0, 1) of ``like``'s shape on its device, in logical (row-major) order: ``RandomState.random_sample``
    (float64: scikit-learn's ``rng.uniform(size=shape)``), else ``torch.rand`` in ``like``'s dtype (a bit generator
    seeds a torch generator).

    Example:
        >>> draws = uniform(torch.empty(2, 3), np.random.RandomState(0)).numpy()
        >>> bool((draws == np.random.RandomState(0).uniform(size=(2, 3))).all())
        True
    """
    if isinstance(generator, np.random.RandomState):
        return torch.from_numpy(generator.random_sample(tuple(like.shape))).to(like.device)
    generator = _torch_generator(generator, like.device)
    return torch.rand(like.shape, generator=generator, device=like.device, dtype=like.dtype)


def standard_normal(like: Tensor, generator: RandomSource) -> Tensor:
    """ε ~ N(0, 1) of ``like``'s shape, dtype and device, in logical order (``RandomState.standard_normal``).

    Example:
        >>> standard_normal(torch.empty(4, 2), torch.Generator().manual_seed(0)).shape
        torch.Size([4, 2])
    """
    if isinstance(generator, np.random.RandomState):
        return torch.from_numpy(generator.standard_normal(tuple(like.shape))).to(like.device, like.dtype)
    generator = _torch_generator(generator, like.device)
    return torch.randn(like.shape, generator=generator, device=like.device, dtype=like.dtype)


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
    """b ~ Bernoulli(p) elementwise, :math:`b = \\mathbb 1[u < p]`, as p's dtype, into ``out`` if given (any strides;
    ``overwrite``: p's storage may serve as scratch). u is :func:`uniform`, drawn in p's logical order (a
    ``RandomState``: scikit-learn's ``p[rng.uniform(size=p.shape) < p] = 1``, compared in float64), except from a numpy
    bit generator on float32 CPU tensors: half a 64-bit word per draw in p's memory order (~3× faster than
    ``RandomState``), compared with p by :func:`_words_below`.

    Example:
        >>> p = torch.tensor([0.0, 0.5, 1.0]).repeat(4000, 1)  # (4000, 3)
        >>> from_torch = bernoulli(p, torch.Generator().manual_seed(0)).mean(0)
        >>> from_words = bernoulli(p, np.random.SFC64(0)).mean(0)
        >>> from_torch[[0, 2]].tolist(), from_words[[0, 2]].tolist(), abs(from_words[1].item() - 0.5) < 0.03
        ([0.0, 1.0], [0.0, 1.0], True)
        >>> q = np.full((2, 4), 0.5); q[np.random.RandomState(0).uniform(size=q.shape) < q] = 1.0  # scikit-learn's
        >>> bool((bernoulli(torch.full((2, 4), 0.5), np.random.RandomState(0)).numpy() == np.floor(q)).all())
        True
    """
    if out is None:
        out = torch.empty_like(probabilities, memory_format=torch.contiguous_format)
    if isinstance(generator, np.random.BitGenerator) and probabilities.is_cpu and probabilities.dtype == torch.float32:
        words = generator.random_raw((probabilities.numel() + 1) // 2)  # two draws per 64-bit word
        return _words_below(torch.from_numpy(words.view(np.int32)), probabilities, out, overwrite=overwrite)
    u = uniform(probabilities, generator)
    return torch.lt(u, probabilities.to(u.dtype) if u.dtype != probabilities.dtype else probabilities, out=out)


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

    def step(self, y: Tensor, generator: RandomSource) -> tuple[Tensor, Tensor]:
        z = self.sample_latent(y, generator)  # (S, K)
        return self.sample_visible(z, generator), y.sum(dim=1)  # (S, D), (S,)

    def energy(self, y: Tensor) -> Tensor:
        return self.free_energy(y)

    def diverged(self, step: int, steps: int) -> str:
        return f"Gibbs chain diverged: NaN or infinite states at step {step} of {steps}" + (
            f"; {self.advice}" if self.advice else ""
        )
