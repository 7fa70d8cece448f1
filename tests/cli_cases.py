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
    # kmeans case
    # sparse-coding case
    # lista case
    # conv-sparse-coding case
    # dae case
    # ebm2d case
    # collapse case
    # rbm case
}
