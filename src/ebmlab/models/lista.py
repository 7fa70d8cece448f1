"""LISTA (Gregor & LeCun, 2010): ISTA unrolled into T layers with learned weights.

One ISTA step for the lecture's energy ‖y − Wz‖² + α‖z‖₁ (with L = 2λ_max(WᵀW)) reads

.. math:: z \\leftarrow \\mathrm{soft}\\big(W_e y + S z,\\ \\theta\\big), \\qquad
          W_e = \\tfrac{2}{L} W^\\top, \\quad S = I - \\tfrac{2}{L} W^\\top W, \\quad \\theta = \\tfrac{\\alpha}{L}

LISTA keeps this form for T layers starting from z = 0 and learns :math:`W_e` ``(K, D)``,
:math:`S` ``(K, K)`` and the thresholds θ ``(K,)``, either shared by all layers (``tied=True``,
the original LISTA) or one set per layer (untied, as in Chen et al., 2018). The other variants
couple the weights to the dictionary, keeping ISTA's residual form (Chen et al., 2018):

* ``variant="cp"`` (LISTA-CP): :math:`z \\leftarrow \\mathrm{soft}(z + W_t^\\top (y - W z),\\ \\theta_t)`,
  learning :math:`W_t^\\top` ``(K, D)`` and θ_t (ISTA is :math:`W_t = \\tfrac{2}{L} W`), see :func:`coupled_layer`;
* ``variant="cpss"`` (LISTA-CPSS): LISTA-CP whose largest :math:`p_t` % entries of every code
  (by magnitude, above the threshold) bypass the shrinkage, :math:`p_t = \\min(t\\,p,\\ p_{\\max})` growing
  with depth (support selection; :func:`support_threshold`);
* ``variant="cpm"``: LISTA-CP with learned momentum β_t between layers, the layer acting on
  :math:`x_t = z_{t-1} + \\beta_{t-1} (z_{t-1} - z_{t-2})`, initialised at FISTA's (Beck & Teboulle)
  momentum — a learned FISTA as LISTA is a learned ISTA (the idea of FISTA-Net, Xiang et al., 2021).

At initialisation the lista and cp networks compute exactly T ISTA iterations, the cpm network T
FISTA iterations (without restart); training (``ebmlab train lista``,
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

__all__ = [
    "LISTA",
    "code_error",
    "coupled_layer",
    "lista_code_loss",
    "lista_energy_loss",
    "lista_layer",
    "support_threshold",
]

#: what LISTA is trained on: FISTA's codes (:func:`lista_code_loss`) or the energy (:func:`lista_energy_loss`)
OBJECTIVES = ("codes", "energy")
#: LISTA's layer types: plain (Gregor & LeCun 2010), coupled weights, with support selection, with momentum
VARIANTS = ("lista", "cp", "cpss", "cpm")


def code_error(codes: Tensor, target: Tensor) -> float:
    """Normalised squared error Σ‖z − ž‖² / Σ‖ž‖² over a batch (0 is exact).

    Example:
        >>> code_error(torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0]]))
        0.25
    """
    return float((codes - target).pow(2).sum() / target.pow(2).sum().clamp_min(torch.finfo(target.dtype).tiny))


def lista_layer(codes: Tensor | None, y: Tensor, encoder: Tensor, propagation: Tensor, threshold: Tensor) -> Tensor:
    """One layer of plain LISTA, :math:`\\mathrm{soft}(W_e y + S z,\\ \\theta)` (``codes=None``: z = 0).

    Shape:
        codes ``(B, K)`` or None, y ``(B, D)``, encoder W_e ``(K, D)``, propagation S ``(K, K)``,
        threshold ``(K,)`` → ``(B, K)``.

    Example:
        >>> lista_layer(None, torch.tensor([[1.0, -2.0]]), torch.eye(2), torch.eye(2), torch.full((2,), 0.5))
        tensor([[ 0.5000, -1.5000]])
    """
    pre = y @ encoder.T  # (B, K)
    if codes is not None:
        pre = pre + codes @ propagation.T  # (B, K)
    return soft_threshold(pre, threshold)


def support_threshold(pre: Tensor, threshold: Tensor, n_support: int) -> Tensor:
    """Soft-thresholding with support selection (Chen et al., 2018): in every row the ``n_support``
    entries largest in magnitude that also exceed θ pass unshrunk, the rest are soft-thresholded.

    .. math:: z_i = \\begin{cases} x_i & i \\in S(x),\\ |x_i| > \\theta_i \\\\
              \\mathrm{soft}(x_i, \\theta_i) & \\text{otherwise} \\end{cases}

    ``n_support = 0`` is plain soft-thresholding.

    Shape:
        pre ``(B, K)``, threshold ``(K,)`` → ``(B, K)``.

    Example:
        >>> support_threshold(torch.tensor([[3.0, -2.0, 0.5]]), torch.ones(3), n_support=1)
        tensor([[ 3., -1.,  0.]])
    """
    shrunk = soft_threshold(pre, threshold)  # (B, K)
    if n_support <= 0:
        return shrunk
    magnitude = pre.detach().abs()  # (B, K)
    kth = magnitude.topk(n_support, dim=1).values[:, -1:]  # (B, 1)
    selected = (magnitude >= kth) & (magnitude > threshold.detach())  # (B, K)
    return torch.where(selected, pre, shrunk)


def coupled_layer(
    codes: Tensor | None, y: Tensor, dictionary: Tensor, encoder: Tensor, threshold: Tensor, n_support: int = 0
) -> Tensor:
    """One layer of LISTA-CP (coupled weights), with support selection when ``n_support > 0`` (LISTA-CPSS).

    .. math:: z \\leftarrow \\mathrm{soft}\\big(z + W_t^\\top (y - W z),\\ \\theta_t\\big)

    With :math:`W_t^\\top` = ``encoder`` = (2/L) Wᵀ and θ_t = α/L this is one ISTA step on
    ‖y − Wz‖² + α‖z‖₁ (:func:`ebmlab.kernels.proximal.ista_step`). ``codes=None`` is z = 0.

    Shape:
        codes ``(B, K)`` or None, y ``(B, D)``, dictionary W ``(D, K)``, encoder W_tᵀ ``(K, D)``,
        threshold ``(K,)`` → ``(B, K)``.

    Example:
        >>> W = torch.eye(2)
        >>> coupled_layer(None, torch.tensor([[1.0, 0.1]]), W, W.T, torch.full((2,), 0.2))  # W = I: soft(y, θ)
        tensor([[0.8000, 0.0000]])
    """
    residual = y if codes is None else y - codes @ dictionary.T  # (B, D)
    pre = residual @ encoder.T  # (B, K)
    if codes is not None:
        pre = pre + codes
    return support_threshold(pre, threshold, n_support)


class LISTA(nn.Module):
    """A T-layer learned ISTA encoder, initialised at ISTA on the dictionary W.

    .. math:: z_0 = 0, \\qquad z_t = \\mathrm{soft}(W_e^{(t)} y + S^{(t)} z_{t-1},\\ \\theta^{(t)}),
              \\quad t = 1..T \\qquad (\\text{variant="lista"})

    .. math:: z_t = \\mathrm{soft}_{p_t}\\big(x_t + W_t^\\top (y - W x_t),\\ \\theta^{(t)}\\big)
              \\qquad (\\text{"cp"}: p_t = 0;\\ \\text{"cpss"}: p_t = \\min(t\\,p,\\ p_{\\max}) \\%)

    where :math:`x_t = z_{t-1}`, except for ``"cpm"`` (p_t = 0):
    :math:`x_t = z_{t-1} + \\beta_{t-1}(z_{t-1} - z_{t-2})` (z_0 = 0) with learned β ``(T − 1,)`` (never tied),
    initialised at FISTA's :math:`\\beta_t = (s_t - 1)/s_{t+1}`, :math:`s_1 = 1`,
    :math:`s_{t+1} = (1 + \\sqrt{1 + 4 s_t^2})/2`.

    Args:
        dictionary: W ``(D, K)``, atoms as columns (non-zero).
        alpha: α ≥ 0 of the energy (sets the initial thresholds α/L).
        n_layers: T ≥ 1.
        tied: share the weights and θ across layers.
        variant: ``"lista"`` (learns W_e and S), ``"cp"`` (coupled weights: learns W_tᵀ ``(K, D)``,
            W stays the dictionary), ``"cpss"`` (cp with support selection) or ``"cpm"`` (cp with
            learned momentum).
        support_step: p, percent of the K entries per layer that support selection adds
            (``variant="cpss"``; the others use p = 0).
        support_max: p_max, the largest percent selected (``variant="cpss"``).

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
        >>> torch.allclose(LISTA(W, alpha=0.1, n_layers=5, variant="cp")(y), ista.codes, atol=1e-6)
        True
        >>> LISTA(W, alpha=0.1, n_layers=5, variant="cpss").support_sizes()  # p_t % of K = 10 entries
        [0, 0, 0, 0, 0]
        >>> fista = sparse_encode(y, W, 0.1, max_iter=5, tol=1e-12, lipschitz=net.lipschitz, restart=False)
        >>> torch.allclose(LISTA(W, alpha=0.1, n_layers=5, variant="cpm")(y), fista.codes, atol=1e-6)
        True
    """

    def __init__(
        self,
        dictionary: Tensor,
        alpha: float,
        n_layers: int = 16,
        *,
        tied: bool = False,
        variant: str = "lista",
        support_step: float = 1.2,
        support_max: float = 13.0,
    ) -> None:
        super().__init__()
        check_int(n_layers, "n_layers")
        alpha = check_positive(alpha, "alpha", strict=False)
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got variant={variant!r}")
        support_step = check_positive(support_step, "support_step", strict=False)
        support_max = check_positive(support_max, "support_max", strict=False)
        if support_max > 100.0:
            raise ValueError(f"support_max must be a percentage <= 100, got support_max={support_max}")
        w = as_tensor(dictionary, "dictionary").detach()
        if w.ndim != 2:
            raise ValueError(f"dictionary must be 2-D (D, K), got shape {tuple(w.shape)}")
        check_finite(w, "dictionary")
        check_atoms(w, "dictionary")
        features, atoms = w.shape
        self.lipschitz = lipschitz_constant(w)
        self.n_layers, self.tied, self.alpha, self.variant = n_layers, tied, alpha, variant
        self.support_step, self.support_max = support_step, support_max
        copies = 1 if tied else n_layers
        step = 2.0 / self.lipschitz
        encoder = step * w.T  # (K, D)
        threshold = torch.full((atoms,), alpha / self.lipschitz, dtype=w.dtype, device=w.device)
        self.encoder = nn.Parameter(encoder.expand(copies, atoms, features).clone())  # (T|1, K, D)
        if variant == "lista":
            propagation = torch.eye(atoms, dtype=w.dtype, device=w.device) - step * (w.T @ w)  # (K, K)
            self.propagation = nn.Parameter(propagation.expand(copies, atoms, atoms).clone())  # (T|1, K, K)
        self.threshold = nn.Parameter(threshold.expand(copies, atoms).clone())  # (T|1, K)
        if variant == "cpm":
            self.momentum = nn.Parameter(_fista_momentum(n_layers - 1, w.dtype).to(w.device))  # (T - 1,)
        self.register_buffer("dictionary", w.clone())

    def support_sizes(self) -> list[int]:
        """Entries per code that bypass the threshold at each layer, ⌊K·min(t·p, p_max)/100⌋ (0 unless cpss)."""
        if self.variant != "cpss":
            return [0] * self.n_layers
        atoms = self.encoder.shape[1]
        return [int(atoms * min(t * self.support_step, self.support_max) / 100.0) for t in range(1, self.n_layers + 1)]

    def trajectory(self, y: Tensor, layers: int | None = None) -> Tensor:
        """Codes after each of the first ``layers`` layers (default all T), ``(layers, B, K)``."""
        check_matrix(y, "y", columns=self.encoder.shape[2])
        layers = self.n_layers if layers is None else check_int(layers, "layers")
        if layers > self.n_layers:
            raise ValueError(f"layers must be <= n_layers={self.n_layers}, got layers={layers}")
        supports = self.support_sizes()
        outputs: list[Tensor] = []
        z = None
        for t in range(layers):
            layer = 0 if self.tied else t
            if self.variant == "lista":
                z = lista_layer(z, y, self.encoder[layer], self.propagation[layer], self.threshold[layer])
                outputs.append(z)
                continue
            if self.variant == "cpm" and t >= 1:
                moved = z - outputs[-2] if t >= 2 else z  # (B, K), z_{t-1} − z_{t-2} with z_0 = 0
                z = z + self.momentum[t - 1] * moved  # (B, K), x_t
            z = coupled_layer(z, y, self.dictionary, self.encoder[layer], self.threshold[layer], supports[t])
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


def _fista_momentum(n_layers: int, dtype: torch.dtype) -> Tensor:
    """FISTA's momentum β_t = (s_t − 1)/s_{t+1} for t = 1..n, ``(n,)``."""
    s, betas = 1.0, []
    for _ in range(n_layers):
        following = 0.5 * (1.0 + (1.0 + 4.0 * s * s) ** 0.5)
        betas.append((s - 1.0) / following)
        s = following
    return torch.tensor(betas, dtype=dtype)


