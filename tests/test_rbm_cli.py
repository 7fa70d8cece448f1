"""``ebmlab train rbm``: the run directory, figures, resume, evaluate/sample/plot, one-line errors.

The contract every command passes (exact resume after a kill, exit codes) is in test_cli_contract.py
(tests/cli_cases.py holds the rbm case); these are the RBM's own flags and outputs.
"""

from __future__ import annotations

import json

import numpy as np

from ebmlab.cli import main

SMALL = ["--n-samples", "300", "--hidden", "12", "--sample-steps", "20", "--no-progress"]


def _run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip()


def _train(out, capsys, *extra):
    return _run(["train", "rbm", *SMALL, "--out", str(out), *extra], capsys)


def _rows(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_rbm_command_writes_the_run_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    code, printed, err = _train(out, capsys, "--epochs", "2")
    assert code == 0, err
    assert "log Z" in printed and "(exact)" in printed and "pseudo-log-likelihood" in printed
    for name in (
        "config.json",
        "metrics.jsonl",
        "summary.json",
        "checkpoint.safetensors",
        "filters.png",
        "samples.png",
        "data.png",
        "pseudo_likelihood.png",
        "reconstruction_error.png",
    ):
        assert (out / name).stat().st_size > 0, name
    rows = _rows(out)
    assert [row["epoch"] for row in rows] == [1, 2]
    assert all(row["loss"] == -row["pseudo_likelihood"] and row["reconstruction_error"] > 0 for row in rows)
    code, _, err = _train(out, capsys, "--epochs", "3", "--resume")
    assert code == 0, err
    assert [row["epoch"] for row in _rows(out)] == [1, 2, 3]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["step"] == 3
    assert summary["metrics"]["log_likelihood_train"] < 0 and "log_partition" in summary["metrics"]


def test_a_saved_rbm_run_evaluates_samples_and_plots(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out, capsys, "--epochs", "2", "--no-plots")[0] == 0
    code, printed, err = _run(["evaluate", str(out)], capsys)
    assert code == 0, err
    assert {"log_partition", "log_likelihood_train", "pseudo_likelihood"} <= {
        line.split()[0] for line in printed.splitlines()
    }
    png = tmp_path / "drawn.png"
    code, _, err = _run(["sample", str(out), "-n", "9", "--out", str(png)], capsys)
    assert code == 0, err
    samples = np.load(png.with_suffix(".npy"))
    assert png.exists() and samples.shape == (9, 64) and set(np.unique(samples)) <= {0.0, 1.0}
    code, printed, err = _run(["plot", str(out)], capsys)
    assert code == 0, err
    assert printed.count("figure:") == 5 and (out / "filters.png").exists()


def test_gaussian_rbm_command(tmp_path, capsys):
    code, printed, err = _train(tmp_path, capsys, "--epochs", "1", "--visible", "gaussian", "--lr", "0.01")
    assert code == 0, err
    assert (tmp_path / "samples.png").exists() and not (tmp_path / "pseudo_likelihood.png").exists()
    row = _rows(tmp_path)[0]
    assert row["loss"] == row["reconstruction_error"] and "pseudo_likelihood" not in row


def test_rbm_command_divergence_is_a_clear_error(tmp_path, capsys):
    # Gaussian units: NaN statistics inside the epoch
    code, _, err = _train(tmp_path / "g", capsys, "--epochs", "1", "--visible", "gaussian", "--lr", "1e30")
    assert code == 1
    assert "diverged at epoch 1" in err and "minibatch" in err and "lower --lr (now 1e+30)" in err
    assert len(err.splitlines()) == 1
    # Bernoulli units stay finite but the pseudo-likelihood collapses: the loss's growth stops the run
    code, _, err = _train(tmp_path / "b", capsys, "--epochs", "3", "--lr", "1e6")
    assert code == 1
    assert "diverged at epoch 1: loss grew" in err and "lower --lr" in err and len(err.splitlines()) == 1
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["status"] == "diverged"


def test_rbm_command_quality_recipe_flags(tmp_path, capsys):
    assert _train(tmp_path / "q", capsys, "--epochs", "1", "--quality", "--weight-decay", "1e-4", "--no-plots")[0] == 0
    config = json.loads((tmp_path / "q" / "config.json").read_text())["config"]
    assert config["momentum"] == 0.9 and config["initial_momentum"] == 0.5
    assert config["weight_decay"] == 1e-4  # an explicit flag wins over --quality's 2e-4
    assert config["final_learning_rate"] == 0.0 and config["init_visible_bias"] == "data"
    assert _train(tmp_path / "plain", capsys, "--epochs", "1", "--no-plots")[0] == 0
    config = json.loads((tmp_path / "plain" / "config.json").read_text())["config"]
    assert config["momentum"] == 0.0 and config["final_learning_rate"] is None and config["init_visible_bias"] == "zero"


def test_rbm_command_bfloat16_products(tmp_path, capsys):
    assert _train(tmp_path / "b", capsys, "--epochs", "1", "--matmul-dtype", "bfloat16", "--no-plots")[0] == 0
    assert json.loads((tmp_path / "b" / "config.json").read_text())["config"]["matmul_dtype"] == "bfloat16"
    code, _, err = _train(
        tmp_path / "g", capsys, "--epochs", "1", "--visible", "gaussian", "--matmul-dtype", "bfloat16"
    )
    assert code == 2 and "available for Bernoulli visible units" in err


def test_rbm_command_bad_settings_are_clear_errors(tmp_path, capsys):
    code, _, err = _train(tmp_path / "m", capsys, "--epochs", "1", "--momentum", "1.0")
    assert code == 2 and "momentum must be a number in [0, 1), got momentum=1.0" in err
    code, _, err = _train(tmp_path / "s", capsys, "--epochs", "1", "--seed", "-1")
    assert code == 2 and "seed must be >= 0" in err
    grey = tmp_path / "grey.npy"
    np.save(grey, np.full((20, 4), 3.0))
    code, _, err = _train(tmp_path / "d", capsys, "--epochs", "1", "--data", str(grey))
    assert code == 2 and "--visible gaussian" in err and len(err.splitlines()) == 1


def test_rbm_help_shows_defaults_once(capsys):
    code, printed, _ = _run(["train", "rbm", "--help"], capsys)
    assert code == 0
    text = " ".join(printed.split())
    assert "learning rate (default: 0.05)" in text and "hidden units K (default: 64)" in text
    assert "(default: --momentum)" in text and "(default: all)" in text and "(default: digits)" in text
