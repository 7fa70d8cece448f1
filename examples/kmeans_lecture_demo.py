"""The lecture's K-means demo: 50 points in 2-D, K = 15, W = Y[randperm(len(Y))[:K]], Lloyd to convergence.

Run as ``python examples/kmeans_lecture_demo.py [OUT.png]``; draws the points, the centroids and the
free-energy surfaces F_∞(y) = min_k ‖y − w_k‖² and F_β(y) (soft-min over the 15 centroids).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch

from ebmlab.data.toys import lecture_demo_data
from ebmlab.models.kmeans import KMeansEnergy, k_means
from ebmlab.plotting.kmeans import plot_energy_surfaces


def main(out: str = "kmeans_lecture_demo.png", seed: int = 0) -> Path:
    Y = lecture_demo_data(50, seed=seed)  # 50 × 2
    K = 15
    generator = torch.Generator().manual_seed(seed)
    W = Y[torch.randperm(len(Y), generator=generator)[:K]]  # 15 × 2, the lecture's initialisation
    result = k_means(Y, K, init=W, algorithm="lloyd", tol=0.0)  # E = cdist²; F, z = E.min(-1); W[k] = mean
    energy = KMeansEnergy(result.centers)
    title = f"lecture demo: 50 points, K = 15, {result.n_iter} Lloyd iterations, inertia {result.inertia:.3f}"
    return plot_energy_surfaces(energy, Y, out, betas=(math.inf, 2.0), labels=result.labels, title=title)


if __name__ == "__main__":
    print(main(*sys.argv[1:2]))
