"""Word transcription with latent alignments: a CNN gives every window of a word image an energy per class.

The image ``x`` (height 32, width W) is cut into windows 32 × 18 sliding ``stride`` pixels,
``T = ⌊(W − 18) / stride⌋ + 1`` of them; the network gives window ``t`` an energy ``E_t[c]`` for
each of 27 classes (0: between characters, 1–26: ``a``–``z``). With ``z`` an alignment (one class per
window) and :math:`C_y(z)` the constraint of the target's graph (0 on its paths, ∞ elsewhere; see
:mod:`ebmlab.kernels.alignment`),

.. math::

    E(x, y, z) = C_y(z) + \\sum_{t=1}^{T} E_t[z_t], \\qquad
    F_\\infty(x, y) = \\min_z E(x, y, z), \\qquad \\check y = \\mathrm{collapse}(\\arg\\min_c E_t[c]).

With ``normalized=True`` (the default) the window energies are :math:`E_t[c] = -\\log
\\mathrm{softmax}_c(-h_t)`, so :math:`\\sum_c e^{-E_t[c]} = 1`: pushing the energy of one class down
pushes the others up, and the energy loss cannot collapse to a flat surface.

Every window's energies depend on its own 18 columns only (convolutions without horizontal
padding); when ``stride`` is a multiple of 4 the whole network runs once over the image, otherwise
the layers after the last pooling the windows share are run window by window — the results agree.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.words import BLANK, HEIGHT, LETTERS, decode_word
from ..kernels.alignment import alignment_free_energy, decode

__all__ = ["WINDOW", "WordEnergy"]

WINDOW = 18  #: window width in pixels (its height is the image's, 32)
CLASSES = len(LETTERS) + 1  # the between-characters class and 26 letters


class WordEnergy(nn.Module):
    """The window energies of word images: ``(B, 1, 32, W)`` → ``(T, B, 27)``.

    Layers per window (32 × 18): conv 3 × 3 (``channels[0]``) → ReLU → max-pool 2 → conv 3 × 3
    (``channels[1]``) → ReLU → max-pool 2 → a ``hidden``-unit layer over the 8 × 3 map → ReLU → 27
    energies. Convolutions are padded vertically only, so each window sees exactly its 18 columns.

    Args:
        stride: pixels between windows.
        channels: the two convolutions' channel counts.
        hidden: units of the window layer.
        normalized: window energies :math:`-\\log\\mathrm{softmax}(-h_t)` (else the raw :math:`h_t`).
        seed: initialisation seed (the global generator is left untouched).

    Shape:
        images ``(B, 1, 32, W)``, W >= 18 → energies ``(T, B, 27)``, ``T = ⌊(W − 18)/stride⌋ + 1``.

    Example:
        >>> import torch
        >>> model = WordEnergy(stride=4, seed=0)
        >>> model(torch.zeros(2, 1, 32, 58)).shape
        torch.Size([11, 2, 27])
        >>> model.window_counts(torch.tensor([58, 18, 17])).tolist()
        [11, 1, 0]
    """

    def __init__(
        self,
        *,
        stride: int = 4,
        channels: tuple[int, int] = (16, 32),
        hidden: int = 128,
        normalized: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
            raise ValueError(f"stride must be an integer >= 1, got stride={stride!r}")
        if len(channels) != 2 or any(not isinstance(c, int) or c < 1 for c in channels):
            raise ValueError(f"channels must be two positive integers, got channels={channels!r}")
        if not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden must be a positive integer, got hidden={hidden!r}")
        self.stride, self.normalized = stride, bool(normalized)
        with torch.random.fork_rng(devices=[]):  # explicit initialisation; global RNG untouched
            torch.manual_seed(seed)
            self.conv1 = nn.Conv2d(1, channels[0], 3, padding=(1, 0))
            self.conv2 = nn.Conv2d(channels[0], channels[1], 3, padding=(1, 0))
            self.window = nn.Conv2d(channels[1], hidden, (HEIGHT // 4, 3))  # one window's 8 × 3 map
            self.out = nn.Conv2d(hidden, CLASSES, 1)

    def window_counts(self, widths: Tensor) -> Tensor:
        """Windows of images ``widths`` pixels wide: ``⌊(W − 18)/stride⌋ + 1`` (0 below 18)."""
        return torch.where(widths >= WINDOW, torch.div(widths - WINDOW, self.stride, rounding_mode="floor") + 1, 0)

    def _head(self, maps: Tensor, stride: int) -> Tensor:
        """Window layer and energies over pooled maps ``(N, c, 8, w)`` → ``(N, 27, n)``."""
        hidden = F.relu(
            self.window(maps)
            if stride == 1
            else F.conv2d(maps, self.window.weight, self.window.bias, stride=(1, stride))
        )
        return self.out(hidden).squeeze(2)  # (N, 27, n)

    def forward(self, images: Tensor) -> Tensor:
        if images.ndim != 4 or images.shape[1] != 1 or images.shape[2] != HEIGHT:
            raise ValueError(f"images must have shape (B, 1, {HEIGHT}, W), got shape {tuple(images.shape)}")
        batch, width = images.shape[0], images.shape[3]
        if width < WINDOW:
            raise ValueError(f"images must be at least {WINDOW} pixels wide (one window), got width {width}")
        steps = (width - WINDOW) // self.stride + 1
        stride = self.stride
        # ReLU commutes with max-pooling: it is applied after each pooling, on a quarter of the values
        first = self.conv1(images)  # (B, c1, 32, W - 2)
        if stride % 2:
            windows = first.unfold(3, WINDOW - 2, stride)  # (B, c1, 32, T, 16)
            maps = windows.permute(0, 3, 1, 2, 4).reshape(batch * steps, -1, HEIGHT, WINDOW - 2)
            maps = F.relu(F.max_pool2d(self.conv2(F.relu(F.max_pool2d(maps, 2))), 2))  # (B T, c2, 8, 3)
            logits = self._head(maps, 1).reshape(batch, steps, CLASSES).transpose(0, 1)  # (T, B, 27)
        else:
            second = self.conv2(F.relu(F.max_pool2d(first, 2)))  # (B, c2, 16, (W - 2) // 2 - 2)
            if stride % 4:
                windows = second.unfold(3, 6, stride // 2)  # (B, c2, 16, T, 6)
                maps = windows.permute(0, 3, 1, 2, 4).reshape(batch * steps, -1, HEIGHT // 2, 6)
                maps = F.relu(F.max_pool2d(maps, 2))  # (B T, c2, 8, 3)
                logits = self._head(maps, 1).reshape(batch, steps, CLASSES).transpose(0, 1)
            else:
                logits = self._head(F.relu(F.max_pool2d(second, 2)), stride // 4)  # (B, 27, T)
                logits = logits[:, :, :steps].permute(2, 0, 1)  # (T, B, 27)
        if self.normalized:
            return -F.log_softmax(-logits, dim=2)
        return logits

    def free_energy(
        self,
        images: Tensor,
        widths: Tensor,
        targets: Tensor,
        target_lengths: Tensor,
        *,
        graph: str = "homework",
        beta: float = math.inf,
    ) -> Tensor:
        """:math:`F_\\beta(x, y)` of each image and target over the target's alignments, ``(B,)``.

        Example:
            >>> import torch
            >>> from ebmlab.data.words import collate_words, words
            >>> batch = collate_words([words(2, seed=0)[i] for i in range(2)])
            >>> WordEnergy(seed=0).free_energy(batch.images, batch.widths, batch.targets, batch.target_lengths).shape
            torch.Size([2])
        """
        energies = self(images)
        return alignment_free_energy(
            energies, targets, self.window_counts(widths), target_lengths, graph=graph, beta=beta, blank=BLANK
        )

    @torch.no_grad()
    def transcribe(self, images: Tensor, widths: Tensor, *, graph: str = "homework") -> list[str]:
        """The best transcription of each image: the lowest-energy alignment of any word on ``graph``,
        collapsed (:func:`~ebmlab.kernels.alignment.decode`)."""
        energies = self(images)
        return [decode_word(word) for word in decode(energies, self.window_counts(widths), graph=graph, blank=BLANK)]
