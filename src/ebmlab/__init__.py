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
from .runs import RunDirectory
from .samplers import DivergedChainError, Langevin, ReplayBuffer, SampleResult, langevin
from .sparse import SparseCodeResult, sparse_encode, sparse_energy

__version__ = "0.1.0"

# The estimators import scikit-learn; they load on first use so `import ebmlab` and the CLI stay quick.
_LAZY = {
    "KMeans": "models.kmeans",
    "KMeansEnergy": "models.kmeans",
    "KMeansResult": "models.kmeans",
    "k_means": "models.kmeans",
    "kmeans_plusplus": "models.kmeans",
    "LISTA": "models.lista",
    "RBM": "models.rbm",
    "BernoulliVisible": "models.rbm",
    "GaussianVisible": "models.rbm",
    "RBMParameters": "models.rbm",
    "SparseCoding": "models.sparse_coding",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ebmlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


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
