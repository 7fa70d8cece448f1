"""LISTA vs ISTA and FISTA: held-out code error against layers / iterations on the same dictionary.

Dictionary: 128 atoms learned by ebmlab.SparseCoding on 10,000 8 × 8 china.jpg patches (3 passes),
α = 0.3; targets ž from FISTA to tol 1e-8; LISTA (untied, 16 layers, ISTA initialisation) trained
with Adam on FISTA's codes (deep supervision), 30 epochs. Held-out: 2,000 other patches.

Run: ``python benchmarks/bench_lista.py`` (``--quick``: 3,000 patches, 5 epochs).
"""

from __future__ import annotations

import argparse
import time

import torch

from ebmlab.data import image_patches
from ebmlab.models.lista import LISTA, code_error, train_lista
from ebmlab.models.sparse_coding import SparseCoding
from ebmlab.sparse import sparse_encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n_train, epochs = (2500, 5) if args.quick else (10000, args.epochs)
    patches = torch.from_numpy(image_patches(n_train + 2000, 8, seed=1))
    train, test = patches[:n_train], patches[n_train:]
    alpha = 0.3
    dictionary = SparseCoding(128, alpha=alpha, max_iter=3, batch_size=256).fit(train).dictionary_
    target = sparse_encode(train, dictionary, alpha, max_iter=5000, tol=1e-8).codes
    exact = sparse_encode(test, dictionary, alpha, max_iter=5000, tol=1e-8).codes
    print(f"held-out nonzero fraction {(exact != 0).float().mean():.3f}")
    print("| iterations / layers | ISTA | FISTA (Beck & Teboulle, no restart) | FISTA with adaptive restart |")
    print("|---|---|---|---|")
    fista_errors, plain_errors = {}, {}
    for k in (1, 2, 4, 8, 16, 32, 64, 100, 128, 160, 256):
        ista = code_error(sparse_encode(test, dictionary, alpha, method="ista", max_iter=k, tol=1e-14).codes, exact)
        plain = sparse_encode(test, dictionary, alpha, max_iter=k, tol=1e-14, restart=False).codes
        plain_errors[k] = code_error(plain, exact)
        fista_errors[k] = code_error(sparse_encode(test, dictionary, alpha, max_iter=k, tol=1e-14).codes, exact)
        print(f"| {k} | {ista:.3e} | {plain_errors[k]:.3e} | {fista_errors[k]:.3e} |")
    net = LISTA(dictionary, alpha, args.layers)
    start = time.perf_counter()
    train_lista(net, train, target, epochs=epochs, lr=1e-3, batch_size=128)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        errors = [code_error(z, exact) for z in net.trajectory(test)]
    print(f"\nLISTA ({args.layers} untied layers, {epochs} epochs, {seconds:.0f} s training) held-out error per layer:")
    print(" ".join(f"{e:.3e}" for e in errors))
    final = errors[-1]
    matched = min([k for k, e in fista_errors.items() if e <= final], default=None)
    matched_plain = min([k for k, e in plain_errors.items() if e <= final], default=None)
    print(
        f"LISTA-{args.layers}: {final:.3e}; FISTA-{args.layers}: {fista_errors.get(args.layers, float('nan')):.3e}; "
        f"fewest iterations (of those tried) at or below LISTA's error: FISTA without restart {matched_plain}, "
        f"FISTA with restart {matched}"
    )


if __name__ == "__main__":
    main()
