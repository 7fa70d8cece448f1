"""``ebmlab train sparse-coding``: dictionary learning for E(y, z) = ‖y − Wz‖² + α‖z‖₁."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ._common import add_run_arguments, out_dir, positive_float, positive_int

NAME = "sparse-coding"
HELP = "sparse coding: E(y, z) = ||y - Wz||^2 + alpha ||z||_1 with unit atoms; or the lecture's anti-collapse example"


@dataclass
class SparseCodingConfig:
    data: str = "china-patches"
    n_samples: int = 20000
    n_components: int = 128
    alpha: float = 0.2
    batch_size: int = 256
    epochs: int = 5
    refit: str | None = None
    lecture_example: bool = False
    seed: int = 0
    device: str = "cpu"
    data_root: str | None = None
    download: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", default="china-patches", help="china-patches (8x8), digits, mnist, or a .npy/.csv path"
    )
    parser.add_argument("--n-samples", type=positive_int, default=20000, help="samples to train on (default 20000)")
    parser.add_argument("--n-components", type=positive_int, default=128, help="atoms K (default 128)")
    parser.add_argument("--alpha", type=positive_float, default=0.2, help="the lecture's alpha (default 0.2)")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="mini-batch size (default 256)")
    parser.add_argument("--refit", choices=["none", "top2"], default="none", help="the lecture's top-2 rule")
    parser.add_argument(
        "--lecture-example", action="store_true", help="the slides' 50 x 2 ellipse data with and without [1; y]"
    )
    parser.add_argument("--data-root", default=None, help="folder holding MNIST-style IDX files (default $EBMLAB_DATA)")
    parser.add_argument("--download", action="store_true", help="download MNIST-style data if missing")
    add_run_arguments(parser, epochs=5)


def _load(config: SparseCodingConfig):
    import numpy as np

    from ..data import image_patches, load_data

    if config.data == "china-patches":
        return image_patches(config.n_samples, 8, seed=config.seed), (8, 8)
    dataset = load_data(
        config.data, n_samples=config.n_samples, seed=config.seed, root=config.data_root, download=config.download
    )
    return np.ascontiguousarray(dataset.data), dataset.image_shape


def _lecture(config: SparseCodingConfig, run_dir) -> Path:
    from ..models.sparse_coding import lecture_example
    from ..plotting import sparse as plots

    examples = []
    for augmented in (False, True):
        example = lecture_example(augmented, epochs=max(config.epochs, 30), seed=config.seed)
        examples.append(example)
        for epoch, value in enumerate(example.model.objective_, start=1):
            run_dir.log_metrics({"augmented": augmented, "epoch": epoch, "mean_energy": value})
        run_dir.save_checkpoint(
            {"dictionary": example.model.dictionary_}, step=len(example.model.objective_), config=config
        )
        cost = float(example.reconstruction_cost(example.data * 1.5).max())
        print(
            f"augmented={augmented}: final mean energy {example.model.objective_[-1]:.4f}; "
            f"max reconstruction cost off the data (y scaled by 1.5) {cost:.3g}"
        )
    print(f"figure: {plots.plot_collapse(examples, run_dir.path / 'collapse.png')}")
    return run_dir.path


def run(args: argparse.Namespace) -> Path:
    from ..models.sparse_coding import SparseCoding
    from ..plotting import sparse as plots
    from ..plotting import training_curve
    from ..runs import RunDirectory, progress

    config = SparseCodingConfig(
        args.data,
        args.n_samples,
        args.n_components,
        args.alpha,
        args.batch_size,
        args.epochs,
        None if args.refit == "none" else args.refit,
        args.lecture_example,
        args.seed,
        args.device,
        data_root=args.data_root,
        download=args.download,
    )
    run_dir = RunDirectory(out_dir(args, "sparse-coding"))
    run_dir.write_config(config)
    if config.lecture_example:
        return _lecture(config, run_dir)
    data, image_shape = _load(config)
    held_out = max(1, len(data) // 10)
    train, test = data[:-held_out], data[-held_out:]
    model = SparseCoding(
        config.n_components,
        alpha=config.alpha,
        max_iter=config.epochs,
        batch_size=config.batch_size,
        refit=config.refit,
        seed=config.seed,
        device=config.device,
    )
    import torch

    tensor = torch.as_tensor(train).to(model._data(train[:1]).device)
    start = 0
    if args.resume and run_dir.has_checkpoint():
        checkpoint = run_dir.load_checkpoint()
        extra = checkpoint.extra
        model.load_state_dict(checkpoint.tensors, extra["n_steps"], checkpoint.step, extra["objective"])
        start = checkpoint.step
        run_dir.truncate_metrics("epoch", start)
    else:
        run_dir.file("metrics.jsonl").unlink(missing_ok=True)
        model._initialise(model._data(train))
    for epoch in progress(
        range(start, config.epochs), total=config.epochs - start, desc="sparse-coding", enabled=not args.no_progress
    ):
        value = model.fit_epoch(tensor)
        held = -model.score(test)
        run_dir.log_metrics({"epoch": epoch + 1, "train_energy": value, "held_out_energy": held})
        extra = {"n_steps": model.n_steps_, "objective": model.objective_}
        run_dir.save_checkpoint(model.state_dict(), step=epoch + 1, config=config, extra=extra)
    codes = model.transform(test)
    print(f"held-out mean energy {-model.score(test):.5f}; mean non-zero codes {(codes != 0).sum(1).mean():.2f}")
    figures = [training_curve(model.objective_, run_dir.path / "training_curve.png", ylabel="mean energy F(y)")]
    figures.append(plots.plot_code_sparsity(codes, run_dir.path / "code_sparsity.png"))
    shape = image_shape or plots.tile_shape(data.shape[1])
    if shape is not None:
        figures.append(plots.plot_atoms(model.components_, shape, run_dir.path / "atoms.png"))
        figures.append(
            plots.plot_reconstructions(
                test, model.inverse_transform(codes), shape, run_dir.path / "reconstructions.png"
            )
        )
    for figure in figures:
        print(f"figure: {figure}")
    return run_dir.path
