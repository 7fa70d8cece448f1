"""K-means: ebmlab vs scikit-learn (algorithm="lloyd") vs faiss, same data, same init, same iterations.

Run as ``python benchmarks/bench_kmeans.py`` (``--quick`` for a smoke run). All three run in one
process, limited to ``--threads`` threads (torch.set_num_threads, threadpoolctl, faiss OpenMP).
Every run starts from the same k-means++ centroids with n_init=1 and tol=0 (stop only when no
label changes) and at most ``max_iter`` iterations; faiss (which has no convergence test) runs the
number of iterations scikit-learn used. Inertias are all evaluated by one function (exact,
float64 sums) on each library's final centroids, so the column compares like with like.

Case (c), N = 1,000,000 × 64, K = 256, runs ebmlab in a child process to measure its peak RSS.

Case ``sparse`` (``--cases sparse``): ``scipy.sparse.random`` CSR data, 100,000 × 10,000 at 1 % density
(float64), K = 50, both libraries fitted on the scipy matrix as a user would (ebmlab's sparse matrix
products, scikit-learn's sparse Lloyd), from the same k-means++ centroids, tol = 0 and ``max_iter``
iterations (default 20); the inertias are evaluated by one exact float64 function over the stored
entries. ``--sparse-shape N,D`` and ``--sparse-density`` change the size (``--quick``: 5,000 × 1,000).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ebmlab.models.kmeans import assign_clusters, k_means, kmeans_plusplus  # noqa: E402


def exact_inertia(x: np.ndarray, centers: np.ndarray) -> float:
    """Σ_b min_k ‖x_b − c_k‖², assignments by ebmlab's exhaustive argmin, sums exact in float64."""
    xt, ct = torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(centers, dtype=x.dtype))
    labels = assign_clusters(xt, ct).index
    total = 0.0
    for start in range(0, len(x), 65536):
        diff = xt[start : start + 65536].double() - ct[labels[start : start + 65536]].double()
        total += float((diff * diff).sum())
    return total


def exact_sparse_inertia(x, centers: np.ndarray) -> float:
    """Σ_b min_k ‖x_b − c_k‖² of scipy CSR rows: assignments by ebmlab's argmin over sparse products, the
    distances ‖x‖² − 2x·c + ‖c‖² over the stored entries in float64."""
    from ebmlab.models.kmeans.sparse import csr_tensor

    labels = assign_clusters(csr_tensor(x), torch.from_numpy(np.asarray(centers, dtype=x.dtype))).index.numpy()
    centers = np.asarray(centers, dtype=np.float64)
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    data = x.data.astype(np.float64)
    dots = np.bincount(rows, weights=data * centers[labels[rows], x.indices], minlength=x.shape[0])
    x_sq = np.bincount(rows, weights=data * data, minlength=x.shape[0])
    return float((x_sq - 2.0 * dots + (centers**2).sum(axis=1)[labels]).sum())


def sparse_data(n: int, d: int, density: float, seed: int = 0):
    """``scipy.sparse.random`` CSR float64, uniform [0, 1) entries."""
    import scipy.sparse

    return scipy.sparse.random(n, d, density=density, format="csr", dtype=np.float64, random_state=seed)


def _versus_sklearn(row: dict, x, k: int, init: np.ndarray, inertia, max_iter: int, repeat: int) -> None:
    """Time scikit-learn's Lloyd and ebmlab's k_means on ``x`` from ``init`` (tol = 0, best of ``repeat``) into
    ``row``, with each one's exact ``inertia(x, centers)`` and the fraction of labels that agree."""
    from sklearn.cluster import KMeans as SkKMeans

    times = []
    for _ in range(repeat):
        sk = SkKMeans(k, init=init, n_init=1, max_iter=max_iter, tol=0.0, algorithm="lloyd")
        t, sk = timed(lambda sk=sk: sk.fit(x))
        times.append(t)
    row["sklearn_s"], row["sklearn_iter"] = min(times), int(sk.n_iter_)
    row["sklearn_inertia"] = inertia(x, sk.cluster_centers_)
    times = []
    for _ in range(repeat):
        t, ours = timed(lambda: k_means(x, k, init=init, max_iter=max_iter, tol=0.0))
        times.append(t)
    row["ebmlab_s"], row["ebmlab_iter"] = min(times), ours.n_iter
    row["ebmlab_inertia"] = inertia(x, ours.centers)
    row["labels_agree"] = float((ours.labels == sk.labels_).mean())


