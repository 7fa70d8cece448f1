"""Run directories: atomic checkpoints, torn metrics lines. (Data loading is tested in test_data.py.)"""

import pytest
import torch

from ebmlab.runs import RunDirectory


def test_checkpoint_round_trip_with_optimizer(tmp_path):
    run = RunDirectory(tmp_path)
    param = torch.nn.Parameter(torch.arange(3.0))
    optimizer = torch.optim.Adam([param], lr=0.1)
    param.sum().backward()
    optimizer.step()
    run.save_checkpoint({"p": param}, step=7, config={"lr": 0.1}, extra={"note": "x"}, optimizer=optimizer)
    fresh = torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))], lr=0.5)
    checkpoint = run.load_checkpoint(fresh)
    assert checkpoint.step == 7 and checkpoint.extra == {"note": "x"} and checkpoint.config == {"lr": 0.1}
    assert torch.equal(checkpoint.tensors["p"], param.detach())
    assert fresh.param_groups[0]["lr"] == 0.1
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        RunDirectory(tmp_path).load_checkpoint()


def test_torn_metrics_line_is_skipped(tmp_path):
    run = RunDirectory(tmp_path)
    run.log_metrics({"epoch": 1})
    with open(run.file("metrics.jsonl"), "a") as handle:
        handle.write('{"epoch": 2, "lo')
    assert run.read_metrics() == [{"epoch": 1}]
