"""The report: one self-contained HTML page over saved runs (``ebmlab report``, ``ebmlab tour``).

:func:`write_report` renders, per run, the model's energy and free energy, its figures (embedded),
metrics and the command that reproduces it; for the trained ellipse and a 2-D K-means the page adds
an interactive free energy computed in the page's JavaScript (:mod:`ebmlab.report.interactive`):

    F_β(y) = −(1/β) · log( (1/|Z|) · Σ_z exp(−β E(y, z)) ),   F_∞(y) = min_z E(y, z).
"""

from __future__ import annotations

from ._text import MODEL_TEXT, ModelText, model_text
from .html import collect_runs, render_report, write_report
from .interactive import reference_free_energy, widget_data

__all__ = [
    "MODEL_TEXT",
    "ModelText",
    "collect_runs",
    "model_text",
    "reference_free_energy",
    "render_report",
    "widget_data",
    "write_report",
]
