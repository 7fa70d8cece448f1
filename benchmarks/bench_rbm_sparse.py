"""Benchmark: the RBM on scipy sparse input, ebmlab against scikit-learn's BernoulliRBM (issue #16).

Both fit the same CSR matrix with the same settings (``fit``: n_iter epochs of minibatches in data order); ebmlab
densifies one minibatch at a time, scikit-learn multiplies the sparse rows. Two inputs: binarised MNIST as CSR
(19 % of the pixels on) and a bag-of-words-like random binary matrix (20,000 × 5,000 at 1 %). Reports the best of
``--repeat`` fit times and the mean pseudo-likelihood (``score_samples``, the same flipped units for both).

    python benchmarks/bench_rbm_sparse.py --data-root ../shared/data
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from scipy import sparse
from sklearn.neural_network import BernoulliRBM as ScikitLearnRBM
from threadpoolctl import threadpool_limits

from bench_kmeans_budgets import best_time
from ebmlab import BernoulliRBM
from ebmlab.data import load_mnist


def inputs(data_root: Path) -> list[tuple[str, sparse.csr_matrix]]:
    images, _ = load_mnist("train", root=data_root)
    mnist = sparse.csr_matrix((images.reshape(len(images), -1) > 127).astype(np.float64))
    words = sparse.random(20000, 5000, density=0.01, format="csr", random_state=0, dtype=np.float64)
    words.data[:] = 1.0
    return [("binarised MNIST 60,000 x 784 (19 % on)", mnist), ("random binary 20,000 x 5,000 (1 % on)", words)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = dict(n_components=args.hidden, learning_rate=0.05, batch_size=100, n_iter=args.epochs, random_state=0)
    print(f"{args.epochs} epochs, {args.hidden} hidden, batch 100, lr 0.05; {args.threads} threads, best of "
          f"{args.repeat}\n")
    print("| input | ebmlab (s) | scikit-learn (s) | ratio | pseudo-likelihood ebmlab / scikit-learn |")
    print("|---|---|---|---|---|")
    for name, X in inputs(args.data_root):
        ours_s, ours = best_time(lambda X=X: BernoulliRBM(**settings).fit(X), args.repeat)
        with threadpool_limits(args.threads):
            theirs_s, theirs = best_time(lambda X=X: ScikitLearnRBM(**settings).fit(X), args.repeat)
        rows = X[:5000]
        ours_pl, theirs_pl = float(ours.score_samples(rows).mean()), float(theirs.score_samples(rows).mean())
        print(f"| {name} | {ours_s:.2f} | {theirs_s:.2f} | {ours_s / theirs_s:.2f} | {ours_pl:.2f} / {theirs_pl:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
