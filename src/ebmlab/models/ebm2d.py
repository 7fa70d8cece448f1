"""Deep energies on 2-D toy densities, trained by contrastive divergence (CD-k) or persistent CD.

The energy is an MLP :math:`E_\\theta: \\mathbb{R}^2 \\to \\mathbb{R}` (default 2-128-128-1 with SiLU).
One training step (:class:`ebmlab.recipes.ebm2d.EBM2DRecipe` runs them through the training loop):

1. negatives :math:`\\bar y` = ``langevin_steps`` Langevin steps on :math:`E_\\theta` started from the
   data batch (``method="cd"``, CD-k) or from a :class:`~ebmlab.samplers.ReplayBuffer` of persistent
   chains, 5 % restarted from uniform noise (``method="pcd"``);
2. minimise the contrastive-divergence loss plus an energy-magnitude regulariser
   (Du & Mordatch 2019), :func:`_training_step`,

   .. math:: \\mathcal{L} = \\frac1B\\sum_i E_\\theta(y_i) - \\frac1B\\sum_i E_\\theta(\\bar y_i)
             + \\alpha \\frac1B\\sum_i \\big(E_\\theta(y_i)^2 + E_\\theta(\\bar y_i)^2\\big).

The Langevin inner loop uses :meth:`MLPEnergy.energy_and_grad`, a hand-written forward and
backward pass (a few matrix products, no autograd graph), which the tests check against autograd.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._validation import check_int
from ..energy import EmptyLatent, Energy
from ..losses import contrastive_divergence_loss
from ..samplers import SampleResult, langevin

__all__ = ["MLPEnergy", "sample_model"]


class MLPEnergy(Energy):
    """An MLP energy :math:`E(y) = w^\\top h_L + b`, :math:`h_l = \\mathrm{SiLU}(W_l h_{l-1} + b_l)`, :math:`h_0 = y`.

    An :class:`~ebmlab.energy.Energy` without latent (:class:`~ebmlab.energy.EmptyLatent`): ``energy(y)``
    is E(y), what samplers call, and ``energy(y, z)`` with z ``(B, 0)`` is the same value, so that it meets
    the latent-variable contract (F_β(y) = E(y) for every β).

    :meth:`energy_and_grad` returns E and :math:`\\nabla_y E` by back-propagating by hand:
    with :math:`s_l = \\sigma(a_l)`, :math:`\\mathrm{SiLU}'(a_l) = s_l (1 + a_l (1 - s_l))` and
    :math:`g_{l-1} = (g_l \\odot \\mathrm{SiLU}'(a_l)) W_l`, starting from :math:`g_L = w`.

    Args:
        dim: ``D``.
        hidden: widths of the hidden layers.
        seed: initialisation seed (the global RNG is untouched).

    Shape:
        y ``(B, D)``, z ``(B, 0)`` or None → ``(B,)``.

    Example:
        >>> import torch
        >>> energy = MLPEnergy(2, (16, 16), seed=0)
        >>> y = torch.randn(5, 2)
        >>> value, grad = energy.energy_and_grad(y)
        >>> y.requires_grad_(True); auto = torch.autograd.grad(energy(y).sum(), y)[0]
        tensor(...)
        >>> torch.allclose(grad, auto, atol=1e-6), torch.allclose(value, energy(y).detach())
        (True, True)
    """

    def __init__(self, dim: int = 2, hidden: tuple[int, ...] = (128, 128), seed: int = 0) -> None:
        super().__init__()
        check_int(dim, "dim")
        if len(hidden) == 0:
            raise ValueError("hidden must list at least one layer width, got ()")
        widths = (dim, *(check_int(h, "hidden width") for h in hidden))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
            self.output = nn.Linear(widths[-1], 1)
        self.dim = dim
        self.data_dim = dim
        self.latent = EmptyLatent()

    def forward(self, y: Tensor, z: Tensor | None = None, x: Tensor | None = None) -> Tensor:
        """E(y) ``(B,)``; z, when given, must be the empty latent ``(B, 0)``."""
        if z is not None and (z.ndim != 2 or z.shape[1] != 0):
            raise ValueError(f"MLPEnergy has no latent: z must be None or of shape (B, 0), got {tuple(z.shape)}")
        h = y
        for layer in self.layers:
            h = nn.functional.silu(layer(h))  # (B, H)
        return self.output(h).squeeze(1)  # (B,)

    def energy_and_grad(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """E(y) ``(B,)`` and ∇_y E ``(B, D)`` without autograd (parameters get no gradient)."""
        value, saved = self.forward_saved(y)
        with torch.no_grad():
            grad = self.output.weight.expand(y.shape[0], -1)  # (B, H_L): ∂E/∂h_L
            for index in range(len(self.layers) - 1, -1, -1):
                grad = _silu_backward(grad, saved[index][1])  # ∂E/∂a_l (B, H)
                weight = self.layers[index].weight  # (H, H_in)
                if weight.shape[1] < 16:  # a skinny product runs ~4x faster as (H_in, H)(H, B), Wᵀ contiguous
                    grad = (weight.t().contiguous() @ grad.t()).t()  # (B, H_in)
                else:
                    grad = grad @ weight  # (B, H_in)
        return value, grad

    def forward_saved(self, y: Tensor) -> tuple[Tensor, list[tuple[Tensor, Tensor, Tensor]]]:
        """E(y) ``(B,)`` without autograd, and per layer (input, a, SiLU(a)) for :meth:`weighted_backward`."""
        with torch.no_grad():
            saved = []
            h = y
            for layer in self.layers:
                a = torch.addmm(layer.bias, h, layer.weight.t())  # (B, H)
                out = nn.functional.silu(a)
                saved.append((h, a, out))
                h = out
            value = torch.addmm(self.output.bias, h, self.output.weight.t()).squeeze(1)  # (B,)
        return value, saved

    def weighted_backward(self, saved: list[tuple[Tensor, Tensor, Tensor]], weights: Tensor) -> None:
        """Set each parameter's ``.grad`` to ∇_θ Σ_b weights_b E(y_b), by hand (the chain rule of the class doc).

        ``saved`` comes from :meth:`forward_saved`; ``weights`` is ``(B,)``.
        """
        with torch.no_grad():
            last = saved[-1][2]  # (B, H_L)
            self.output.weight.grad = (weights @ last).unsqueeze(0)  # (1, H_L)
            self.output.bias.grad = weights.sum().reshape(1)
            grad = torch.outer(weights, self.output.weight[0])  # (B, H_L): ∂/∂h_L
            for index in range(len(self.layers) - 1, -1, -1):
                layer_in, a, _ = saved[index]
                grad = _silu_backward(grad, a)  # ∂/∂a_l = ∂/∂h_l ⊙ SiLU'(a_l)
                layer = self.layers[index]
                layer.weight.grad = grad.t() @ layer_in  # (H, H_in)
                layer.bias.grad = grad.sum(dim=0)
                if index > 0:
                    grad = grad @ layer.weight  # (B, H_in)

    def energy(self, y: Tensor) -> Tensor:
        """E(y) ``(B,)`` without autograd: the forward pass alone."""
        with torch.no_grad():
            return self(y)


def _silu_backward(grad: Tensor, a: Tensor) -> Tensor:
    """grad ⊙ SiLU'(a) in one kernel (ATen's SiLU backward), ``(B, H)``."""
    return torch.ops.aten.silu_backward(grad, a)


def _training_step(
    model: MLPEnergy,
    optimizer: torch.optim.Optimizer,
    positive: Tensor,
    negative: Tensor,
    energy_reg: float,
) -> Tensor:
    """One optimiser step on L = mean E(y) − mean E(ȳ) + α (mean E(y)² + mean E(ȳ)²); returns L.

    The parameter gradients come from :meth:`MLPEnergy.weighted_backward` (by hand, no autograd
    graph) with the per-sample weights ∂L/∂E: (1 + 2αE)/B for positives, (−1 + 2αE)/B for negatives.
    """
    with torch.no_grad():
        energies, saved = model.forward_saved(torch.cat([positive, negative]))  # (2B,)
        e_pos, e_neg = energies.split([positive.shape[0], negative.shape[0]])  # (B,), (B,)
        loss = contrastive_divergence_loss(e_pos, e_neg.unsqueeze(1))  # mean E(y) - mean E(y_bar)
        weights = torch.cat([torch.full_like(e_pos, 1.0), torch.full_like(e_neg, -1.0)])  # (2B,)
        if energy_reg > 0:
            loss = loss + energy_reg * energies.pow(2).mean() * 2
            weights = weights.add_(energies, alpha=2.0 * energy_reg)
        model.weighted_backward(saved, weights.div_(positive.shape[0]))
    optimizer.step()
    return loss


def sample_model(
    model: MLPEnergy,
    init: Tensor,
    *,
    steps: int,
    step_size: float,
    noise_scale: float,
    grad_clip: float | None = None,
    seed: int = 0,
) -> SampleResult:
    """Langevin samples of a trained energy from ``init`` ``(S, D)`` (see :func:`ebmlab.samplers.langevin`):

    .. math:: y_{t+1} = y_t - \\eta \\nabla_y E_\\theta(y_t) + \\sigma \\varepsilon_t,
              \\qquad \\varepsilon_t \\sim \\mathcal N(0, I)

    Example:
        >>> import torch
        >>> model = MLPEnergy(2, (8, 8), seed=0)
        >>> result = sample_model(model, torch.zeros(5, 2), steps=3, step_size=0.01, noise_scale=0.1)
        >>> tuple(result.samples.shape), result.steps
        ((5, 2), 3)
    """
    generator = torch.Generator(device=init.device).manual_seed(seed)
    return langevin(
        model, init, steps=steps, step_size=step_size, noise_scale=noise_scale, grad_clip=grad_clip, generator=generator
    )
