"""Deep energies on 2-D toy densities, trained by contrastive divergence (CD-k) or persistent CD.

The energy is an MLP :math:`E_\\theta: \\mathbb{R}^2 \\to \\mathbb{R}` (default 2-128-128-1 with SiLU).
One training step:

1. negatives :math:`\\bar y` = ``langevin_steps`` Langevin steps on :math:`E_\\theta` started from the
   data batch (``method="cd"``, CD-k) or from a :class:`~ebmlab.samplers.ReplayBuffer` of persistent
   chains, 5 % restarted from uniform noise (``method="pcd"``);
2. minimise the contrastive-divergence loss plus an energy-magnitude regulariser
   (Du & Mordatch 2019),

   .. math:: \\mathcal{L} = \\frac1B\\sum_i E_\\theta(y_i) - \\frac1B\\sum_i E_\\theta(\\bar y_i)
             + \\alpha \\frac1B\\sum_i \\big(E_\\theta(y_i)^2 + E_\\theta(\\bar y_i)^2\\big).

The Langevin inner loop uses :meth:`MLPEnergy.energy_and_grad`, a hand-written forward and
backward pass (a few matrix products, no autograd graph), which the tests check against autograd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._validation import check_int, check_positive, resolve_device
from ..data import TOYS, sample_toy, toy_limits
from ..losses import contrastive_divergence_loss
from ..metrics import gaussian_mmd
from ..runs import RunDirectory, progress
from ..samplers import ReplayBuffer, SampleResult, _langevin, langevin

__all__ = ["EBM2DConfig", "EBM2DFit", "MLPEnergy", "sample_model", "train_ebm2d"]

METHODS = ("cd", "pcd")


class MLPEnergy(nn.Module):
    """An MLP energy :math:`E(y) = w^\\top h_L + b`, :math:`h_l = \\mathrm{SiLU}(W_l h_{l-1} + b_l)`, :math:`h_0 = y`.

    :meth:`energy_and_grad` returns E and :math:`\\nabla_y E` by back-propagating by hand:
    with :math:`s_l = \\sigma(a_l)`, :math:`\\mathrm{SiLU}'(a_l) = s_l (1 + a_l (1 - s_l))` and
    :math:`g_{l-1} = (g_l \\odot \\mathrm{SiLU}'(a_l)) W_l`, starting from :math:`g_L = w`.

    Args:
        dim: ``D``.
        hidden: widths of the hidden layers.
        seed: initialisation seed (the global RNG is untouched).

    Shape:
        y ``(B, D)`` → ``(B,)``.

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

    def forward(self, y: Tensor) -> Tensor:
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


@dataclass
class EBM2DConfig:
    """Settings of :func:`train_ebm2d`.

    ``method``: ``"cd"`` starts the chains at the data batch (CD-k), ``"pcd"`` at a replay buffer of
    ``buffer_size`` persistent chains with ``reinit_prob`` fresh uniform restarts on the toy's
    window. Langevin: :math:`y \\leftarrow y - \\eta\\nabla E + \\sigma\\epsilon` with ``step_size`` η and
    ``noise_scale`` σ. Evaluation: ``n_eval`` samples, from the buffer (PCD) or from noise (CD),
    refined by ``eval_steps`` more Langevin steps, scored by MMD (bandwidth ``mmd_bandwidth``)
    against ``n_eval`` fresh samples of the toy.
    """

    toy: str = "8gaussians"
    method: str = "pcd"
    hidden: int = 128
    depth: int = 2
    iterations: int = 2000
    batch_size: int = 256
    lr: float = 3e-3
    langevin_steps: int = 20
    step_size: float = 0.01
    noise_scale: float = 0.1
    grad_clip: float | None = None
    buffer_size: int = 10000
    reinit_prob: float = 0.05
    energy_reg: float = 0.1
    n_data: int = 20000
    n_eval: int = 2000
    eval_steps: int = 100
    mmd_bandwidth: float = 0.3
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 500
    log_every: int = 50

    def validated(self) -> EBM2DConfig:
        if self.toy not in TOYS:
            raise ValueError(f"toy must be one of {TOYS}, got toy={self.toy!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got method={self.method!r}")
        for name in ("hidden", "depth", "iterations", "batch_size", "langevin_steps", "buffer_size", "n_data"):
            check_int(getattr(self, name), name)
        for name in ("n_eval", "checkpoint_every", "log_every"):
            check_int(getattr(self, name), name)
        check_int(self.eval_steps, "eval_steps", minimum=0)
        for name in ("lr", "step_size", "mmd_bandwidth"):
            check_positive(getattr(self, name), name)
        check_positive(self.noise_scale, "noise_scale", strict=False)
        check_positive(self.energy_reg, "energy_reg", strict=False)
        if self.grad_clip is not None:
            check_positive(self.grad_clip, "grad_clip")
        if not 0 <= self.reinit_prob <= 1:
            raise ValueError(f"reinit_prob must be in [0, 1], got reinit_prob={self.reinit_prob}")
        return self


@dataclass(frozen=True)
class EBM2DFit:
    """A trained 2-D EBM: the energy, its training data, evaluation samples, MMD and the loss curve."""

    model: MLPEnergy
    data: Tensor
    samples: Tensor
    mmd: float
    mmd_baseline: float
    losses: list[float]
    config: EBM2DConfig


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
    """Langevin samples of a trained energy from ``init`` ``(S, D)`` (see :func:`ebmlab.samplers.langevin`)."""
    generator = torch.Generator(device=init.device).manual_seed(seed)
    return langevin(
        model, init, steps=steps, step_size=step_size, noise_scale=noise_scale, grad_clip=grad_clip, generator=generator
    )


