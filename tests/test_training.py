"""The one training loop, its state records and checkpoints (ebmlab.training)."""

from __future__ import annotations

import json
import math
import os
import signal

import numpy as np
import pytest
import torch

from ebmlab.training import (
    Diverged,
    Interrupted,
    RunDirectory,
    RunError,
    Task,
    flatten_state,
    generator_state,
    set_generator_state,
    train,
    unflatten_state,
)


class Regression(Task):
    """Least squares by SGD on a fixed random problem: the smallest task with an optimiser and a generator."""

    name, unit, setting = "regression", "epoch", "--lr"

    def __init__(self, epochs=6, lr=0.05, signal_at=None, nan_at=None, explode_at=None, tol=None):
        self.total, self.lr, self.signal_at, self.nan_at, self.tol = epochs, lr, signal_at, nan_at, tol
        self.explode_at = explode_at
        data = torch.Generator().manual_seed(0)
        self.x = torch.randn(64, 3, generator=data)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(64, generator=data)
        self.w = torch.zeros(3, requires_grad=True)
        self.optimizer = torch.optim.Adam([self.w], lr=lr)
        self.order = torch.Generator().manual_seed(1)
        self.numpy = np.random.Generator(np.random.SFC64(2))
        self.last = math.inf

    def step(self, index):
        if index == self.signal_at:
            os.kill(os.getpid(), signal.SIGTERM)
        total = torch.zeros(())
        for batch in torch.randperm(64, generator=self.order).split(16):
            noise = float(self.numpy.normal()) * 1e-3
            loss = ((self.x[batch] @ self.w - self.y[batch]) ** 2).mean() + noise
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.detach()
        if index == self.nan_at:
            with torch.no_grad():
                self.w[0] = math.nan
        if index == self.explode_at:
            with torch.no_grad():
                self.w.mul_(1e4)
            total = ((self.x @ self.w - self.y) ** 2).mean().detach() * 4
        self.last = float(total) / 4
        return {"loss": total / 4}

    def converged(self):
        return self.tol is not None and self.last < self.tol

    def state_dict(self):
        return {
            "w": self.w.detach(),
            "optimizer": self.optimizer.state_dict(),
            "order": generator_state(self.order),
            "numpy": generator_state(self.numpy),
            "last": self.last,
        }

    def load_state_dict(self, state):
        with torch.no_grad():
            self.w.copy_(state["w"])
        self.optimizer.load_state_dict(state["optimizer"])
        set_generator_state(self.order, state["order"])
        set_generator_state(self.numpy, state["numpy"])
        self.last = state["last"]


def _run(tmp_path, name="run"):
    return RunDirectory.create(tmp_path / name, model="regression", config={"epochs": 6})


def test_state_round_trip_keeps_types_and_int_keys():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.ones(2))])
    optimizer.param_groups[0]["params"][0].grad = torch.ones(2)
    optimizer.step()
    state = {
        "optimizer": optimizer.state_dict(),
        "pair": (1, "a"),
        "none": None,
        "inf": math.inf,
        "numpy": generator_state(np.random.default_rng(3)),
        "nested": [{"t": torch.arange(3)}],
    }
    tensors, skeleton = flatten_state(state)
    back = unflatten_state(tensors, skeleton)
    assert list(back["optimizer"]["state"]) == [0]  # an int key, as torch's optimisers need
    assert torch.equal(back["optimizer"]["state"][0]["exp_avg"], state["optimizer"]["state"][0]["exp_avg"])
    assert back["pair"] == (1, "a") and back["none"] is None and back["inf"] == math.inf
    assert torch.equal(back["nested"][0]["t"], torch.arange(3))
    with pytest.raises(TypeError, match="state entry 'bad'"):
        flatten_state({"bad": object()})


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.SFC64, np.random.MT19937])
def test_numpy_generator_state_survives_a_checkpoint(bit_generator, tmp_path):
    rng = np.random.Generator(bit_generator(5))
    rng.random(7)
    run = _run(tmp_path)
    run.save_checkpoint(model="regression", step=1, time=0.0, config={}, state={"g": generator_state(rng)})
    expected = rng.random(4)
    other = np.random.Generator(bit_generator(0))
    set_generator_state(other, run.load_checkpoint().state["g"])
    assert np.array_equal(other.random(4), expected)


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path):
    straight = Regression()
    train(straight, run=_run(tmp_path, "a"), progress=False)
    run = _run(tmp_path, "b")
    with pytest.raises(Interrupted) as stopped:
        train(Regression(signal_at=3), run=run, checkpoint_every=100, progress=False)  # SIGTERM during epoch 4
    assert stopped.value.step == 4 and run.load_checkpoint().step == 4
    resumed = Regression()
    result = train(resumed, run=run, resume_from=run.load_checkpoint(), progress=False)
    assert result.start == 4 and result.step == 6
    assert torch.equal(resumed.w, straight.w)
    assert [row["step"] for row in run.read_metrics()] == [1, 2, 3, 4, 5, 6]


