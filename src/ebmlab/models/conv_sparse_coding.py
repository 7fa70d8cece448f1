"""Convolutional sparse coding: filters k × k learned on images.

The decoder is a transposed convolution of K code maps with K filters ``(K, C, k, k)``:

.. math:: E(y, z) = \\big\\|y - \\textstyle\\sum_j f_j * z_j\\big\\|_2^2 + \\alpha \\|z\\|_1,
          \\qquad \\|f_j\\|_2 = 1

for an image y ``(C, H, W)`` and codes z ``(K, H - k + 1, W - k + 1)`` (each code pixel places one
filter fully inside the image). Inference is FISTA in convolutional form (the same
:func:`ebmlab.kernels.proximal.proximal_gradient` loop as the dense coder): the gradient of the
reconstruction is :math:`-2\\,\\mathrm{conv}(y - \\mathrm{Dec}(z), f)`, the adjoint of the transposed
convolution, and L = 2λ_max(DecᵀDec) comes from power iteration. Training alternates codes and a
gradient step (Adam) on the filters with the lecture's renormalisation to unit norm; one epoch of it
is :meth:`ConvSparseCoding.partial_fit` (``ebmlab train conv-sparse-coding`` runs the same epochs).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin
from torch import Tensor, nn

from .._validation import (
    as_tensor,
    check_finite,
    check_int,
    check_positive,
    float_tensor,
    random_seeds,
    resolve_device,
    to_caller,
)
from ..energy import Energy, RealLatent
from ..inference.proximal import ProximalSplit
from ..kernels.proximal import (
    METHODS,
    STOPS,
    SparseCodeResult,
    _check_energy_range,
    _dual_gap,
    _lasso_energy,
    check_atoms,
    gap_test,
    power_iteration,
    proximal_gradient,
    unit_norm_atoms,
)

__all__ = [
    "ConvSparseCoding",
    "ConvSparseCodingEnergy",
    "conv_decode",
    "conv_lipschitz",
    "conv_sparse_encode",
    "conv_sparse_energy",
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


def conv_sparse_energy(images: Tensor, filters: Tensor, codes: Tensor, alpha: float) -> Tensor:
    """E(y, z) = ‖y − Σ_j f_j * z_j‖² + α‖z‖₁ per image (the dense formula with Dec a transposed convolution).

    Shape:
        images ``(B, C, H, W)``, filters ``(K, C, k, k)``, codes ``(B, K, H − k + 1, W − k + 1)`` → ``(B,)``.

    Example:
        >>> conv_sparse_energy(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2), torch.ones(1, 1, 1, 1), alpha=0.5)
        tensor([0.5000])
    """
    return _lasso_energy(images - conv_decode(codes, filters), codes, alpha)


def _conv_gradient_step(images: Tensor, filters: Tensor, lipschitz: float) -> Callable[[Tensor], Tensor]:
    """v ↦ v − (1/L)∇_v‖y − Dec v‖² = v − (2/L)·Decᵀ(Dec v − y) on code maps ``(B, K, H', W')``."""
    step = 2.0 / lipschitz
    drive = step * F.conv2d(images, filters)  # (B, K, H', W')  (2/L)·Decᵀy

    def gradient_step(v: Tensor) -> Tensor:
        return v - step * F.conv2d(conv_decode(v, filters), filters) + drive

    return gradient_step


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
    tol: float = 1e-4,
    stop: str = "gap",
    init: Tensor | None = None,
    lipschitz: float | None = None,
) -> SparseCodeResult:
    """ž = argmin_z ‖y − Σ_j f_j * z_j‖² + α‖z‖₁ per image, by ISTA/FISTA in convolutional form.

    Args:
        images: ``(B, C, H, W)``.
        filters: ``(K, C, k, k)`` with k ≤ H, W; no filter may be zero.
        alpha: α ≥ 0.
        method, max_iter, tol, stop, init, lipschitz: as in :func:`ebmlab.sparse_encode` (by default each
            image's duality gap ≤ ``tol``·‖y‖²).

    Returns:
        :class:`ebmlab.SparseCodeResult` with codes ``(B, K, H − k + 1, W − k + 1)``.

    Example:
        >>> filters = torch.zeros(2, 1, 2, 2); filters[0, 0, 0, 0] = 1; filters[1, 0, 1, 1] = 1
        >>> image = torch.zeros(1, 1, 3, 3); image[0, 0, 1, 1] = 1
        >>> result = conv_sparse_encode(image, filters, alpha=0.2)
        >>> round(float(result.energy), 4), tuple(result.codes.shape)  # 0.1² reconstruction + 0.2·0.9
        (0.19, (1, 2, 2, 2))
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got method={method!r}")
    if stop not in STOPS:
        raise ValueError(f"stop must be one of {STOPS}, got stop={stop!r}")
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
    _check_energy_range(y, "images")
    check_atoms(f, "filters", atom_dim=0)
    code_shape = (y.shape[0], f.shape[0], y.shape[2] - k + 1, y.shape[3] - k + 1)
    if init is None:
        z0 = torch.zeros(code_shape, dtype=f.dtype, device=f.device)
    else:
        z0 = as_tensor(init, "init", dtype=f.dtype, device=f.device)
        if tuple(z0.shape) != code_shape:
            raise ValueError(f"init must have shape {code_shape}, got {tuple(z0.shape)}")
    if lipschitz is None:
        lipschitz = conv_lipschitz(f.detach(), (y.shape[2], y.shape[3]))
    codes, iterations, converged = proximal_gradient(
        _conv_gradient_step(y, f, lipschitz),
        z0,
        alpha / lipschitz,
        accelerated=method == "fista",
        max_iter=max_iter,
        tol=tol,
        done=gap_test(y, lambda z: conv_decode(z, f), lambda r: F.conv2d(r, f), alpha, tol) if stop == "gap" else None,
    )
    residual = y - conv_decode(codes, f)  # (B, C, H, W)
    energy = _lasso_energy(residual, codes, alpha)  # (B,)
    with torch.no_grad():
        gap = _dual_gap(y, residual, F.conv2d(residual, f), codes, alpha, energy)
        converged = converged and bool(torch.isfinite(energy).all()) and bool(torch.isfinite(gap).all())
    return SparseCodeResult(codes, energy, gap, iterations, converged)


class ConvSparseCodingEnergy(Energy):
    """Convolutional sparse coding as an :class:`~ebmlab.energy.Energy` over flattened images and code maps.

    .. math:: E(y, z) = \\big\\|y - \\textstyle\\sum_j f_j * z_j\\big\\|_2^2 + \\alpha \\|z\\|_1,
              \\qquad z \\in \\mathbb{R}^{K \\times H' \\times W'}

    The energy contract batches y and z as rows, so an image ``(C, H, W)`` is a row of ``D = C·H·W``
    values and its code maps ``(K, H', W')`` a row of ``d = K·H'·W'`` (row-major, ``reshape`` order):
    ``y.reshape(B, *energy.image_shape)`` and ``z.reshape(B, *energy.code_shape)`` are the maps
    :func:`conv_sparse_energy` and :func:`conv_sparse_encode` use. It is a
    :class:`~ebmlab.inference.ProximalEnergy` (convolutional FISTA, with the duality gap).

    Args:
        filters: ``(K, C, k, k)``, non-zero (copied into a parameter).
        alpha: α ≥ 0.
        image_size: ``(H, W)`` with H, W ≥ k.

    Shape:
        y ``(B, C·H·W)``, z ``(B, K·H'·W')`` with H' = H − k + 1, W' = W − k + 1 → ``(B,)``.

    Example:
        >>> from ebmlab.inference import ProximalGradient
        >>> filters = torch.zeros(2, 1, 2, 2); filters[0, 0, 0, 0] = 1; filters[1, 0, 1, 1] = 1
        >>> energy = ConvSparseCodingEnergy(filters, alpha=0.2, image_size=(3, 3))
        >>> image = torch.zeros(1, 1, 3, 3); image[0, 0, 1, 1] = 1
        >>> energy.data_dim, energy.latent.dim, energy.code_shape
        (9, 8, (2, 2, 2))
        >>> round(ProximalGradient()(energy, image.flatten(1)).energy.item(), 4)  # as conv_sparse_encode
        0.19
    """

    def __init__(self, filters: Tensor, alpha: float, image_size: tuple[int, int]) -> None:
        super().__init__()
        f = as_tensor(filters, "filters")
        if f.ndim != 4 or f.shape[2] != f.shape[3]:
            raise ValueError(f"filters must be (K, C, k, k), got shape {tuple(f.shape)}")
        check_finite(f, "filters")
        check_atoms(f, "filters", atom_dim=0)
        self.alpha = check_positive(alpha, "alpha", strict=False)
        if not math.isfinite(self.alpha):
            raise ValueError(f"alpha must be finite, got alpha={self.alpha}")
        height, width = (check_int(size, "image_size") for size in image_size)
        k = f.shape[-1]
        if height < k or width < k:
            raise ValueError(f"image_size={tuple(image_size)} is smaller than the {k} x {k} filters")
        self.filters = nn.Parameter(f.detach().clone())  # (K, C, k, k)
        self.image_shape = (f.shape[1], height, width)  # (C, H, W)
        self.code_shape = (f.shape[0], height - k + 1, width - k + 1)  # (K, H', W')
        self.data_dim = math.prod(self.image_shape)
        self.latent = RealLatent(math.prod(self.code_shape))

    def _maps(self, y: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        return y.reshape(-1, *self.image_shape), z.reshape(-1, *self.code_shape)  # (B, C, H, W), (B, K, H', W')

    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        images, codes = self._maps(y, z)
        return conv_sparse_energy(images, self.filters.to(y.dtype), codes, self.alpha)  # (B,)

    def proximal_split(self, y: Tensor, x: Tensor | None = None) -> ProximalSplit:
        """The gradient step on ‖y − Dec z‖² with s = 1/L, L = 2λ_max(DecᵀDec), and the threshold α/L."""
        check_finite(y, "y")
        _check_energy_range(y, "y")
        filters = self.filters.detach().to(y.dtype)
        lipschitz = conv_lipschitz(filters, self.image_shape[1:])
        step = _conv_gradient_step(y.reshape(-1, *self.image_shape), filters, lipschitz)

        def gradient_step(v: Tensor) -> Tensor:
            return step(v.reshape(-1, *self.code_shape)).flatten(1)  # (B, d)

        return ProximalSplit(gradient_step, self.alpha / lipschitz)

    def duality_gap(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        """Certified bound on E(y, z) − F_∞(y) (the dense gap with Decᵀ a convolution), shape ``(B,)``."""
        images, codes = self._maps(y, z)
        filters = self.filters.detach().to(y.dtype)
        residual = images - conv_decode(codes, filters)  # (B, C, H, W)
        energy = _lasso_energy(residual, codes, self.alpha)
        return _dual_gap(images, residual, F.conv2d(residual, filters), codes, self.alpha, energy)


class ConvSparseCoding(TransformerMixin, BaseEstimator):
    """Learn K unit-norm filters k × k on images by alternating convolutional FISTA and Adam on the filters.

    Minimises the mean free energy of crops y of the images over unit filters,

    .. math:: \\mathcal{L}(f) = \\mathrm{mean}_y \\min_z \\big\\|y - \\textstyle\\sum_j f_j * z_j\\big\\|_2^2
              + \\alpha \\|z\\|_1, \\qquad \\|f_j\\|_2 = 1 .

    One epoch (:meth:`partial_fit`) is ``steps_per_epoch`` steps; each draws ``batch_size`` random
    ``crop × crop`` crops, codes them (FISTA from zero codes, ``encode_max_iter`` iterations), takes
    one Adam step on the filters for E(y, ž) with the codes fixed, and renormalises every filter.
    :meth:`fit` runs ``max_iter`` epochs from random filters.

    A scikit-learn estimator whose X is a stack of images ``(N, C, H, W)``, not a 2-D matrix: its
    tags say so (``input_tags.two_d_array = False``), so scikit-learn's estimator checks, which feed
    2-D data, skip it. Accepts numpy arrays and torch tensors and returns the caller's kind.

    Args:
        n_components: K, the number of filters.
        kernel_size: k.
        alpha: α ≥ 0, the weight of ‖z‖₁.
        max_iter: the number of epochs of :meth:`fit` (each ``steps_per_epoch`` Adam steps).
        steps_per_epoch, batch_size, crop: as above (crops larger than the images are the images).
        lr: Adam's learning rate on the filters.
        step_size: a fixed FISTA step s on the codes; None takes s = 1/L with L = 2λ_max(DecᵀDec)
            from power iteration on every batch. Steps beyond 1/L may diverge (beyond 2/L they do).
        encode_max_iter: FISTA iterations per batch.
        random_state: an int, a :class:`numpy.random.RandomState` or None, as in scikit-learn: it
            seeds the generator that draws the first filters and every crop (through
            :func:`sklearn.utils.check_random_state`); None draws fresh entropy on every :meth:`fit`.
        device: where to compute; None: the device of a tensor ``X`` (the CPU for other input).

    Training runs in the precision of the first training images (float32 or float64; other input
    becomes float32); :meth:`transform` and :meth:`inverse_transform` in that of their input.

    Attributes:
        components_: the filters flattened, ``(K, C·k·k)``, of the kind of the images of the last
            training call (numpy or torch); a copy, renewed by every training call.
        filters_: the filters ``(K, C, k, k)`` as a tensor (detached from Adam's parameter).
        n_features_in_: C, the channels of the training images (their second axis; H and W may
            differ from image to image).
        n_iter_: epochs done; losses_: the mean energy of each epoch.
        generator_, optimizer_: the training state :meth:`state_dict` saves (with the filters).

    Shape:
        X ``(B, C, H, W)`` → :meth:`transform` ``(B, K, H − k + 1, W − k + 1)`` → :meth:`inverse_transform`
        ``(B, C, H, W)``.

    Example:
        >>> images = torch.randn(2, 1, 24, 24, generator=torch.Generator().manual_seed(0))
        >>> model = ConvSparseCoding(4, 5, steps_per_epoch=1, max_iter=1, crop=12, encode_max_iter=5, random_state=0)
        >>> model.fit(images).filters_.shape, model.components_.shape
        (torch.Size([4, 1, 5, 5]), torch.Size([4, 25]))
        >>> len(model.partial_fit(images).losses_)  # one more epoch
        2
        >>> model.transform(images.numpy()).shape  # numpy in, numpy out
        (2, 4, 20, 20)
    """

    def __init__(
        self,
        n_components: int = 16,
        kernel_size: int = 8,
        *,
        alpha: float = 0.5,
        max_iter: int = 20,
        steps_per_epoch: int = 20,
        batch_size: int = 8,
        crop: int = 48,
        lr: float = 0.01,
        step_size: float | None = None,
        encode_max_iter: int = 50,
        random_state: Any = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.n_components = n_components
        self.kernel_size = kernel_size
        self.alpha = alpha
        self.max_iter = max_iter
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.crop = crop
        self.lr = lr
        self.step_size = step_size
        self.encode_max_iter = encode_max_iter
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn's Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # X is images (N, C, H, W): the 2-D checks do not apply
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _validate_params(self) -> None:
        for name in ("n_components", "kernel_size", "max_iter", "steps_per_epoch", "batch_size", "crop"):
            check_int(getattr(self, name), name)
        check_int(self.encode_max_iter, "encode_max_iter")
        check_positive(self.alpha, "alpha", strict=False)
        if not math.isfinite(self.alpha):
            raise ValueError(f"alpha must be finite, got alpha={self.alpha}")
        check_positive(self.lr, "lr")
        if self.step_size is not None:
            check_positive(self.step_size, "step_size")
        resolve_device(self.device)

    def _images(self, X: Any, name: str = "X") -> Tensor:
        """X as a finite ``(N, C, H, W)`` tensor, float32 or float64, on ``device`` (None: where it is)."""
        data = float_tensor(X, name)
        if data.ndim != 4:
            raise ValueError(f"{name} must be images of shape (N, C, H, W), got shape {tuple(data.shape)}")
        if data.shape[0] == 0:
            raise ValueError(f"{name} must hold at least one image, got shape {tuple(data.shape)}")
        check_finite(data, name)
        return data.to(resolve_device(self.device) if self.device is not None else data.device)

    def _training_images(self, X: Any, *, new: bool) -> Tensor:
        """Validated training images (at least k × k, crops too); unless ``new`` (a fresh start),
        with the fitted filters' channels, on their device and in their precision."""
        self._validate_params()
        data = self._images(X)
        if min(self.crop, data.shape[2], data.shape[3]) < self.kernel_size:
            raise ValueError(
                f"images of size {tuple(data.shape[2:])} (crop={self.crop}) are smaller than "
                f"kernel_size={self.kernel_size}"
            )
        if not new:
            self._check_channels(data, "X")
            data = data.to(device=self._filters.device, dtype=self._filters.dtype)
        return data

    def _check_channels(self, data: Tensor, name: str) -> None:
        if data.shape[1] != self.n_features_in_:
            raise ValueError(
                f"{name} must have C={self.n_features_in_} channels like the fitted filters, "
                f"got shape {tuple(data.shape)}"
            )

    def _start(self, data: Tensor) -> None:
        """Random unit filters drawn from a generator seeded from ``random_state``, a fresh Adam, no epochs yet."""
        self.generator_ = torch.Generator().manual_seed(random_seeds(self.random_state, 1)[0])
        shape = (self.n_components, data.shape[1], self.kernel_size, self.kernel_size)
        filters = torch.randn(shape, generator=self.generator_, dtype=data.dtype).to(data.device)  # (K, C, k, k)
        self._filters = unit_norm_atoms(filters, atom_dim=0).requires_grad_(True)
        self.optimizer_ = torch.optim.Adam([self._filters], lr=self.lr)
        self.n_features_in_ = data.shape[1]
        self.losses_: list[float] = []
        self.n_iter_ = 0

    def _epoch(self, data: Tensor) -> None:
        """``steps_per_epoch`` filter updates on crops of validated ``data`` ``(N, C, H, W)``.

        The epoch's mean energy goes to ``losses_``; a step whose energy is not finite (a FISTA
        step too large) ends the epoch with that energy and leaves the filters as they were.
        """
        filters, generator = self._filters, self.generator_
        crop = min(self.crop, data.shape[2], data.shape[3])
        lipschitz = None if self.step_size is None else 1.0 / self.step_size
        total = torch.zeros((), dtype=filters.dtype, device=filters.device)
        self.n_iter_ += 1
        for _ in range(self.steps_per_epoch):
            which = torch.randint(data.shape[0], (self.batch_size,), generator=generator)
            top = torch.randint(data.shape[2] - crop + 1, (self.batch_size,), generator=generator)
            left = torch.randint(data.shape[3] - crop + 1, (self.batch_size,), generator=generator)
            batch = torch.stack(
                [data[i, :, t : t + crop, s : s + crop] for i, t, s in zip(which, top, left, strict=True)]
            )  # (B, C, crop, crop)
            with torch.no_grad():
                codes = conv_sparse_encode(
                    batch,
                    filters.detach(),
                    self.alpha,
                    max_iter=self.encode_max_iter,
                    tol=1e-4,
                    lipschitz=lipschitz,
                ).codes  # (B, K, crop − k + 1, crop − k + 1)
            loss = conv_sparse_energy(batch, filters, codes, self.alpha).mean()
            if not bool(torch.isfinite(loss)):  # FISTA diverged; FISTA synchronises every few iterations anyway
                self.losses_.append(float(loss.detach()))
                return
            self.optimizer_.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer_.step()
            with torch.no_grad():  # the lecture's renormalisation ‖f_j‖ = 1
                filters.copy_(unit_norm_atoms(filters, atom_dim=0))
            total += loss.detach()
        self.losses_.append(float(total) / self.steps_per_epoch)

    def _set_components(self, like: Any) -> None:
        """``components_`` = the filters flattened ``(K, C·k·k)``, a copy of the kind of ``like``."""
        self.components_ = to_caller(self.filters_.flatten(1).clone(), like)

    def fit(self, X: Any, y: Any = None) -> ConvSparseCoding:
        """Learn filters from images X ``(N, C, H, W)``: ``max_iter`` epochs from random unit filters;
        ``y`` is ignored (scikit-learn convention).

        Raises:
            FloatingPointError: an epoch's mean energy is not finite (lower ``step_size``).
        """
        data = self._training_images(X, new=True)
        self._start(data)
        for epoch in range(self.max_iter):
            self._epoch(data)
            if not math.isfinite(self.losses_[-1]):
                raise FloatingPointError(
                    f"convolutional sparse coding diverged at epoch {epoch + 1}: mean energy {self.losses_[-1]}; "
                    f"lower step_size (now {self.step_size})"
                )
        self._set_components(X)
        return self

    def partial_fit(self, X: Any, y: Any = None) -> ConvSparseCoding:
        """One more epoch on images X ``(N, C, H, W)``; the first call starts from random unit filters.

        Its mean energy is appended to ``losses_`` (not finite when FISTA diverged; the filters are
        then those before the diverged step). ``y`` is ignored.
        """
        new = not hasattr(self, "_filters")
        data = self._training_images(X, new=new)
        if new:
            self._start(data)
        self._epoch(data)
        self._set_components(X)
        return self

    @property
    def filters_(self) -> Tensor:
        """The learned unit-norm filters ``(K, C, k, k)`` (detached from Adam's parameter)."""
        return self._filters.detach()

    def _check_fitted(self) -> None:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "_filters")

    def state_dict(self) -> dict[str, Any]:
        """A copy of the training state: filters, Adam's state, the generator's state and the epochs' energies.

        :meth:`load_state_dict` on an estimator with the same parameters continues exactly where this
        one stopped.
        """
        self._check_fitted()
        return {
            "filters": self.filters_.clone(),
            "optimizer": copy.deepcopy(self.optimizer_.state_dict()),
            "generator": self.generator_.get_state(),
            "losses": list(self.losses_),
        }

    def load_state_dict(self, state: dict[str, Any]) -> ConvSparseCoding:
        """Restore what :meth:`state_dict` returned (on ``device``, None: where the filters are);
        ``components_`` is then a tensor."""
        self._validate_params()
        filters = state["filters"]
        expected = (self.n_components, filters.shape[1], self.kernel_size, self.kernel_size)
        if filters.ndim != 4 or tuple(filters.shape) != expected:
            raise ValueError(f"state filters must have shape (K, C, k, k) = {expected}, got {tuple(filters.shape)}")
        device = resolve_device(self.device) if self.device is not None else filters.device
        self.generator_ = torch.Generator()
        self.generator_.set_state(state["generator"].to(torch.uint8).cpu())
        self._filters = filters.to(device=device).clone().requires_grad_(True)
        self.optimizer_ = torch.optim.Adam([self._filters], lr=self.lr)
        self.optimizer_.load_state_dict(state["optimizer"])
        self.n_features_in_ = filters.shape[1]
        self.losses_ = [float(loss) for loss in state["losses"]]
        self.n_iter_ = len(self.losses_)
        self._set_components(self._filters)
        return self

    def encode(self, X: Any) -> SparseCodeResult:
        """ž for images X ``(B, C, H, W)`` with the learned filters (FISTA to a tight tolerance), in X's precision.

        Returns:
            :class:`ebmlab.SparseCodeResult` of tensors, codes ``(B, K, H − k + 1, W − k + 1)``.
        """
        self._check_fitted()
        data = self._images(X)
        self._check_channels(data, "X")
        filters = self.filters_.to(device=data.device, dtype=data.dtype)
        return conv_sparse_encode(data, filters, self.alpha, max_iter=500, tol=1e-5)

    def as_energy(self, image_size: tuple[int, int]) -> ConvSparseCodingEnergy:
        """The learned filters as an :class:`~ebmlab.energy.Energy` on images of ``image_size`` (H, W) (a copy)."""
        self._check_fitted()
        return ConvSparseCodingEnergy(self.filters_, self.alpha, image_size)

    def transform(self, X: Any) -> Any:
        """Code maps ž ``(B, K, H − k + 1, W − k + 1)`` of images X ``(B, C, H, W)``, of X's kind."""
        return to_caller(self.encode(X).codes, X)

    def inverse_transform(self, codes: Any) -> Any:
        """ỹ = Σ_j f_j * z_j: code maps ``(B, K, H', W')`` → ``(B, C, H' + k − 1, W' + k − 1)``, of the codes' kind."""
        self._check_fitted()
        z = float_tensor(codes, "codes")
        if z.ndim != 4 or z.shape[1] != self.n_components:
            raise ValueError(
                f"codes must be code maps (B, K, H', W') with K={self.n_components}, got shape {tuple(z.shape)}"
            )
        check_finite(z, "codes")
        z = z.to(resolve_device(self.device) if self.device is not None else z.device)
        return to_caller(conv_decode(z, self.filters_.to(device=z.device, dtype=z.dtype)), codes)
