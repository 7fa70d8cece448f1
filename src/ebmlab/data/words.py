"""Rendered word images for structured prediction: random lowercase words, 32 pixels high.

Words are drawn with the scalable font that ships inside Pillow (``PIL.ImageFont.load_default(size=...)``,
Pillow >= 10.1 with FreeType; no system fonts), bright ink (1) on a dark background (0), every
character in a cell at least :data:`MIN_ADVANCE` pixels wide and the word between margins of
:data:`MARGIN` pixels, so that windows 18 pixels wide sliding 4 pixels at a time give a word of L
letters at least 3L - 1 windows: enough for the homework's graph (2L) and the CTC graph.

Classes: 0 is the between-characters class :data:`BLANK` (``_``), 1–26 the letters ``a``–``z``
(:func:`encode_word`, :func:`decode_word`).

* :func:`words` — ``n`` random words of a length range with optional jitter, scale and noise, as a
  :class:`WordImages` data set; :func:`collate_words` pads a batch to its widest image;
* :func:`characters` — single characters in one 32 × 18 window each (stage 1 of the training);
* :func:`render_word` — one word; :func:`read_word_image` — a PNG file as the model's input.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from .._validation import check_int

__all__ = [
    "BLANK",
    "HEIGHT",
    "LETTERS",
    "WordBatch",
    "WordImages",
    "characters",
    "collate_words",
    "decode_word",
    "encode_word",
    "read_word_image",
    "render_word",
    "words",
]

LETTERS = "abcdefghijklmnopqrstuvwxyz"
BLANK = 0  #: the between-characters class; letter i of LETTERS is class i + 1
HEIGHT = 32  #: image height in pixels
FONT_SIZE = 24  #: font size at scale 1
BASELINE = 24  #: row of the text baseline
MIN_ADVANCE = 12  #: narrowest character cell in pixels (a narrow glyph is centred in it)
MARGIN = 6  #: blank pixels left and right of the word
WINDOW_WIDTH = 18  #: width of a single-character image (one window)


def encode_word(word: str) -> list[int]:
    """Class indices of a lowercase word (``a`` → 1, ..., ``z`` → 26).

    Example:
        >>> encode_word("cat")
        [3, 1, 20]
    """
    bad = [ch for ch in word if ch not in LETTERS]
    if bad:
        raise ValueError(f"word must hold lowercase letters a-z only, got {word!r} (bad: {''.join(bad)!r})")
    return [LETTERS.index(ch) + 1 for ch in word]


def decode_word(indices: Sequence[int]) -> str:
    """The word spelt by class indices (the blank and unknown classes are skipped).

    Example:
        >>> decode_word([3, 1, 0, 20])
        'cat'
    """
    return "".join(LETTERS[i - 1] for i in indices if 1 <= i <= len(LETTERS))


@functools.lru_cache(maxsize=64)
def _font(size: int):  # noqa: ANN202 - PIL type
    from PIL import ImageFont

    font = ImageFont.load_default(size=size)
    if not hasattr(font, "getlength") or type(font).__name__ != "FreeTypeFont":
        raise RuntimeError("rendering words needs Pillow >= 10.1 built with FreeType (a scalable default font)")
    return font


def _check_settings(jitter: int, scale: float, noise: float) -> None:
    check_int(jitter, "jitter", minimum=0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0.0 <= scale <= 0.25:
        raise ValueError(f"scale must be a number in [0, 0.25] (the glyphs must fit 32 rows), got scale={scale!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0.0 <= noise < float("inf"):
        raise ValueError(f"noise must be a finite number >= 0 (the pixel noise's standard deviation), got {noise!r}")


@functools.lru_cache(maxsize=2048)
def _glyph(ch: str, size: int) -> tuple[float, int, np.ndarray]:
    """A character drawn once per size: its cell width, the bitmap's offset in the cell and the
    bitmap ``(32, w)`` float32 (baseline on row :data:`BASELINE`)."""
    from PIL import Image, ImageDraw

    font = _font(size)
    length = font.getlength(ch)
    cell = max(length, MIN_ADVANCE)
    left, _, right, _ = font.getbbox(ch, anchor="ls")
    offset = int(np.floor((cell - length) / 2 + left))
    image = Image.new("L", (int(np.ceil(right - left)) + 2, HEIGHT), 0)
    ImageDraw.Draw(image).text((-left + 1, BASELINE), ch, fill=255, font=font, anchor="ls")
    return cell, offset - 1, np.asarray(image, dtype=np.float32) / 255.0


def _draw(word: str, size: int, gaps: Sequence[int]) -> np.ndarray:
    """Draw ``word`` with an extra gap before each character; ``(32, W)`` float32 in [0, 1]."""
    glyphs = [_glyph(ch, size) for ch in word]
    width = MARGIN + sum(gaps) + int(np.ceil(sum(cell for cell, _, _ in glyphs))) + MARGIN
    image = np.zeros((HEIGHT, width), dtype=np.float32)
    x = float(MARGIN)
    for (cell, offset, bitmap), gap in zip(glyphs, gaps, strict=True):
        x += gap
        begin = max(int(round(x)) + offset, 0)
        end = min(begin + bitmap.shape[1], width)
        np.maximum(image[:, begin:end], bitmap[:, : end - begin], out=image[:, begin:end])
        x += cell
    return image


def render_word(
    word: str,
    *,
    jitter: int = 0,
    scale: float = 0.0,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """One word as a grayscale image ``(1, 32, W)`` in [0, 1], bright ink on black.

    Args:
        word: lowercase letters.
        jitter: the left margin and every gap between characters get ``0..jitter`` extra pixels.
        scale: the font size is ``24 · u``, ``u`` uniform in ``[1 - scale, 1 + scale]`` (at most 0.25).
        noise: standard deviation of Gaussian pixel noise (the result is clipped to [0, 1]).
        rng: numpy generator for the random choices (needed when jitter, scale or noise is set).

    Example:
        >>> image = render_word("cat")
        >>> tuple(image.shape), float(image.max())
        ((1, 32, 50), 1.0)
    """
    encode_word(word)
    _check_settings(jitter, scale, noise)
    if rng is None:
        if jitter or scale or noise:
            raise ValueError("render_word: jitter, scale and noise need a random generator rng")
        rng = np.random.default_rng(0)
    return torch.from_numpy(_render(word, jitter, scale, noise, rng)).unsqueeze(0)


def _render(word: str, jitter: int, scale: float, noise: float, rng: np.random.Generator) -> np.ndarray:
    size = FONT_SIZE if scale == 0 else int(round(FONT_SIZE * rng.uniform(1 - scale, 1 + scale)))
    gaps = rng.integers(0, jitter + 1, size=len(word)).tolist() if jitter else [0] * len(word)
    image = _draw(word, size, gaps)
    if noise:
        image = np.clip(image + rng.normal(0.0, noise, size=image.shape).astype(np.float32), 0.0, 1.0)
    return image


class WordImages(Dataset):
    """Rendered words: ``dataset[i]`` is ``(image (1, 32, W_i), target (L_i,) int64)``.

    Attributes:
        images: the images, each ``(1, 32, W_i)`` float32 in [0, 1].
        texts: the words.
        targets: their class indices (:func:`encode_word`), each ``(L_i,)`` int64.

    Example:
        >>> import torch
        >>> data = WordImages([torch.zeros(1, 32, 40)], ["cab"])
        >>> len(data), data[0][1], data.widths()
        (1, tensor([3, 1, 2]), tensor([40]))
    """

    def __init__(self, images: list[Tensor], texts: list[str]) -> None:
        self.images = images
        self.texts = texts
        self.targets = [torch.tensor(encode_word(text), dtype=torch.int64) for text in texts]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.images[index], self.targets[index]

    def widths(self) -> Tensor:
        """Image widths ``(N,)`` int64."""
        return torch.tensor([image.shape[-1] for image in self.images], dtype=torch.int64)


class WordBatch(NamedTuple):
    """A padded batch: ``images`` ``(B, 1, 32, W_max)`` (zero right padding), ``widths`` ``(B,)``,
    ``targets`` concatenated ``(sum L,)`` and ``target_lengths`` ``(B,)`` (the layout of ``ctc_loss``).

    Example:
        >>> import torch
        >>> pairs = [(torch.ones(1, 32, 20), torch.tensor([1, 2])), (torch.ones(1, 32, 30), torch.tensor([3]))]
        >>> batch = collate_words(pairs)
        >>> tuple(batch.images.shape), batch.widths.tolist(), batch.targets.tolist(), batch.target_lengths.tolist()
        ((2, 1, 32, 30), [20, 30], [1, 2, 3], [2, 1])
    """

    images: Tensor
    widths: Tensor
    targets: Tensor
    target_lengths: Tensor


def collate_words(batch: Sequence[tuple[Tensor, Tensor]]) -> WordBatch:
    """Pad a list of ``(image, target)`` pairs to the widest image (a ``DataLoader``'s ``collate_fn``).

    Example:
        >>> data = words(3, seed=0)
        >>> batch = collate_words([data[i] for i in range(3)])
        >>> batch.images.shape[:3], batch.widths.shape, int(batch.target_lengths.sum()) == batch.targets.numel()
        (torch.Size([3, 1, 32]), torch.Size([3]), True)
    """
    if not batch:
        raise ValueError("collate_words: expected at least one (image, target) pair, got an empty batch")
    widths = torch.tensor([image.shape[-1] for image, _ in batch], dtype=torch.int64)
    images = torch.zeros(len(batch), 1, HEIGHT, int(widths.max()))  # (B, 1, 32, W_max)
    for row, (image, _) in enumerate(batch):
        images[row, :, :, : image.shape[-1]] = image
    targets = torch.cat([target for _, target in batch])
    lengths = torch.tensor([len(target) for _, target in batch], dtype=torch.int64)
    return WordBatch(images, widths, targets, lengths)


def words(
    n: int,
    *,
    min_length: int = 1,
    max_length: int = 6,
    seed: int = 0,
    jitter: int = 2,
    scale: float = 0.0,
    noise: float = 0.0,
) -> WordImages:
    """``n`` random lowercase words, uniform lengths in ``[min_length, max_length]``, uniform letters.

    Deterministic by ``seed`` (and the Pillow version, whose font draws the glyphs). See
    :func:`render_word` for ``jitter``, ``scale`` and ``noise``.

    Example:
        >>> data = words(4, min_length=2, max_length=3, seed=1)
        >>> len(data), all(2 <= len(text) <= 3 for text in data.texts), data[0][0].shape[:2]
        (4, True, torch.Size([1, 32]))
    """
    check_int(n, "n")
    check_int(min_length, "min_length")
    check_int(max_length, "max_length")
    if max_length < min_length:
        raise ValueError(f"max_length must be >= min_length={min_length}, got max_length={max_length}")
    _check_settings(jitter, scale, noise)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_length, max_length + 1, size=n)
    texts = ["".join(LETTERS[i] for i in rng.integers(0, 26, size=int(length))) for length in lengths]
    images = [torch.from_numpy(_render(text, jitter, scale, noise, rng)).unsqueeze(0) for text in texts]
    return WordImages(images, texts)


def characters(n: int, *, seed: int = 0, jitter: int = 2, scale: float = 0.0, noise: float = 0.0) -> WordImages:
    """``n`` single random letters, each centred in one 32 × 18 window (shifted by up to ``±jitter``
    pixels): stage 1 of the word training, where every image is one window.

    Example:
        >>> data = characters(5, seed=0)
        >>> data[0][0].shape, [len(text) for text in data.texts]
        (torch.Size([1, 32, 18]), [1, 1, 1, 1, 1])
    """
    check_int(n, "n")
    _check_settings(jitter, scale, noise)
    rng = np.random.default_rng(seed)
    texts = [LETTERS[i] for i in rng.integers(0, 26, size=n)]
    images = []
    for text in texts:
        size = FONT_SIZE if scale == 0 else int(round(FONT_SIZE * rng.uniform(1 - scale, 1 + scale)))
        shift = int(rng.integers(-jitter, jitter + 1)) if jitter else 0
        glyph = _draw(text, size, [0])  # (32, w)
        canvas = np.zeros((HEIGHT, WINDOW_WIDTH + 2 * glyph.shape[1]), dtype=np.float32)
        left = glyph.shape[1] + (WINDOW_WIDTH - glyph.shape[1]) // 2 + shift
        canvas[:, left : left + glyph.shape[1]] = glyph
        image = canvas[:, glyph.shape[1] : glyph.shape[1] + WINDOW_WIDTH]
        if noise:
            image = np.clip(image + rng.normal(0.0, noise, size=image.shape).astype(np.float32), 0.0, 1.0)
        images.append(torch.from_numpy(np.ascontiguousarray(image)).unsqueeze(0))
    return WordImages(images, texts)


def read_word_image(path: str | os.PathLike[str]) -> Tensor:
    """A word image file as the model's input ``(1, 32, W)`` float32 in [0, 1], bright ink on dark.

    Any format Pillow reads; colour is converted to grayscale. An image that is mostly bright
    (mean above 0.5: dark ink on light paper) is inverted.

    Raises:
        ValueError: the file is missing or not an image Pillow can read, or its height is not 32
            pixels, or it is narrower than one window (18 pixels); the message names the file.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from PIL import Image
        >>> path = Path(tempfile.mkdtemp()) / "word.png"
        >>> Image.fromarray((255 * render_word("cat").numpy()[0]).astype("uint8")).save(path)
        >>> image = read_word_image(path)
        >>> image.shape[:2], image.dtype, float(image.max()) <= 1.0
        (torch.Size([1, 32]), torch.float32, True)
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as opened:
            image = opened.convert("L")
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise ValueError(f"image {path}: expected a readable image file, found nothing there") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"image {path}: cannot be read as an image ({exc})") from exc
    width, height = image.size
    if height != HEIGHT:
        raise ValueError(f"image {path}: expected a height of {HEIGHT} pixels, found {height} (width {width})")
    if width < WINDOW_WIDTH:
        raise ValueError(f"image {path}: expected a width of at least {WINDOW_WIDTH} pixels, found {width}")
    array = np.asarray(image, dtype=np.float32) / 255.0
    if array.mean() > 0.5:
        array = 1.0 - array
    return torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(0)
