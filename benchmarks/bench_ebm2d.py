"""2-D toy EBMs: MMD to the true density per toy, and time per PCD training step against torchebm and ebmkit.

Shared configuration (the issue's): MLP 2-128-128-1 with SiLU, batch 256, 20 Langevin steps
y <- y - eta grad E(y) + sigma eps (eta = 0.01, sigma = 0.1), persistent buffer of 10,000 with 5 %
uniform restarts on [-4.5, 4.5]^2, CD loss + 0.1 (E+^2 + E-^2), Adam(lr 3e-3, betas (0, 0.999)).
Quality: squared MMD, Gaussian kernel of bandwidth 0.3, 2,000 model samples (random buffer states
refined by 100 Langevin steps, same procedure for every library) vs 2,000 true samples; baseline:
2,000 true vs 2,000 other true samples.

    python benchmarks/bench_ebm2d.py            # full run
    python benchmarks/bench_ebm2d.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from torch import nn

from ebmlab.data import TOYS, sample_toy
from ebmlab.metrics import gaussian_mmd
from ebmlab.models.ebm2d import MLPEnergy, _training_step
from ebmlab.recipes.ebm2d import EBM2DConfig, EBM2DRecipe
from ebmlab.samplers import LangevinKernel, ReplayBuffer, langevin
from ebmlab.samplers.chain import _run_chain
from ebmlab.training import train

ETA, SIGMA, BATCH, STEPS, BUFFER, LOW, HIGH, ALPHA, LR = 0.01, 0.1, 256, 20, 10_000, -4.5, 4.5, 0.1, 3e-3


def _mlp(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 128), nn.SiLU(), nn.Linear(128, 128), nn.SiLU(), nn.Linear(128, 1))


def _uniform(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.rand(shape) * (HIGH - LOW) + LOW


def _batches(data: torch.Tensor, seed: int):
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield data[torch.randint(data.shape[0], (BATCH,), generator=generator)]


# ----------------------------------------------------------------------------------------------- contenders


def make_ebmlab(data, seed=0):
    model = MLPEnergy(2, (128, 128), seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.0, 0.999), fused=True)
    buffer = ReplayBuffer(BUFFER, 2, reinit_prob=0.05, low=LOW, high=HIGH, seed=seed + 1)
    chains = torch.Generator().manual_seed(seed + 3)
    kernel = LangevinKernel(model, step_size=ETA, noise_scale=SIGMA)
    batches = _batches(data, seed + 2)

    def step():
        draw = buffer.draw(BATCH)
        chain = _run_chain(kernel, draw.samples, STEPS, chains, model.energy)
        buffer.update(chain.samples, draw.index)
        _training_step(model, optimizer, next(batches), chain.samples, ALPHA)

    return step, model, lambda: buffer.states


def make_plain(data, seed=0):
    """A plain PyTorch PCD loop: autograd input gradients, the same buffer recipe."""
    model = _mlp(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.0, 0.999))
    states = _uniform((BUFFER, 2))
    batches = _batches(data, seed + 2)

    def energy(y):
        return model(y).squeeze(1)

    def step():
        index = torch.randint(BUFFER, (BATCH,))
        y = states[index]
        fresh = torch.rand(BATCH) < 0.05
        y = torch.where(fresh[:, None], _uniform((BATCH, 2)), y)
        for _ in range(STEPS):
            y = y.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(energy(y).sum(), y)
            y = y - ETA * grad + SIGMA * torch.randn_like(y)
        y = y.detach()
        states[index] = y
        positive = next(batches)
        e_pos, e_neg = energy(positive), energy(y)
        loss = e_pos.mean() - e_neg.mean() + ALPHA * (e_pos.pow(2).mean() + e_neg.pow(2).mean())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step, energy, lambda: states


def make_torchebm(data, seed=0):
    from torchebm.core import BaseModel
    from torchebm.losses import ContrastiveDivergence
    from torchebm.samplers import LangevinDynamics

    class Model(BaseModel):
        def __init__(self):
            super().__init__()
            self.net = _mlp(seed)

        def forward(self, x):
            return self.net(x).squeeze(-1)

    model = Model()
    # torchebm's Euler-Maruyama noise is noise_scale * sqrt(2 eta) * eps: pick noise_scale for sigma = 0.1
    sampler = LangevinDynamics(model, step_size=ETA, noise_scale=SIGMA / math.sqrt(2 * ETA))
    loss_fn = ContrastiveDivergence(
        model,
        sampler,
        k_steps=STEPS,
        persistent=True,
        buffer_size=BUFFER,
        new_sample_ratio=0.05,
        energy_reg_weight=ALPHA,
        init_steps=0,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.0, 0.999))
    batches = _batches(data, seed + 2)

    def step():
        loss, _ = loss_fn(next(batches))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step, model, lambda: loss_fn.replay_buffer


def make_ebmkit(data, seed=0):
    import ebm

    net = _mlp(seed)

    def energy(y):
        return net(y).squeeze(-1)

    sampler = ebm.LangevinDynamics(step_size=ETA, steps=STEPS, noise_scale=SIGMA)
    buffer = ebm.ReplayBuffer(BUFFER, (2,), reinit_prob=0.05, init_fn=_uniform)
    loss_fn = ebm.ContrastiveDivergence(sampler, buffer=buffer, energy_reg=ALPHA)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR, betas=(0.0, 0.999))
    batches = _batches(data, seed + 2)

    def step():
        out = loss_fn(energy, next(batches))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()

    return step, energy, lambda: buffer.data


CONTENDERS = {"ebmlab": make_ebmlab, "plain PyTorch": make_plain, "torchebm": make_torchebm, "ebmkit": make_ebmkit}


def evaluate(energy, states: torch.Tensor, toy: str, n_eval: int = 2000) -> float:
    generator = torch.Generator().manual_seed(4)
    init = states[torch.randint(states.shape[0], (n_eval,), generator=generator)].detach().float()
    with torch.no_grad():
        samples = langevin(
            energy, init, steps=100, step_size=ETA, noise_scale=SIGMA, generator=torch.Generator().manual_seed(5)
        ).samples
    return gaussian_mmd(samples, sample_toy(toy, n_eval, seed=10_000))


def speed(iterations: int, timing_steps: int, toy: str, seeds: int, rounds: int) -> None:
    data = sample_toy(toy, 20_000, seed=0)
    built, errors = {}, {}
    for name, make in CONTENDERS.items():
        try:
            torch.manual_seed(100)
            built[name] = make(data, 0)
            for _ in range(5):
                built[name][0]()
        except Exception as exc:  # a peer that cannot run is reported, not fatal
            errors[name] = f"{type(exc).__name__}: {exc}"
            built.pop(name, None)
    # timing: interleaved rounds (the machine's speed drifts), median per-step time of each contender
    per = {name: [] for name in built}
    chunk = max(1, timing_steps // rounds)
    for _ in range(rounds):
        for name, (step, _, _) in built.items():
            start = time.perf_counter()
            for _ in range(chunk):
                step()
            per[name].append((time.perf_counter() - start) / chunk)
    # quality after `iterations` training steps (the timed steps count for seed 0), over `seeds` seeds
    done = 5 + rounds * chunk
    mmd: dict[str, list[float]] = {name: [] for name in built}
    for name, (step, energy, states) in built.items():
        for _ in range(max(0, iterations - done)):
            step()
        mmd[name].append(evaluate(energy, states(), toy))
        for seed in range(1, seeds):
            torch.manual_seed(100 + seed)
            step, energy, states = CONTENDERS[name](data, seed)
            for _ in range(iterations):
                step()
            mmd[name].append(evaluate(energy, states(), toy))
    baseline = gaussian_mmd(sample_toy(toy, 2000, seed=20_000), sample_toy(toy, 2000, seed=10_000))
    fastest_peer = min((statistics.median(per[n]) for n in per if n != "ebmlab"), default=float("nan"))
    print(
        f"\n### Time per PCD training step on {toy} ({torch.get_num_threads()} thread(s), median of {rounds} "
        f"interleaved rounds of {chunk} steps), MMD² after {iterations} steps over {seeds} seed(s)"
    )
    print("| library | ms / step (median) | ratio vs fastest peer | MMD² mean ± sd | MMD² per seed |")
    print("|---|---|---|---|---|")
    for name in built:
        ms = statistics.median(per[name]) * 1e3
        values = mmd[name]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        listed = ", ".join(f"{v:.5f}" for v in values)
        print(
            f"| {name} | {ms:.2f} | {ms / (fastest_peer * 1e3):.2f} | "
            f"{statistics.mean(values):.5f} ± {spread:.5f} | {listed} |"
        )
    print(f"| true vs true samples | | | {baseline:.5f} | |")
    for name, error in errors.items():
        print(f"\n{name} could not run: {error}")


def quality(iterations: int, toys: list[str]) -> None:
    print(f"\n### ebmlab PCD on every toy, {iterations} steps ({torch.get_num_threads()} thread(s))")
    print("| toy | MMD² model vs true | MMD² true vs true | MMD² uniform noise vs true | s total |")
    print("|---|---|---|---|---|")
    for toy in toys:
        start = time.perf_counter()
        recipe = EBM2DRecipe(EBM2DConfig(toy=toy, steps=iterations))
        train(recipe, progress=False, log_every=recipe.log_every, checkpoint_every=recipe.checkpoint_every)
        metrics = recipe.evaluate()
        noise = _uniform((2000, 2))
        noise_mmd = gaussian_mmd(noise, sample_toy(toy, 2000, seed=10_000))
        seconds = time.perf_counter() - start
        print(f"| {toy} | {metrics['mmd']:.5f} | {metrics['mmd_true_vs_true']:.5f} | {noise_mmd:.5f} | {seconds:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: few steps, two toys")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: tiny matrices)")
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--timing-steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=10, help="interleaved timing rounds")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per library for the MMD")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    iterations, timing, toys = args.iterations, args.timing_steps, list(TOYS)
    if args.quick:
        iterations, timing, toys = 60, 20, ["8gaussians", "moons"]
        args.seeds, args.rounds = 1, 2
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    if not args.skip_speed:
        speed(iterations, timing, "8gaussians", args.seeds, args.rounds)
    if not args.skip_quality:
        quality(iterations, toys)


if __name__ == "__main__":
    main()
