"""Fast path of the dense product bias + α·y·wᵀ behind the squared distances: oneDNN's matrix product on CPU.

torch's CPU matrix product calls the BLAS it was built with (MKL in the x86 wheels). On some x86 CPUs
that BLAS runs the tall-and-narrow products of a nearest-codeword search far below the machine's
speed; oneDNN, also inside torch, does not. On MNIST (2,048 rows of 784 pixels per block, 2 threads,
AMD EPYC) the product with 10 codewords took 0.90 ms through ``torch.addmm`` and 0.30 ms through
oneDNN, with 256 codewords 4.5 and 4.0 ms.

:func:`linear` takes oneDNN's path only where it is known to work: x86 CPUs (elsewhere, say on
Apple's arm64, torch's own BLAS is kept), float32 CPU tensors, contiguous, with no gradient to
record, a product of at least :data:`MIN_PRODUCT` multiply-adds (smaller ones run faster through
``torch.addmm``), torch built with oneDNN and ``torch.backends.mkldnn.enabled`` (``with
torch.backends.mkldnn.flags(enabled=False):`` turns it off). The operator it calls is torch's own
(``torch.ops.mkldnn._linear_pointwise``, used by ``torch.compile``) but not public, so the first
call checks it once against ``torch.addmm``; every other case, or a torch without it, runs
``torch.addmm`` — the plain form, and this module's test oracle.
"""

from __future__ import annotations

import platform

import torch
from torch import Tensor

__all__ = ["MIN_PRODUCT", "applies", "linear", "onednn_available"]

MIN_PRODUCT = 1 << 20  # multiply-adds B·D·K from which oneDNN's call overhead (~10 µs) is repaid

_checked: bool | None = None  # whether oneDNN's linear works in this process (None: not yet tried)


def onednn_available() -> bool:
    """Whether this torch has a working oneDNN linear operator (checked once against ``torch.addmm``).

    Example:
        >>> isinstance(onednn_available(), bool)
        True
    """
    global _checked
    if _checked is None:
        _checked = _probe()
    return _checked


def _probe() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):  # measured on x86 only; elsewhere torch's own BLAS
        return False
    op = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)
    if op is None or not torch.backends.mkldnn.is_available():
        return False
    generator = torch.Generator().manual_seed(0)
    y, w, b = (torch.rand(shape, generator=generator) for shape in ((37, 19), (5, 19), (5,)))
    try:
        out = op(y, w, b, "none", [], "")
    except (RuntimeError, NotImplementedError, TypeError):
        return False
    return out.shape == (37, 5) and bool(torch.allclose(out, torch.addmm(b, y, w.T), rtol=1e-5, atol=1e-5))


def applies(y: Tensor, weight: Tensor, bias: Tensor | None = None) -> bool:
    """Whether :func:`linear` of these operands takes oneDNN's path (see the module).

    Example:
        >>> import torch
        >>> applies(torch.zeros(3, 2), torch.zeros(4, 2))  # far too small a product
        False
    """
    bias = weight.new_empty(0) if bias is None else bias
    return (
        y.device.type == "cpu"
        and y.dtype == weight.dtype == bias.dtype == torch.float32
        and y.layout == weight.layout == torch.strided
        and y.dim() == 2
        and y.shape[0] * y.shape[1] * weight.shape[0] >= MIN_PRODUCT
        and y.is_contiguous()
        and weight.is_contiguous()
        and bias.is_contiguous()
        and not (torch.is_grad_enabled() and (y.requires_grad or weight.requires_grad or bias.requires_grad))
        and torch.backends.mkldnn.enabled
        and onednn_available()
    )


def linear(y: Tensor, weight: Tensor, bias: Tensor, *, alpha: float = 1.0) -> Tensor:
    """bias + α·y·wᵀ, by oneDNN where it applies (see the module), else ``torch.addmm(bias, y, weight.T, alpha=α)``.

    .. math:: P_{bk} = \\mathrm{bias}_k + \\alpha \\sum_d y_{bd}\\, w_{kd}

    Shape:
        y ``(B, D)`` (dense or sparse CSR), weight ``(K, D)``, bias ``(K,)`` → ``(B, K)``, a new tensor.

    Example:
        >>> import torch
        >>> y, w = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0], [0.0, 1.0]])
        >>> linear(y, w, torch.tensor([0.5, 0.0]), alpha=-2.0)
        tensor([[-21.5000,  -4.0000]])
    """
    if not applies(y, weight, bias):
        return torch.addmm(bias, y, weight.T, alpha=alpha)
    scaled = weight if alpha == 1.0 else weight * alpha  # (K, D); α = −2 is exact
    return torch.ops.mkldnn._linear_pointwise(y, scaled, bias, "none", [], "")
