"""Restricted Boltzmann machines, E(v, h) = −vᵀWᵀh − bᵀv − cᵀh, h ∈ {0, 1}^K, by concern: :mod:`.energy` (parameters,
E, F, the RBM as an :class:`ebmlab.Energy`), :mod:`.sampling` (the Gibbs chain), :mod:`.training` (the CD update, the
hyperparameters), :mod:`.partition` (log Z, AIS, pseudo-likelihood), :mod:`.estimator` (the estimators
:class:`RBM` and :class:`BernoulliRBM`)."""

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
from .estimator import RBM, BernoulliRBM, RBMDivergedError
from .partition import ais_log_partition, exact_log_partition, pseudo_likelihood, reconstruction_error
from .sampling import gibbs_chain
from .training import RBMSettings, RBMVelocity, data_visible_bias

__all__ = ["RBM", "BernoulliRBM", "BernoulliVisible", "BinaryLatent", "GaussianVisible", "RBMDivergedError"]
__all__ += ["RBMEnergy"]
__all__ += ["RBMParameters", "RBMSettings", "RBMVelocity", "VisibleUnits", "ais_log_partition", "data_visible_bias"]
__all__ += ["exact_log_partition", "gibbs_chain", "pseudo_likelihood", "rbm_energy", "rbm_free_energy"]
__all__ += ["reconstruction_error"]
