"""``ebmlab train lista``: a T-layer LISTA encoder trained to predict FISTA's codes."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ._common import add_run_arguments, out_dir, positive_float, positive_int

NAME = "lista"
HELP = "LISTA (Gregor & LeCun 2010): unrolled ISTA with learned weights, vs ISTA and FISTA on the same dictionary"


@dataclass
class ListaConfig:
    n_samples: int = 12000
    n_components: int = 128
    alpha: float = 0.3
    layers: int = 16
    tied: bool = False
    objective: str = "codes"
    epochs: int = 30
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-samples", type=positive_int, default=12000, help="8x8 china.jpg patches (default 12000)")
    parser.add_argument("--n-components", type=positive_int, default=128, help="atoms K (default 128)")
    parser.add_argument("--alpha", type=positive_float, default=0.3, help="the lecture's alpha (default 0.3)")
    parser.add_argument("--layers", type=positive_int, default=16, help="LISTA layers T (default 16)")
    parser.add_argument("--tied", action="store_true", help="share weights across layers")
    parser.add_argument(
        "--objective", choices=["codes", "energy"], default="codes", help="fit FISTA codes or the energy"
    )
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate (default 1e-3)")
    add_run_arguments(parser, epochs=30)


def run(args: argparse.Namespace) -> Path:
    import torch

    from .._validation import resolve_device
    from ..data import image_patches
    from ..models.lista import LISTA, code_error, train_lista
    from ..models.sparse_coding import SparseCoding
    from ..plotting import sparse as plots
    from ..plotting import training_curve
    from ..runs import RunDirectory
    from ..sparse import sparse_encode

    config = ListaConfig(
        args.n_samples,
        args.n_components,
        args.alpha,
        args.layers,
        args.tied,
        args.objective,
        args.epochs,
        args.lr,
        args.seed,
        args.device,
    )
    device = resolve_device(config.device)
    run_dir = RunDirectory(out_dir(args, "lista"))
    run_dir.write_config(config)
    data = torch.from_numpy(image_patches(config.n_samples, 8, seed=config.seed)).to(device)
    held = max(1, len(data) // 6)
    train, test = data[:-held], data[-held:]
    if args.resume and run_dir.has_checkpoint():
        checkpoint = run_dir.load_checkpoint()
        dictionary = checkpoint.tensors["dictionary"].to(device)
    else:
        run_dir.file("metrics.jsonl").unlink(missing_ok=True)
        coder = SparseCoding(config.n_components, alpha=config.alpha, max_iter=3, seed=config.seed, device=device)
        dictionary = coder.fit(train).dictionary_
    target = sparse_encode(train, dictionary, config.alpha, max_iter=5000, tol=1e-8).codes
    exact = sparse_encode(test, dictionary, config.alpha, max_iter=5000, tol=1e-8).codes
    net = LISTA(dictionary, config.alpha, config.layers, tied=config.tied).to(device)
    if args.resume and run_dir.has_checkpoint():
        net.load_state_dict({k[4:]: v for k, v in checkpoint.tensors.items() if k.startswith("net.")})
        print("resumed: LISTA weights restored; training runs its full schedule again from them")

    def on_epoch(epoch: int, loss: float) -> None:
        with torch.no_grad():
            error = code_error(net(test), exact)
        run_dir.log_metrics({"epoch": epoch, "loss": loss, "held_out_code_error": error})
        tensors = {"dictionary": dictionary, **{f"net.{k}": v for k, v in net.state_dict().items()}}
        run_dir.save_checkpoint(tensors, step=epoch, config=config)

    fit = train_lista(
        net,
        train,
        target,
        objective=config.objective,
        epochs=config.epochs,
        lr=config.lr,
        seed=config.seed,
        on_epoch=on_epoch,
    )
    steps = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    curves = {}
    for method in ("ista", "fista"):
        errors = [
            code_error(sparse_encode(test, dictionary, config.alpha, method=method, max_iter=k, tol=1e-14).codes, exact)
            for k in steps
        ]
        curves[method.upper()] = (steps, errors)
    with torch.no_grad():
        path = net.trajectory(test)
    curves[f"LISTA ({'tied' if config.tied else 'untied'})"] = (
        list(range(1, config.layers + 1)),
        [code_error(z, exact) for z in path],
    )
    final = curves[next(reversed(curves))][1][-1]
    fista_t = code_error(sparse_encode(test, dictionary, config.alpha, max_iter=config.layers, tol=1e-14).codes, exact)
    print(
        f"held-out code error: LISTA-{config.layers} {final:.3g}, FISTA with {config.layers} iterations {fista_t:.3g}"
    )
    for figure in (
        plots.plot_code_error_curves(curves, run_dir.path / "code_error.png"),
        training_curve(fit.losses, run_dir.path / "training_curve.png", log=True),
        plots.plot_atoms(dictionary.T.cpu().numpy(), (8, 8), run_dir.path / "atoms.png"),
    ):
        print(f"figure: {figure}")
    return run_dir.path
