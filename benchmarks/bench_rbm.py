"""Benchmark: ebmlab's RBM (PCD) against scikit-learn's BernoulliRBM on binarised MNIST.

Same model (500 hidden units), same update rule, learning rate, batch size (100) and epochs;
minibatches in data order for both. Reports time per epoch (wall and process CPU), the
pseudo-likelihood on the test set (both models, the same flipped units) and the AIS test
log-likelihood (Salakhutdinov & Murray base-rate model, 100 chains).

    python benchmarks/bench_rbm.py                 # 10 epochs, default threads
    python benchmarks/bench_rbm.py --threads 1     # one BLAS/torch thread for both
    python benchmarks/bench_rbm.py --quick         # 1 epoch on 10,000 images, short AIS
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
import torch
from sklearn.neural_network import BernoulliRBM

from ebmlab.datasets import load_mnist
from ebmlab.models.rbm import (
    RBM,
    RBMParameters,
    ais_log_partition,
    base_visible_bias,
    pseudo_likelihood,
    rbm_free_energy,
)


def _binarised(split: str, root: str, limit: int | None) -> np.ndarray:
    images, _ = load_mnist(split, root=root)
    data = (images.reshape(len(images), -1)[:limit] > 127).astype(np.float32)  # pixel / 255 > 0.5
    return np.ascontiguousarray(data)


def _measure(params: RBMParameters, train: torch.Tensor, test: torch.Tensor, args: argparse.Namespace) -> dict:
    flips = torch.from_numpy(np.random.RandomState(0).randint(0, test.shape[1], test.shape[0]))
    pl = float(pseudo_likelihood(params, test, flips).mean())
    ais = ais_log_partition(
        params, n_chains=args.ais_chains, n_betas=args.ais_betas, base_bias=base_visible_bias(params, train), seed=0
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="/work/shared/data", help="folder holding mnist/ IDX files")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--n-train", type=int, default=None, help="first N training images (default all 60,000)")
    parser.add_argument("--ais-betas", type=int, default=10000)
    parser.add_argument("--ais-chains", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="BLAS and torch threads for both (default: theirs)")
    parser.add_argument("--device", default="cpu", help="ebmlab's device (scikit-learn always runs on the CPU)")
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--quick", action="store_true", help="1 epoch on 10,000 images, 1,000 AIS steps")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.n_train, args.ais_betas = 1, args.n_train or 10000, 1000

    limits = contextlib.nullcontext()
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        limits = threadpool_limits(args.threads)
    train_np = _binarised("train", args.root, args.n_train)
    test_np = _binarised("test", args.root, None)
    train, test = torch.from_numpy(train_np), torch.from_numpy(test_np)
    print(f"binarised MNIST: train {train_np.shape}, test {test_np.shape}; torch threads {torch.get_num_threads()}")

    rows = {}
    with limits:
        model = RBM(args.hidden, learning_rate=args.lr, batch_size=args.batch_size, random_state=0, device=args.device)
        model.initialize(train.shape[1])
        data = train.to(model.components_.device)
        wall, cpu = [], []
        for epoch in range(args.epochs):
            start_cpu = time.process_time()
            wall.append(model.fit_epoch(data, epoch=epoch + 1))
            cpu.append(time.process_time() - start_cpu)
            print(f"ebmlab epoch {epoch + 1}: {wall[-1]:.2f} s wall, {cpu[-1]:.2f} s CPU", flush=True)
        params = RBMParameters(
            *(t.cpu() for t in (model.components_, model.intercept_visible_, model.intercept_hidden_))
        )
        rows["ebmlab"] = {
            "wall": float(np.mean(wall)),
            "cpu": float(np.mean(cpu)),
            **_measure(params, train, test, args),
        }
        print("ebmlab", rows["ebmlab"], flush=True)

        if not args.skip_sklearn:
            sk = BernoulliRBM(
                args.hidden, learning_rate=args.lr, batch_size=args.batch_size, n_iter=args.epochs, random_state=0
            )
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            sk.fit(train_np)
            wall_s, cpu_s = time.perf_counter() - start_wall, time.process_time() - start_cpu
            sk_params = RBMParameters(
                torch.from_numpy(sk.components_).float(),
                torch.from_numpy(sk.intercept_visible_).float(),
                torch.from_numpy(sk.intercept_hidden_).float(),
            )
            rows["scikit-learn"] = {
                "wall": wall_s / args.epochs,
                "cpu": cpu_s / args.epochs,
                **_measure(sk_params, train, test, args),
            }
            own = float(sk.score_samples(test_np).mean())  # sklearn's own score_samples, RandomState(0) flips
            print("scikit-learn", rows["scikit-learn"], "own score_samples", own, flush=True)

    print()
    print(
        "| library | s/epoch (wall) | s/epoch (CPU) | test pseudo-likelihood | AIS log Z | AIS test LL (nats) |"
        " train LL (first 10k) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        print(
            f"| {name} | {row['wall']:.2f} | {row['cpu']:.2f} | {row['pl']:.2f} | {row['log_z']:.2f} ± "
            f"{row['log_z_std']:.2f} | {row['ll']:.2f} | {row['ll_train']:.2f} |"
        )
    if "scikit-learn" in rows:
        ours, theirs = rows["ebmlab"], rows["scikit-learn"]
        print(
            f"\ntime ratio ebmlab / scikit-learn: wall {ours['wall'] / theirs['wall']:.2f}, "
            f"CPU {ours['cpu'] / theirs['cpu']:.2f} (target <= 0.5); "
            f"pseudo-likelihood difference {ours['pl'] - theirs['pl']:+.2f} nats"
        )
    print(
        f"settings: {args.epochs} epochs, lr {args.lr}, batch {args.batch_size}, {args.hidden} hidden, "
        f"AIS {args.ais_chains} chains x {args.ais_betas} steps, device {args.device}"
    )


if __name__ == "__main__":
    main()
