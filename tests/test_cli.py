"""The command line: help, one-line errors with exit code 2, and the run-directory convention."""

import json
import subprocess
import sys

import pytest

from ebmlab.cli import main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "train" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "ellipse" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["train", "ellipse", "--beta", "-1"], "beta must be > 0"),
        (["train", "ellipse", "--epochs", "zero"], "expected a positive integer"),
        (["train", "no-such-model"], "invalid choice"),
        (["train", "ellipse", "--resume"], "--resume needs --out"),
        (["train", "ellipse", "--device", "cuda:99", "--out", "unused"], "device"),
    ],
)
def test_bad_arguments_one_line_exit_2(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert needle in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_train_ellipse_writes_a_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "ellipse", "--epochs", "5", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed
    for name in (
        "config.json",
        "metrics.jsonl",
        "checkpoint.safetensors",
        "checkpoint.json",
        "manifold.png",
        "free_energy.png",
        "energy_vs_z.png",
        "training_curve.png",
    ):
        assert (out / name).stat().st_size > 0, name
    config = json.loads((out / "config.json").read_text())
    assert config["epochs"] == 5 and config["beta"] == "inf"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows if "epoch" in row] == [1, 2, 3, 4, 5]
    # resuming a finished run trains nothing more and keeps the metrics
    assert main(["train", "ellipse", "--epochs", "5", "--out", str(out), "--resume", "--no-progress"]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows if "epoch" in row] == [1, 2, 3, 4, 5]


def test_python_dash_m_works():
    done = subprocess.run([sys.executable, "-m", "ebmlab", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("ebmlab ")


def test_divergence_is_one_line_exit_1(tmp_path, capsys):
    code = main(["train", "ellipse", "--lr", "1e30", "--epochs", "3", "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert "diverged at epoch 1 with lr=1e+30" in err and len(err.splitlines()) == 1
