"""LISTA variants vs ISTA and FISTA: held-out code error against layers / iterations on the same dictionary.

The ``ebmlab train lista`` recipe at the benchmark's settings: a dictionary of 128 atoms learned by
ebmlab.SparseCoding on 8 × 8 china.jpg patches (12,000 drawn, a sixth held out; 3 passes), α = 0.3;
targets ž from FISTA to tol 1e-8. Each run (``--runs``, ``variant:schedule:supervision``) trains an
untied LISTA variant (plain LISTA, LISTA-CP, LISTA-CPSS, LISTA-CP with learned momentum "cpm") with
Adam on FISTA's codes, batch ``--batch-size`` (128), under a schedule: ``joint`` (``--epochs`` epochs) or ``layerwise``
(a stage of ``--stage-epochs`` per layer, then ``--epochs`` joint epochs at a tenth of the rate).
One set-up (dictionary and targets) serves every run. With deep supervision (``all``) LISTA-T for
T = 4, 8, 16 is layer T of one trained 16-layer network (every prefix is trained as a T-layer
LISTA); with last-layer supervision (``last``) each T is a network of its own. ``--flips`` trains
on the training patches and their mirror images (4× the data, FISTA targets for each), ``--transposes``
adds their transposes (2× again: with ``--flips`` the eight symmetries of the square).

Prints two markdown tables (ISTA/FISTA against iterations; LISTA-4/8/16 per variant and schedule),
the command that made them, and whether LISTA-16 reaches FISTA-48's error (issue 15's target).

Run: ``python benchmarks/bench_lista.py`` (``--quick``: 3,000 patches, 5 epochs;
``--runs cp:joint:all``: one run; ``--depths 16``: only LISTA-16, one net for a last-layer run).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import torch

from ebmlab.kernels.proximal import sparse_encode
from ebmlab.models.lista import VARIANTS, code_error
from ebmlab.recipes.lista import SCHEDULES, SUPERVISIONS, LISTAConfig, LISTARecipe
from ebmlab.training import train

ITERATIONS = (1, 2, 4, 8, 16, 32, 48, 64, 128, 256)
RUNS = (
    "lista:joint:all",
    "cp:joint:all",
    "cpss:joint:all",
    "cp:layerwise:all",
    "cpm:joint:last",
    "cpm:layerwise:last",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--stage-epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--depths", default="4,8,16", help="the T of the table (last-layer runs train one net each)")
    parser.add_argument("--runs", nargs="+", default=list(RUNS), help="variant:schedule:supervision")
    parser.add_argument("--flips", action="store_true", help="train on the patches and their mirror images")
    parser.add_argument("--transposes", action="store_true", help="and on their transposes")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    runs = [tuple(run.split(":")) for run in args.runs]
    for run in runs:
        if len(run) != 3 or run[0] not in VARIANTS or run[1] not in SCHEDULES or run[2] not in SUPERVISIONS:
            parser.error(f"a run is variant:schedule:supervision from {VARIANTS}, {SCHEDULES}, {SUPERVISIONS}")
    torch.set_num_threads(args.threads)
    n_samples, epochs = (3000, 5) if args.quick else (12000, args.epochs)
    alpha = 0.3
    base = LISTAConfig(
        n_samples=n_samples,
        alpha=alpha,
        layers=args.layers,
        epochs=epochs,
        stage_epochs=args.stage_epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        seed=1,
        flips=args.flips,
        transposes=args.transposes,
    )
    first = LISTARecipe(base)
    first.model()  # a new run's set-up: the dictionary and FISTA's target codes, shared by every run
    dictionary, test, exact, target = first.dictionary, first.test_data, first.exact, first.target
    print(f"held-out nonzero fraction {(exact != 0).float().mean():.3f}\n")
    print("| iterations | ISTA | FISTA (adaptive restart) |")
    print("|---|---|---|")
    fista = {}
    for k in ITERATIONS:
        ista = code_error(sparse_encode(test, dictionary, alpha, method="ista", max_iter=k, tol=1e-14).codes, exact)
        fista[k] = code_error(sparse_encode(test, dictionary, alpha, max_iter=k, tol=1e-14).codes, exact)
        print(f"| {k} | {ista:.3e} | {fista[k]:.3e} |")
    depths = [t for t in (int(value) for value in args.depths.split(",")) if t <= args.layers]
    if args.layers not in depths:
        parser.error(f"--depths must include --layers={args.layers}, got {args.depths}")
    print(
        "\n| variant | schedule | supervision | " + " | ".join(f"LISTA-{t}" for t in depths) + " | training (s) | "
        f"LISTA-{args.layers} ≤ FISTA-48 |"
    )
    print("|---|---|---|" + "---|" * len(depths) + "---|---|")
    for variant, schedule, supervision in runs:
        errors, seconds = {}, 0.0
        for layers in [args.layers] if supervision == "all" else depths:
            settings = {"variant": variant, "schedule": schedule, "supervision": supervision, "layers": layers}
            recipe = LISTARecipe(LISTAConfig(**{**vars(base), **settings}))
            recipe._build(dictionary, target, exact)  # the shared set-up
            start = time.perf_counter()
            train(recipe, progress=False)
            seconds += time.perf_counter() - start
            with torch.no_grad():
                path = recipe.model().trajectory(test)  # (T, M, K)
            errors.update({t: code_error(path[t - 1], exact) for t in depths if t <= layers})
            errors[layers] = code_error(path[-1], exact)
        shown = " | ".join(f"{errors[t]:.3e}" for t in depths)
        met = "yes" if errors[args.layers] <= fista[48] else "no"
        print(f"| {variant} | {schedule} | {supervision} | {shown} | {seconds:.0f} | {met} |", flush=True)
    print(f"\nFISTA-16 {fista[16]:.3e}, FISTA-32 {fista[32]:.3e}, FISTA-48 {fista[48]:.3e} (the target)")
    print(f"command: python {' '.join(shlex.quote(a) for a in sys.argv)} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
