"""Benchmark: ebmlab's RBM (PCD) against scikit-learn's BernoulliRBM on binarised MNIST.

Same model (500 hidden units), same update rule, learning rate, batch size (100) and epochs;
minibatches in data order for both. Reports time per epoch (wall and process CPU), the
pseudo-likelihood on the test set (both models, the same flipped units) and the AIS test
log-likelihood (Salakhutdinov & Murray base-rate model, 100 chains).

    python benchmarks/bench_rbm.py                 # 10 epochs x 3 seeds, epochs interleaved, default threads
    python benchmarks/bench_rbm.py --threads 1     # one BLAS/torch thread for both
    python benchmarks/bench_rbm.py --quick         # 1 epoch on 10,000 images, short AIS
    python benchmarks/bench_rbm.py --matmul-dtype bfloat16   # ebmlab's products in bfloat16

``--recipe quality`` trains ebmlab alone with the quality recipe (momentum 0.5 → 0.9, L2 weight
decay, learning rate annealed linearly to zero, visible biases from the data means; Hinton 2010,
Tieleman 2008) and reports the AIS test log-likelihood at a few epochs (learning curve) and, at
the end, from two AIS runs with different seeds, with the CPU time spent training:

    python benchmarks/bench_rbm.py --recipe quality --threads 1
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.neural_network import BernoulliRBM

from ebmlab._validation import resolve_device
from ebmlab.data import load_mnist
from ebmlab.models.rbm import (
    RBM,
    RBMParameters,
    ais_log_partition,
    pseudo_likelihood,
    rbm_free_energy,
)

PAUSE = 0.2  # seconds between the two libraries' epochs (untimed)
QUALITY_EPOCHS = 30  # about 2.5 minutes of one-thread CPU time at ~4.5 s/epoch
QUALITY_LR = 0.01  # with momentum 0.9 the effective step is 0.1; 0.05 (0.5) gave sharp models AIS cannot evaluate

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared/data beside the checkout


def _binarised(split: str, root: str, limit: int | None) -> np.ndarray:
    images, _ = load_mnist(split, root=root)
    data = (images.reshape(len(images), -1)[:limit] > 127).astype(np.float32)  # pixel / 255 > 0.5
    return np.ascontiguousarray(data)


def _on_cpu(params: RBMParameters) -> RBMParameters:
    """The estimator's training state (``params_``, on its device) as CPU tensors."""
    return RBMParameters(*(t.cpu() for t in (params.weight, params.visible_bias, params.hidden_bias)), params.visible)


def _measure(params: RBMParameters, train: torch.Tensor, test: torch.Tensor, args: argparse.Namespace) -> dict:
    flips = torch.from_numpy(np.random.RandomState(0).randint(0, test.shape[1], test.shape[0]))
    pl = float(pseudo_likelihood(params, test, flips).mean())
    ais = ais_log_partition(
        params, train, n_chains=args.ais_chains, n_betas=args.ais_betas, seed=0
    )
    with torch.no_grad():
        ll_test = float(-rbm_free_energy(params, test).double().mean()) - ais.log_partition
        ll_train = float(-rbm_free_energy(params, train[:10000]).double().mean()) - ais.log_partition
    return {
        "pl": pl,
        "log_z": ais.log_partition,
        "log_z_std": ais.log_partition_std,
        "ll": ll_test,
        "ll_train": ll_train,
    }


def _ais_ll(params: RBMParameters, train: torch.Tensor, test: torch.Tensor, n_betas: int, n_chains: int, seed: int):
    ais = ais_log_partition(params, train, n_chains=n_chains, n_betas=n_betas, seed=seed)
    with torch.no_grad():
        ll_test = float(-rbm_free_energy(params, test).double().mean()) - ais.log_partition
        ll_train = float(-rbm_free_energy(params, train[:10000]).double().mean()) - ais.log_partition
    return ais, ll_test, ll_train


def _ess(log_weights: torch.Tensor) -> float:
    """Effective number of AIS runs, (Σw)² / Σw²: near 1 means one run carries the estimate (unreliable)."""
    weights = torch.exp(log_weights - log_weights.max())
    return float(weights.sum() ** 2 / weights.pow(2).sum())


