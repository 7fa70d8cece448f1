"""LISTA (Gregor & LeCun, 2010): ISTA unrolled into T layers with learned weights.

One ISTA step for the lecture's energy ‖y − Wz‖² + α‖z‖₁ (with L = 2λ_max(WᵀW)) reads

.. math:: z \\leftarrow \\mathrm{soft}\\big(W_e y + S z,\\ \\theta\\big), \\qquad
          W_e = \\tfrac{2}{L} W^\\top, \\quad S = I - \\tfrac{2}{L} W^\\top W, \\quad \\theta = \\tfrac{\\alpha}{L}

LISTA keeps this form for T layers starting from z = 0 and learns :math:`W_e` ``(K, D)``,
:math:`S` ``(K, K)`` and the thresholds θ ``(K,)``, either shared by all layers (``tied=True``,
the original LISTA) or one set per layer (untied, as in Chen et al., 2018). At initialisation the
network computes exactly T ISTA iterations; training (``ebmlab train lista``,
:class:`ebmlab.recipes.lista.LISTARecipe`) then fits FISTA's codes ž on data
(:func:`lista_code_loss`), or minimises the energy E(y, Enc(y)) directly (:func:`lista_energy_loss`:
the encoder amortises inference). As an inference method it is ``Amortized(net)``
(:class:`ebmlab.inference.Amortized`) on ``net.as_energy()``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._validation import as_tensor, check_finite, check_int, check_matrix, check_positive
from ..kernels.proximal import check_atoms, lipschitz_constant, soft_threshold, sparse_energy
from .sparse_coding import SparseCodingEnergy

__all__ = ["LISTA", "code_error", "lista_code_loss", "lista_energy_loss"]

#: what LISTA is trained on: FISTA's codes (:func:`lista_code_loss`) or the energy (:func:`lista_energy_loss`)
OBJECTIVES = ("codes", "energy")


def code_error(codes: Tensor, target: Tensor) -> float:
    """Normalised squared error Σ‖z − ž‖² / Σ‖ž‖² over a batch (0 is exact).

    Example:
        >>> code_error(torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0]]))
        0.25
    """
    return float((codes - target).pow(2).sum() / target.pow(2).sum().clamp_min(torch.finfo(target.dtype).tiny))


class LISTA(nn.Module):
    """A T-layer learned ISTA encoder, initialised at ISTA on the dictionary W.

    .. math:: z_0 = 0, \\qquad z_t = \\mathrm{soft}(W_e^{(t)} y + S^{(t)} z_{t-1},\\ \\theta^{(t)}),
              \\quad t = 1..T

    Args:
        dictionary: W ``(D, K)``, atoms as columns (non-zero).
        alpha: α ≥ 0 of the energy (sets the initial thresholds α/L).
        n_layers: T ≥ 1.
        tied: share W_e, S and θ across layers.

    Shape:
        y ``(B, D)`` → codes ``(B, K)``; :meth:`trajectory` → ``(T, B, K)``.

    Example:
        >>> from ebmlab.kernels.proximal import sparse_encode
        >>> W = torch.nn.functional.normalize(torch.randn(6, 10, generator=torch.Generator().manual_seed(0)), dim=0)
        >>> y = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
        >>> net = LISTA(W, alpha=0.1, n_layers=5)
        >>> ista = sparse_encode(y, W, 0.1, method="ista", max_iter=5, tol=1e-12, lipschitz=net.lipschitz)
        >>> torch.allclose(net(y), ista.codes, atol=1e-6)  # untrained LISTA = T ISTA steps
        True
    """

    def __init__(self, dictionary: Tensor, alpha: float, n_layers: int = 16, *, tied: bool = False) -> None:
        super().__init__()
        check_int(n_layers, "n_layers")
        alpha = check_positive(alpha, "alpha", strict=False)
        w = as_tensor(dictionary, "dictionary").detach()
        if w.ndim != 2:
            raise ValueError(f"dictionary must be 2-D (D, K), got shape {tuple(w.shape)}")
        check_finite(w, "dictionary")
        check_atoms(w, "dictionary")
        features, atoms = w.shape
        self.lipschitz = lipschitz_constant(w)
        self.n_layers, self.tied, self.alpha = n_layers, tied, alpha
        copies = 1 if tied else n_layers
        step = 2.0 / self.lipschitz
        encoder = step * w.T  # (K, D)
        propagation = torch.eye(atoms, dtype=w.dtype, device=w.device) - step * (w.T @ w)  # (K, K)
        threshold = torch.full((atoms,), alpha / self.lipschitz, dtype=w.dtype, device=w.device)
        self.encoder = nn.Parameter(encoder.expand(copies, atoms, features).clone())  # (T|1, K, D)
        self.propagation = nn.Parameter(propagation.expand(copies, atoms, atoms).clone())  # (T|1, K, K)
        self.threshold = nn.Parameter(threshold.expand(copies, atoms).clone())  # (T|1, K)
        self.register_buffer("dictionary", w.clone())

    def trajectory(self, y: Tensor) -> Tensor:
        """Codes after every layer, ``(T, B, K)``."""
        check_matrix(y, "y", columns=self.encoder.shape[2])
        outputs = []
        z = None
        for t in range(self.n_layers):
            layer = 0 if self.tied else t
            drive = y @ self.encoder[layer].T  # (B, K)
            pre = drive if z is None else drive + z @ self.propagation[layer].T  # (B, K)
            z = soft_threshold(pre, self.threshold[layer])
            outputs.append(z)
        return torch.stack(outputs)

    def forward(self, y: Tensor) -> Tensor:
        """Codes after the last layer, ``(B, K)``."""
        return self.trajectory(y)[-1]

    def as_energy(self) -> SparseCodingEnergy:
        """The energy whose inference this network amortises, ‖y − Wz‖² + α‖z‖₁ (a copy of W).

        ``Amortized(net)(net.as_energy(), y)`` is LISTA as an inference method (:class:`ebmlab.inference.Amortized`).
        """
        return SparseCodingEnergy(self.dictionary, self.alpha)


def lista_code_loss(
    model: LISTA, y: Tensor, target: Tensor, *, scale: float = 1.0, deep_supervision: bool = True
) -> Tensor:
    """The code-regression loss of LISTA against FISTA's codes ž, normalised by ``scale``.

    .. math:: \\ell = \\frac{1}{T} \\sum_{t=1}^{T} \\mathrm{mean}_y \\frac{\\|z_t(y) - \\check z(y)\\|^2}{s}
              \\quad\\text{(deep supervision; else the last layer's term alone)}

    Deep supervision fits every layer's output, which keeps the intermediate layers meaningful for
    the error-against-layers curve. ``scale`` s is typically mean ‖ž‖² over the training set.

    Shape:
        y ``(B, D)``, target ``(B, K)`` → scalar.

    Example:
        >>> net = LISTA(torch.eye(2), alpha=0.0, n_layers=1)  # one ISTA step from 0 with W = I: z ≈ y
        >>> round(lista_code_loss(net, torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 0.0]])).item(), 2)
        3.99
    """
    if tuple(target.shape) != (y.shape[0], model.encoder.shape[1]):
        raise ValueError(
            f"target must have shape (B, K) = {(y.shape[0], model.encoder.shape[1])}, got {tuple(target.shape)}"
        )
    path = model.trajectory(y)  # (T, B, K)
    errors = (path - target).pow(2).sum(dim=2).mean(dim=1) / scale  # (T,)
    return errors.mean() if deep_supervision else errors[-1]


def lista_energy_loss(model: LISTA, y: Tensor) -> Tensor:
    """The energy of LISTA's codes, mean E(y, Enc(y)) = mean ‖y − W Enc(y)‖² + α‖Enc(y)‖₁: the
    encoder amortises inference (no target codes needed).

    Shape:
        y ``(B, D)`` → scalar.

    Example:
        >>> net = LISTA(torch.eye(2), alpha=0.5, n_layers=3)
        >>> y = torch.tensor([[1.0, -2.0]])
        >>> round(lista_energy_loss(net, y).item(), 3)  # ISTA with W = I: z ≈ soft(y, α/2) = (0.75, -1.75)
        1.375
    """
    return sparse_energy(y, model.dictionary, model(y), model.alpha).mean()
