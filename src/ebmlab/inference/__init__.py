"""Latent inference: ž = argmin_z E(y, z[, x]), one contract for every method.

Every method is an object called as ``inference(energy, y, x=None)`` returning an
:class:`InferenceResult` ``(latent, energy, iterations, converged, extras)`` (the :class:`Inference`
protocol), one module per kind:

* :mod:`.exhaustive`: :class:`ExhaustiveSearch` over a finite latent space, on the blocked kernel
  :func:`~ebmlab.kernels.argmin.exhaustive_argmin` (for a codebook energy such as K-means', the
  nearest-codeword kernel :func:`~ebmlab.kernels.argmin.assign_clusters`);
* :mod:`.gradient`: :class:`GradientDescent` on a real latent;
* :mod:`.proximal`: :class:`ProximalGradient` (ISTA / FISTA) for energies smooth + α‖z‖₁
  (:class:`ProximalEnergy`), the duality gap in ``extras``;
* :mod:`.amortized`: :class:`Amortized`, an encoder y ↦ ž (LISTA, a VAE's posterior mean).

Example:
    >>> import torch
    >>> from ebmlab.models.sparse_coding import SparseCodingEnergy
    >>> energy = SparseCodingEnergy(torch.eye(2), alpha=0.5)
    >>> y = torch.tensor([[1.0, -2.0]])
    >>> [round(method(energy, y).energy.item(), 4) for method in (ProximalGradient(), GradientDescent(0.01))]
    [1.375, 1.375]
"""

from .amortized import Amortized
from .base import Inference, InferenceExtras, InferenceResult
from .exhaustive import ArgminResult, ExhaustiveSearch, exhaustive_argmin
from .gradient import GradientDescent
from .proximal import ProximalEnergy, ProximalGradient, ProximalSplit

__all__ = [
    "Amortized",
    "ArgminResult",
    "ExhaustiveSearch",
    "GradientDescent",
    "Inference",
    "InferenceExtras",
    "InferenceResult",
    "ProximalEnergy",
    "ProximalGradient",
    "ProximalSplit",
    "exhaustive_argmin",
]
