"""Convolutional sparse coding: filters k × k learned on images.

The decoder is a transposed convolution of K code maps with K filters ``(K, C, k, k)``:

.. math:: E(y, z) = \\big\\|y - \\textstyle\\sum_j f_j * z_j\\big\\|_2^2 + \\alpha \\|z\\|_1,
          \\qquad \\|f_j\\|_2 = 1

for an image y ``(C, H, W)`` and codes z ``(K, H - k + 1, W - k + 1)`` (each code pixel places one
filter fully inside the image). Inference is FISTA in convolutional form (the same
:func:`ebmlab.sparse.proximal_gradient` loop as the dense coder): the gradient of the
reconstruction is :math:`-2\\,\\mathrm{conv}(y - \\mathrm{Dec}(z), f)`, the adjoint of the transposed
convolution, and L = 2λ_max(DecᵀDec) comes from power iteration. Training alternates codes and a
gradient step (Adam) on the filters with the lecture's renormalisation to unit norm.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .._validation import as_tensor, check_finite, check_int, check_positive, resolve_device
from ..sparse import SparseCodeResult, _dual_gap, power_iteration, proximal_gradient

__all__ = [
    "ConvSparseCoding",
    "conv_decode",
    "conv_lipschitz",
    "conv_sparse_encode",
    "local_contrast_normalize",
]


def conv_decode(codes: Tensor, filters: Tensor) -> Tensor:
    """ỹ = Dec(z) = Σ_j f_j * z_j, a transposed convolution.

    Shape:
        codes ``(B, K, H', W')``, filters ``(K, C, k, k)`` → ``(B, C, H' + k − 1, W' + k − 1)``.

    Example:
        >>> conv_decode(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2))
        tensor([[[[1., 2., 1.],
                  [2., 4., 2.],
                  [1., 2., 1.]]]])
    """
    return F.conv_transpose2d(codes, filters)


def conv_lipschitz(filters: Tensor, image_shape: tuple[int, int], *, seed: int = 0, margin: float = 1e-3) -> float:
    """L = 2·λ_max(DecᵀDec) for images of ``image_shape`` (H, W), by power iteration.

    Example:
        >>> round(conv_lipschitz(torch.ones(1, 1, 1, 1), (4, 4), margin=0.0), 4)  # Dec = identity
        2.0
    """
    k = filters.shape[-1]
    shape = (1, filters.shape[0], image_shape[0] - k + 1, image_shape[1] - k + 1)
    generator = torch.Generator().manual_seed(seed)
    start = (torch.rand(shape, generator=generator, dtype=filters.dtype) + 0.5).to(filters.device)
    return 2.0 * power_iteration(lambda z: F.conv2d(conv_decode(z, filters), filters), start) * (1.0 + margin)


def conv_sparse_encode(
    images: Any,
    filters: Any,
    alpha: float,
    *,
    method: str = "fista",
    max_iter: int = 500,
    tol: float = 1e-5,
    init: Tensor | None = None,
    lipschitz: float | None = None,
) -> SparseCodeResult:
    """ž = argmin_z ‖y − Σ_j f_j * z_j‖² + α‖z‖₁ per image, by ISTA/FISTA in convolutional form.

    Args:
        images: ``(B, C, H, W)``.
        filters: ``(K, C, k, k)`` with k ≤ H, W; no filter may be zero.
        alpha: α ≥ 0.
        method, max_iter, tol, init, lipschitz: as in :func:`ebmlab.sparse_encode`.

    Returns:
        :class:`ebmlab.SparseCodeResult` with codes ``(B, K, H − k + 1, W − k + 1)``.

    Example:
        >>> filters = torch.zeros(2, 1, 2, 2); filters[0, 0, 0, 0] = 1; filters[1, 0, 1, 1] = 1
        >>> image = torch.zeros(1, 1, 3, 3); image[0, 0, 1, 1] = 1
        >>> result = conv_sparse_encode(image, filters, alpha=0.2)
        >>> round(float(result.energy), 4), tuple(result.codes.shape)  # 0.1² reconstruction + 0.2·0.9
        (0.19, (1, 2, 2, 2))
    """
    if method not in ("ista", "fista"):
        raise ValueError(f"method must be one of ('ista', 'fista'), got method={method!r}")
    alpha = check_positive(alpha, "alpha", strict=False)
    check_int(max_iter, "max_iter")
    check_positive(tol, "tol")
    f = as_tensor(filters, "filters")
    y = as_tensor(images, "images", dtype=f.dtype, device=f.device)
    if f.ndim != 4 or f.shape[2] != f.shape[3]:
        raise ValueError(f"filters must be (K, C, k, k), got shape {tuple(f.shape)}")
    if y.ndim != 4 or y.shape[1] != f.shape[1]:
        raise ValueError(
            f"images must be (B, C, H, W) with C={f.shape[1]} channels like the filters, got shape {tuple(y.shape)}"
        )
    k = f.shape[-1]
    if y.shape[2] < k or y.shape[3] < k:
        raise ValueError(f"images of size {tuple(y.shape[2:])} are smaller than the {k} x {k} filters")
    check_finite(y, "images")
    check_finite(f, "filters")
    if bool((f.detach().flatten(1).norm(dim=1) <= 1e-12).any()):
        raise ValueError("filters has a zero filter; filters must be non-zero (unit norm in the lecture)")
    code_shape = (y.shape[0], f.shape[0], y.shape[2] - k + 1, y.shape[3] - k + 1)
    if init is None:
        z0 = torch.zeros(code_shape, dtype=f.dtype, device=f.device)
    else:
        z0 = as_tensor(init, "init", dtype=f.dtype, device=f.device)
        if tuple(z0.shape) != code_shape:
            raise ValueError(f"init must have shape {code_shape}, got {tuple(z0.shape)}")
    if lipschitz is None:
        lipschitz = conv_lipschitz(f.detach(), (y.shape[2], y.shape[3]))
    step = 2.0 / lipschitz
    drive = step * F.conv2d(y, f)  # (B, K, H', W')  (2/L)·Decᵀy

    def forward_step(v: Tensor) -> Tensor:
        return v - step * F.conv2d(conv_decode(v, f), f) + drive  # v − (2/L)·Decᵀ(Dec v − y)

    codes, iterations, converged = proximal_gradient(
        forward_step, z0, alpha / lipschitz, accelerated=method == "fista", max_iter=max_iter, tol=tol
    )
    residual = y - conv_decode(codes, f)  # (B, C, H, W)
    energy = residual.flatten(1).pow(2).sum(dim=1) + alpha * codes.flatten(1).abs().sum(dim=1)
    with torch.no_grad():
        gap = _dual_gap(y, residual, F.conv2d(residual, f), codes, alpha, energy)
    return SparseCodeResult(codes, energy, gap, iterations, converged)


def local_contrast_normalize(images: Tensor, sigma: float = 2.0) -> Tensor:
    """Subtract a Gaussian-blurred local mean and divide by the local standard deviation.

    The usual preprocessing before learning filters on photographs: it removes the low
    frequencies that would otherwise take most of the energy.

    Shape:
        images ``(B, 1, H, W)`` → same.
    """
    radius = max(1, int(math.ceil(3 * sigma)))
    grid = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel1d = torch.exp(-0.5 * (grid / sigma) ** 2)
    kernel1d = kernel1d / kernel1d.sum()
    kernel = (kernel1d[:, None] * kernel1d[None, :])[None, None]  # (1, 1, r, r)
    padded = F.pad(images, (radius,) * 4, mode="reflect")
    centred = images - F.conv2d(padded, kernel)
    spread = F.conv2d(F.pad(centred.pow(2), (radius,) * 4, mode="reflect"), kernel).sqrt()
    return centred / torch.clamp(spread, min=float(spread.mean()))


class ConvSparseCoding:
    """Learn K unit-norm filters k × k by alternating convolutional FISTA and Adam on the filters.

    Each step draws ``batch_size`` random ``crop × crop`` crops, codes them (warm FISTA), takes one
    Adam step on the filters for E(y, ž) with the codes fixed, and renormalises every filter.

    Example:
        >>> images = torch.randn(2, 1, 24, 24, generator=torch.Generator().manual_seed(0))
        >>> model = ConvSparseCoding(4, 5, steps_per_epoch=1, max_iter=1, crop=12, encode_max_iter=5)
        >>> model.fit(images).filters_.shape
        torch.Size([4, 1, 5, 5])
    """

    def __init__(
        self,
        n_filters: int = 16,
        kernel_size: int = 8,
        *,
        alpha: float = 0.5,
        max_iter: int = 20,
        steps_per_epoch: int = 20,
        batch_size: int = 8,
        crop: int = 48,
        lr: float = 0.01,
        encode_max_iter: int = 50,
        seed: int = 0,
        device: str | torch.device | None = None,
    ) -> None:
        self.n_filters, self.kernel_size, self.alpha = n_filters, kernel_size, alpha
        self.max_iter, self.steps_per_epoch, self.batch_size = max_iter, steps_per_epoch, batch_size
        self.crop, self.lr, self.encode_max_iter = crop, lr, encode_max_iter
        self.seed, self.device = seed, device

    def fit(self, images: Any, on_epoch: Any = None) -> ConvSparseCoding:
        """Learn filters from images ``(N, C, H, W)``; ``on_epoch(epoch, loss)`` after each epoch."""
        for name in ("n_filters", "kernel_size", "max_iter", "steps_per_epoch", "batch_size", "crop"):
            check_int(getattr(self, name), name)
        check_positive(self.alpha, "alpha", strict=False)
        check_positive(self.lr, "lr")
        device = resolve_device(self.device)
        data = as_tensor(images, "images", dtype=torch.float32, device=device)
        if data.ndim != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {tuple(data.shape)}")
        check_finite(data, "images")
        crop = min(self.crop, data.shape[2], data.shape[3])
        if crop < self.kernel_size:
            raise ValueError(f"images/crops of size {crop} are smaller than kernel_size={self.kernel_size}")
        generator = torch.Generator().manual_seed(self.seed)
        shape = (self.n_filters, data.shape[1], self.kernel_size, self.kernel_size)
        filters = torch.randn(shape, generator=generator).to(device)
        filters = (filters / filters.flatten(1).norm(dim=1)[:, None, None, None]).requires_grad_(True)
        optimizer = torch.optim.Adam([filters], lr=self.lr)
        losses = []
        for epoch in range(self.max_iter):
            total = 0.0
            for _ in range(self.steps_per_epoch):
                which = torch.randint(data.shape[0], (self.batch_size,), generator=generator)
                top = torch.randint(data.shape[2] - crop + 1, (self.batch_size,), generator=generator)
                left = torch.randint(data.shape[3] - crop + 1, (self.batch_size,), generator=generator)
                batch = torch.stack(
                    [data[i, :, t : t + crop, s : s + crop] for i, t, s in zip(which, top, left, strict=True)]
                )  # (b, C, crop, crop)
                with torch.no_grad():
                    codes = conv_sparse_encode(
                        batch, filters.detach(), self.alpha, max_iter=self.encode_max_iter, tol=1e-4
                    ).codes
                residual = batch - conv_decode(codes, filters)
                loss = residual.flatten(1).pow(2).sum(dim=1).mean() + self.alpha * codes.flatten(1).abs().sum(1).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():  # the lecture's renormalisation ‖f_j‖ = 1
                    filters /= filters.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None, None]
                total += loss.item()
            losses.append(total / self.steps_per_epoch)
            if not math.isfinite(losses[-1]):
                raise FloatingPointError(f"convolutional sparse coding diverged at epoch {epoch + 1}")
            if callable(on_epoch):
                on_epoch(epoch + 1, losses[-1])
        self.filters_ = filters.detach()
        self.losses_ = losses
        return self

    def transform(self, images: Any) -> Tensor:
        """Code maps ``(B, K, H − k + 1, W − k + 1)``."""
        if not hasattr(self, "filters_"):
            raise ValueError("this ConvSparseCoding is not fitted yet; call fit(images) first")
        return conv_sparse_encode(images, self.filters_, self.alpha, max_iter=500, tol=1e-5).codes

    def inverse_transform(self, codes: Tensor) -> Tensor:
        """ỹ = Σ_j f_j * z_j."""
        return conv_decode(codes, self.filters_)
