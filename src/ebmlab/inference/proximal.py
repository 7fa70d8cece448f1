"""Proximal gradient (ISTA / FISTA) for energies of the form smooth + α‖z‖₁.

.. math:: E(y, z) = f(y, z) + \\alpha \\|z\\|_1, \\qquad
          z \\leftarrow \\mathrm{soft}\\big(z - s \\nabla_z f(y, z),\\ s\\alpha\\big), \\quad s = 1/L

An energy takes part by stating its split (:class:`ProximalEnergy`): the gradient step on its smooth
part and the threshold sα, plus a certified duality gap. The loop itself is
:func:`ebmlab.kernels.proximal.proximal_gradient`, the kernel :func:`ebmlab.sparse_encode` runs too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol, runtime_checkable

import torch
from torch import Tensor

from .._validation import check_int, check_positive
from ..energy import Energy
from ..kernels.proximal import STOPS, proximal_gradient
from .base import InferenceExtras, InferenceResult, check_observations

__all__ = ["ProximalEnergy", "ProximalGradient", "ProximalSplit"]


class ProximalSplit(NamedTuple):
    """One batch's problem min_z f(z) + α‖z‖₁ in the form the FISTA kernel runs.

    Attributes:
        gradient_step: :math:`v \\mapsto v - s \\nabla_v f(y, v)` with a safe step :math:`s \\le 1/L`,
            shape ``(B, d)`` → ``(B, d)``.
        threshold: :math:`s \\alpha`, the soft threshold of the proximal step.

    Example:
        >>> import torch
        >>> y = torch.tensor([[3.0, -0.2]])  # f(z) = ‖z − y‖², L = 2, s = 1/2; α = 1
        >>> split = ProximalSplit(lambda v: v - 0.5 * 2 * (v - y), threshold=0.5)
        >>> split.gradient_step(torch.zeros(1, 2))
        tensor([[ 3.0000, -0.2000]])
    """

    gradient_step: Callable[[Tensor], Tensor]
    threshold: float


@runtime_checkable
class ProximalEnergy(Protocol):
    """An energy :math:`f(y, z) + \\alpha\\|z\\|_1` with a smooth f that :class:`ProximalGradient` can minimise.

    ``proximal_split`` validates y (and x) and returns the batch's :class:`ProximalSplit`;
    ``duality_gap`` bounds :math:`E(y, z) - \\min_z E(y, z)` from above, shape ``(B,)``.

    Example:
        >>> import torch
        >>> from ebmlab.models.sparse_coding import SparseCodingEnergy
        >>> from ebmlab.models.kmeans import KMeansEnergy
        >>> sparse, kmeans = SparseCodingEnergy(torch.eye(2), 0.1), KMeansEnergy(torch.eye(2))
        >>> isinstance(sparse, ProximalEnergy), isinstance(kmeans, ProximalEnergy)
        (True, False)
    """

    def proximal_split(self, y: Tensor, x: Tensor | None = None) -> ProximalSplit: ...

    def duality_gap(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor: ...


class ProximalGradient:
    """ž by ISTA (``accelerated=False``) or FISTA with adaptive restart, for a :class:`ProximalEnergy`.

    .. math::
        z_{k+1} = \\mathrm{soft}(v_k - s\\nabla_z f(y, v_k),\\ s\\alpha), \\quad
        v_{k+1} = z_{k+1} + \\tfrac{t_k - 1}{t_{k+1}} (z_{k+1} - z_k) \\quad \\text{(FISTA; ISTA: } v = z\\text{)}

    Stops (checked every 5 iterations) when every sample's duality gap is at most ``tol``·E(y, 0)
    (``stop="gap"``, the default: the certified sub-optimality, relative to the energy of the zero
    code, as :func:`~ebmlab.sparse_encode`), or its relative change ‖z_{k+1} − z_k‖ / ‖z_{k+1}‖ is
    below ``tol`` (``stop="change"``). ``extras.duality_gap`` is the energy's certified gap at ž;
    the result is ``converged`` only when the stopping rule was met and energy and gap are finite.

    Args:
        accelerated: FISTA (True) or ISTA (False).
        restart: FISTA's gradient-based adaptive restart (O'Donoghue & Candès).
        max_iter: iteration budget.
        tol: the stopping rule's tolerance.
        stop: ``"gap"`` or ``"change"``.

    Call:
        ``ProximalGradient(...)(energy, y, x=None, *, init=None)``; ``init`` is z₀ ``(B, d)``, zeros by default.

    Shape:
        y ``(B, D)``, init ``(B, d)`` → latent ``(B, d)``, energy ``(B,)``, ``extras.duality_gap`` ``(B,)``.

    Example:
        >>> import torch
        >>> from ebmlab.models.sparse_coding import SparseCodingEnergy
        >>> W = torch.tensor([[1.0, 0.0, 0.6], [0.0, 1.0, 0.8]])
        >>> energy = SparseCodingEnergy(W / W.norm(dim=0), alpha=0.1)
        >>> result = ProximalGradient()(energy, torch.tensor([[0.6, 0.8]]))
        >>> result.latent.round(decimals=2), result.converged  # the third atom is y itself
        (tensor([[0.0000, 0.0000, 0.9500]]), True)
        >>> bool(result.extras.duality_gap.max() <= 1e-4 * 1.0)  # tol · E(y, 0) = tol · ‖y‖²
        True
    """

    def __init__(
        self,
        *,
        accelerated: bool = True,
        restart: bool = True,
        max_iter: int = 1000,
        tol: float = 1e-4,
        stop: str = "gap",
    ) -> None:
        self.accelerated, self.restart = bool(accelerated), bool(restart)
        self.max_iter = check_int(max_iter, "max_iter")
        self.tol = check_positive(tol, "tol")
        if stop not in STOPS:
            raise ValueError(f"stop must be one of {STOPS}, got stop={stop!r}")
        self.stop = stop

    def __call__(
        self, energy: Energy, y: Tensor, x: Tensor | None = None, *, init: Tensor | None = None
    ) -> InferenceResult:
        check_observations("ProximalGradient", energy, y, x)
        if not isinstance(energy, ProximalEnergy):
            raise TypeError(
                f"ProximalGradient needs an energy of the form smooth + alpha*|z|_1 with proximal_split and "
                f"duality_gap methods (ProximalEnergy), got {type(energy).__name__}"
            )
        dim = energy.latent.dim
        if init is None:
            init = torch.zeros(y.shape[0], dim, device=y.device, dtype=y.dtype)
        elif tuple(init.shape) != (y.shape[0], dim):
            raise ValueError(f"init must have shape (B, d) = {(y.shape[0], dim)}, got {tuple(init.shape)}")
        with torch.no_grad():
            split = energy.proximal_split(y, x)
            done = None
            if self.stop == "gap":
                bound = self.tol * energy(y, torch.zeros_like(init), x)  # (B,) tol · E(y, 0)
                done = lambda z: energy.duality_gap(y, z, x) <= bound  # noqa: E731
            codes, iterations, converged = proximal_gradient(
                split.gradient_step,
                init.detach().to(y.dtype),
                split.threshold,
                accelerated=self.accelerated,
                restart=self.restart,
                max_iter=self.max_iter,
                tol=self.tol,
                done=done,
            )  # (B, d)
            value = energy(y, codes, x)  # (B,)
            gap = energy.duality_gap(y, codes, x)  # (B,)
        finite = bool(torch.isfinite(value).all()) and bool(torch.isfinite(gap).all())
        return InferenceResult(codes, value, iterations, converged and finite, InferenceExtras(duality_gap=gap))

    def __repr__(self) -> str:
        return (
            f"ProximalGradient(accelerated={self.accelerated}, restart={self.restart}, "
            f"max_iter={self.max_iter}, tol={self.tol}, stop={self.stop!r})"
        )
