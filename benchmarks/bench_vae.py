"""Benchmark: ebmlab's VAE recipe against a plain PyTorch loop, and the VAE against the IWAE on binarised MNIST.

(a) ``--part a`` — the pytorch/examples recipe (vae/main.py): 784-400-20, ReLU, Bernoulli decoder on
    the grey (non-binarised) pixels, Adam 1e-3, batch 128, 10 epochs, loss = summed BCE + KL per image.
    ebmlab's :class:`~ebmlab.recipes.vae.VAERecipe`, driven by the one training loop
    (:func:`ebmlab.training.train`, metrics rows and checkpoints in a temporary run directory, as
    ``ebmlab train vae`` does), runs side by side with a plain loop of that recipe (the examples' model,
    its ``loss_function`` summed over the batch, one ``loss.item()`` per batch), in the same process,
    from the same initial weights, on the same data order (the same seeded permutation every epoch).
    Their epochs are interleaved (and their order alternates) so the machine's drift hits both alike;
    ebmlab's time per epoch includes the loop's own work between epochs (logging, checkpoints).
    Reported: the test loss of both (the examples' ``test()``: a one-sample negative ELBO, nats per
    image; target within 1 %, about 105 after 10 epochs) and the time per epoch ratio (target ≤ 1.1).

(b) ``--part b`` — dynamically binarised MNIST, one stochastic layer as Burda et al. (2016):
    784-200-200-50, tanh, Bernoulli decoder; the VAE (ELBO) and the IWAE (k = 5) trained for the
    same training wall time (``--minutes`` each; epochs of the two interleaved, the one behind in
    training time goes next). The learning curve: every ``--eval-every`` minutes of training time, the
    IWAE-``--curve-k`` NLL on the first ``--curve-images`` test images (time not counted as training).
    At the end: the IWAE-``--final-k`` test NLL (k = 5000 for reported numbers) with its standard
    error on ``--final-images`` test images (all 10,000 by default). Targets: VAE ≤ 88 nats (Burda et
    al.: 86.76 after 3,280 passes); IWAE (k = 5) lower than the VAE at equal wall time.

    python benchmarks/bench_vae.py --part a --data-root ../shared/data
    python benchmarks/bench_vae.py --part b --data-root ../shared/data --minutes 60
    python benchmarks/bench_vae.py --part a --data-root ../shared/data --epochs 1            # a smoke run
    python benchmarks/bench_vae.py --part b --data-root ../shared/data --max-epochs 1 \\
        --curve-k 10 --final-k 100 --final-images 1000                                      # a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ebmlab.models.vae import VAE, log_likelihood
from ebmlab.recipes.vae import VAEConfig, VAERecipe
from ebmlab.training import RunDirectory, Task, train

# ------------------------------------------------------------------ (a) the pytorch/examples recipe


class ExamplesVAE(nn.Module):
    """pytorch/examples vae/main.py, verbatim apart from the names."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu: Tensor, logvar: Tensor) -> Tensor:
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z: Tensor) -> Tensor:
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def examples_loss(recon_x: Tensor, x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """The examples' loss_function: summed BCE + KL over the batch."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


class PlainLoop:
    """The examples' train() and test(), over the same tensors and the same permutations as ebmlab's recipe."""

    def __init__(self, model: ExamplesVAE, train_data: Tensor, test_data: Tensor, seed: int, lr: float, batch: int):
        self.model, self.train_data, self.test_data, self.batch = model, train_data, test_data, batch
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        self.shuffler = torch.Generator().manual_seed(seed)  # the recipe's data order

    def epoch(self) -> float:
        self.model.train()
        train_loss = 0.0
        order = torch.randperm(len(self.train_data), generator=self.shuffler)
        for begin in range(0, len(self.train_data), self.batch):
            data = self.train_data[order[begin : begin + self.batch]]
            self.optimizer.zero_grad()
            recon_batch, mu, logvar = self.model(data)
            loss = examples_loss(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            self.optimizer.step()
        return train_loss / len(self.train_data)

    def test(self) -> float:
        self.model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for begin in range(0, len(self.test_data), self.batch):
                data = self.test_data[begin : begin + self.batch]
                recon_batch, mu, logvar = self.model(data)
                test_loss += examples_loss(recon_batch, data, mu, logvar).item()
        return test_loss / len(self.test_data)


def _copy_initial_weights(ours: VAE, theirs: ExamplesVAE) -> None:
    mapping = {
        "fc1": ours.encoder.body[0],
        "fc21": ours.encoder.mean,
        "fc22": ours.encoder.log_var,
        "fc3": ours.energy.decoder[0],
        "fc4": ours.energy.decoder[2],
    }
    with torch.no_grad():
        for name, layer in mapping.items():
            getattr(theirs, name).weight.copy_(layer.weight)
            getattr(theirs, name).bias.copy_(layer.bias)


class SideBySide(Task):
    """ebmlab's recipe as the task of the one loop, with the plain loop's epoch run inside each unit
    (first or second, alternating); records both epoch times and the loop's time between units."""

    name, unit, setting = "vae", "epoch", "--lr"

    def __init__(self, recipe: VAERecipe, plain: PlainLoop) -> None:
        self.recipe, self.plain, self.config = recipe, plain, recipe.config
        self.total = recipe.total
        self.ours: list[float] = []
        self.theirs: list[float] = []
        self.between: list[float] = []  # the loop's work after each unit (metrics row, checkpoint)
        self.plain_losses: list[float] = []
        self.returned: float | None = None

    def step(self, index: int) -> dict[str, Any]:
        start = time.perf_counter()
        if self.returned is not None:
            self.between.append(start - self.returned)
        metrics: dict[str, Any] = {}

        def ours() -> None:
            began = time.perf_counter()
            metrics.update(self.recipe.step(index))
            float(metrics["loss"])  # (a no-op on the CPU) the epoch is finished
            self.ours.append(time.perf_counter() - began)

        def theirs() -> None:
            began = time.perf_counter()
            self.plain_losses.append(self.plain.epoch())
            self.theirs.append(time.perf_counter() - began)

        for run in (ours, theirs) if index % 2 else (theirs, ours):
            run()
        self.returned = time.perf_counter()
        return metrics

    def state_dict(self) -> Any:
        return self.recipe.state_dict()

    def load_state_dict(self, state: Any) -> None:
        self.recipe.load_state_dict(state)


def part_a(args: argparse.Namespace) -> dict[str, Any]:
    config = VAEConfig(
        data="mnist",
        data_root=args.data_root,
        hidden=(400,),
        latent=20,
        activation="relu",
        decoder="bernoulli",
        binarize="none",
        epochs=args.epochs,
        batch_size=128,
        lr=1e-3,
        seed=args.seed,
    )
    recipe = VAERecipe(config)
    plain_model = ExamplesVAE()
    _copy_initial_weights(recipe.net, plain_model)
    plain = PlainLoop(plain_model, recipe.data, recipe.heldout, args.seed, lr=1e-3, batch=128)
    task = SideBySide(recipe, plain)
    with tempfile.TemporaryDirectory() as folder:
        run = RunDirectory.create(Path(folder) / "run", model="vae", config=config)
        train(task, run=run, checkpoint_every=args.checkpoint_every, progress=False)
        task.between.append(time.perf_counter() - task.returned)  # the last unit's checkpoint
        rows = run.read_metrics()
    ours_epochs = [step + loop for step, loop in zip(task.ours, task.between, strict=True)]
    ours_test = -recipe.evaluate()["test_elbo"]
    theirs_test = plain.test()
    ratios = [mine / other for mine, other in zip(ours_epochs, task.theirs, strict=True)]
    result = {
        "part": "a",
        "epochs": args.epochs,
        "threads": torch.get_num_threads(),
        "test_loss_ebmlab": ours_test,
        "test_loss_plain": theirs_test,
        "test_loss_relative_difference": (ours_test - theirs_test) / theirs_test,
        "train_loss_ebmlab": [row["loss"] for row in rows],
        "train_loss_plain": task.plain_losses,
        "epoch_seconds_ebmlab": ours_epochs,
        "epoch_seconds_ebmlab_loop_part": task.between,
        "epoch_seconds_plain": task.theirs,
        "time_ratio_median": statistics.median(ratios),
        "time_ratio_total": sum(ours_epochs) / sum(task.theirs),
    }
    print("| epoch | ebmlab train loss | plain train loss | ebmlab s (loop part) | plain s | ratio |")
    print("|---|---|---|---|---|---|")
    for i in range(args.epochs):
        print(
            f"| {i + 1} | {rows[i]['loss']:.3f} | {task.plain_losses[i]:.3f} | {ours_epochs[i]:.2f} "
            f"({task.between[i]:.3f}) | {task.theirs[i]:.2f} | {ratios[i]:.3f} |"
        )
    print(
        f"\ntest loss (one-sample negative ELBO, nats per image): ebmlab {ours_test:.3f}, plain {theirs_test:.3f} "
        f"({100 * result['test_loss_relative_difference']:+.2f} %); time per epoch ebmlab / plain: median "
        f"{result['time_ratio_median']:.3f}, total {result['time_ratio_total']:.3f} ({torch.get_num_threads()} threads)"
    )
    return result


# ------------------------------------------------------------------ (b) VAE vs IWAE on dynamically binarised MNIST


def _nll(model: VAE, images: Tensor, k: int, seed: int) -> tuple[float, float]:
    """Mean IWAE-k NLL over ``images`` and its Monte Carlo standard error."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    total, variance = 0.0, 0.0
    for begin in range(0, len(images), 500):
        estimate = log_likelihood(model, images[begin : begin + 500], k, generator=generator)
        total += float(estimate.log_likelihood.sum())
        variance += float(estimate.standard_error.square().sum())
    return -total / len(images), math.sqrt(variance) / len(images)


def part_b(args: argparse.Namespace) -> dict[str, Any]:
    runs = {}
    for label, k in (("VAE", 1), (f"IWAE k={args.iwae_k}", args.iwae_k)):
        config = VAEConfig(
            data="mnist",
            data_root=args.data_root,
            hidden=(200, 200),
            latent=50,
            activation="tanh",
            decoder="bernoulli",
            binarize="dynamic",
            iwae_k=k,
            epochs=args.max_epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
        )
        recipe = VAERecipe(config)
        runs[label] = {"recipe": recipe, "seconds": 0.0, "epochs": 0, "epoch_seconds": [], "curve": [], "next": 0.0}
    budget = 60.0 * args.minutes
    curve_images = next(iter(runs.values()))["recipe"].heldout[: args.curve_images]

    def record(label: str) -> None:
        run = runs[label]
        nll, error = _nll(run["recipe"].net, curve_images, args.curve_k, seed=1)
        run["curve"].append({"seconds": run["seconds"], "epochs": run["epochs"], "nll": nll, "se": error})
        print(f"{label}: {run['epochs']} epochs, {run['seconds']:.0f} s of training, IWAE-{args.curve_k} NLL {nll:.3f}")
        run["next"] += 60.0 * args.eval_every

    while True:
        active = [label for label, run in runs.items() if run["seconds"] < budget and run["epochs"] < args.max_epochs]
        if not active:
            break
        label = min(active, key=lambda name: runs[name]["seconds"])
        run = runs[label]
        began = time.perf_counter()
        run["recipe"].step(run["epochs"])
        spent = time.perf_counter() - began
        run["seconds"] += spent
        run["epoch_seconds"].append(spent)
        run["epochs"] += 1
        if run["seconds"] >= run["next"]:
            record(label)
    result: dict[str, Any] = {"part": "b", "minutes": args.minutes, "threads": torch.get_num_threads(), "runs": {}}
    for label, run in runs.items():
        if not run["curve"] or run["curve"][-1]["epochs"] != run["epochs"]:
            record(label)
        began = time.perf_counter()
        nll, error = _nll(run["recipe"].net, run["recipe"].heldout[: args.final_images], args.final_k, seed=2)
        result["runs"][label] = {
            "epochs": run["epochs"],
            "training_seconds": run["seconds"],
            "seconds_per_epoch": statistics.median(run["epoch_seconds"]),
            "test_nll": nll,
            "test_nll_standard_error": error,
            "evaluation_seconds": time.perf_counter() - began,
            "curve": run["curve"],
        }
    print(f"\n| objective | epochs | training time | s/epoch | IWAE-{args.final_k} test NLL (nats) |")
    print("|---|---|---|---|---|")
    for label, run in result["runs"].items():
        print(
            f"| {label} | {run['epochs']} | {run['training_seconds'] / 60:.1f} min | {run['seconds_per_epoch']:.2f} | "
            f"{run['test_nll']:.3f} ± {run['test_nll_standard_error']:.3f} |"
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("a", "b"), required=True)
    parser.add_argument("--data-root", required=True, help="folder holding mnist/ with the IDX files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--epochs", type=int, default=10, help="(a) epochs")
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=VAERecipe.checkpoint_every,
        help="(a) epochs between ebmlab's checkpoints (default: ebmlab train vae's)",
    )
    parser.add_argument("--minutes", type=float, default=60.0, help="(b) training wall time of each objective")
    parser.add_argument("--max-epochs", type=int, default=100_000, help="(b) at most this many epochs each")
    parser.add_argument("--iwae-k", type=int, default=5, help="(b) samples of the IWAE objective")
    parser.add_argument("--batch-size", type=int, default=100, help="(b) minibatch size")
    parser.add_argument("--lr", type=float, default=1e-3, help="(b) Adam learning rate")
    parser.add_argument("--eval-every", type=float, default=10.0, help="(b) minutes of training between curve points")
    parser.add_argument("--curve-k", type=int, default=1000, help="(b) importance samples of the curve's NLL")
    parser.add_argument("--curve-images", type=int, default=1000, help="(b) test images of the curve's NLL")
    parser.add_argument("--final-k", type=int, default=5000, help="(b) importance samples of the final NLL")
    parser.add_argument("--final-images", type=int, default=10_000, help="(b) test images of the final NLL")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    result = part_a(args) if args.part == "a" else part_b(args)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
