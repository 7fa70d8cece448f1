"""LISTA vs ISTA and FISTA: held-out code error against layers / iterations on the same dictionary.

The ``ebmlab train lista`` recipe at the benchmark's settings: a dictionary of 128 atoms learned by
ebmlab.SparseCoding on 8 × 8 china.jpg patches (12,000 drawn, a sixth held out; 3 passes), α = 0.3;
targets ž from FISTA to tol 1e-8; LISTA (untied, 16 layers, ISTA initialisation) trained with Adam
on FISTA's codes (deep supervision), 30 epochs, batch 128.

Run: ``python benchmarks/bench_lista.py`` (``--quick``: 3,000 patches, 5 epochs).
"""

from __future__ import annotations

import argparse
import time

import torch

from ebmlab.kernels.proximal import sparse_encode
from ebmlab.models.lista import code_error
from ebmlab.recipes.lista import LISTAConfig, LISTARecipe
from ebmlab.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n_samples, epochs = (3000, 5) if args.quick else (12000, args.epochs)
    alpha = 0.3
    config = LISTAConfig(n_samples=n_samples, alpha=alpha, layers=args.layers, epochs=epochs, batch_size=128, seed=1)
    recipe = LISTARecipe(config)
    recipe.model()  # a new run's set-up: the dictionary and FISTA's target codes
    dictionary, test, exact = recipe.dictionary, recipe.test_data, recipe.exact
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
    start = time.perf_counter()
    train(recipe, progress=False)
    seconds = time.perf_counter() - start
    net = recipe.model()
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
