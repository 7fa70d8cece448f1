"""The tour and its report: the page's content, the interactive free energy against ebmlab.free_energy,
and the page in a real browser (Chromium, driven headless by Playwright)."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest
import torch

import ebmlab
from ebmlab.cli import main
from ebmlab.recipes import load_run
from ebmlab.report import collect_runs, reference_free_energy, widget_data, write_report

TOUR_MODELS = ("ellipse", "kmeans")


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tour") / "tour"
    code = main(["tour", "--quick", "--only", ",".join(TOUR_MODELS), "--out", str(out), "--no-progress"])
    assert code == 0
    return out


def _model_free_energy(run: Path, y: tuple[float, float], beta: float) -> float:
    """F_β(y) of the saved run's own model object, in float64, through ebmlab.free_energy."""
    model = load_run(run, device="cpu").model.double()
    point = torch.tensor([list(y)], dtype=torch.float64)
    if hasattr(model, "w"):  # the ellipse: its latent grid in float64
        z_values = model.latent.values(dtype=torch.float64)  # (K, 1)
    else:  # K-means: the one-hot codes
        z_values = torch.eye(model.centroids.shape[0], dtype=torch.float64)
    with torch.no_grad():
        return float(ebmlab.free_energy(model.pairwise(point, z_values), beta))


# ---------------------------------------------------------------------------------------------- the page


def test_tour_writes_one_run_per_model_and_a_self_contained_page(tour: Path, capsys: pytest.CaptureFixture) -> None:
    page = (tour / "index.html").read_text()
    for model in TOUR_MODELS:
        summary = json.loads((tour / model / "summary.json").read_text())
        assert summary["status"] == "finished"
        assert 'id="run-' in page and summary["command"][:3] == ["ebmlab", "train", model]
        assert " ".join(summary["command"][1:3]) in page  # the command that reproduces the run
        for figure in summary["figures"]:
            assert figure in page
    assert page.count("data:image/png;base64,") == sum(
        len(json.loads((tour / m / "summary.json").read_text())["figures"]) for m in TOUR_MODELS
    )
    assert "F_β(y) = −(1/β) log" in page  # the formulas
    assert not re.search(r"""(src|href)=["']https?://""", page)  # nothing from the network
    assert page.count('class="widget"') == 2


def test_widget_parameters_are_the_trained_ones(tour: Path) -> None:
    ellipse = widget_data(load_run(tour / "ellipse"))
    assert ellipse["w"] == load_run(tour / "ellipse").model.w.detach().double().tolist()
    kmeans = widget_data(load_run(tour / "kmeans"))
    assert torch.equal(torch.tensor(kmeans["centroids"], dtype=torch.float64),
                       load_run(tour / "kmeans").model.centroids.double())


@pytest.mark.parametrize("beta", [0.01, 0.3, 1.0, 7.0, math.inf])
@pytest.mark.parametrize("model", TOUR_MODELS)
def test_reference_free_energy_is_the_models(tour: Path, model: str, beta: float) -> None:
    data = widget_data(load_run(tour / model))
    for y in [(0.3, -0.2), tuple(data["y0"]), (1.7, 1.1)]:
        expected = _model_free_energy(tour / model, y, beta)
        assert reference_free_energy(data, y, beta) == pytest.approx(expected, rel=1e-12)


def test_reference_free_energy_limits() -> None:
    data = {"kind": "kmeans", "centroids": [[0.0, 0.0], [3.0, 0.0], [0.0, 5.0]]}
    energies = [1.0 + 0.0, 4.0 + 0.0, 1.0 + 25.0]  # y = (1, 0)
    assert reference_free_energy(data, (1.0, 0.0), math.inf) == 1.0
    assert reference_free_energy(data, (1.0, 0.0), 1e-9) == pytest.approx(sum(energies) / 3, rel=1e-6)
    brute = -math.log(sum(math.exp(-2.0 * e) for e in energies) / 3) / 2.0
    assert reference_free_energy(data, (1.0, 0.0), 2.0) == pytest.approx(brute, rel=1e-12)


def test_no_widget_for_models_outside_the_plane(tmp_path: Path) -> None:
    out = tmp_path / "km"
    assert main(["train", "kmeans", "--data", "digits", "--k", "4", "--max-iter", "3", "--out", str(out),
                 "--no-progress", "--no-plots"]) == 0
    assert widget_data(load_run(out)) is None
    page = write_report([out], tmp_path / "page.html").read_text()
    assert 'class="widget"' not in page and "K-means" in page


