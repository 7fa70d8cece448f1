"""Figures of the word-transcription model: window energies under each word, best paths, learning curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data.words import BLANK, LETTERS, decode_word
from ..kernels.alignment import decode, viterbi
from ..models.words import WINDOW
from ..recipes.words import WordsFit
from . import pyplot, save_figure

__all__ = ["plot_all", "plot_learning_curves", "plot_transcriptions"]

CLASS_LABELS = ["_", *LETTERS]


def plot_transcriptions(fit: WordsFit, path: Path) -> Path:
    """Each held-out word over its window energies :math:`E_t[c]` (classes down, windows across, at
    the windows' centres), the best path of any word (white; its collapse is the transcription), and the
    Viterbi alignment of the true word on the model's graph (red, dashed).

    The best path minimises :math:`\\sum_t E_t[c_t]` over the graph's alignments (Viterbi).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.words import WordsConfig, WordsRecipe
        >>> config = WordsConfig(char_epochs=1, epochs=1, n_chars=16, n_train=16, n_eval=4, max_length=3)
        >>> fit = WordsRecipe(config).fit(examples=2)  # untrained
        >>> plot_transcriptions(fit, out / "transcriptions.png").exists()
        True
    """
    plt = pyplot()
    model = fit.model
    with torch.no_grad():
        energies = model(fit.images)  # (T, B, 27)
    windows = model.window_counts(fit.widths)  # (B,)
    decoded = decode(energies, windows, graph=fit.graph, blank=BLANK)
    longest = max((len(word) for word in decoded), default=0)
    answers = torch.tensor([word + [1] * (longest - len(word)) for word in decoded], dtype=torch.int64)
    answers = answers.reshape(len(decoded), longest)
    answer_lengths = torch.tensor([len(word) for word in decoded], dtype=torch.int64)
    best = viterbi(energies, answers, windows, answer_lengths, graph=fit.graph, blank=BLANK)  # the best path
    forced = viterbi(energies, fit.targets, windows, fit.target_lengths, graph=fit.graph, blank=BLANK)
    count = len(fit.texts)
    width = int(fit.widths.max())
    fig, axes = plt.subplots(
        2 * count,
        2,
        figsize=(max(7.0, width / 12), 4.2 * count),
        gridspec_kw={"height_ratios": [0.7, 3.5] * count, "width_ratios": [50, 1]},
        squeeze=False,
        layout="constrained",
    )
    stride = model.stride
    for row in range(count):
        top, bottom = axes[2 * row, 0], axes[2 * row + 1, 0]
        axes[2 * row, 1].axis("off")
        steps = int(windows[row])
        image = fit.images[row, 0, :, : int(fit.widths[row])].numpy()
        top.imshow(image, cmap="gray", vmin=0, vmax=1, extent=(0, image.shape[1], 32, 0), aspect="auto")
        top.set_xlim(0, width)
        top.set_xticks([])
        top.set_yticks([])
        guess = decode_word(decoded[row])
        verdict = "right" if guess == fit.texts[row] else "wrong"
        top.set_title(f"true word {fit.texts[row]!r}, transcription {guess!r} ({verdict})", fontsize=9)
        centres = WINDOW / 2 + stride * np.arange(steps)  # pixel centre of each window
        heat = energies[:steps, row].T.numpy()  # (27, T)
        left, right = centres[0] - stride / 2, centres[-1] + stride / 2
        top_energy = float(np.percentile(heat, 90)) if heat.size else 1.0  # the low energies matter
        shown = bottom.imshow(heat, cmap="viridis_r", aspect="auto", extent=(left, right, 26.5, -0.5), vmax=top_energy)
        shown_best = best.valid[:steps, row].numpy()
        bottom.plot(
            centres[shown_best],
            best.path[:steps, row].numpy()[shown_best],
            color="white",
            marker="o",
            markersize=2.5,
            lw=1.2,
            label="best path (its transcription)",
        )
        valid = forced.valid[:steps, row].numpy()
        if valid.any():
            bottom.plot(
                centres[valid],
                forced.path[:steps, row].numpy()[valid],
                color="tab:red",
                ls="--",
                lw=1.2,
                label="Viterbi alignment of the true word",
            )
        bottom.set_xlim(0, width)
        bottom.set_yticks(range(27))
        bottom.set_yticklabels(CLASS_LABELS, fontsize=7, family="monospace")
        bottom.set_ylabel("class c", fontsize=8)
        bottom.set_xlabel(f"pixel (window centres, stride {stride})", fontsize=8)
        fig.colorbar(shown, cax=axes[2 * row + 1, 1], label="energy", extend="max")
        if row == 0:
            bottom.legend(loc="upper right", fontsize=7, framealpha=0.6)
    fig.suptitle(
        f"held-out words: window energies E_t[c] (bright = low) under each image, and paths ({fit.graph} graph)",
        fontsize=11,
    )
    return save_figure(fig, path)


def plot_learning_curves(fit: WordsFit, path: Path) -> Path:
    """Training loss and held-out word accuracy per epoch; the line marks the start of the words stage.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.words import WordsConfig, WordsRecipe
        >>> config = WordsConfig(char_epochs=1, epochs=1, n_chars=16, n_train=16, n_eval=4, max_length=3)
        >>> fit = WordsRecipe(config).fit(examples=2)  # untrained
        >>> plot_learning_curves(fit, out / "learning_curves.png").exists()
        True
    """
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    epochs = np.arange(1, len(fit.losses) + 1)
    for axis, values, label in (
        (loss_axis, fit.losses, "training loss (lower is better)"),
        (accuracy_axis, fit.accuracies, "held-out word accuracy (higher is better)"),
    ):
        axis.plot(epochs[: len(values)], values, marker="o", markersize=7 if len(values) == 1 else 4)
        if 0 < fit.char_epochs < len(values):
            axis.axvline(fit.char_epochs + 0.5, color="grey", ls=":", lw=1, label="characters → words")
            axis.legend(fontsize=8, loc="best")
        axis.set_xlabel("epoch (characters, then words)")
        axis.set_ylabel(label.split(" (")[0])
        axis.set_title(label, fontsize=11)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
    accuracy_axis.set_ylim(-0.02, 1.02)
    fig.suptitle(
        f"word transcription: {fit.char_epochs} epoch{'' if fit.char_epochs == 1 else 's'} on single characters, "
        "then whole words (the two stages' losses differ)",
        fontsize=12,
    )
    return save_figure(fig, path)


def plot_all(fit: WordsFit, out: Path) -> list[Path]:
    """The figures of a words run, written into ``out``.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> from ebmlab.recipes.words import WordsConfig, WordsRecipe
        >>> config = WordsConfig(char_epochs=1, epochs=1, n_chars=16, n_train=16, n_eval=4, max_length=3)
        >>> fit = WordsRecipe(config).fit(examples=2)  # untrained
        >>> all(path.exists() for path in plot_all(fit, out))
        True
    """
    out = Path(out)
    return [
        plot_transcriptions(fit, out / "transcriptions.png"),
        plot_learning_curves(fit, out / "learning_curves.png"),
    ]
