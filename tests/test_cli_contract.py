"""The command-line contract, over every ``ebmlab train`` command (tests/cli_cases.py lists them).

* a run killed by SIGKILL after its first checkpoint and resumed ends with exactly the state of an
  uninterrupted run (every tensor of the checkpoint: parameters, optimiser, generators);
* exit codes: 2 for a bad flag, a damaged data file, a foreign or truncated checkpoint, a changed
  setting on resume, a new run over an old one; 1 for a diverged training; one line, no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from cli_cases import CASES
from ebmlab.cli import main

NAMES = sorted(CASES)
QUIET = ["--no-progress", "--no-plots"]


def _run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip()


def _one_line(err):
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err


KILL_AFTER_FIRST_CHECKPOINT = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    torch.set_num_threads(1)
    from ebmlab.training import run as run_module
    save = run_module.RunDirectory.save_checkpoint
    def save_then_die(self, **kwargs):
        path = save(self, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return path
    run_module.RunDirectory.save_checkpoint = save_then_die
    from ebmlab.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("name", NAMES)
def test_killed_run_resumes_to_the_uninterrupted_state(name, tmp_path, capsys):
    case = CASES[name]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    code, _, err = _run(["train", name, *case.args, "--out", str(straight), *QUIET], capsys)
    assert code == 0, err
    done = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_FIRST_CHECKPOINT, "train", name, *case.args, "--out", str(killed), *QUIET],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        timeout=300,
    )
    assert done.returncode == -9, done.stderr
    first = json.loads(load_file_metadata(killed))["step"]
    final = json.loads(load_file_metadata(straight))["step"]
    assert 0 < first < final, "the kill must come before the end of the run"
    code, _, err = _run(["train", name, *case.args, "--out", str(killed), "--resume", *QUIET], capsys)
    assert code == 0, err
    expected = load_file(straight / "checkpoint.safetensors")
    resumed = load_file(killed / "checkpoint.safetensors")
    assert sorted(expected) == sorted(resumed)
    for key, tensor in expected.items():
        assert torch.equal(tensor, resumed[key]), f"{name}: {key} differs after resume"
    steps = [row["step"] for row in map(json.loads, (killed / "metrics.jsonl").read_text().splitlines())]
    assert steps == sorted(set(steps)), "metrics rows after the checkpoint must not be duplicated"
    assert json.loads((killed / "summary.json").read_text())["status"] == "finished"


def load_file_metadata(run):
    from safetensors import safe_open

    with safe_open(str(run / "checkpoint.safetensors"), framework="pt") as handle:
        return handle.metadata()["ebmlab"]


@pytest.mark.parametrize("name", NAMES)
def test_bad_flag_exits_2(name, capsys):
    code, _, err = _run(["train", name, "--no-such-flag"], capsys)
    assert code == 2
    _one_line(err)


@pytest.mark.parametrize("name", NAMES)
def test_divergence_exits_1_naming_the_setting(name, tmp_path, capsys):
    case = CASES[name]
    if not case.diverge:
        pytest.skip(f"{name}: no setting makes this training diverge")
    code, _, err = _run(["train", name, *case.diverge, "--out", str(tmp_path / "run"), *QUIET], capsys)
    assert code == 1, err
    _one_line(err)
    assert "diverged at" in err and case.setting in err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "diverged"


@pytest.mark.parametrize("name", NAMES)
def test_run_directory_errors_exit_2(name, tmp_path, capsys):
    case = CASES[name]
    out = str(tmp_path / "run")
    # --resume with nothing to resume
    code, _, err = _run(["train", name, *case.args, "--out", out, "--resume", *QUIET], capsys)
    assert code == 2 and "run directory" in err
    _one_line(err)
    code, _, err = _run(["train", name, *case.args, "--out", out, *QUIET], capsys)
    assert code == 0, err
    # a new run over it
    code, _, err = _run(["train", name, *case.args, "--out", out, *QUIET], capsys)
    assert code == 2 and "--overwrite" in err
    _one_line(err)
    # a changed setting on resume names the setting
    code, _, err = _run(["train", name, *case.args, *case.changed, "--out", out, "--resume", *QUIET], capsys)
    assert code == 2 and "in the run" in err, err
    _one_line(err)
    # a foreign model's checkpoint
    other = next((other for other in NAMES if other != name), None)
    if other is not None:
        code, _, err = _run(["train", other, *CASES[other].args, "--out", out, "--resume", *QUIET], capsys)
        assert code == 2 and f"holds a {name} run" in err, err
        _one_line(err)
    # a truncated checkpoint
    checkpoint = tmp_path / "run" / "checkpoint.safetensors"
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    code, _, err = _run(["train", name, *case.args, "--out", out, "--resume", *QUIET], capsys)
    assert code == 2 and "damaged" in err, err
    _one_line(err)
    # --out is a file
    code, _, err = _run(["train", name, *case.args, "--out", str(checkpoint), *QUIET], capsys)
    assert code == 2 and "found a file" in err, err


@pytest.mark.parametrize("name", [name for name in NAMES if CASES[name].data])
@pytest.mark.parametrize("content", [b"not a numpy file", "complex", "missing"])
def test_bad_data_file_exits_2(name, content, tmp_path, capsys):
    path = tmp_path / "data.npy"
    if content == "complex":
        np.save(path, np.ones((10, 2), dtype=np.complex64))
    elif content != "missing":
        path.write_bytes(content)
    case = CASES[name]
    code, _, err = _run(
        ["train", name, *case.args, "--data", str(path), "--out", str(tmp_path / "run"), *QUIET], capsys
    )
    assert code == 2, err
    _one_line(err)
    assert "data.npy" in err


def test_help_is_fast_and_imports_no_torch():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from ebmlab.cli import build_parser; build_parser();print('torch' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("name", NAMES)
def test_cli_checkpoint_default_is_the_recipes(name):
    """The CLI states each recipe's checkpoint interval again (it must not import torch for --help)."""
    from ebmlab.cli import build_parser
    from ebmlab.recipes import recipe_class

    parser = build_parser()
    args = parser.parse_args(["train", name])
    assert args.checkpoint_every == recipe_class(name).checkpoint_every