def quality(args: argparse.Namespace, train: torch.Tensor, test: torch.Tensor) -> None:
    """Train with the quality recipe; learning curve (AIS at checkpoints) and a two-seed final AIS."""
    model = RBM(
        args.hidden,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        n_iter=args.epochs,
        n_gibbs_steps=args.gibbs_steps,
        momentum=args.momentum,
        initial_momentum=args.initial_momentum,
        momentum_warmup_epochs=args.momentum_warmup,
        weight_decay=args.weight_decay,
        final_learning_rate=args.final_lr,
        init_visible_bias="data",
        random_state=args.seed,
        matmul_dtype=args.matmul_dtype,
        device=args.device,
    )
    data = train.to(resolve_device(args.device))
    model.initialize(train.shape[1], data)
    checkpoints = {int(c) for c in args.checkpoints.split(",") if c.strip()} - {args.epochs}
    curve, cpu_total, wall_total = [], 0.0, 0.0
    for epoch in range(1, args.epochs + 1):
        start_cpu = time.process_time()
        wall_total += _timed_epoch(model, data, epoch)
        cpu_total += time.process_time() - start_cpu
        print(f"epoch {epoch}: CPU {cpu_total:.1f} s so far", flush=True)
        if epoch in checkpoints:
            params = _on_cpu(model.params_)
            ais, ll, ll_train = _ais_ll(params, train, test, args.curve_betas, args.ais_chains, 0)
            curve.append((epoch, cpu_total, ll, ll_train, ais))
            print(
                f"  AIS ({args.curve_betas} betas) test LL {ll:.2f}, train {ll_train:.2f}, "
                f"ESS {_ess(ais.log_weights):.1f}",
                flush=True,
            )
    params = _on_cpu(model.params_)
    finals = []
    for seed in (0, 1):
        start = time.perf_counter()
        ais, ll, ll_train = _ais_ll(params, train, test, args.ais_betas, args.ais_chains, seed)
        finals.append((seed, ais, ll, ll_train, time.perf_counter() - start))
        print(
            f"final AIS seed {seed}: log Z {ais.log_partition:.2f} ± {ais.log_partition_std:.2f}, test LL {ll:.2f}, "
            f"effective sample size {_ess(ais.log_weights):.1f} of {args.ais_chains}"
        )
    print()
    print(
        f"quality recipe: {args.epochs} epochs, lr {args.lr} -> {args.final_lr} (linear), momentum "
        f"{args.initial_momentum} for {args.momentum_warmup} epochs then {args.momentum}, weight decay "
        f"{args.weight_decay}, PCD-{args.gibbs_steps} with {args.batch_size} chains, visible biases = logit(data "
        f"mean), {args.hidden} hidden, seed {args.seed}"
    )
    print(
        f"training time: {cpu_total:.1f} s CPU ({cpu_total / args.epochs:.2f} s/epoch), {wall_total:.1f} s wall; "
        f"torch threads {torch.get_num_threads()}"
    )
    print()
    print("| epoch | CPU s (train) | AIS betas | AIS log Z | AIS ESS | AIS test LL (nats) | train LL (first 10k) |")
    print("|---|---|---|---|---|---|---|")
    rows = [(epoch, cpu, args.curve_betas, ais, ll, ll_train) for epoch, cpu, ll, ll_train, ais in curve]
    rows += [
        (f"{args.epochs} (AIS seed {seed})", cpu_total, args.ais_betas, ais, ll, ll_train)
        for seed, ais, ll, ll_train, _ in finals
    ]
    for epoch, cpu, betas, ais, ll, ll_train in rows:
        print(
            f"| {epoch} | {cpu:.0f} | {betas} | {ais.log_partition:.2f} ± {ais.log_partition_std:.2f} | "
            f"{_ess(ais.log_weights):.1f} | {ll:.2f} | {ll_train:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--root", default=str(SHARED_DATA), help="folder holding mnist/ IDX files (default: ../shared/data)"
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--n-train", type=int, default=None, help="first N training images (default all 60,000)")
    parser.add_argument("--ais-betas", type=int, default=10000)
    parser.add_argument("--ais-chains", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="BLAS and torch threads for both (default: theirs)")
    parser.add_argument("--device", default="cpu", help="ebmlab's device (scikit-learn always runs on the CPU)")
    parser.add_argument(
        "--matmul-dtype",
        choices=("float32", "bfloat16"),
        default="float32",
        help="dtype of ebmlab's training products (scikit-learn: float32)",
    )
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds (pseudo-likelihood mean; AIS on seed 0)")
    parser.add_argument("--quick", action="store_true", help="1 epoch on 10,000 images, 1,000 AIS steps")
    parser.add_argument(
        "--recipe", choices=("sklearn", "quality"), default="sklearn", help="sklearn: the like-for-like comparison"
    )
    quality_group = parser.add_argument_group("--recipe quality (its defaults replace --epochs/--lr/--ais-betas)")
    quality_group.add_argument("--momentum", type=float, default=0.9)
    quality_group.add_argument("--initial-momentum", type=float, default=0.5)
    quality_group.add_argument("--momentum-warmup", type=int, default=5)
    quality_group.add_argument("--weight-decay", type=float, default=2e-4)
    quality_group.add_argument("--final-lr", type=float, default=0.0)
    quality_group.add_argument("--gibbs-steps", type=int, default=1)
    quality_group.add_argument("--seed", type=int, default=0)
    quality_group.add_argument("--checkpoints", default="10,20", help="epochs with a learning-curve AIS")
    quality_group.add_argument("--curve-betas", type=int, default=5000, help="AIS steps of the learning curve")
    args = parser.parse_args()
    if args.recipe == "quality":
        defaults = {"epochs": 10, "lr": 0.05, "ais_betas": 10000}
        quality_defaults = {"epochs": QUALITY_EPOCHS, "lr": QUALITY_LR, "ais_betas": 20000}
        for name, value in quality_defaults.items():
            if getattr(args, name) == defaults[name]:
                setattr(args, name, value)
    if args.quick:
        args.epochs, args.n_train, args.ais_betas, args.seeds = 1, args.n_train or 10000, 1000, 1
        args.curve_betas, args.checkpoints = 500, ""

    limits = contextlib.nullcontext()
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        limits = threadpool_limits(args.threads)
    train_np = _binarised("train", args.root, args.n_train)
    test_np = _binarised("test", args.root, None)
    train, test = torch.from_numpy(train_np), torch.from_numpy(test_np)
    print(f"binarised MNIST: train {train_np.shape}, test {test_np.shape}; torch threads {torch.get_num_threads()}")

    if args.recipe == "quality":
        with limits:
            quality(args, train, test)
        return

    with limits:
        like_for_like(args, train_np, train, test)


def _timed_epoch(model: RBM, data: torch.Tensor, epoch: int) -> float:
    """Wall seconds of one ``fit_epoch`` (the GPU's queued work included)."""
    start = time.perf_counter()
    model.fit_epoch(data, epoch=epoch)
    if data.device.type == "cuda":
        torch.cuda.synchronize(data.device)
    return time.perf_counter() - start


def _sklearn_epoch(sk: BernoulliRBM, x: np.ndarray, rng: np.random.RandomState) -> None:
    """One epoch exactly as ``BernoulliRBM.fit`` runs it: even minibatches in data order."""
    from sklearn.utils import gen_even_slices

    n_batches = int(np.ceil(x.shape[0] / sk.batch_size))
    for batch in gen_even_slices(n_batches * sk.batch_size, n_batches, n_samples=x.shape[0]):
        sk._fit(x[batch], rng)


def like_for_like(args: argparse.Namespace, train_np: np.ndarray, train: torch.Tensor, test: torch.Tensor) -> None:
    """ebmlab and scikit-learn trained side by side, epochs interleaved, over ``--seeds`` seeds."""
    times: dict[str, list[float]] = {"ebmlab": [], "scikit-learn": []}
    cpu: dict[str, list[float]] = {"ebmlab": [], "scikit-learn": []}
    pl: dict[str, list[float]] = {"ebmlab": [], "scikit-learn": []}
    rows: dict[str, dict] = {}
    for seed in range(args.seeds):
        model = RBM(
            args.hidden,
            learning_rate=args.lr,
            batch_size=args.batch_size,
            matmul_dtype=args.matmul_dtype,
            random_state=seed,
            device=args.device,
        )
        model.initialize(train.shape[1])
        data = train.to(model.params_.weight.device)
        sk = BernoulliRBM(args.hidden, learning_rate=args.lr, batch_size=args.batch_size, n_iter=1, random_state=seed)
        sk_rng = np.random.RandomState(seed + 1000)
        for epoch in range(args.epochs):  # interleaved, so that the machine's drift hits both alike
            time.sleep(PAUSE)  # let the other library's idle BLAS/OpenMP threads stop spinning
            start_cpu = time.process_time()
            times["ebmlab"].append(_timed_epoch(model, data, epoch + 1))
            cpu["ebmlab"].append(time.process_time() - start_cpu)
            if not args.skip_sklearn:
                time.sleep(PAUSE)
                start_wall, start_cpu = time.perf_counter(), time.process_time()
                if epoch == 0:
                    sk.fit(train_np)  # initialises, then one epoch
                else:
                    _sklearn_epoch(sk, train_np, sk_rng)
                times["scikit-learn"].append(time.perf_counter() - start_wall)
                cpu["scikit-learn"].append(time.process_time() - start_cpu)
            print(
                f"seed {seed} epoch {epoch + 1}: ebmlab {times['ebmlab'][-1]:.2f} s, "
                f"scikit-learn {times['scikit-learn'][-1] if times['scikit-learn'] else float('nan'):.2f} s",
                flush=True,
            )
        params = _on_cpu(model.params_)
        fitted = {"ebmlab": params}
        if not args.skip_sklearn:
            fitted["scikit-learn"] = RBMParameters(
                torch.from_numpy(sk.components_).float(),
                torch.from_numpy(sk.intercept_visible_).float(),
                torch.from_numpy(sk.intercept_hidden_).float(),
            )
        flips = torch.from_numpy(np.random.RandomState(0).randint(0, test.shape[1], test.shape[0]))
        for name, fitted_params in fitted.items():
            pl[name].append(float(pseudo_likelihood(fitted_params, test, flips).mean()))
            if seed == 0:  # AIS once: it costs more than the training
                rows[name] = _measure(fitted_params, train, test, args)

    print()
    print(
        "| library | s/epoch wall (median) | s/epoch CPU (median) | test pseudo-likelihood, mean over seeds (per seed) "
        "| AIS log Z (seed 0) | AIS test LL (nats, seed 0) |"
    )
    print("|---|---|---|---|---|---|")
    for name, row in rows.items():
        per_seed = ", ".join(f"{v:.2f}" for v in pl[name])
        print(
            f"| {name} | {np.median(times[name]):.2f} | {np.median(cpu[name]):.2f} | {np.mean(pl[name]):.2f} "
            f"({per_seed}) | {row['log_z']:.2f} ± {row['log_z_std']:.2f} | {row['ll']:.2f} |"
        )
    if not args.skip_sklearn:
        ratio = np.median(times["ebmlab"]) / np.median(times["scikit-learn"])
        paired = np.median(np.array(times["ebmlab"]) / np.array(times["scikit-learn"]))
        print(
            f"\ntime ratio ebmlab / scikit-learn: {ratio:.2f} (medians), {paired:.2f} (median of the "
            f"{len(times['ebmlab'])} interleaved epoch pairs); CPU "
            f"{np.median(cpu['ebmlab']) / np.median(cpu['scikit-learn']):.2f} (target <= 0.5); "
            f"pseudo-likelihood difference {np.mean(pl['ebmlab']) - np.mean(pl['scikit-learn']):+.2f} nats "
            f"(mean over {args.seeds} seeds)"
        )
    print(
        f"settings: {args.epochs} epochs, lr {args.lr}, batch {args.batch_size}, {args.hidden} hidden, "
        f"{args.seeds} seeds, AIS {args.ais_chains} chains x {args.ais_betas} steps, device {args.device}, "
        f"ebmlab products in {args.matmul_dtype}"
    )


if __name__ == "__main__":
    main()
