"""ebmlab: energy-based models on one core.

Every model is an energy E(x, y, z); latent inference finds ž = argmin_z E; the free energy
F_β(y) = −(1/β) log((1/|Z|) Σ_z exp(−βE(y, z))) marginalises z; training minimises a loss
functional of F.
"""

from .energy import Energy, FiniteLatent, GridLatent, LatentSpace, OneHotLatent, RealLatent
from .free_energy import free_energy, softmin
from .inference import (
    ArgminResult,
    ExhaustiveSearch,
    GradientDescent,
    InferenceResult,
    exhaustive_argmin,
)
from .models.kmeans import KMeans, KMeansEnergy, KMeansResult, k_means, kmeans_plusplus
from .models.lista import LISTA
from .models.rbm import RBM, BernoulliVisible, GaussianVisible, RBMParameters
from .models.sparse_coding import SparseCoding
from .runs import RunDirectory
from .samplers import DivergedChainError, Langevin, ReplayBuffer, SampleResult, langevin
from .sparse import SparseCodeResult, sparse_encode, sparse_energy

__version__ = "0.1.0"

__all__ = [
    "ArgminResult",
    "BernoulliVisible",
    "DivergedChainError",
    "Energy",
    "ExhaustiveSearch",
    "FiniteLatent",
    "GaussianVisible",
    "GradientDescent",
    "GridLatent",
    "InferenceResult",
    "KMeans",
    "KMeansEnergy",
    "KMeansResult",
    "LISTA",
    "Langevin",
    "LatentSpace",
    "OneHotLatent",
    "RBM",
    "RBMParameters",
    "RealLatent",
    "ReplayBuffer",
    "RunDirectory",
    "SampleResult",
    "SparseCodeResult",
    "SparseCoding",
    "exhaustive_argmin",
    "free_energy",
    "k_means",
    "kmeans_plusplus",
    "langevin",
    "softmin",
    "sparse_encode",
    "sparse_energy",
]
