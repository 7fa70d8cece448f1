"""Learning-rate schedules in closed form: the rate at a step is a function of the step alone, so a
resumed run continues the schedule exactly where the checkpoint left it."""

from __future__ import annotations

import math

__all__ = ["cosine_decay"]


def cosine_decay(base: float, step: int | float, steps: int | float) -> float:
    """Cosine decay from ``base`` at step 0 to 0 at ``steps``:

    .. math:: \\eta_t = \\eta_0 \\cdot \\tfrac12 \\big(1 + \\cos(\\pi t / T)\\big)

    Example:
        >>> cosine_decay(0.1, 0, 10), round(cosine_decay(0.1, 5, 10), 12), cosine_decay(0.1, 10, 10)
        (0.1, 0.05, 0.0)
    """
    return base * 0.5 * (1.0 + math.cos(math.pi * step / steps))
