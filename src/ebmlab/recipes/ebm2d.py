"""``ebmlab train ebm2d``: an MLP energy on a 2-D toy density, by CD-k or persistent CD with Langevin chains.

One unit of the budget is one update (``--steps``) on the stream of toy samples: a batch of ``B``
data points y, negatives ȳ from ``langevin_steps`` Langevin steps
:math:`y \\leftarrow y - \\eta\\nabla_y E(y) + \\sigma\\epsilon` started at the batch (CD-k) or at a
replay buffer of persistent chains (PCD), then one Adam step on the CD loss plus the energy regulariser

.. math:: \\mathcal{L} = \\mathrm{mean}\\,E(y) - \\mathrm{mean}\\,E(\\bar y)
          + \\alpha\\,(\\mathrm{mean}\\,E(y)^2 + \\mathrm{mean}\\,E(\\bar y)^2)

(:mod:`ebmlab.models.ebm2d`). The batch, chain and buffer generators, the buffer, the model and the
Adam state are all in the checkpoint, so a resumed run draws exactly what the uninterrupted one drew.

Divergence, and the setting it names: a chain whose energy becomes NaN or infinite, or whose states
run more than ``ESCAPE_FACTOR`` half-widths of the toy's window away (energies stay finite there, but
the chains are lost and their gradients blow the parameters up), comes from the Langevin step size
(``--step-size``) — unless the parameters that ran it have grown ``PARAMETER_GROWTH`` times their
initial size: then the chains only followed an energy that Adam blew up (``--lr``). Both are caught
by the chain's own finiteness check (states beyond the radius count as infinite energy), before the
update that would use them, so the recipe adds no host synchronisation of its own: the losses come
back as 0-dim tensors, read by the loop once per ``log_every`` steps. A loss that explodes or is not
finite, and parameters that are not finite, name ``--lr`` (the loop's own checks).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._validation import check_int, check_positive, resolve_device
from ..data import TOYS, sample_toy, toy_limits
from ..metrics import gaussian_mmd
from ..models.ebm2d import MLPEnergy, _training_step, sample_model
from ..samplers import DivergedChainError, LangevinKernel, ReplayBuffer
from ..samplers.chain import _run_chain
from ..training import Diverged, generator_state, set_generator_state
from ._base import Recipe

__all__ = ["ESCAPE_FACTOR", "METHODS", "PARAMETER_GROWTH", "EBM2DConfig", "EBM2DFit", "EBM2DRecipe"]

METHODS = ("cd", "pcd")
ESCAPE_FACTOR = 100.0  #: chains beyond this many half-widths of the toy's window have diverged
PARAMETER_GROWTH = 10.0  #: parameters this many times their initial size blame the learning rate


@dataclass
class EBM2DConfig:
    """Settings of the 2-D EBM recipe.

    ``method``: ``"cd"`` starts the chains at the data batch (CD-k), ``"pcd"`` at a replay buffer of
    ``buffer_size`` persistent chains with ``reinit_prob`` fresh uniform restarts on the toy's
    window. Langevin: :math:`y \\leftarrow y - \\eta\\nabla E + \\sigma\\epsilon` with ``step_size`` η,
    ``noise_scale`` σ and gradient entries clipped to ``[-grad_clip, grad_clip]`` (None: no clipping).
    The MLP has ``depth`` hidden layers of ``hidden`` units; the data stream draws batches of
    ``batch_size`` from ``n_data`` samples of the toy. Evaluation: ``n_eval`` samples, from the
    buffer (PCD) or from noise (CD), refined by ``eval_steps`` more Langevin steps, scored by MMD
    (bandwidth ``mmd_bandwidth``) against ``n_eval`` fresh samples of the toy.

    Example:
        >>> EBM2DConfig(method="nce").validated()
        Traceback (most recent call last):
        ...
        ValueError: method must be one of ('cd', 'pcd'), got method='nce'
    """

    toy: str = "8gaussians"
    method: str = "pcd"
    hidden: int = 128
    depth: int = 2
    steps: int = 2000
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

    def validated(self) -> EBM2DConfig:
        """The settings, checked (ValueError/TypeError naming the field, expected vs given)."""
        if self.toy not in TOYS:
            raise ValueError(f"toy must be one of {TOYS}, got toy={self.toy!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got method={self.method!r}")
        for name in ("hidden", "depth", "steps", "batch_size", "langevin_steps", "buffer_size", "n_data"):
            check_int(getattr(self, name), name)
        check_int(self.n_eval, "n_eval", minimum=2)
        check_int(self.eval_steps, "eval_steps", minimum=0)
        for name in ("lr", "step_size", "mmd_bandwidth"):
            if not math.isfinite(check_positive(getattr(self, name), name)):
                raise ValueError(f"{name} must be finite, got {name}={getattr(self, name)}")
        check_positive(self.noise_scale, "noise_scale", strict=False)
        check_positive(self.energy_reg, "energy_reg", strict=False)
        if self.grad_clip is not None:
            check_positive(self.grad_clip, "grad_clip")
        if not 0 <= self.reinit_prob <= 1:
            raise ValueError(f"reinit_prob must be in [0, 1], got reinit_prob={self.reinit_prob}")
        resolve_device(self.device)
        return self


@dataclass(frozen=True)
class EBM2DFit:
    """A trained 2-D EBM on the CPU: the energy, its training data, evaluation samples ``(S, 2)``, their
    MMD² to the toy (and that of true samples, the baseline), the per-step losses and the settings.

    Example:
        >>> from ebmlab.training import train
        >>> recipe = EBM2DRecipe(EBM2DConfig(steps=2, hidden=8, buffer_size=64, batch_size=16, n_data=64))
        >>> _ = train(recipe, progress=False)
        >>> fit = recipe.fit()
        >>> fit.samples.shape[1], len(fit.losses), fit.mmd >= 0
        (2, 2, True)
    """

    model: MLPEnergy
    data: Tensor
    samples: Tensor
    mmd: float
    mmd_baseline: float
    losses: list[float]
    config: EBM2DConfig


class EBM2DRecipe(Recipe):
    """The 2-D EBM's training task: one unit is one CD/PCD update (module doc).

    Example:
        >>> from ebmlab.training import train
        >>> recipe = EBM2DRecipe(EBM2DConfig(steps=3, hidden=8, buffer_size=64, batch_size=16, n_data=64,
        ...                                  n_eval=32, eval_steps=1))
        >>> train(recipe, progress=False).step, tuple(recipe.sample(5, seed=1).shape)
        (3, (5, 2))
        >>> sorted(recipe.evaluate())
        ['mmd', 'mmd_true_vs_true']
    """

    name = "ebm2d"
    unit = "step"
    setting = "--lr"  # the loop's own checks (loss, parameters); chain divergence names --step-size here
    config_class = EBM2DConfig
    budget = ("steps",)
    runtime = ()  # the chain and buffer generators live on the device: a resume on another one could not be exact
    checkpoint_every = 500
    log_every = 50
    can_sample = True

    def __init__(self, config: EBM2DConfig) -> None:
        self.config = config = config.validated()
        self.device = resolve_device(config.device)
        self.low, self.high = toy_limits(config.toy)
        self.escape_radius = ESCAPE_FACTOR * max(abs(self.low), abs(self.high))
        self.data = sample_toy(config.toy, config.n_data, seed=config.seed).to(self.device)  # (N, 2)
        self.energy = MLPEnergy(2, (config.hidden,) * config.depth, seed=config.seed).to(self.device)
        self.optimizer = torch.optim.Adam(self.energy.parameters(), lr=config.lr, betas=(0.0, 0.999), fused=True)
        self.kernel = LangevinKernel(
            self.energy, step_size=config.step_size, noise_scale=config.noise_scale, grad_clip=config.grad_clip
        )
        self.buffer = None
        if config.method == "pcd":
            self.buffer = ReplayBuffer(
                config.buffer_size,
                2,
                reinit_prob=config.reinit_prob,
                low=self.low,
                high=self.high,
                seed=config.seed + 1,
                device=self.device,
            )
        self.batches = torch.Generator(device="cpu").manual_seed(config.seed + 2)
        self.chains = torch.Generator(device=self.device).manual_seed(config.seed + 3)
        self.initial_scale = self._parameter_scale()
        self._final_states: Tensor | None = None  # the last chain's end, kept to describe a divergence
        self._losses = torch.zeros(0, device=self.device)  # the per-step losses, and those not yet appended:
        self._pending: list[Tensor] = []  # 0-dim tensors, so that no step waits for the device
        self._done = 0
        self._evaluation: tuple[int, Tensor, float, float] | None = None

    @property
    def total(self) -> int:
        return self.config.steps

    # ------------------------------------------------------------------ training

    def step(self, index: int) -> dict[str, Any]:
        config = self.config
        rows = torch.randint(self.data.shape[0], (config.batch_size,), generator=self.batches).to(self.device)
        positive = self.data[rows]  # (B, 2)
        draw = None if self.buffer is None else self.buffer.draw(config.batch_size)
        init = positive if draw is None else draw.samples  # (B, 2)
        try:
            chain = _run_chain(self.kernel, init, config.langevin_steps, self.chains, self._final_energy)
        except DivergedChainError as exc:
            raise self._diverged(index + 1, exc) from None
        if draw is not None:
            self.buffer.update(chain.samples, draw.index)
        loss = _training_step(self.energy, self.optimizer, positive, chain.samples, config.energy_reg)
        self._pending.append(loss)
        self._done = index + 1
        return {"loss": loss, "epoch": self._done * config.batch_size / config.n_data}

    def _final_energy(self, y: Tensor) -> Tensor:
        """E at the chains' final states ``(B,)``, +inf beyond the escape radius: the chain's own
        finiteness check (its host synchronisation) then stops escaped chains too (module doc)."""
        self._final_states = y
        escaped = y.abs().amax(dim=1) > self.escape_radius  # (B,)
        return self.energy.energy(y).masked_fill(escaped, math.inf)

    def _parameter_scale(self) -> float:
        with torch.no_grad():
            return float(torch.stack([p.abs().max() for p in self.energy.parameters()]).max())

    def _diverged(self, done: int, error: DivergedChainError) -> Diverged:
        """The error naming the setting a diverged chain comes from (module doc)."""
        reach = float(self._final_states.abs().max()) if self._final_states is not None else math.nan
        if math.isfinite(reach) and reach > self.escape_radius:
            what = f"Langevin chains ran to |y| = {reach:.3g}, beyond {self.escape_radius:g}"
        else:  # "NaN or infinite energy at step t of T"
            what = "a Langevin chain reached a " + str(error).split(": ", 1)[-1].split(" with ")[0]
        growth = self._parameter_scale() / self.initial_scale
        if math.isfinite(growth) and growth < PARAMETER_GROWTH:
            setting, advice = "--step-size", f"lower --step-size (now {self.config.step_size:g}) or set --grad-clip"
        else:
            what += f", after the parameters grew {growth:.3g}x"
            setting, advice = "--lr", f"lower --lr (now {self.config.lr:g})"
        return Diverged(f"{self.name} training diverged at step {done}: {what}; {advice}", step=done, setting=setting)

    def losses(self) -> Tensor:
        """The loss of every step so far, shape ``(T,)``, on the device."""
        if self._pending:
            self._losses = torch.cat([self._losses, torch.stack(self._pending)])
            self._pending.clear()
        return self._losses

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.energy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "buffer": None if self.buffer is None else self.buffer.states,
            "generators": {
                "batches": generator_state(self.batches),
                "chains": generator_state(self.chains),
                "buffer": None if self.buffer is None else generator_state(self.buffer.generator),
            },
            "losses": self.losses(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.energy.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        generators = state["generators"]
        _load_generator(self.batches, generators["batches"])
        _load_generator(self.chains, generators["chains"])
        if self.buffer is not None:
            self.buffer.states.copy_(state["buffer"])
            _load_generator(self.buffer.generator, generators["buffer"])
        self._losses, self._pending = state["losses"].to(self.device).clone(), []
        self._done = len(self._losses)
        self._evaluation = None

    # ------------------------------------------------------------------ the finished run

    def model(self) -> MLPEnergy:
        return self.energy

    def sample(self, n: int, seed: int = 0) -> Tensor:
        """``n`` Langevin samples ``(n, 2)``: ``eval_steps`` steps from random buffer states (PCD) or from
        uniform noise on the toy's window (CD), the pick drawn with ``seed`` and the noise with ``seed + 1``."""
        n = check_int(n, "n")
        config = self.config
        generator = torch.Generator().manual_seed(seed)
        if self.buffer is not None:
            pick = torch.randint(config.buffer_size, (n,), generator=generator).to(self.device)
            init = self.buffer.states[pick]  # (S, 2)
        else:
            init = torch.rand(n, 2, generator=generator).to(self.device) * (self.high - self.low) + self.low
        if config.eval_steps == 0:
            return init
        return sample_model(
            self.energy,
            init,
            steps=config.eval_steps,
            step_size=config.step_size,
            noise_scale=config.noise_scale,
            grad_clip=config.grad_clip,
            seed=seed + 1,
        ).samples

    def _evaluated(self) -> tuple[Tensor, float, float]:
        """Evaluation samples and MMD² (model vs true, true vs true), computed once per trained state."""
        if self._evaluation is None or self._evaluation[0] != self._done:
            config = self.config
            samples = self.sample(config.n_eval, seed=config.seed + 4).cpu()
            reference = sample_toy(config.toy, config.n_eval, seed=config.seed + 10_000)
            other = sample_toy(config.toy, config.n_eval, seed=config.seed + 20_000)
            mmd = gaussian_mmd(samples, reference, bandwidth=config.mmd_bandwidth)
            baseline = gaussian_mmd(other, reference, bandwidth=config.mmd_bandwidth)
            self._evaluation = (self._done, samples, mmd, baseline)
        return self._evaluation[1:]

    def evaluate(self, **options: Any) -> dict[str, float]:
        """Squared MMD of ``n_eval`` model samples to fresh samples of the toy, and that of true samples."""
        self._no_options(options)
        _, mmd, baseline = self._evaluated()
        return {"mmd": mmd, "mmd_true_vs_true": baseline}

    def summary(self, metrics: dict[str, float]) -> str:
        return (
            f"MMD^2 of {self.config.n_eval} samples to the true {self.config.toy} density {metrics['mmd']:.5f} "
            f"(true vs true {metrics['mmd_true_vs_true']:.5f})"
        )

    def fit(self) -> EBM2DFit:
        samples, mmd, baseline = self._evaluated()
        return EBM2DFit(
            copy.deepcopy(self.energy).cpu(),
            self.data.cpu(),
            samples,
            mmd,
            baseline,
            self.losses().tolist(),
            self.config,
        )

    def plot(self, out: Path) -> list[Path]:
        from ..plotting.contrastive import plot_ebm2d

        return plot_ebm2d(self.fit(), out)


def _load_generator(generator: torch.Generator, state: Tensor) -> None:
    """Restore a generator's state; one from another kind of device (a run loaded elsewhere to evaluate
    or sample, which draws from fresh generators) is left as seeded."""
    if state.numel() == generator.get_state().numel():
        set_generator_state(generator, state)
