"""K-means at the budgets users run: ebmlab vs scikit-learn from the lecture's initialisation on MNIST.

Both start from the same K random data rows (the lecture's ``W = Y[randperm(N)[:K]]``) with
n_init=1 and run ``max_iter`` = 1, 5 and 15 Lloyd iterations (tol=0), then both libraries at
scikit-learn's defaults (tol 1e-4, max_iter 300). Each timing is the best of ``--repeat`` runs,
ebmlab and scikit-learn interleaved in one process; inertia is scikit-learn's ``inertia_`` and
ebmlab's ``inertia`` (both exact sums over the final assignment).

Run: ``python benchmarks/bench_kmeans_budgets.py --data-root ../shared/data`` (2 threads).
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from ebmlab.data import load_mnist
from ebmlab.models.kmeans import k_means


def best_time(run, repeat: int) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seeds", default="0,1", help="initialisations (random data rows) to run")
    args = parser.parse_args()
    from sklearn.cluster import KMeans as SkKMeans

    torch.set_num_threads(args.threads)
    images, _ = load_mnist("train", root=args.data_root)
    x = (images.reshape(len(images), -1) / 255.0).astype(np.float32)
    print(f"MNIST {x.shape}, {args.threads} threads, best of {args.repeat}\n")
    print("| K | init seed | budget | ebmlab (s) | scikit-learn (s) | ratio | iterations (ours / sk) | inertia diff |")
    print("|---|---|---|---|---|---|---|---|")
    for k in (10, 256):
        for seed in (int(s) for s in args.seeds.split(",")):
            init = x[np.random.default_rng(seed).choice(len(x), k, replace=False)]
            for budget in (1, 5, 15, "defaults"):
                settings = {"tol": 1e-4, "max_iter": 300} if budget == "defaults" else {"tol": 0.0, "max_iter": budget}
                peer = SkKMeans(k, init=init, n_init=1, algorithm="lloyd", **settings)
                with threadpool_limits(args.threads):
                    sk_time, sk = best_time(partial(peer.fit, x), args.repeat)
                ours_time, ours = best_time(partial(k_means, x, k, init=init, n_init=1, **settings), args.repeat)
                diff = (ours.inertia - sk.inertia_) / sk.inertia_
                print(
                    f"| {k} | {seed} | {budget} | {ours_time:.3f} | {sk_time:.3f} | {ours_time / sk_time:.2f} "
                    f"| {ours.n_iter} / {sk.n_iter_} | {diff:+.1e} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
