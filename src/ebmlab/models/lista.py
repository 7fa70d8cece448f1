"""LISTA (Gregor & LeCun, 2010): ISTA unrolled into T layers with learned weights.

One ISTA step for the lecture's energy ‖y − Wz‖² + α‖z‖₁ (with L = 2λ_max(WᵀW)) reads

.. math:: z \\leftarrow \\mathrm{soft}\\big(W_e y + S z,\\ \\theta\\big), \\qquad
          W_e = \\tfrac{2}{L} W^\\top, \\quad S = I - \\tfrac{2}{L} W^\\top W, \\quad \\theta = \\tfrac{\\alpha}{L}

LISTA keeps this form for T layers starting from z = 0 and learns :math:`W_e` ``(K, D)``,
:math:`S` ``(K, K)`` and the thresholds θ ``(K,)``, either shared by all layers (``tied=True``,
the original LISTA) or one set per layer (untied, as in Chen et al., 2018). At initialisation the
network computes exactly T ISTA iterations; training then fits FISTA's codes ž on data
(:func:`train_lista` with ``objective="codes"``), or minimises the energy E(y, Enc(y)) directly
(``objective="energy"``: the encoder amortises inference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._validation import as_tensor, check_finite, check_int, check_matrix, check_positive
from ..sparse import lipschitz_constant, soft_threshold, sparse_energy

__all__ = ["LISTA", "LISTAFit", "code_error", "train_lista"]

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
        >>> from ebmlab.sparse import sparse_encode
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
        if bool((w.norm(dim=0) <= 1e-12).any()):
            raise ValueError("dictionary has a zero atom (column); atoms must be non-zero")
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


@dataclass(frozen=True)
class LISTAFit:
    """A trained LISTA and its per-epoch training losses."""

    model: LISTA
    losses: list[float]


def train_lista(
    model: LISTA,
    y: Tensor,
    target: Tensor | None = None,
    *,
    objective: str = "codes",
    epochs: int = 50,
    lr: float = 1e-3,
    batch_size: int = 256,
    deep_supervision: bool = True,
    seed: int = 0,
    on_epoch: object = None,
) -> LISTAFit:
    """Train LISTA with Adam (cosine-decayed learning rate).

    * ``objective="codes"``: minimise ‖Enc(y) − ž‖² against the FISTA codes ``target``; with
      ``deep_supervision`` every layer's output is fitted (mean over layers), which keeps the
      intermediate layers meaningful for the error-vs-layers curve.
    * ``objective="energy"``: minimise E(y, Enc(y)) = ‖y − W Enc(y)‖² + α‖Enc(y)‖₁ (no target).

    ``on_epoch(epoch, loss)`` is called after each epoch when given (the CLI checkpoints there).

    Shape:
        y ``(B, D)``, target ``(B, K)``.

    Example:
        >>> W = torch.nn.functional.normalize(torch.randn(6, 10, generator=torch.Generator().manual_seed(0)), dim=0)
        >>> y = torch.randn(64, 6, generator=torch.Generator().manual_seed(1))
        >>> fit = train_lista(LISTA(W, 0.1, n_layers=3), y, objective="energy", epochs=5, batch_size=32)
        >>> len(fit.losses), fit.losses[-1] <= fit.losses[0]
        (5, True)
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got objective={objective!r}")
    check_int(epochs, "epochs")
    check_int(batch_size, "batch_size")
    check_positive(lr, "lr")
    check_matrix(y, "y", columns=model.encoder.shape[2])
    check_finite(y, "y")
    if objective == "codes":
        if target is None:
            raise ValueError("objective='codes' needs target codes (B, K) from FISTA; got target=None")
        if tuple(target.shape) != (y.shape[0], model.encoder.shape[1]):
            raise ValueError(
                f"target must have shape (B, K) = {(y.shape[0], model.encoder.shape[1])}, got {tuple(target.shape)}"
            )
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(y) / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    generator = torch.Generator().manual_seed(seed)
    scale = 1.0 if target is None else float(target.pow(2).sum(dim=1).mean().clamp_min(1e-12))
    losses = []
    for epoch in range(epochs):
        order = torch.randperm(len(y), generator=generator).to(y.device)
        total = 0.0
        for start in range(0, len(y), batch_size):
            rows = order[start : start + batch_size]
            batch = y[rows]
            if objective == "codes":
                goal = target[rows]  # (b, K)
                path = model.trajectory(batch)  # (T, b, K)
                errors = (path - goal).pow(2).sum(dim=2).mean(dim=1) / scale  # (T,)
                loss = errors.mean() if deep_supervision else errors[-1]
            else:
                codes = model(batch)
                loss = sparse_energy(batch, model.dictionary, codes, model.alpha).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(rows)
        losses.append(total / len(y))
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(f"LISTA training diverged at epoch {epoch + 1} with lr={lr}")
        if callable(on_epoch):
            on_epoch(epoch + 1, losses[-1])
    return LISTAFit(model, losses)
