"""Every ``ebmlab train`` command, as the contract tests run it (one entry per command).

``args``: a small budget that trains in a second or two and checkpoints at least twice;
``diverge``: flags that make the training diverge (exit 1, the message names ``setting``);
``changed``: a setting that differs from ``args`` (``--resume`` with it must exit 2);
``data``: True when the command reads ``--data`` (bad data files must exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    args: list[str]
    diverge: list[str]
    setting: str
    changed: list[str]
    data: bool = False
    extra: dict = field(default_factory=dict)


CASES: dict[str, Case] = {
    "ellipse": Case(
        args=["--epochs", "6", "--checkpoint-every", "2"],
        diverge=["--epochs", "6", "--lr", "1e6"],
        setting="--lr",
        changed=["--beta", "2"],
    ),
    "kmeans": Case(
        args=["--n-samples", "8000", "--k", "10", "--n-init", "2", "--max-iter", "12", "--tol", "0",
              "--checkpoint-every", "4"],
        diverge=["--beta", "1e39", "--max-iter", "5"],
        setting="--beta",
        changed=["--k", "5"],
        data=True,
    ),
    "sparse-coding": Case(
        args=["--n-samples", "600", "--n-components", "16", "--epochs", "3"],
        diverge=["--n-samples", "600", "--n-components", "16", "--epochs", "2", "--step-size", "50"],
        setting="--step-size",
        changed=["--alpha", "0.3"],
        data=True,
    ),
    "lista": Case(
        args=["--n-samples", "800", "--n-components", "24", "--layers", "4", "--epochs", "3"],
        diverge=["--n-samples", "800", "--n-components", "24", "--layers", "4", "--epochs", "2", "--lr", "1e6"],
        setting="--lr",
        changed=["--alpha", "0.2"],
    ),
    "conv-sparse-coding": Case(
        args=["--data", "digits", "--n-samples", "100", "--n-filters", "4", "--kernel-size", "3",
              "--epochs", "4", "--steps-per-epoch", "2"],
        diverge=["--data", "digits", "--n-samples", "100", "--n-filters", "4", "--kernel-size", "3",
                 "--epochs", "4", "--steps-per-epoch", "2", "--step-size", "1"],
        setting="--step-size",
        changed=["--alpha", "0.3"],
        data=True,
    ),
    "dae": Case(
        args=["--n-samples", "256", "--hidden", "16", "--epochs", "6", "--checkpoint-every", "2"],
        diverge=["--n-samples", "256", "--hidden", "16", "--epochs", "4", "--lr", "1e6"],
        setting="--lr",
        changed=["--noise", "0.2"],
        data=True,
    ),
    "ebm2d": Case(
        args=["--steps", "60", "--hidden", "16", "--buffer-size", "256", "--batch-size", "32",
              "--checkpoint-every", "20"],
        diverge=["--steps", "60", "--hidden", "16", "--buffer-size", "256", "--batch-size", "32",
                 "--step-size", "1e6"],
        setting="--step-size",
        changed=["--toy", "moons"],
    ),
    "collapse": Case(
        args=["--epochs", "60", "--n-samples", "100", "--checkpoint-every", "20"],
        diverge=["--epochs", "30", "--lr", "1e6"],
        setting="--lr",
        changed=["--margin", "2"],
    ),
    "vae": Case(
        args=["--data", "digits", "--n-samples", "400", "--hidden", "32", "--latent", "4", "--epochs", "4",
              "--binarize", "dynamic", "--checkpoint-every", "2"],
        diverge=["--data", "digits", "--n-samples", "400", "--hidden", "32", "--latent", "4", "--epochs", "2",
                 "--lr", "1e6"],
        setting="--lr",
        changed=["--beta-kl", "0.5"],
        data=True,
    ),
    "autoencoder": Case(
        args=["--data", "digits", "--n-samples", "400", "--hidden", "32", "--latent", "4", "--epochs", "4",
              "--checkpoint-every", "2"],
        diverge=["--data", "digits", "--n-samples", "400", "--hidden", "32", "--latent", "4", "--epochs", "2",
                 "--lr", "1e6"],
        setting="--lr",
        changed=["--latent", "3"],
        data=True,
    ),
    "rbm": Case(
        args=["--epochs", "4", "--n-samples", "500", "--hidden", "12", "--quality", "--sample-steps", "20"],
        diverge=["--epochs", "3", "--n-samples", "500", "--hidden", "12", "--lr", "1e6"],
        setting="--lr",
        changed=["--hidden", "8"],
        data=True,
    ),
    "words": Case(
        args=["--char-epochs", "1", "--epochs", "2", "--n-chars", "64", "--n-train", "48", "--n-eval", "16",
              "--max-length", "3", "--batch-size", "16"],
        diverge=["--char-epochs", "1", "--epochs", "1", "--n-chars", "64", "--n-train", "48", "--n-eval", "16",
                 "--max-length", "3", "--batch-size", "16", "--loss", "energy", "--lr", "1e6"],
        setting="--lr",
        changed=["--loss", "nll"],
    ),
}
