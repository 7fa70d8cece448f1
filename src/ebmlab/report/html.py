"""One self-contained HTML page for a set of runs: figures embedded, no network, no server.

Per run: the model's title and the lecture's point, its energy and free energy, the interactive free
energy where the model is a 2-D one with a finite latent set, its figures, its final metrics and
the exact command that reproduces it.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shlex
import time
from importlib import resources
from pathlib import Path
from typing import Any

from ..training import RunDirectory, RunError, key_metric
from ._text import MODEL_TEXT, model_text

__all__ = ["collect_runs", "render_report", "write_report"]

_SKIPPED_METRICS = ("time",)


def collect_runs(paths: list[str | os.PathLike[str]]) -> list[Path]:
    """Run directories named by ``paths``: each is a run (holds ``config.json``) or a folder of runs.

    Example:
        >>> import tempfile
        >>> collect_runs([tempfile.mkdtemp()])
        Traceback (most recent call last):
        ...
        ebmlab.training.errors.RunError: report: no run found in ...
    """
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            found_there = "a file" if path.exists() else "nothing"
            raise RunError(f"report: expected a run directory at {path}, found {found_there}")
        if (path / "config.json").exists():
            found.append(path)
            continue
        inside = sorted((child for child in path.iterdir() if (child / "config.json").exists()), key=_lecture_order)
        if not inside:
            raise RunError(
                f"report: no run found in {path}; expected run directories (holding config.json) or a folder of them"
            )
        found.extend(inside)
    return found


def _lecture_order(run: Path) -> tuple[int, str]:
    """Runs of a folder in the lectures' order (the order of :data:`MODEL_TEXT`), then by name."""
    try:
        model = RunDirectory(run).read_config()["model"]
    except RunError:
        model = ""
    order = list(MODEL_TEXT)
    return (order.index(model) if model in order else len(order), run.name)


def _static(name: str) -> str:
    return resources.files("ebmlab.report").joinpath("static", name).read_text(encoding="utf-8")


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk ((0, 0) for anything else)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return 0, 0
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _figure(path: Path) -> str:
    data = path.read_bytes()
    width, height = _png_size(data)
    shape = "wide" if height and width / height > 1.9 else "tall" if height and width / height < 0.8 else "normal"
    encoded = base64.b64encode(data).decode("ascii")
    name = html.escape(path.stem.replace("_", " "))
    return (
        f'<figure class="{shape}"><img src="data:image/png;base64,{encoded}" alt="{name}">'
        f"<figcaption>{html.escape(path.name)}</figcaption></figure>"
    )


def _metrics_table(summary: dict[str, Any]) -> str:
    rows = []
    for key, value in (summary.get("metrics") or {}).items():
        if key in _SKIPPED_METRICS:
            continue
        shown = f"{value:.6g}" if isinstance(value, float) else html.escape(str(value))
        rows.append(f"<tr><td>{html.escape(key)}</td><td>{shown}</td></tr>")
    for key, label in (("train_time", "training time (s)"), ("wall_time", "with evaluation and figures (s)")):
        if isinstance(summary.get(key), (int, float)):
            rows.append(f"<tr><td>{label}</td><td>{summary[key]:.3g}</td></tr>")
    if not rows:
        return ""
    return '<table class="metrics"><tr><th>metric</th><th>value</th></tr>' + "".join(rows) + "</table>"


def _widget(run_id: str, data: dict[str, Any]) -> str:
    subject = "the trained ellipse" if data["kind"] == "ellipse" else "the trained K-means"
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return f"""
<div class="widget" id="widget-{run_id}" data-kind="{data['kind']}">
  <h3>Play with the free energy of {subject}</h3>
  <div class="controls">
    <span>hot</span>
    <input type="range" class="beta" min="0" max="100" step="1" value="50" aria-label="inverse temperature beta">
    <span>cold</span>
    <output class="beta-value">β = 1</output>
    <span class="hint">β from 0.01 (hot: F_β → mean energy) to ∞ (cold: F_∞ = min_z E).
      Click or drag on the map to move y.</span>
  </div>
  <div class="panels">
    <figure><canvas class="map" width="470" height="420"></canvas>
      <figcaption>F_β(y) over the plane (colour, √-scaled; white dots: Dec(z) for every z;
        grey: training data; red: y, ring: Dec(ž))</figcaption></figure>
    <figure><canvas class="energy" width="470" height="300"></canvas>
      <figcaption>E(y, z) against z for the chosen y: ž = argmin_z E marked, F_β(y) dashed,
        the Gibbs weights p_β(z | y) ∝ exp(−β E(y, z)) shaded</figcaption></figure>
  </div>
  <table class="readout">
    <tr><td>y</td><td class="y"></td></tr>
    <tr><td>β</td><td class="beta"></td></tr>
    <tr><td>ž = argmin_z E(y, z)</td><td class="zhat"></td></tr>
    <tr><td>E(y, ž) = F_∞(y)</td><td class="emin"></td></tr>
    <tr><td>F_β(y)</td><td class="f"></td></tr>
  </table>
  <script type="application/json" class="widget-data">{payload}</script>
</div>"""