def _ratios(row: dict) -> dict:
    row["ratio_vs_sklearn"] = row["ebmlab_s"] / row["sklearn_s"]
    row["inertia_rel_diff"] = (row["ebmlab_inertia"] - row["sklearn_inertia"]) / row["sklearn_inertia"]
    return row


def run_sparse_case(x, k: int, max_iter: int, threads: int, repeat: int) -> dict:
    """ebmlab vs scikit-learn on the scipy CSR matrix ``x``: same k-means++ centroids, tol = 0, ``max_iter``."""
    from threadpoolctl import threadpool_limits

    from ebmlab.models.kmeans.sparse import csr_tensor

    init = kmeans_plusplus(csr_tensor(x), k, generator=torch.Generator().manual_seed(0)).numpy()
    row: dict = {"case": f"sparse {x.nnz / (x.shape[0] * x.shape[1]):.0%}", "N": x.shape[0], "D": x.shape[1], "K": k}
    row["max_iter"] = max_iter
    with threadpool_limits(threads):
        _versus_sklearn(row, x, k, init, exact_sparse_inertia, max_iter, repeat)
    row["faiss_s"] = row["faiss_inertia"] = float("nan")  # faiss has no sparse k-means
    return _ratios(row)


def blobs(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    """Gaussian blobs like sklearn.datasets.make_blobs (centres in [-10, 10], std 1), made in float32 chunks."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(k, d)).astype(np.float32)
    out = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 1 << 16):
        m = min(1 << 16, n - start)
        out[start : start + m] = centres[rng.integers(0, k, m)] + rng.standard_normal((m, d), dtype=np.float32)
    return out


def mnist() -> np.ndarray:
    from ebmlab.data import load_mnist

    images, _ = load_mnist("train", root=Path(__file__).resolve().parents[2] / "shared" / "data")
    return (images.reshape(len(images), -1) / 255.0).astype(np.float32)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run_case(name: str, x: np.ndarray, k: int, max_iter: int, threads: int, repeat: int) -> dict:
    from threadpoolctl import threadpool_limits

    init = kmeans_plusplus(torch.from_numpy(x), k, generator=torch.Generator().manual_seed(0)).numpy()
    row: dict = {"case": name, "N": x.shape[0], "D": x.shape[1], "K": k, "max_iter": max_iter}
    with threadpool_limits(threads):
        _versus_sklearn(row, x, k, init, exact_inertia, max_iter, repeat)
        try:
            import faiss

            faiss.omp_set_num_threads(threads)
            times = []
            for _ in range(repeat):
                km = faiss.Kmeans(x.shape[1], k, niter=row["sklearn_iter"], seed=0, max_points_per_centroid=10**9)
                t, _ = timed(lambda km=km: km.train(x, init_centroids=init))
                times.append(t)
            row["faiss_s"] = min(times)
            row["faiss_inertia"] = exact_inertia(x, km.centroids)
        except ImportError:
            row["faiss_s"] = row["faiss_inertia"] = float("nan")
    return _ratios(row)


def child_big(n: int, threads: int, max_iter: int) -> None:
    """Child process of case (c): data, then ebmlab, reporting peak RSS and time as JSON."""
    torch.set_num_threads(threads)
    x = blobs(n, 64, 256, seed=1)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    init = kmeans_plusplus(torch.from_numpy(x[:100_000]), 256, generator=torch.Generator().manual_seed(0)).numpy()
    t, out = timed(lambda: k_means(x, 256, init=init, max_iter=max_iter, tol=0.0))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "seconds": t,
                "n_iter": out.n_iter,
                "inertia": out.inertia,
                "data_bytes": x.nbytes,
                "rss_after_data": base,
                "peak_rss": peak,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cases", default="a,b10,b256,c", help="comma list of a, b10, b256, c, sparse")
    parser.add_argument("--sparse-shape", default=None, help="N,D of the sparse case (default 100000,10000)")
    parser.add_argument("--sparse-density", type=float, default=0.01, help="fraction of stored entries")
    parser.add_argument("--sparse-k", type=int, default=50, help="K of the sparse case")
    parser.add_argument("--child-big", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--max-iter", type=int, default=None, help="iteration cap (default 100, quick 20)")
    args = parser.parse_args()
    max_iter = args.max_iter or (20 if args.quick else 100)
    if args.child_big:
        child_big(args.child_big, args.threads, max_iter)
        return
    torch.set_num_threads(args.threads)
    cases = args.cases.split(",")
    rows = []
    if "a" in cases:
        rows.append(
            run_case(
                "a blobs", blobs(10_000 if args.quick else 100_000, 64, 100), 100, max_iter, args.threads, args.repeat
            )
        )
    if "b10" in cases or "b256" in cases:
        try:
            x = mnist()
        except FileNotFoundError as exc:
            print(f"skipping MNIST: {exc}")
            x = None
        if x is not None:
            if args.quick:
                x = x[:6000]
            for k in (10, 256):
                if f"b{k}" in cases:
                    rows.append(run_case(f"b MNIST K={k}", x, k, max_iter, args.threads, args.repeat))
    if "sparse" in cases:
        shape = args.sparse_shape or ("5000,1000" if args.quick else "100000,10000")
        n, d = (int(v) for v in shape.split(","))
        x = sparse_data(n, d, args.sparse_density)
        rows.append(run_sparse_case(x, args.sparse_k, args.max_iter or 20, args.threads, args.repeat))
    for row in rows:
        print(json.dumps(row))
    if rows:
        print()
        print(
            "| case | N × D | K | iters (sk/ours) | sklearn s | ebmlab s | faiss s | ebmlab/sklearn | "
            "inertia sklearn | inertia ebmlab | rel. diff | faiss inertia | labels agree |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['case']} | {r['N']:,} × {r['D']} | {r['K']} | {r['sklearn_iter']}/{r['ebmlab_iter']} | "
                f"{r['sklearn_s']:.3f} | {r['ebmlab_s']:.3f} | {r['faiss_s']:.3f} | {r['ratio_vs_sklearn']:.2f} | "
                f"{r['sklearn_inertia']:.6g} | {r['ebmlab_inertia']:.6g} | {r['inertia_rel_diff']:+.2e} | "
                f"{r['faiss_inertia']:.6g} | {r['labels_agree']:.4f} |"
            )
    if "c" in cases:
        n = 100_000 if args.quick else 1_000_000
        cmd = [
            sys.executable,
            __file__,
            "--child-big",
            str(n),
            "--threads",
            str(args.threads),
            "--max-iter",
            str(max_iter),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ})
        info = json.loads(out.stdout.strip().splitlines()[-1])
        extra = (info["peak_rss"] - info["rss_after_data"]) / 2**30
        print()
        print(
            f"(c) N={n:,} D=64 K=256: {info['seconds']:.2f} s for {info['n_iter']} iterations, inertia "
            f"{info['inertia']:.6g}; data {info['data_bytes'] / 2**30:.3f} GiB, "
            f"peak RSS {info['peak_rss'] / 2**30:.3f} GiB "
            f"({extra:.3f} GiB above the RSS once the data were loaded)"
        )


if __name__ == "__main__":
    main()
