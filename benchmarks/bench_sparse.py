"""Sparse inference benchmark: ebmlab FISTA vs scikit-learn SparseCoder (lasso_cd, lasso_lars).

Problem: N normalised 8 × 8 patches of scikit-learn's china.jpg (centred, unit norm), a fixed random
unit-norm dictionary of 256 atoms, the lecture's α (scikit-learn gets transform_alpha = α/2).
Every solver's codes are scored with the same float64 lecture energy (mean over patches); the
reported time is the cheapest setting of each solver whose mean energy is within 1e-4 (relative)
of the best mean energy any solver reached.

Run: ``python benchmarks/bench_sparse.py`` (``--quick`` for a smoke run on 2,000 patches);
``--defaults`` compares what users run: both libraries at their defaults on 4,000 patches of
flower.jpg.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from ebmlab.data import image_patches
from ebmlab.kernels.proximal import sparse_encode, sparse_energy


def mean_energy(patches: np.ndarray, dictionary: np.ndarray, codes: np.ndarray, alpha: float) -> float:
    y, w, z = (torch.from_numpy(np.asarray(a, dtype=np.float64)) for a in (patches, dictionary, codes))
    return float(sparse_energy(y, w, z, alpha).mean())


def run_ebmlab(patches, dictionary, alpha, max_iter=None, tol=None, stop=None):
    """sparse_encode with the given settings (None: its default)."""
    y, w = torch.from_numpy(patches), torch.from_numpy(dictionary)
    given = {"max_iter": max_iter, "tol": tol, "stop": stop}
    start = time.perf_counter()
    with torch.no_grad():
        codes = sparse_encode(y, w, alpha, **{k: v for k, v in given.items() if v is not None}).codes
    return time.perf_counter() - start, codes.numpy()


def run_sklearn(patches, dictionary, alpha, algorithm, max_iter=None):
    """SparseCoder with transform_alpha = α/2 (None: scikit-learn's default transform_max_iter)."""
    from sklearn.decomposition import SparseCoder

    coder = SparseCoder(
        dictionary.T,
        transform_algorithm=algorithm,
        transform_alpha=alpha / 2,
        **({} if max_iter is None else {"transform_max_iter": max_iter}),
        n_jobs=-1,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        codes = coder.transform(patches)
    return time.perf_counter() - start, codes


def at_defaults(n_patches: int, alpha: float, repeats: int) -> None:
    """What users run: sparse_encode at its defaults vs SparseCoder(lasso_cd) at its defaults.

    Centred unit-norm 8 × 8 patches of flower.jpg (another photograph than the sweep's), 256 random
    unit atoms; best of ``repeats`` timings each, codes scored by the same float64 energy.
    """
    patches = image_patches(n_patches, 8, image="flower.jpg", seed=1)
    rng = np.random.default_rng(1)
    dictionary = rng.standard_normal((64, 256)).astype(np.float32)
    dictionary /= np.linalg.norm(dictionary, axis=0)
    print(f"{len(patches)} patches of flower.jpg, D=64, K=256, lecture alpha={alpha}; best of {repeats}\n")
    settings = [
        ("ebmlab sparse_encode, defaults (duality gap <= 1e-4 |y|^2)", lambda: run_ebmlab(patches, dictionary, alpha)),
        (
            "ebmlab sparse_encode, the old default (relative change <= 1e-6)",
            lambda: run_ebmlab(patches, dictionary, alpha, tol=1e-6, stop="change"),
        ),
        ("scikit-learn SparseCoder lasso_cd, defaults", lambda: run_sklearn(patches, dictionary, alpha, "lasso_cd")),
        (
            "scikit-learn SparseCoder lasso_cd, transform_max_iter=2000",
            lambda: run_sklearn(patches, dictionary, alpha, "lasso_cd", 2000),
        ),
    ]
    rows = []
    for name, run in settings:
        best, codes = min((run() for _ in range(repeats)), key=lambda result: result[0])
        rows.append((name, best, mean_energy(patches, dictionary, codes, alpha)))
        print(rows[-1], flush=True)
    reference, target = rows[2][1], rows[2][2]
    print("\n| solver | time (s) | time / scikit-learn defaults | mean energy | vs scikit-learn defaults |")
    print("|---|---|---|---|---|")
    for name, seconds, energy in rows:
        relative = (energy - target) / target
        print(f"| {name} | {seconds:.3f} | {seconds / reference:.2f} | {energy:.10f} | {relative:+.1e} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defaults", action="store_true", help="only the defaults-vs-defaults comparison")
    parser.add_argument("--repeats", type=int, default=3, help="timings per setting for --defaults (best kept)")
    parser.add_argument("--quick", action="store_true", help="2,000 patches, fewer settings")
    parser.add_argument("--n-patches", type=int, default=20000)
    parser.add_argument("--alpha", type=float, default=0.2, help="the lecture's α (scikit-learn gets α/2)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (scikit-learn uses n_jobs=-1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.defaults:
        at_defaults(4000, args.alpha, args.repeats)
        return
    n = 2000 if args.quick else args.n_patches
    patches = image_patches(n, 8, seed=0)
    rng = np.random.default_rng(0)
    dictionary = rng.standard_normal((64, 256)).astype(np.float32)
    dictionary /= np.linalg.norm(dictionary, axis=0)
    alpha = args.alpha
    print(f"{len(patches)} patches of china.jpg, D=64, K=256, lecture alpha={alpha} (scikit-learn alpha={alpha / 2})")

    runs: list[tuple[str, str, float, float, float]] = []  # solver, setting, seconds, energy, sparsity
    fista_settings = [(n, 1e-12) for n in (20, 25, 27, 28, 29, 30, 40, 60, 300)] + [(1000, 1e-5)]
    if args.quick:
        fista_settings = [(30, 1e-12), (300, 1e-12)]
    for max_iter, tol in fista_settings:
        seconds, codes = run_ebmlab(patches, dictionary, alpha, max_iter, tol)
        runs.append(("ebmlab FISTA", f"max_iter={max_iter} tol={tol:g}", seconds, 0.0, float((codes != 0).mean())))
        runs[-1] = (*runs[-1][:3], mean_energy(patches, dictionary, codes, alpha), runs[-1][4])
        print(runs[-1], flush=True)
    cd_sweeps = [1000] if args.quick else [5, 8, 9, 10, 20, 50, 1000]
    for algorithm, settings in (("lasso_lars", [500]), ("lasso_cd", cd_sweeps)):
        for max_iter in settings:
            seconds, codes = run_sklearn(patches, dictionary, alpha, algorithm, max_iter)
            energy = mean_energy(patches, dictionary, codes, alpha)
            runs.append(
                (f"scikit-learn {algorithm}", f"max_iter={max_iter}", seconds, energy, float((codes != 0).mean()))
            )
            print(runs[-1], flush=True)

    best = min(run[3] for run in runs)
    print(f"\nbest mean energy {best:.8f}; threshold (1 + 1e-4) x best = {best * (1 + 1e-4):.8f}\n")
    print("| solver | setting | time (s) | mean energy | rel. gap to best | nonzero codes | within 1e-4 |")
    print("|---|---|---|---|---|---|---|")
    fastest: dict[str, float] = {}
    for solver, setting, seconds, energy, sparsity in runs:
        gap = (energy - best) / best
        ok = gap <= 1e-4
        if ok:
            fastest[solver] = min(fastest.get(solver, np.inf), seconds)
        print(
            f"| {solver} | {setting} | {seconds:.2f} | {energy:.8f} | {gap:.2e} | {sparsity:.3f} "
            f"| {'yes' if ok else 'no'} |"
        )
    print()
    ours = fastest.get("ebmlab FISTA", np.inf)
    peers = {k: v for k, v in fastest.items() if k != "ebmlab FISTA"}
    for solver, seconds in sorted(fastest.items(), key=lambda item: item[1]):
        print(f"time to 1e-4: {solver}: {seconds:.2f} s")
    if peers:
        peer, seconds = min(peers.items(), key=lambda item: item[1])
        print(f"speed-up of ebmlab FISTA over the fastest scikit-learn solver ({peer}): {seconds / ours:.1f}x")


if __name__ == "__main__":
    main()