def test_metrics_schema_and_log_interval(tmp_path):
    run = _run(tmp_path)
    train(Regression(epochs=6), run=run, log_every=4, progress=False)
    rows = run.read_metrics()
    assert [row["step"] for row in rows] == [4, 6]  # every 4 units and the last
    assert list(rows[0])[:4] == ["step", "epoch", "loss", "time"] and rows[0]["epoch"] == 4


def test_divergence_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    run = _run(tmp_path)
    with pytest.raises(Diverged, match=r"diverged at epoch 3: .*lower --lr") as diverged:
        train(Regression(nan_at=2), run=run, progress=False)
    assert diverged.value.step == 3 and diverged.value.setting == "--lr"
    assert run.load_checkpoint().step == 2  # the diverged state was never saved
    with pytest.raises(Diverged, match="diverged at epoch 2: loss grew from"):
        train(Regression(explode_at=1), progress=False)


def test_converged_task_stops_early_and_resumes_to_nothing(tmp_path):
    run = _run(tmp_path)
    result = train(Regression(epochs=50, lr=0.3, tol=0.05), run=run, progress=False)
    assert result.step < 50 and run.load_checkpoint().step == result.step
    again = train(Regression(epochs=50, lr=0.3, tol=0.05), run=run, resume_from=run.load_checkpoint(), progress=False)
    assert again.step == result.step


def test_checkpoint_is_atomic_and_damage_is_named(tmp_path, monkeypatch):
    run = _run(tmp_path)
    run.save_checkpoint(model="regression", step=1, time=0.0, config={}, state={"w": torch.ones(2)})
    from ebmlab.training import run as run_module

    def broken(tensors, path, metadata=None):
        open(path, "wb").write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(run_module, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        run.save_checkpoint(model="regression", step=2, time=0.0, config={}, state={"w": torch.zeros(2)})
    assert run.load_checkpoint().step == 1  # the old checkpoint is intact
    assert [p.name for p in run.path.iterdir() if p.name.startswith(".")] == []  # no temporary left
    path = run.file("checkpoint.safetensors")
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(RunError, match="checkpoint.safetensors is damaged"):
        run.load_checkpoint()


def test_new_run_refuses_an_occupied_directory(tmp_path):
    _run(tmp_path)
    with pytest.raises(RunError, match="found a regression run; pass --resume"):
        _run(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunError, match="found a file"):
        RunDirectory.create(tmp_path / "file", model="regression", config={})
    with pytest.raises(RunError, match="is a file"):
        RunDirectory.create(tmp_path / "file" / "sub", model="regression", config={})


def test_optimizer_state_round_trip_through_a_checkpoint(tmp_path):
    param = torch.nn.Parameter(torch.arange(3.0))
    optimizer = torch.optim.Adam([param], lr=0.1)
    param.sum().backward()
    optimizer.step()
    run = _run(tmp_path)
    run.save_checkpoint(model="regression", step=7, time=1.5, config={"lr": 0.1}, state={"opt": optimizer.state_dict()})
    fresh = torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))], lr=0.5)
    checkpoint = run.load_checkpoint()
    fresh.load_state_dict(checkpoint.state["opt"])
    assert checkpoint.step == 7 and checkpoint.time == 1.5 and checkpoint.config == {"lr": 0.1}
    assert fresh.param_groups[0]["lr"] == 0.1
    assert torch.equal(fresh.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])


def test_missing_checkpoint_and_torn_metrics(tmp_path):
    run = _run(tmp_path)
    with pytest.raises(RunError, match="no checkpoint in"):
        run.load_checkpoint()
    run.log_metrics({"step": 1})
    with open(run.file("metrics.jsonl"), "a") as handle:
        handle.write('{"step": 2, "lo')  # a line torn by a kill
    assert run.read_metrics() == [{"step": 1}]


def test_tensorboard_scalars_match_metrics_jsonl(tmp_path, monkeypatch):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install '.[tensorboard]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from ebmlab.cli import main

    monkeypatch.setenv("EBMLAB_TENSORBOARD", "1")
    out = tmp_path / "run"
    flags = ["--epochs", "4", "--checkpoint-every", "2", "--out", str(out), "--no-progress", "--no-plots"]
    assert main(["train", "ellipse", *flags]) == 0
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    logged = [(event.step, event.value) for event in events.Scalars("loss")]
    assert logged == [(row["step"], pytest.approx(row["loss"], rel=1e-6)) for row in rows]
    assert {"loss", "w1", "w2"} <= set(events.Tags()["scalars"])
    monkeypatch.setenv("EBMLAB_TENSORBOARD", "0")
    assert main(["train", "ellipse", *flags, "--overwrite"]) == 0
    assert not (out / "tensorboard").exists()  # --overwrite removed the old events; none written now