def lista_code_loss(
    model: LISTA,
    y: Tensor,
    target: Tensor,
    *,
    scale: float = 1.0,
    deep_supervision: bool = True,
    layers: int | None = None,
) -> Tensor:
    """The code-regression loss of LISTA against FISTA's codes ž, normalised by ``scale``.

    .. math:: \\ell = \\frac{1}{T} \\sum_{t=1}^{T} \\mathrm{mean}_y \\frac{\\|z_t(y) - \\check z(y)\\|^2}{s}
              \\quad\\text{(deep supervision; else the last layer's term alone)}

    Deep supervision fits every layer's output, which keeps the intermediate layers meaningful for
    the error-against-layers curve. ``scale`` s is typically mean ‖ž‖² over the training set.
    ``layers`` runs only the first t layers (T = t above; a stage of layer-wise training).

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
    path = model.trajectory(y, layers)  # (T, B, K)
    errors = (path - target).pow(2).sum(dim=2).mean(dim=1) / scale  # (T,)
    return errors.mean() if deep_supervision else errors[-1]


def lista_energy_loss(model: LISTA, y: Tensor, layers: int | None = None) -> Tensor:
    """The energy of LISTA's codes, mean E(y, Enc(y)) = mean ‖y − W Enc(y)‖² + α‖Enc(y)‖₁: the
    encoder amortises inference (no target codes needed). ``layers`` takes Enc(y) after the first
    t layers (default all T).

    Shape:
        y ``(B, D)`` → scalar.

    Example:
        >>> net = LISTA(torch.eye(2), alpha=0.5, n_layers=3)
        >>> y = torch.tensor([[1.0, -2.0]])
        >>> round(lista_energy_loss(net, y).item(), 3)  # ISTA with W = I: z ≈ soft(y, α/2) = (0.75, -1.75)
        1.375
    """
    return sparse_energy(y, model.dictionary, model.trajectory(y, layers)[-1], model.alpha).mean()
