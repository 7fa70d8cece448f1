"""Dictionary learning: ebmlab.SparseCoding vs scikit-learn MiniBatchDictionaryLearning.

20,000 normalised 8 × 8 china.jpg patches (18,000 train / 2,000 held out), 256 atoms, lecture α = 0.2
(scikit-learn alpha = 0.1), batch size 256, the same number of passes. Both dictionaries are scored
by the same converged FISTA encoder with the lecture's energy on the held-out patches.

Run: ``python benchmarks/bench_dictionary.py`` (``--quick``: 4,000 patches, 1 pass).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from ebmlab.data import image_patches
from ebmlab.kernels.proximal import sparse_encode
from ebmlab.models.sparse_coding import SparseCoding


def held_out_energy(components: np.ndarray, test: np.ndarray, alpha: float) -> float:
    w = torch.from_numpy(np.ascontiguousarray(components.T, dtype=np.float64))
    w = w / w.norm(dim=0)
    return float(sparse_encode(torch.from_numpy(test).double(), w, alpha, tol=1e-7, max_iter=5000).energy.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n, passes = (4000, 1) if args.quick else (20000, args.passes)
    patches = image_patches(n, 8, seed=0)
    held = len(patches) // 10
    train, test = patches[:-held], patches[-held:]
    alpha, atoms, batch = 0.2, 256, 256
    from sklearn.decomposition import MiniBatchDictionaryLearning

    rows = []
    start = time.perf_counter()
    ours = SparseCoding(atoms, alpha=alpha, max_iter=passes, batch_size=batch, random_state=0).fit(train)
    rows.append(("ebmlab SparseCoding (FISTA + BCD)", time.perf_counter() - start, ours.components_))
    for algorithm in ("lars", "cd"):
        peer = MiniBatchDictionaryLearning(
            atoms, alpha=alpha / 2, batch_size=batch, max_iter=passes, fit_algorithm=algorithm, random_state=0
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peer.fit(train)
        rows.append(
            (f"scikit-learn MiniBatchDictionaryLearning ({algorithm})", time.perf_counter() - start, peer.components_)
        )
    print(
        f"{len(train)} train / {len(test)} held-out patches, K={atoms}, alpha={alpha}, batch {batch}, {passes} passes"
    )
    print("| learner | fit time (s) | held-out mean energy |")
    print("|---|---|---|")
    for name, seconds, components in rows:
        print(f"| {name} | {seconds:.1f} | {held_out_energy(components, test, alpha):.5f} |", flush=True)


if __name__ == "__main__":
    main()