def train_ebm2d(
    config: EBM2DConfig, *, run: RunDirectory | None = None, resume: bool = False, show_progress: bool = True
) -> EBM2DFit:
    """Train an MLP energy on a toy density by CD-k or PCD with Langevin negatives (module doc).

    With ``run``: writes config.json, metrics.jsonl (loss, energies, every ``log_every`` steps),
    a checkpoint (model, Adam state, replay buffer) every ``checkpoint_every`` steps, and resumes
    from it with ``resume=True``.

    Raises:
        DivergedChainError: a Langevin chain diverged (names the step and the step size).

    Example:
        >>> fit = train_ebm2d(EBM2DConfig(iterations=3, hidden=8, buffer_size=64, batch_size=16, n_data=64,
        ...                               n_eval=32, eval_steps=1), show_progress=False)
        >>> tuple(fit.samples.shape), len(fit.losses)
        ((32, 2), 3)
    """
    config = config.validated()
    device = resolve_device(config.device)
    low, high = toy_limits(config.toy)
    data = sample_toy(config.toy, config.n_data, seed=config.seed).to(device)  # (N, 2)
    model = MLPEnergy(2, (config.hidden,) * config.depth, seed=config.seed).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.0, 0.999), fused=True)
    buffer = ReplayBuffer(
        config.buffer_size, 2, reinit_prob=config.reinit_prob, low=low, high=high, seed=config.seed + 1, device=device
    )
    batches = torch.Generator(device="cpu").manual_seed(config.seed + 2)
    chains = torch.Generator(device=device).manual_seed(config.seed + 3)
    losses: list[float] = []
    start = 0
    if run is not None:
        if resume and run.has_checkpoint():
            checkpoint = run.load_checkpoint(optimizer)
            tensors = {k: v.to(device) for k, v in checkpoint.tensors.items()}
            model.load_state_dict({k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")})
            buffer.states.copy_(tensors["buffer"])
            start, losses = checkpoint.step, list(checkpoint.extra.get("losses", []))
            run.truncate_metrics("step", start)
            batches.manual_seed(config.seed + 2 + start)
            chains.manual_seed(config.seed + 3 + start)
            buffer.generator.manual_seed(config.seed + 1 + start)
        else:
            run.file("metrics.jsonl").unlink(missing_ok=True)
        run.write_config(config)

    def save(step: int) -> None:
        if run is not None:
            tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
            tensors["buffer"] = buffer.states
            run.save_checkpoint(tensors, step=step, config=config, extra={"losses": losses}, optimizer=optimizer)

    pending: list[Tensor] = []
    for step in progress(
        range(start, config.iterations), total=config.iterations - start, desc="ebm2d", enabled=show_progress
    ):
        index = torch.randint(data.shape[0], (config.batch_size,), generator=batches).to(device)
        positive = data[index]  # (B, 2)
        if config.method == "pcd":
            draw = buffer.draw(config.batch_size)
            init = draw.samples
        else:
            init = positive
        chain = _langevin(
            model.energy_and_grad,
            init,
            config.langevin_steps,
            config.step_size,
            config.noise_scale,
            config.grad_clip,
            None,
            chains,
            model.energy,
        )
        if config.method == "pcd":
            buffer.update(chain.samples, draw.index)
        pending.append(_training_step(model, optimizer, positive, chain.samples, config.energy_reg))
        if (step + 1) % config.log_every == 0 or step + 1 == config.iterations:
            values = torch.stack(pending).tolist()  # one host sync per log interval
            pending.clear()
            losses.extend(values)
            if not math.isfinite(values[-1]):
                raise ValueError(f"training loss became {values[-1]} at step {step + 1}; lower lr or step_size")
            if run is not None:
                run.log_metrics({"step": step + 1, "loss": values[-1], "mean_loss": sum(values) / len(values)})
        if (step + 1) % config.checkpoint_every == 0:
            save(step + 1)
    save(config.iterations)

    generator = torch.Generator(device="cpu").manual_seed(config.seed + 4)
    if config.method == "pcd":
        pick = torch.randint(config.buffer_size, (config.n_eval,), generator=generator).to(device)
        init = buffer.states[pick]
    else:
        init = torch.rand(config.n_eval, 2, generator=generator).to(device) * (high - low) + low
    samples = init
    if config.eval_steps > 0:
        samples = sample_model(
            model,
            init,
            steps=config.eval_steps,
            step_size=config.step_size,
            noise_scale=config.noise_scale,
            grad_clip=config.grad_clip,
            seed=config.seed + 5,
        ).samples
    reference = sample_toy(config.toy, config.n_eval, seed=config.seed + 10_000)
    other = sample_toy(config.toy, config.n_eval, seed=config.seed + 20_000)
    mmd = gaussian_mmd(samples.cpu(), reference, bandwidth=config.mmd_bandwidth)
    baseline = gaussian_mmd(other, reference, bandwidth=config.mmd_bandwidth)
    if run is not None:
        run.log_metrics({"step": config.iterations, "mmd": mmd, "mmd_true_vs_true": baseline})
    return EBM2DFit(model.cpu(), data.cpu(), samples.cpu(), mmd, baseline, losses, config)
