"""``ebmlab train words``: transcribe rendered word images, alignments as latent variables.

The model (:class:`~ebmlab.models.words.WordEnergy`) gives every window of an image an energy per
class; the energy of a word ``y`` and an alignment ``z`` is :math:`E(x, y, z) = C_y(z) + \\sum_t E_t[z_t]`
(:mod:`ebmlab.kernels.alignment`). Training has two stages, one unit of the budget being one epoch
of Adam over a fixed rendered training set:

1. ``char_epochs`` epochs on single characters, one window each: the answer is the window's class;
2. ``epochs`` epochs on words, with the loss functional ``loss``:

   * ``energy`` — :math:`F_\\infty(x, y)`, the energy of the best alignment (the homework's
     zero-temperature loss: the cross-entropy of the window energies along the Viterbi path);
   * ``nll`` — :math:`F_\\beta(x, y) - F_\\beta(x, \\text{any } y)` at inverse temperature ``beta``
     (on the CTC graph at β = 1 this is the CTC loss);
   * ``hinge`` — :math:`[m + F_\\infty(x, y) - F_\\infty(x, \\bar y)]^+` against the most offending
     incorrect transcription :math:`\\bar y`, margin ``margin``.

The learning rate follows a cosine decay over stage 2. :meth:`WordsRecipe.evaluate` transcribes
held-out words (lengths ``min_length``–``max_length``, the training jitter, scale and noise, other
random words) by the best path of any word (:func:`ebmlab.kernels.alignment.decode` on the training
graph) and reports word and character accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._validation import check_int, check_positive, resolve_device
from ..data.words import BLANK, LETTERS, WordImages, characters, decode_word, read_word_image, words
from ..kernels.alignment import (
    GRAPHS,
    alignment_free_energy,
    decode,
    most_offending_free_energy,
    unconstrained_free_energy,
)
from ..losses import energy_loss, hinge_loss, nll_loss
from ..models.words import WordEnergy
from ..training import generator_state, set_generator_state
from ..training.schedules import cosine_decay
from ._base import Recipe

__all__ = ["LOSSES", "WordsConfig", "WordsFit", "WordsRecipe", "edit_distance"]

LOSSES = ("energy", "nll", "hinge")
_VALIDATION = 256  # held-out words transcribed after every epoch for the learning curve
_EVALUATION_BATCH = 256


@dataclass
class WordsConfig:
    """Settings of the words recipe (see the module for the losses).

    ``beta`` is the inverse temperature of the ``nll`` loss and ``margin`` the margin of the
    ``hinge`` loss; neither enters the ``energy`` loss. ``jitter``, ``scale`` and ``noise`` shape
    the rendered words (:func:`ebmlab.data.words`), for training and evaluation alike.

    Example:
        >>> WordsConfig(loss="nll", beta=2.0).resolved().graph
        'homework'
    """

    loss: str = "hinge"
    graph: str = "homework"
    beta: float = 1.0
    margin: float = 1.0
    char_epochs: int = 2
    epochs: int = 12
    n_chars: int = 5000
    n_train: int = 5000
    n_eval: int = 1000
    min_length: int = 1
    max_length: int = 6
    jitter: int = 2
    scale: float = 0.1
    noise: float = 0.1
    stride: int = 4
    channels: tuple[int, int] = (16, 32)
    hidden: int = 128
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 0
    device: str = "cpu"

    def resolved(self) -> WordsConfig:
        """This configuration, validated (ValueError naming the field, expected vs given)."""
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got loss={self.loss!r}")
        if self.graph not in GRAPHS:
            raise ValueError(f"graph must be one of {GRAPHS}, got graph={self.graph!r}")
        check_positive(self.beta, "beta")
        if math.isinf(self.beta):
            raise ValueError("beta must be finite for the nll loss (use --loss energy for zero temperature), got inf")
        check_positive(self.margin, "margin", strict=False)
        check_positive(self.lr, "lr")
        check_int(self.char_epochs, "char_epochs", minimum=0)
        for name in ("epochs", "n_train", "n_eval", "min_length", "max_length", "stride", "hidden", "batch_size"):
            check_int(getattr(self, name), name)
        if self.char_epochs:
            check_int(self.n_chars, "n_chars")
        if self.max_length < self.min_length:
            raise ValueError(f"max_length must be >= min_length={self.min_length}, got max_length={self.max_length}")
        if len(tuple(self.channels)) != 2:
            raise ValueError(f"channels must be two positive integers, got channels={self.channels!r}")
        for value in self.channels:
            check_int(value, "channels")
        check_int(self.jitter, "jitter", minimum=0)
        if isinstance(self.scale, bool) or not isinstance(self.scale, (int, float)) or not 0 <= self.scale <= 0.25:
            raise ValueError(
                f"scale must be a number in [0, 0.25] (the glyphs must fit 32 rows), got scale={self.scale}"
            )
        check_positive(self.noise, "noise", strict=False)
        if not math.isfinite(self.noise):
            raise ValueError(f"noise must be finite, got noise={self.noise}")
        resolve_device(self.device)
        return WordsConfig(**{**vars(self), "channels": tuple(self.channels)})


@dataclass(frozen=True)
class WordsFit:
    """What the figures need: the trained model (CPU), a few held-out words (padded images
    ``(N, 1, 32, W)``, widths, padded targets, target lengths, texts), the graph, and the per-epoch
    training losses and held-out word accuracies of both stages.

    Example:
        >>> recipe = WordsRecipe(WordsConfig(char_epochs=1, epochs=1, n_chars=16, n_train=16, n_eval=4, max_length=3))
        >>> fit = recipe.fit(examples=2)  # untrained: the figures' inputs all the same
        >>> tuple(fit.images.shape[:3]), len(fit.texts), fit.graph
        ((2, 1, 32), 2, 'homework')
    """

    model: WordEnergy
    images: Tensor
    widths: Tensor
    targets: Tensor
    target_lengths: Tensor
    texts: list[str]
    graph: str
    losses: list[float]
    accuracies: list[float]
    char_epochs: int


def edit_distance(first: str, second: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions).

    Example:
        >>> edit_distance("kitten", "sitting")
        3
    """
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, 1):
        current = [i]
        for j, b in enumerate(second, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


def _windows_needed(target: Tensor, graph: str) -> int:
    if graph == "homework":
        return 2 * len(target)
    return len(target) + int((target[1:] == target[:-1]).sum())


class _Padded:
    """A rendered data set as padded tensors: images ``(N, 1, 32, W_max)``, widths ``(N,)`` (on the
    CPU too, to size batches), targets ``(N, L_max)`` and their lengths ``(N,)``."""

    def __init__(self, data: WordImages, device: torch.device) -> None:
        self.texts = data.texts
        widths = data.widths()
        lengths = torch.tensor([len(target) for target in data.targets], dtype=torch.int64)
        images = torch.zeros(len(data), 1, 32, int(widths.max()))
        targets = torch.full((len(data), int(lengths.max())), BLANK, dtype=torch.int64)
        for row, (image, target) in enumerate(zip(data.images, data.targets, strict=True)):
            images[row, :, :, : image.shape[-1]] = image
            targets[row, : len(target)] = target
        self.widths_cpu = widths
        self.images, self.widths = images.to(device), widths.to(device)
        self.targets, self.lengths = targets.to(device), lengths.to(device)

    def __len__(self) -> int:
        return len(self.texts)

    def batch(self, rows: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Images cut to the batch's widest, widths, padded targets, target lengths."""
        rows_cpu = rows.cpu()
        width = int(self.widths_cpu[rows_cpu].max())
        rows = rows.to(self.images.device)
        return self.images[rows, :, :, :width], self.widths[rows], self.targets[rows], self.lengths[rows]


class WordsRecipe(Recipe):
    """Word transcription: ``char_epochs`` epochs on characters, then ``epochs`` epochs on words.

    Example:
        >>> from ebmlab.training import train
        >>> config = WordsConfig(char_epochs=1, epochs=1, n_chars=64, n_train=64, n_eval=16, max_length=3)
        >>> recipe = WordsRecipe(config)
        >>> _ = train(recipe, progress=False)
        >>> sorted(recipe.evaluate())
        ['char_accuracy', 'word_accuracy']
    """

    name = "words"
    unit = "epoch"
    setting = "--lr"
    config_class = WordsConfig
    budget = ("epochs",)
    runtime = ("device",)
    checkpoint_every = 1

    def __init__(self, config: WordsConfig) -> None:
        self.config = config = config.resolved()
        self.device = resolve_device(config.device)
        look = {"jitter": config.jitter, "scale": config.scale, "noise": config.noise}
        lengths = {"min_length": config.min_length, "max_length": config.max_length}
        base = 1000 * config.seed
        chars = characters(config.n_chars, seed=base + 1, **look) if config.char_epochs else None
        self.chars = None if chars is None else _Padded(chars, self.device)
        self.train_set = _Padded(words(config.n_train, seed=base + 2, **lengths, **look), self.device)
        self.eval_set = _Padded(words(config.n_eval, seed=base + 3, **lengths, **look), self.device)
        self.net = WordEnergy(stride=config.stride, channels=config.channels, hidden=config.hidden, seed=config.seed)
        self.net.to(self.device)
        self._check_alignments()
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.shuffler = torch.Generator().manual_seed(base + 4)  # data order, on the CPU
        self.losses: list[Tensor] = []  # 0-dim, one per epoch
        self.accuracies: list[float] = []  # held-out word accuracy after each epoch

    def _check_alignments(self) -> None:
        windows = self.net.window_counts(self.train_set.widths_cpu)
        for row in range(len(self.train_set)):
            target = self.train_set.targets[row, : self.train_set.lengths[row]].cpu()
            needed = _windows_needed(target, self.config.graph)
            if int(windows[row]) < needed:
                raise ValueError(
                    f"stride={self.config.stride} leaves the training word {self.train_set.texts[row]!r} "
                    f"{int(windows[row])} windows; the {self.config.graph} graph needs {needed}: lower --stride"
                )

    @property
    def total(self) -> int:
        return self.config.char_epochs + self.config.epochs

    # ------------------------------------------------------------------ losses

    def _character_loss(self, images: Tensor, targets: Tensor) -> Tensor:
        """Stage 1: one window per image, the answer is its class; the loss over the 26 letters."""
        energies = self.net(images)[0]  # (B, 27)
        letters = energies[:, 1:]  # (B, 26): the blank is no answer for a character
        index = targets[:, 0] - 1  # (B,)
        positive = letters.gather(1, index[:, None]).squeeze(1)  # (B,)
        config = self.config
        if config.loss == "energy":
            return energy_loss(positive)
        correct = torch.nn.functional.one_hot(index, len(LETTERS)).bool()  # (B, 26)
        negatives = letters[~correct].reshape(len(letters), len(LETTERS) - 1)  # (B, 25): every other letter
        if config.loss == "nll":
            return nll_loss(positive, negatives, beta=config.beta)
        return hinge_loss(positive, negatives, margin=config.margin)

    def _word_loss(self, images: Tensor, widths: Tensor, targets: Tensor, lengths: Tensor) -> Tensor:
        """Stage 2: the loss functional of the free energies over alignments."""
        config = self.config
        energies = self.net(images)  # (T, B, 27)
        windows = self.net.window_counts(widths)  # (B,)
        common = {"graph": config.graph, "blank": BLANK}
        if config.loss == "energy":
            return energy_loss(alignment_free_energy(energies, targets, windows, lengths, **common))
        if config.loss == "nll":
            positive = alignment_free_energy(energies, targets, windows, lengths, beta=config.beta, **common)
            return (positive - unconstrained_free_energy(energies, windows, beta=config.beta, **common)).mean()
        positive = alignment_free_energy(energies, targets, windows, lengths, **common)
        offending = most_offending_free_energy(energies, targets, windows, lengths, **common)
        return hinge_loss(positive, offending[:, None], margin=config.margin)

    def _batches(self, data: _Padded) -> list[Tensor]:
        """One epoch's minibatches: a random order, sorted by width within pools of 50 batches (less
        padding), the batches then shuffled."""
        size = self.config.batch_size
        order = torch.randperm(len(data), generator=self.shuffler)
        batches: list[Tensor] = []
        for begin in range(0, len(data), 50 * size):
            pool = order[begin : begin + 50 * size]
            pool = pool[torch.argsort(data.widths_cpu[pool], stable=True)]
            batches += list(pool.split(size))
        return [batches[i] for i in torch.randperm(len(batches), generator=self.shuffler).tolist()]

    def _stage(self, index: int) -> int:
        return 1 if index < self.config.char_epochs else 2

    def step(self, index: int) -> dict[str, Any]:
        config = self.config
        stage = self._stage(index)
        data = self.chars if stage == 1 else self.train_set
        batches = self._batches(data)
        epoch = index - config.char_epochs
        total = torch.zeros((), device=self.device)
        self.net.train()
        for number, rows in enumerate(batches):
            images, widths, targets, lengths = data.batch(rows)
            if stage == 1:
                loss = self._character_loss(images, targets)
                lr = config.lr
            else:
                loss = self._word_loss(images, widths, targets, lengths)
                lr = cosine_decay(config.lr, epoch * len(batches) + number, config.epochs * len(batches))
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += loss.detach() * len(images)
        mean = total / len(data)  # 0-dim: no sync here
        self.losses.append(mean)
        accuracy = self._accuracy(self.eval_set, limit=_VALIDATION)["word_accuracy"]
        self.accuracies.append(accuracy)
        return {"loss": mean, "stage": stage, "heldout_word_accuracy": accuracy}

    def initial_loss(self) -> float:
        """The untrained model's loss on the first batch of the first stage (draws no random numbers)."""
        size = self.config.batch_size
        with torch.no_grad():
            if self.chars is not None:
                images, _, targets, _ = self.chars.batch(torch.arange(min(size, len(self.chars))))
                return float(self._character_loss(images, targets))
            return float(self._word_loss(*self.train_set.batch(torch.arange(min(size, len(self.train_set))))))

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "shuffler": generator_state(self.shuffler),
            "losses": torch.stack(self.losses) if self.losses else torch.zeros(0, device=self.device),
            "accuracies": list(self.accuracies),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        set_generator_state(self.shuffler, state["shuffler"])
        self.losses = list(state["losses"].to(self.device).unbind())
        self.accuracies = [float(value) for value in state["accuracies"]]

    # ------------------------------------------------------------------ the finished run

    def model(self) -> WordEnergy:
        return self.net

    def _transcriptions(self, data: _Padded, limit: int | None = None) -> list[str]:
        count = len(data) if limit is None else min(limit, len(data))
        self.net.eval()
        out: list[str] = []
        with torch.no_grad():
            for begin in range(0, count, _EVALUATION_BATCH):
                rows = torch.arange(begin, min(begin + _EVALUATION_BATCH, count))
                images, widths, _, _ = data.batch(rows)
                energies = self.net(images)  # (T, B, 27)
                windows = self.net.window_counts(widths)
                out += [decode_word(w) for w in decode(energies, windows, graph=self.config.graph, blank=BLANK)]
        return out

    def _accuracy(self, data: _Padded, limit: int | None = None) -> dict[str, float]:
        guesses = self._transcriptions(data, limit)
        truths = data.texts[: len(guesses)]
        right = sum(guess == truth for guess, truth in zip(guesses, truths, strict=True))
        errors = sum(edit_distance(guess, truth) for guess, truth in zip(guesses, truths, strict=True))
        characters_total = sum(len(truth) for truth in truths)
        return {
            "word_accuracy": right / len(truths),
            "char_accuracy": max(0.0, 1.0 - errors / characters_total),
        }

    def evaluate(self, **options: Any) -> dict[str, float]:
        """Word accuracy (exact transcriptions) and character accuracy (1 − edit distance / letters,
        at least 0) on the ``n_eval`` held-out words, transcribed by the best path of any word."""
        self._no_options(options)
        return self._accuracy(self.eval_set)

    def summary(self, metrics: dict[str, float]) -> str:
        return (
            f"word accuracy {metrics['word_accuracy']:.4f}, character accuracy {metrics['char_accuracy']:.4f} "
            f"on {len(self.eval_set)} held-out words ({self.config.loss} loss, {self.config.graph} graph)"
        )

    def transcribe(self, image_path: str | Path) -> str:
        """The word in an image file (height 32, bright ink on dark or dark ink on light).

        Raises:
            ValueError: the file cannot be read as an image or its height is not 32 (naming the file).
        """
        image = read_word_image(image_path).to(self.device)  # (1, 32, W)
        self.net.eval()
        widths = torch.tensor([image.shape[-1]], device=self.device)
        return self.net.transcribe(image.unsqueeze(0), widths, graph=self.config.graph)[0]

    def fit(self, examples: int = 6) -> WordsFit:
        """The trained model on the CPU, the first ``examples`` held-out words and the learning curves."""
        import copy

        rows = torch.arange(min(examples, len(self.eval_set)))
        images, widths, targets, lengths = (tensor.cpu() for tensor in self.eval_set.batch(rows))
        return WordsFit(
            model=copy.deepcopy(self.net).cpu().eval(),
            images=images,
            widths=widths,
            targets=targets,
            target_lengths=lengths,
            texts=self.eval_set.texts[: len(rows)],
            graph=self.config.graph,
            losses=[float(loss) for loss in self.losses],
            accuracies=list(self.accuracies),
            char_epochs=self.config.char_epochs,
        )

    def plot(self, out: Path) -> list[Path]:
        from ..plotting import words as plots

        return plots.plot_all(self.fit(), Path(out))
