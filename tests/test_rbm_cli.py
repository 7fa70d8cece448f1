"""``ebmlab train rbm``: the run directory, figures, resume, one-line errors."""

from __future__ import annotations

import json

from ebmlab.cli import main


def _train(tmp_path, *extra):
    return main(
        [
            "train",
            "rbm",
            "--n-samples",
            "300",
            "--hidden",
            "12",
            "--sample-steps",
            "20",
            "--no-progress",
            "--out",
            str(tmp_path),
            *extra,
        ]
    )


def test_rbm_command_writes_the_run_and_resumes(tmp_path, capsys):
    _train(tmp_path, "--epochs", "2")
    out = capsys.readouterr().out
    assert "log Z" in out and "(exact)" in out
    for name in (
        "config.json",
        "metrics.jsonl",
        "summary.json",
        "checkpoint.json",
        "filters.png",
        "samples.png",
        "pseudo_likelihood.png",
        "reconstruction_error.png",
    ):
        assert (tmp_path / name).exists(), name
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2]
    _train(tmp_path, "--epochs", "3", "--resume")
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2, 3]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["epochs"] == 3 and summary["log_likelihood_train"] < 0


def test_gaussian_rbm_command(tmp_path):
    _train(tmp_path, "--epochs", "1", "--visible", "gaussian", "--lr", "0.01")
    assert (tmp_path / "samples.png").exists() and not (tmp_path / "pseudo_likelihood.png").exists()


def test_rbm_command_divergence_is_a_clear_error(tmp_path, capsys):
    assert _train(tmp_path, "--epochs", "1", "--visible", "gaussian", "--lr", "1e30") == 2
    err = capsys.readouterr().err
    assert "diverged" in err and "epoch 1, minibatch" in err and "learning_rate=1e+30" in err
    assert len(err.strip().splitlines()) == 1


def test_rbm_command_quality_recipe_flags(tmp_path):
    _train(tmp_path, "--epochs", "1", "--quality", "--weight-decay", "1e-4")
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["momentum"] == 0.9 and config["initial_momentum"] == 0.5
    assert config["weight_decay"] == 1e-4  # an explicit flag wins over --quality's 2e-4
    assert config["final_learning_rate"] == 0.0 and config["init_visible_bias"] == "data"
    plain = tmp_path / "plain"
    _train(plain, "--epochs", "1")
    config = json.loads((plain / "config.json").read_text())
    assert config["momentum"] == 0.0 and config["final_learning_rate"] is None and config["init_visible_bias"] == "zero"


def test_rbm_command_bfloat16_products(tmp_path, capsys):
    _train(tmp_path, "--epochs", "1", "--matmul-dtype", "bfloat16")
    assert json.loads((tmp_path / "config.json").read_text())["matmul_dtype"] == "bfloat16"
    assert _train(tmp_path / "gauss", "--epochs", "1", "--visible", "gaussian", "--matmul-dtype", "bfloat16") == 2
    assert "available for Bernoulli visible units" in capsys.readouterr().err


def test_rbm_command_bad_momentum_is_a_clear_error(tmp_path, capsys):
    assert _train(tmp_path, "--epochs", "1", "--momentum", "1.0") == 2
    assert "momentum must be a number in [0, 1), got momentum=1.0" in capsys.readouterr().err
