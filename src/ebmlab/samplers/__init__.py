"""Samplers: Markov chains that draw negatives from an energy, as small transition kernels run by one driver.

Every chain is :func:`run_chain` (:mod:`.chain`) of a :class:`TransitionKernel` — ``step(y, generator)`` moves
the states ``(S, D)`` once — from an init, for T steps, with an explicit ``torch.Generator``; it returns a
:class:`SampleResult` and raises :class:`DivergedChainError` naming the first step at which a chain's energy
became NaN or infinite, so a divergent chain never trains a silent NaN model. By concern:

* :mod:`.langevin`: :class:`LangevinKernel`, :math:`y_{t+1} = y_t - \\eta\\, \\mathrm{clip}(\\nabla_y E(y_t))
  + \\sigma \\epsilon_t`, and its chain :func:`langevin` / :class:`Langevin`;
* :mod:`.gibbs`: :class:`BlockGibbsKernel`, z ~ p(z | y) then y ~ p(y | z), the model supplying both conditionals
  (the RBM: :func:`ebmlab.models.rbm.gibbs_chain`), and :func:`bernoulli`, the draw of binary units;
* :mod:`.ais`: :func:`annealed_importance_sampling`, log Z along tempered free energies F_β with a kernel at each
  β (the RBM: :func:`ebmlab.models.rbm.ais_log_partition`);
* :mod:`.replay`: :class:`ReplayBuffer`, the persistent chains of PCD, restarted from fresh noise with a small
  probability (5 % noise, 95 % buffer, as in Du & Mordatch 2019 and Grathwohl et al. 2020).

Example:
    >>> import torch
    >>> kernel = LangevinKernel(lambda y: 0.5 * y.pow(2).sum(1), step_size=0.1)
    >>> run_chain(kernel, torch.zeros(5, 2), 10, generator=torch.Generator().manual_seed(0)).samples.shape
    torch.Size([5, 2])
"""

from .ais import AISResult, ais_betas, annealed_importance_sampling
from .chain import DivergedChainError, SampleResult, TransitionKernel, run_chain
from .gibbs import BlockGibbsKernel, RandomSource, bernoulli
from .langevin import GradientEnergy, Langevin, LangevinKernel, autograd_energy_and_grad, langevin
from .replay import BufferDraw, ReplayBuffer

__all__ = [
    "AISResult",
    "BlockGibbsKernel",
    "BufferDraw",
    "DivergedChainError",
    "GradientEnergy",
    "Langevin",
    "LangevinKernel",
    "RandomSource",
    "ReplayBuffer",
    "SampleResult",
    "TransitionKernel",
    "ais_betas",
    "annealed_importance_sampling",
    "autograd_energy_and_grad",
    "bernoulli",
    "langevin",
    "run_chain",
]
