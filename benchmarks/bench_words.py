"""Word transcription: train ``ebmlab train words`` until 99 % word accuracy on 1,000 held-out words.

Held-out set: 1,000 rendered words of lengths 2–6 with the training jitter, scale and noise, drawn
with a seed the recipe never uses. The recipe trains as ``ebmlab train words`` does (stage 1 on
single characters, stage 2 on words, one unit = one epoch); after every word epoch the benchmark
transcribes the held-out set (unconstrained best path) and stops at the target, at the epoch
budget or after ``--max-minutes`` of training. Training time excludes the held-out evaluations.

Run: ``python benchmarks/bench_words.py`` (``--loss``, ``--graph``, ``--epochs``, ``--n-train``,
``--threads``, ``--max-minutes``; defaults are the recipe's unless given).
"""

from __future__ import annotations

import argparse
import time

import torch

from ebmlab.data.words import BLANK, decode_word, words
from ebmlab.kernels.alignment import decode
from ebmlab.recipes.words import WordsConfig, WordsRecipe, edit_distance

HELD_OUT_SEED = 987_654


def held_out_accuracy(recipe: WordsRecipe, images: list[torch.Tensor], texts: list[str]) -> tuple[float, float]:
    """(word accuracy, character accuracy) of the recipe's model on the held-out words."""
    model = recipe.model().eval()
    guesses: list[str] = []
    with torch.no_grad():
        for begin in range(0, len(images), 250):
            chunk = images[begin : begin + 250]
            widths = torch.tensor([image.shape[-1] for image in chunk])
            batch = torch.zeros(len(chunk), 1, 32, int(widths.max()))
            for row, image in enumerate(chunk):
                batch[row, :, :, : image.shape[-1]] = image
            energies = model(batch.to(recipe.device))
            windows = model.window_counts(widths.to(recipe.device))
            found = decode(energies, windows, graph=recipe.config.graph, blank=BLANK)
            guesses += [decode_word(word) for word in found]
    right = sum(guess == text for guess, text in zip(guesses, texts, strict=True))
    errors = sum(edit_distance(guess, text) for guess, text in zip(guesses, texts, strict=True))
    return right / len(texts), 1.0 - errors / sum(len(text) for text in texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loss", default=WordsConfig.loss)
    parser.add_argument("--graph", default=WordsConfig.graph)
    parser.add_argument("--beta", type=float, default=WordsConfig.beta)
    parser.add_argument("--char-epochs", type=int, default=WordsConfig.char_epochs)
    parser.add_argument("--epochs", type=int, default=WordsConfig.epochs)
    parser.add_argument("--n-train", type=int, default=WordsConfig.n_train)
    parser.add_argument("--lr", type=float, default=WordsConfig.lr)
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--max-minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = WordsConfig(
        loss=args.loss,
        graph=args.graph,
        beta=args.beta,
        char_epochs=args.char_epochs,
        epochs=args.epochs,
        n_train=args.n_train,
        lr=args.lr,
        seed=args.seed,
    )
    look = {"jitter": config.jitter, "scale": config.scale, "noise": config.noise}
    held_out = words(1000, min_length=2, max_length=6, seed=HELD_OUT_SEED, **look)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s); {config.loss} loss on the {config.graph} graph, "
        f"{config.char_epochs} character epochs + up to {config.epochs} word epochs over {config.n_train} words; "
        f"held out: 1000 words of lengths 2-6 (jitter {config.jitter}, scale {config.scale}, noise {config.noise})"
    )
    start = time.perf_counter()
    recipe = WordsRecipe(config)
    setup = time.perf_counter() - start
    print(f"rendering and set-up: {setup:.1f} s")
    print("| epoch | stage | training loss | training time (s) | held-out word accuracy | character accuracy |")
    print("|---|---|---|---|---|---|")
    training, reached = 0.0, None
    for index in range(recipe.total):
        began = time.perf_counter()
        metrics = recipe.step(index)
        training += time.perf_counter() - began
        stage = int(metrics["stage"])
        if stage == 1:
            print(f"| {index + 1} | characters | {float(metrics['loss']):.4f} | {training:.1f} | - | - |", flush=True)
            continue
        word, character = held_out_accuracy(recipe, held_out.images, held_out.texts)
        print(
            f"| {index + 1} | words | {float(metrics['loss']):.4f} | {training:.1f} | {word:.4f} | {character:.4f} |",
            flush=True,
        )
        if word >= args.target:
            reached = (index + 1, training, word)
            break
        if training > 60 * args.max_minutes:
            break
    if reached:
        print(f"\nreached {reached[2]:.4f} >= {args.target} after epoch {reached[0]}: {reached[1]:.1f} s of training")
    else:
        print(f"\ndid not reach {args.target}: {word:.4f} word accuracy after {training:.1f} s of training")


if __name__ == "__main__":
    main()