def _section(path: Path, index: int, widgets: bool) -> tuple[str, str]:
    """The run's section and its row in the contents table."""
    run = RunDirectory(path)
    config = run.read_config()
    name = config["model"]
    summary = run.read_summary() or {}
    text = model_text(name)
    run_id = f"{index}-{name}"
    status = summary.get("status", "stopped" if run.has_checkpoint() else "not started")
    parts = [f'<section class="run" id="run-{run_id}">', f"<h2>{html.escape(text.title)}</h2>"]
    if text.about:
        parts.append(f"<p>{html.escape(text.about)}</p>")
    if text.energy:
        parts.append(
            '<div class="formulas">'
            f"<div><b>energy</b>{html.escape(text.energy)}</div>"
            f"<div><b>free energy</b>{html.escape(text.free_energy)}</div></div>"
        )
    status_class = "status-finished" if status == "finished" else "status-failed"
    steps = f"{summary.get('step', '?')} of {summary.get('total', '?')} {summary.get('unit', 'unit')}s"
    parts.append(f'<p>Status: <span class="{status_class}">{html.escape(status)}</span> after {steps}.')
    if summary.get("error"):
        parts.append(f" {html.escape(summary['error'])}")
    parts.append("</p>")
    if widgets and status == "finished":
        data = _widget_data(path)
        if data is not None:
            parts.append(_widget(run_id, data))
    figures = [path / figure for figure in summary.get("figures", [])] or sorted(path.glob("*.png"))
    figures = [figure for figure in figures if figure.exists()]
    if figures:
        parts.append('<div class="figures">' + "".join(_figure(figure) for figure in figures) + "</div>")
    parts.append(_metrics_table(summary))
    command = summary.get("command") or ["ebmlab", "train", name, *config.get("flags", [])]
    parts.append(f'<p>Reproduce this run:</p><pre class="command">{html.escape(shlex.join(command))}</pre>')
    parts.append(f'<p class="hint">Run directory: {html.escape(str(path))}</p></section>')
    metrics = summary.get("metrics") or {}
    shown = key_metric(metrics)
    row = (
        f'<tr><td><a href="#run-{run_id}">{html.escape(name)}</a></td>'
        f'<td class="{status_class}">{html.escape(status)}</td><td>{html.escape(shown)}</td>'
        f"<td>{summary.get('wall_time', 0):.1f} s</td></tr>"
    )
    return "\n".join(parts), row


def _widget_data(path: Path) -> dict[str, Any] | None:
    from ..recipes import load_run
    from .interactive import widget_data

    return widget_data(load_run(path, device="cpu"))


def render_report(runs: list[Path], *, title: str = "ebmlab report", subtitle: str = "", widgets: bool = True) -> str:
    """The HTML page (a string) for ``runs``; see :func:`write_report`.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from ebmlab.cli import main
        >>> out = Path(tempfile.mkdtemp()) / "km"
        >>> main(["train", "kmeans", "--n-samples", "300", "--out", str(out), "--no-progress"])  # doctest: +ELLIPSIS
        kmeans: ...
        0
        >>> page = render_report([out], title="my runs")
        >>> page.startswith("<!DOCTYPE html>"), "<title>my runs</title>" in page
        (True, True)
    """
    sections, rows = [], []
    for index, path in enumerate(runs):
        section, row = _section(path, index, widgets)
        sections.append(section)
        rows.append(row)
    contents = (
        "<nav><table><tr><th>model</th><th>status</th><th>key metric</th><th>time</th></tr>"
        + "".join(rows)
        + "</table></nav>"
    )
    from .. import __version__

    stamp = time.strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_static("report.css")}</style></head>
<body>
<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p>
<p>ebmlab {__version__} · written {stamp} · {len(runs)} runs</p></header>
<main>
{contents}
{"".join(sections)}
</main>
<script>{_static("widget.js")}</script>
</body></html>
"""


def write_report(
    runs: list[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    title: str = "ebmlab report",
    subtitle: str = "",
) -> Path:
    """Write one self-contained HTML page for ``runs`` (run directories or folders of them) to ``out``.

    Returns the page's path. The page embeds every figure and needs no network.

    Example:
        >>> import tempfile
        >>> from ebmlab.cli import main
        >>> folder = tempfile.mkdtemp()
        >>> flags = ["--n-samples", "300", "--out", folder + "/km", "--no-progress"]
        >>> main(["train", "kmeans", *flags])  # doctest: +ELLIPSIS
        kmeans: ...
        0
        >>> page = write_report([folder], folder + "/index.html")
        >>> text = page.read_text()
        >>> "K-means" in text and 'class="widget"' in text and "data:image/png;base64" in text
        True
    """
    paths = collect_runs(list(runs))
    target = Path(out)
    if target.suffix.lower() not in (".html", ".htm"):
        raise RunError(f"--out {target}: expected an .html file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    page = render_report(paths, title=title, subtitle=subtitle)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, target)
    return target
