"""What the one training loop costs: a model's step called bare vs the same steps run by
``ebmlab.training.train`` (progress off, metrics, checkpoints and divergence checks on, writing a
real run directory), interleaved, on the settings users run.

* RBM: MNIST, 500 hidden units, batch 100, lr 0.05 (the RBM benchmark's setting): seconds per epoch.
* 2-D EBM: the 8gaussians PCD recipe at its defaults (MLP 2-128-128-1, 20 Langevin steps): ms per step.

    python benchmarks/bench_loop.py --data-root ../shared/data
    python benchmarks/bench_loop.py --quick   # digits instead of MNIST, fewer steps
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from ebmlab.recipes.ebm2d import EBM2DConfig, EBM2DRecipe
from ebmlab.recipes.rbm import RBMConfig, RBMRecipe
from ebmlab.training import RunDirectory, train


def _through_loop(recipe, units: int) -> float:
    """Seconds for ``units`` more units of ``recipe`` driven by the loop into a fresh run directory."""
    start_position = getattr(recipe, "_position", 0)
    target = start_position + units
    run = RunDirectory.create(tempfile.mkdtemp() + "/run", model=recipe.name, config=recipe.config)
    checkpoint = None
    if start_position:
        run.save_checkpoint(model=recipe.name, step=start_position, time=0.0, config=recipe.config,
                            state={"task": recipe.state_dict(), "loop": {"initial_loss": None}})
        checkpoint = run.load_checkpoint()
    type(recipe).total = property(lambda self: target)  # run exactly `units` more units
    began = time.perf_counter()
    train(recipe, run=run, resume_from=checkpoint, progress=False, log_every=recipe.log_every,
          checkpoint_every=recipe.checkpoint_every)
    seconds = time.perf_counter() - began
    recipe._position = target
    return seconds


def _bare(recipe, units: int) -> float:
    position = getattr(recipe, "_position", 0)
    began = time.perf_counter()
    for index in range(position, position + units):
        recipe.step(index)
    seconds = time.perf_counter() - began
    recipe._position = position + units
    return seconds


def compare(name: str, bare_recipe, loop_recipe, units: int, rounds: int, scale: float, unit: str) -> None:
    bare, loop = [], []
    _bare(bare_recipe, 1)  # warm-up: first-call allocations
    _through_loop(loop_recipe, 1)
    for _ in range(rounds):
        bare.append(_bare(bare_recipe, units) / units)
        loop.append(_through_loop(loop_recipe, units) / units)
    b, lp = statistics.median(bare) * scale, statistics.median(loop) * scale
    print(f"| {name} | {b:.3f} {unit} | {lp:.3f} {unit} | {lp / b:.3f} | {rounds} × {units} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None, help="folder holding mnist/*.gz")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-ebm2d", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print("| model | bare step | through the loop | ratio | rounds × units |")
    print("|---|---|---|---|---|")
    data = "digits" if args.quick else "mnist"
    hidden = 64 if args.quick else 500

    def rbm() -> RBMRecipe:
        return RBMRecipe(RBMConfig(data=data, data_root=args.data_root, n_components=hidden, learning_rate=0.05,
                                   batch_size=100, epochs=1000, sample_steps=10, ais_betas=10))

    compare(f"RBM {data}, {hidden} hidden (s / epoch)", rbm(), rbm(), 3,
            3 if not args.quick else 2, 1.0, "s")
    if args.skip_ebm2d:
        return
    torch.set_num_threads(1)

    def ebm() -> EBM2DRecipe:
        return EBM2DRecipe(EBM2DConfig(toy="8gaussians", steps=100_000))

    compare("2-D EBM 8gaussians PCD (ms / step, 1 thread)", ebm(), ebm(), 100 if args.quick else 500,
            2 if args.quick else 5, 1e3, "ms")


if __name__ == "__main__":
    main()
