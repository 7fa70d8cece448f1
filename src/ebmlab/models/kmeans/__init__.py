"""K-means as an energy-based model: the lecture's first regularised latent-variable EBM.

The latent is one-hot, :math:`z \\in \\mathbb{I}_K`; the decoder is linear, :math:`\\tilde y = Wz`
(row k of the ``(K, D)`` matrix ``W`` is centroid k); the energy is the reconstruction cost

.. math:: E(y, z) = \\lVert y - Wz \\rVert^2 .

Zero temperature (β = ∞): :math:`F_\\infty(y) = \\min_k \\lVert y - w_k \\rVert^2`, ž = argmin, and
minimising :math:`\\sum_y F_\\infty(y)` by alternating ž and W is Lloyd's algorithm (the lecture's
``E = cdist(Y, W)²; F, z = E.min(-1); W[k] = Y[z == k].mean(0)``). Finite β: the responsibilities
are :math:`\\mathrm{softmin}_\\beta(E(y, \\cdot))` and the centroids their weighted means (soft
k-means), with an optional annealing schedule of β.

The package, by concern:

* :mod:`.energy` — :class:`KMeansEnergy`, a codebook energy: :class:`~ebmlab.ExhaustiveSearch` runs
  the core's nearest-codeword kernel on it (:func:`ebmlab.kernels.argmin.assign_clusters`);
* :mod:`.lloyd` — Lloyd's iterations (plain: one fused assign-and-sum pass per iteration; soft;
  accelerated: plain passes while many labels change, then the kernel's bounded mode
  :class:`ebmlab.kernels.argmin_bounds.BoundedNearest`; sample weights), private;
* :mod:`.sparse` — sparse data (scipy or torch) as torch CSR tensors, and the iterations' sums over
  their stored entries, private;
* :mod:`.solver` — k-means++ seeding, :class:`KMeansSolver` (restarts and iterations as a resumable
  object, which the training recipe steps too), :func:`k_means`, :func:`minibatch_step`;
* :mod:`.estimator` — :class:`KMeans`, a drop-in replacement for ``sklearn.cluster.KMeans`` (sample
  weights, sparse input, its algorithm names, warnings and output API), checked by scikit-learn's own
  ``test_k_means.py`` (``tests/test_sklearn_k_means_suite.py``).
"""

from ...kernels.argmin import assign_clusters, squared_distances
from .energy import KMeansEnergy
from .estimator import KMeans
from .solver import KMeansResult, KMeansSolver, KMeansStep, k_means, kmeans_plusplus, minibatch_step

__all__ = [
    "KMeans",
    "KMeansEnergy",
    "KMeansResult",
    "KMeansSolver",
    "KMeansStep",
    "assign_clusters",
    "k_means",
    "kmeans_plusplus",
    "minibatch_step",
    "squared_distances",
]