def test_report_command(tour: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", str(tour / "kmeans"), "--out", str(tmp_path / "one.html")]) == 0
    assert "report:" in capsys.readouterr().out
    assert (tmp_path / "one.html").read_text().count("<section") == 1
    assert collect_runs([tour]) == [tour / "ellipse", tour / "kmeans"]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["report", "/nonexistent/run"], "expected a run directory at /nonexistent/run, found nothing"),
        (["report", "."], "no run found in ."),
        (["tour", "--only", "ellipse,nothing"], "--only: nothing not in the tour"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, expected, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_tour_refuses_a_folder_with_files(tour: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["tour", "--quick", "--only", "ellipse", "--out", str(tour)]) == 2
    assert "or --overwrite to replace it" in capsys.readouterr().err


def test_tour_resume_keeps_finished_models(tour: Path, capsys: pytest.CaptureFixture) -> None:
    stamps = {model: (tour / model / "checkpoint.safetensors").stat().st_mtime_ns for model in TOUR_MODELS}
    argv = ["tour", "--quick", "--only", ",".join(TOUR_MODELS), "--out", str(tour), "--resume", "--no-progress"]
    assert main(argv) == 0
    assert "2 of 2 models trained" in capsys.readouterr().out
    assert stamps == {model: (tour / model / "checkpoint.safetensors").stat().st_mtime_ns for model in TOUR_MODELS}


def test_report_out_must_be_html(tour: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", str(tour), "--out", str(tmp_path / "page.txt")]) == 2
    assert "expected an .html file name" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- the browser


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api", reason="no Playwright (pip install '.[test]')")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)")
    with playwright.sync_playwright() as driver:
        instance = driver.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield instance
        instance.close()


def _displayed(page, widget: str) -> tuple[tuple[float, float], float, float]:
    """The widget's y, β and F_β(y) as the page shows them (full precision in data-value)."""
    values = page.evaluate(
        """id => { const r = document.getElementById(id);
                  const v = c => r.querySelector('.readout .' + c).dataset.value;
                  return [v('y'), v('beta'), v('f')]; }""",
        widget,
    )
    y = tuple(float(v) for v in values[0].split(","))
    beta = math.inf if values[1] == "Infinity" else float(values[1])
    return y, beta, float(values[2])


def test_report_in_chromium(tour: Path, browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto((tour / "index.html").resolve().as_uri())
    page.wait_for_load_state("load")
    decoded = page.evaluate(
        "Promise.all(Array.from(document.images).map(i => i.decode().then(() => i.naturalWidth > 0)))"
    )
    assert decoded and all(decoded)
    widgets = page.evaluate("Object.keys(window.ebmlabWidgets)")
    assert sorted(widgets) == ["widget-0-ellipse", "widget-1-kmeans"]
    for widget, model in zip(sorted(widgets), TOUR_MODELS, strict=True):
        run = tour / model
        root = page.locator(f"#{widget}")
        canvas = root.locator("canvas.map")
        before = canvas.evaluate("c => c.toDataURL()")
        slider = root.locator("input.beta")
        slider.focus()
        for keys in (["Home"], ["End"], ["Home"] + ["ArrowRight"] * 30, ["End"] + ["ArrowLeft"] * 8):
            for key in keys:
                page.keyboard.press(key)
            y, beta, shown = _displayed(page, widget)
            position = int(slider.input_value())
            expected_beta = math.inf if position == 100 else 10 ** (-2 + 4 * position / 100)
            assert beta == pytest.approx(expected_beta, rel=1e-12)
            assert shown == pytest.approx(_model_free_energy(run, y, beta), rel=1e-6)
        after = canvas.evaluate("c => c.toDataURL()")
        assert after != before  # the drawn F_β follows the slider
        box = canvas.bounding_box()
        for fx, fy in ((0.3, 0.4), (0.6, 0.7)):  # click, then drag, on the map: y moves, F_β(y) follows
            page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
            page.mouse.down()
            page.mouse.move(box["x"] + (fx + 0.05) * box["width"], box["y"] + fy * box["height"], steps=3)
            page.mouse.up()
            y, beta, shown = _displayed(page, widget)
            assert shown == pytest.approx(_model_free_energy(run, y, beta), rel=1e-6)
        assert y != tuple(widget_data(load_run(run))["y0"])
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert problems == []
    page.close()
