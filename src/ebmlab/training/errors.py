"""The failures the training layer names, each mapped to one exit code by the command line.

* :class:`Diverged` (exit 1): non-finite or exploding loss, parameters or chain states; the message
  names the step and the setting to lower.
* :class:`RunError` (exit 2): a run directory or checkpoint that cannot be used as asked (a new run
  over another run, ``--resume`` with no checkpoint, a damaged or foreign checkpoint, changed settings).
* :class:`Interrupted` (exit 130): SIGINT/SIGTERM, raised after the checkpoint was saved.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["Diverged", "Interrupted", "RunError"]


class Diverged(FloatingPointError):
    """A training that diverged at ``step``; ``setting`` is what to lower (e.g. ``"--lr"``).

    Example:
        >>> error = Diverged("loss is NaN at step 3; lower --lr", step=3, setting="--lr")
        >>> isinstance(error, FloatingPointError), error.step, error.setting
        (True, 3, '--lr')
    """

    def __init__(self, message: str, *, step: int, setting: str) -> None:
        super().__init__(message)
        self.step = step
        self.setting = setting


class RunError(ValueError):
    """A run directory or checkpoint that cannot be used as asked (bad input: exit code 2).

    Example:
        >>> import tempfile
        >>> from ebmlab.training import RunDirectory
        >>> try:
        ...     RunDirectory(tempfile.mkdtemp()).load_checkpoint()
        ... except RunError as error:
        ...     print(isinstance(error, ValueError))
        True
    """


class Interrupted(KeyboardInterrupt):
    """Training stopped by a signal at ``step``; ``checkpoint`` is where its state was saved (or None).

    Example:
        >>> error = Interrupted(7, None)
        >>> isinstance(error, KeyboardInterrupt), error.step, error.checkpoint
        (True, 7, None)
    """

    def __init__(self, step: int, checkpoint: Path | None) -> None:
        super().__init__(step)
        self.step = step
        self.checkpoint = checkpoint
