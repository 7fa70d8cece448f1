"""Alignment free energy (CTC graph) against torch.nn.functional.ctc_loss: forward + backward time.

Same batch for both, in one process: energies E (T, B, C) = (100, 64, 27), targets of length 10,
all inputs full length. Timed, each as forward + backward:

* ``ctc_loss``: ``ctc_loss(log_probs, ...)`` with ``log_probs = log_softmax(-E)`` a leaf (the native kernel alone);
* ``ours β=1``: ``alignment_free_energy(E, ..., graph="ctc", beta=1)`` (the same recursion on energies);
* ``ctc_loss + log_softmax`` vs ``ours + normaliser``: the full CTC negative log-likelihood from E,
  ``ctc_loss(log_softmax(-E))`` against ``alignment_free_energy(E) + Σ_t logsumexp_c(-E)`` (equal values);
* ``ours β=∞`` (Viterbi, best-path gradient) and ``ours homework β=1``.

Repetitions are interleaved; the median is reported. The target: ours β=1 at most 2× ctc_loss.
Then the growth of both with T (L = 10) and with the target length L (T = 100).

Run: ``python benchmarks/bench_alignment.py`` (``--repeats N``, ``--threads N``; ``--quick`` skips the growth tables).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ebmlab.kernels.alignment import alignment_free_energy


def problem(steps: int, batch: int, classes: int, length: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    energies = torch.randn(steps, batch, classes, generator=generator)
    targets = torch.randint(1, classes, (batch, length), generator=generator)
    input_lengths = torch.full((batch,), steps, dtype=torch.int64)
    target_lengths = torch.full((batch,), length, dtype=torch.int64)
    return energies, targets, input_lengths, target_lengths


def contenders(energies, targets, input_lengths, target_lengths) -> dict[str, Callable[[], None]]:
    leaf = energies.clone().requires_grad_(True)
    log_probs = F.log_softmax(-energies, dim=2).requires_grad_(True)

    def ctc() -> None:
        loss = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction="none")
        loss.sum().backward()
        log_probs.grad = None

    def ctc_softmax() -> None:
        loss = F.ctc_loss(F.log_softmax(-leaf, dim=2), targets, input_lengths, target_lengths, reduction="none")
        loss.sum().backward()
        leaf.grad = None

    def ours(beta: float = 1.0, graph: str = "ctc") -> Callable[[], None]:
        def run() -> None:
            value = alignment_free_energy(leaf, targets, input_lengths, target_lengths, graph=graph, beta=beta)
            value.sum().backward()
            leaf.grad = None

        return run

    def ours_normalised() -> None:
        value = alignment_free_energy(leaf, targets, input_lengths, target_lengths, beta=1.0)
        (value + torch.logsumexp(-leaf, dim=2).sum(dim=0)).sum().backward()
        leaf.grad = None

    return {
        "ctc_loss": ctc,
        "ours β=1": ours(),
        "ctc_loss + log_softmax": ctc_softmax,
        "ours + normaliser": ours_normalised,
        "ours β=∞": ours(math.inf),
        "ours homework β=1": ours(1.0, "homework"),
    }


def timings(functions: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median seconds of each function, repetitions interleaved (one warm-up call each)."""
    for function in functions.values():
        function()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--quick", action="store_true", help="the main comparison only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeats} interleaved repetitions\n")
    times = timings(contenders(*problem(100, 64, 27, 10)), args.repeats)
    print("B = 64, T = 100, C = 27, L = 10, forward + backward:\n")
    print("| function | ms | / ctc_loss |")
    print("|---|---|---|")
    for name, seconds in times.items():
        print(f"| {name} | {1e3 * seconds:.2f} | {seconds / times['ctc_loss']:.2f} |")
    print(
        f"\nours β=1 / ctc_loss = {times['ours β=1'] / times['ctc_loss']:.2f} (target <= 2); "
        f"full NLL from energies: {times['ours + normaliser'] / times['ctc_loss + log_softmax']:.2f}"
    )
    if args.quick:
        return
    repeats = max(3, args.repeats // 4)
    print("\ngrowth with T (B = 64, L = 10): ms forward + backward\n")
    print("| T | ctc_loss | ours β=1 | ratio |")
    print("|---|---|---|---|")
    for steps in (25, 50, 100, 200, 400):
        functions = contenders(*problem(steps, 64, 27, 10))
        result = timings({key: functions[key] for key in ("ctc_loss", "ours β=1")}, repeats)
        ratio = result["ours β=1"] / result["ctc_loss"]
        print(f"| {steps} | {1e3 * result['ctc_loss']:.2f} | {1e3 * result['ours β=1']:.2f} | {ratio:.2f} |")
    print("\ngrowth with the target length L (B = 64, T = 100): ms forward + backward\n")
    print("| L | ctc_loss | ours β=1 | ratio |")
    print("|---|---|---|---|")
    for length in (2, 5, 10, 20, 40):
        functions = contenders(*problem(100, 64, 27, length))
        result = timings({key: functions[key] for key in ("ctc_loss", "ours β=1")}, repeats)
        ratio = result["ours β=1"] / result["ctc_loss"]
        print(f"| {length} | {1e3 * result['ctc_loss']:.2f} | {1e3 * result['ours β=1']:.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
