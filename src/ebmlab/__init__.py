"""ebmlab: energy-based models on one core.

Every model is an energy E(x, y, z); latent inference finds ž = argmin_z E; the free energy
F_β(y) = −(1/β) log((1/|Z|) Σ_z exp(−βE(y, z))) marginalises z; training minimises a loss
functional of F.

Every public name loads on first use, so ``import ebmlab`` and the command line stay quick.
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "EmptyLatent": "energy",
    "Energy": "energy",
    "FiniteLatent": "energy",
    "GridLatent": "energy",
    "LatentSpace": "energy",
    "OneHotLatent": "energy",
    "RealLatent": "energy",
    "free_energy": "kernels.free_energy",
    "softmin": "kernels.free_energy",
    "Amortized": "inference",
    "ArgminResult": "kernels.argmin",
    "ExhaustiveSearch": "inference",
    "GradientDescent": "inference",
    "Inference": "inference",
    "InferenceExtras": "inference",
    "InferenceResult": "inference",
    "ProximalEnergy": "inference",
    "ProximalGradient": "inference",
    "exhaustive_argmin": "kernels.argmin",
    "DivergedChainError": "samplers",
    "Langevin": "samplers",
    "ReplayBuffer": "samplers",
    "SampleResult": "samplers",
    "langevin": "samplers",
    "SparseCodeResult": "kernels.proximal",
    "sparse_encode": "kernels.proximal",
    "sparse_energy": "kernels.proximal",
    "RunDirectory": "training",
    "train": "training",
    "load_run": "recipes",
    "KMeans": "models.kmeans",
    "KMeansEnergy": "models.kmeans",
    "KMeansResult": "models.kmeans",
    "k_means": "models.kmeans",
    "kmeans_plusplus": "models.kmeans",
    "LISTA": "models.lista",
    "RBM": "models.rbm",
    "BernoulliRBM": "models.rbm",
    "BernoulliVisible": "models.rbm",
    "GaussianVisible": "models.rbm",
    "RBMParameters": "models.rbm",
    "SparseCoding": "models.sparse_coding",
    "SparseCodingEnergy": "models.sparse_coding",
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


__all__ = sorted(_LAZY)
