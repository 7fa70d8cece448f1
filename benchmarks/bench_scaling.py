"""How the cost grows: K-means time against N and K, sparse coding time against B and K, ebmlab and scikit-learn
on the same axes (issue #15).

* K-means: MNIST rows (pixels / 255), both libraries from the same K random rows, n_init = 1, 20 Lloyd iterations
  (tol = 0: the same work per size); N from 5,000 to 60,000 at K = 64, and K from 8 to 512 at N = 20,000.
  ``ebmlab.k_means`` (its default algorithm) against ``sklearn.cluster.KMeans(algorithm="lloyd")``.
* Sparse coding, what users run: both at their defaults, ``ebmlab.sparse_encode`` against
  ``SparseCoder(transform_algorithm="lasso_cd")`` (transform_alpha = α/2, the same problem), centred unit-norm
  8 × 8 patches of flower.jpg, random unit atoms, α = 0.2; B from 500 to 8,000 at K = 256, and K from 64 to 1,024
  at B = 2,000.

Each point is the best of ``--repeat`` timings, the two libraries interleaved in one process on ``--threads``
threads; the tables give the ratio and the quality reached (inertia, mean energy) relative to scikit-learn's.
Writes ``benchmarks/scaling.png`` (log-log, four panels) and prints the tables:

    python benchmarks/bench_scaling.py --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from bench_kmeans_budgets import best_time  # the same timer: best of ``repeat`` runs
from ebmlab.data import image_patches, load_mnist
from ebmlab.kernels.proximal import sparse_encode, sparse_energy
from ebmlab.models.kmeans import k_means
from ebmlab.plotting import pyplot, save_figure

HERE = Path(__file__).resolve().parent
ALPHA = 0.2
ITERATIONS = 20


def kmeans_point(x: np.ndarray, n: int, k: int, repeat: int, threads: int) -> tuple[float, float, float]:
    """(ebmlab s, scikit-learn s, relative inertia difference) for the first ``n`` rows and ``k`` clusters."""
    from sklearn.cluster import KMeans

    rows = x[:n]
    init = rows[np.random.default_rng(0).choice(n, k, replace=False)]
    ours_s, ours = best_time(lambda: k_means(rows, k, init=init, n_init=1, tol=0.0, max_iter=ITERATIONS), repeat)
    peer = KMeans(k, init=init, n_init=1, tol=0.0, max_iter=ITERATIONS, algorithm="lloyd")
    with threadpool_limits(threads):
        theirs_s, theirs = best_time(lambda: peer.fit(rows), repeat)
    return ours_s, theirs_s, (ours.inertia - theirs.inertia_) / theirs.inertia_


def mean_energy(patches: np.ndarray, dictionary: np.ndarray, codes: np.ndarray) -> float:
    y, w, z = (torch.from_numpy(np.asarray(a, dtype=np.float64)) for a in (patches, dictionary, codes))
    return float(sparse_energy(y, w, z, ALPHA).mean())


def sparse_point(patches: np.ndarray, k: int, repeat: int, threads: int) -> tuple[float, float, float]:
    """(ebmlab s, scikit-learn s, relative mean-energy difference) at both libraries' defaults."""
    from sklearn.decomposition import SparseCoder

    rng = np.random.default_rng(1)
    dictionary = rng.standard_normal((patches.shape[1], k)).astype(np.float32)
    dictionary /= np.linalg.norm(dictionary, axis=0)
    y, w = torch.from_numpy(patches), torch.from_numpy(dictionary)

    def ours() -> np.ndarray:
        with torch.no_grad():
            return sparse_encode(y, w, ALPHA).codes.numpy()

    coder = SparseCoder(dictionary.T, transform_algorithm="lasso_cd", transform_alpha=ALPHA / 2, n_jobs=threads)

    def theirs() -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return coder.transform(patches)

    with threadpool_limits(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coder.transform(patches[:8])  # start joblib's workers before timing: a once-per-process cost
    ours_s, ours_codes = best_time(ours, repeat)
    with threadpool_limits(threads):
        theirs_s, theirs_codes = best_time(theirs, repeat)
    target = mean_energy(patches, dictionary, theirs_codes)
    return ours_s, theirs_s, (mean_energy(patches, dictionary, ours_codes) - target) / target


def table(title: str, axis: str, quality: str, sizes: list[int], points: list[tuple[float, float, float]]) -> None:
    print(f"\n{title}\n")
    print(f"| {axis} | ebmlab (s) | scikit-learn (s) | ratio | {quality} vs scikit-learn |")
    print("|---|---|---|---|---|")
    for size, (ours, theirs, diff) in zip(sizes, points, strict=True):
        print(f"| {size:,} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} | {diff:+.1e} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=HERE.parents[1] / "shared" / "data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "scaling.png")
    parser.add_argument("--quick", action="store_true", help="fewer and smaller sizes (a smoke run)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, _ = load_mnist("train", root=args.data_root)
    x = (images.reshape(len(images), -1) / 255.0).astype(np.float32)
    sizes_n = [2000, 5000] if args.quick else [5000, 10000, 20000, 40000, 60000]
    sizes_k = [8, 32] if args.quick else [8, 16, 32, 64, 128, 256, 512]
    sizes_b = [500, 1000] if args.quick else [500, 1000, 2000, 4000, 8000]
    sizes_atoms = [64, 128] if args.quick else [64, 128, 256, 512, 1024]
    fixed_n, fixed_k = (5000, 16) if args.quick else (20000, 64)
    fixed_b, fixed_atoms = (500, 64) if args.quick else (2000, 256)
    print(f"MNIST {x.shape}; {args.threads} threads; best of {args.repeat}; K-means {ITERATIONS} iterations")

    panels = []
    points = [kmeans_point(x, n, fixed_k, args.repeat, args.threads) for n in sizes_n]
    table(f"K-means, time against N (K = {fixed_k})", "N", "inertia", sizes_n, points)
    panels.append((f"K-means, K = {fixed_k}, {ITERATIONS} iterations", "N (MNIST rows)", sizes_n, points))
    points = [kmeans_point(x, fixed_n, k, args.repeat, args.threads) for k in sizes_k]
    table(f"K-means, time against K (N = {fixed_n:,})", "K", "inertia", sizes_k, points)
    panels.append((f"K-means, N = {fixed_n:,}, {ITERATIONS} iterations", "K (clusters)", sizes_k, points))

    patches = image_patches(max(sizes_b), 8, image="flower.jpg", seed=1)
    points = [sparse_point(patches[:b], fixed_atoms, args.repeat, args.threads) for b in sizes_b]
    table(f"Sparse coding at defaults, time against B (K = {fixed_atoms})", "B", "mean energy", sizes_b, points)
    panels.append((f"sparse coding at defaults, K = {fixed_atoms}", "B (patches)", sizes_b, points))
    points = [sparse_point(patches[:fixed_b], k, args.repeat, args.threads) for k in sizes_atoms]
    table(f"Sparse coding at defaults, time against K (B = {fixed_b:,})", "K", "mean energy", sizes_atoms, points)
    panels.append((f"sparse coding at defaults, B = {fixed_b:,}", "K (atoms)", sizes_atoms, points))

    print(f"\nfigure: {draw(panels, args.out, args.threads)}")


Panel = tuple[str, str, list[int], list[tuple[float, float, float]]]  # title, x label, sizes, points


def draw(panels: list[Panel], out: Path, threads: int) -> Path:
    """The four log-log panels, ebmlab and scikit-learn on the same axes; returns the PNG's path."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(17, 4.2))
    for ax, (title, label, sizes, values) in zip(axes, panels, strict=True):
        ax.loglog(sizes, [v[0] for v in values], "o-", label="ebmlab")
        ax.loglog(sizes, [v[1] for v in values], "s--", label="scikit-learn")
        ax.tick_params(axis="x", which="minor", bottom=False, labelbottom=False)  # the sizes label the x axis
        ax.set_xticks(sizes, [f"{size:,}" for size in sizes], rotation=45)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(label)
        ax.set_ylabel("seconds (best of runs)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"How the cost grows ({threads} threads; ratios and quality in benchmarks/RESULTS.md)")
    fig.tight_layout()
    return save_figure(fig, out)

if __name__ == "__main__":
    main()
