"""Restricted Boltzmann machines, E(v, h) = −vᵀWᵀh − bᵀv − cᵀh with a binary latent h ∈ {0, 1}^K, by concern:
:mod:`.energy` (parameters, E, F, the RBM as an :class:`ebmlab.Energy`), :mod:`.sampling` (the Gibbs sweep),
:mod:`.training` (the CD update, the hyperparameters), :mod:`.partition` (log Z, AIS, pseudo-likelihood) and
:mod:`.estimator` (the scikit-learn style :class:`RBM`)."""

from .energy import (
    BernoulliVisible,
    BinaryLatent,
    GaussianVisible,
    RBMEnergy,
    RBMParameters,
    VisibleUnits,
    rbm_energy,
    rbm_free_energy,
)
from .estimator import RBM, RBMDivergedError
from .partition import (
    AISResult,
    ais_betas,
    ais_log_partition,
    base_visible_bias,
    exact_log_partition,
    full_pseudo_likelihood,
    pseudo_likelihood,
    reconstruction_error,
)
from .sampling import RandomSource, gibbs_chain
from .training import ContrastiveStep, RBMSettings, RBMVelocity, contrastive_divergence_step, data_visible_bias

__all__ = ["RBM", "AISResult", "BernoulliVisible", "BinaryLatent", "ContrastiveStep", "GaussianVisible"]
__all__ += ["RBMDivergedError", "RBMEnergy", "RBMParameters", "RBMSettings", "RBMVelocity", "RandomSource"]
__all__ += ["VisibleUnits", "ais_betas", "ais_log_partition", "base_visible_bias", "contrastive_divergence_step"]
__all__ += ["data_visible_bias", "exact_log_partition", "full_pseudo_likelihood", "gibbs_chain", "pseudo_likelihood"]
__all__ += ["rbm_energy", "rbm_free_energy", "reconstruction_error"]
