"""The command line: help, one-line errors, the run-directory convention and using saved runs."""

import json
import subprocess
import sys

import pytest

from ebmlab.cli import main


def _code(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip()


def test_help_lists_commands_and_shows_defaults(capsys):
    code, out, _ = _code(["--help"], capsys)
    assert code == 0
    for command in ("train", "evaluate", "sample", "plot", "runs", "tour", "report"):
        assert command in out
    code, out, _ = _code(["train", "--help"], capsys)
    assert "ellipse" in out
    code, out, _ = _code(["train", "ellipse", "--help"], capsys)
    assert "(default: 0)" in out and "(default: cpu)" in out  # --seed, --device


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["train", "ellipse", "--beta", "-1"], "beta must be > 0"),
        (["train", "ellipse", "--epochs", "zero"], "expected a positive integer"),
        (["train", "no-such-model"], "invalid choice"),
        (["train", "ellipse", "--resume"], "--resume needs --out"),
        (["train", "ellipse", "--device", "cuda:99", "--out", "unused"], "device"),
        (["evaluate", "no-such-run"], "no-such-run"),
        (["runs", "no-such-folder"], "no-such-folder"),
    ],
)
def test_bad_arguments_one_line_exit_2(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = _code(argv, capsys)
    assert code == 2
    assert needle in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_train_ellipse_writes_a_run(tmp_path, capsys):
    out = tmp_path / "run"
    code, printed, err = _code(["train", "ellipse", "--epochs", "5", "--out", str(out), "--no-progress"], capsys)
    assert code == 0, err
    assert str(out) in printed and len(printed.splitlines()) == 2  # the summary line and where the run is
    for name in (
        "config.json",
        "metrics.jsonl",
        "checkpoint.safetensors",
        "summary.json",
        "manifold.png",
        "free_energy.png",
        "energy_vs_z.png",
        "training_curve.png",
    ):
        assert (out / name).stat().st_size > 0, name
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "ellipse" and config["config"]["epochs"] == 5 and config["config"]["beta"] == "inf"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2, 3, 4, 5]
    assert all({"step", "epoch", "loss", "time"} <= set(row) for row in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert (
        summary["status"] == "finished"
        and summary["step"] == 5
        and summary["command"][:3] == ["ebmlab", "train", "ellipse"]
    )
    assert set(summary["versions"]) >= {"ebmlab", "torch", "python"}
    # resuming a finished run trains nothing more and keeps the metrics
    code, _, err = _code(["train", "ellipse", "--epochs", "5", "--out", str(out), "--resume", "--no-progress"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2, 3, 4, 5]
    # a budget flag extends it; the other settings come from the run
    code, _, err = _code(
        ["train", "ellipse", "--epochs", "8", "--out", str(out), "--resume", "--no-progress", "--no-plots"], capsys
    )
    assert code == 0, err
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == list(range(1, 9))
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 8


def test_overwrite_replaces_a_run(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert _code(["train", "ellipse", "--epochs", "2", "--out", out, "--no-progress"], capsys)[0] == 0
    (tmp_path / "run" / "notes.txt").write_text("mine")
    code, _, err = _code(
        ["train", "ellipse", "--epochs", "3", "--out", out, "--no-progress", "--no-plots", "--overwrite"], capsys
    )
    assert code == 0, err
    assert not list((tmp_path / "run").glob("*.png"))  # the old run's figures are gone
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"  # files that are not the run's stay


def test_use_a_saved_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        _code(["train", "ellipse", "--epochs", "3", "--out", str(out), "--no-progress", "--no-plots"], capsys)[0] == 0
    )
    code, printed, err = _code(["evaluate", str(out)], capsys)
    assert code == 0, err
    assert printed.splitlines()[0].startswith("loss ")
    assert "loss" in json.loads((out / "summary.json").read_text())["evaluation"]
    code, printed, err = _code(["plot", str(out)], capsys)
    assert code == 0 and (out / "manifold.png").exists() and printed.count("figure:") == 4
    code, _, err = _code(["sample", str(out)], capsys)
    assert code == 2 and "not a generative model" in err
    code, printed, err = _code(["runs", str(tmp_path)], capsys)
    assert code == 0, err
    assert "ellipse" in printed and "finished" in printed and "3/3" in printed


def test_python_dash_m_works():
    done = subprocess.run([sys.executable, "-m", "ebmlab", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("ebmlab ")


def test_divergence_is_one_line_exit_1(tmp_path, capsys):
    code, _, err = _code(
        ["train", "ellipse", "--lr", "1e30", "--epochs", "3", "--out", str(tmp_path / "r"), "--no-progress"], capsys
    )
    assert code == 1
    assert "diverged at epoch 1" in err and "lower --lr (now 1e+30)" in err and len(err.splitlines()) == 1


def test_resume_rebuilds_settings_whose_defaults_depend_on_other_flags(tmp_path, capsys):
    """--conditional changes the defaults of --lr and others: a resume that names only --epochs keeps them."""
    out = str(tmp_path / "run")
    first = ["train", "ellipse", "--conditional", "--n-init", "1", "--n-samples", "102", "--epochs", "2"]
    assert _code([*first, "--out", out, "--no-progress", "--no-plots"], capsys)[0] == 0
    code, _, err = _code(
        ["train", "ellipse", "--epochs", "3", "--out", out, "--resume", "--no-progress", "--no-plots"], capsys
    )
    assert code == 0, err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (
        config["config"]["conditional"] is True and config["config"]["lr"] == 0.02 and config["config"]["epochs"] == 3
    )
    code, _, err = _code(["train", "ellipse", "--n-init", "2", "--out", out, "--resume", "--no-progress"], capsys)
    assert code == 2 and "--n-init: 1 in the run, 2 given" in err
