"""Training on two processes (torchrun, gloo on the CPU) against one process (ebmlab.training.distributed).

One torchrun launch runs this file as a script on two processes (:func:`_two_processes`): the
``ebmlab train`` command line (a DAE run, its ``--resume``, a K-means run and the refusals), the
distributed K-means solver, and the loop's agreement on interrupts and divergence. Each rank
writes what it saw to ``rank{r}.json``; the tests compare the runs with the same training on one
process, here.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ebmlab.data.toys import lecture_demo_data
from ebmlab.models.kmeans import KMeansSolver
from ebmlab.recipes import load_run
from ebmlab.recipes.dae import DAEConfig, DAERecipe
from ebmlab.recipes.kmeans import KMeansConfig, KMeansRecipe
from ebmlab.training import Diverged, Interrupted, Task, distributed, train

# 97 points in batches of 32: the last batch holds one point, which rank 1 takes (rank 0's share is empty)
DAE_FLAGS = ["--n-samples", "97", "--batch-size", "32", "--hidden", "16", "--no-progress", "--no-plots"]
KMEANS_FLAGS = ["--n-samples", "400", "--k", "8", "--n-init", "2", "--no-progress", "--no-plots"]
SOLVER_ROWS = 61  # odd: the two processes hold 30 and 31 rows


def _dae_config(epochs: int) -> DAEConfig:
    return DAEConfig(data="moons", n_samples=97, batch_size=32, hidden=16, epochs=epochs)


def _solver_settings() -> list[dict]:
    """Solver runs compared with one process: an empty cluster re-seeded, soft k-means, k-means++ restarts."""
    y = lecture_demo_data(SOLVER_ROWS)
    far = torch.tensor([[0.0, 0.0], [3.0, 0.5], [1.0, 3.0], [100.0, 100.0]])  # the last one starts empty
    return [
        {"y": y, "n_clusters": 4, "init": far, "algorithm": "lloyd", "tol": 0.0},
        {"y": y, "n_clusters": 3, "init": far[:3], "beta": 2.0},
        {"y": y, "n_clusters": 5, "n_init": 2, "random_state": 0},
    ]


class _Agreeing(Task):
    """Ten units of nothing; rank 1 alone asks to stop (SIGINT) or logs a NaN loss at unit ``at``."""

    name, unit, setting = "agreeing", "step", "--lr"

    def __init__(self, what: str, at: int) -> None:
        self.what, self.at, self.total, self.w = what, at, 10, torch.zeros(1)

    def step(self, index: int) -> dict[str, float]:
        nan = distributed.rank() == 1 and index == self.at
        if nan and self.what == "signal":
            os.kill(os.getpid(), signal.SIGINT)
        return {"loss": math.nan if nan and self.what == "nan" else 1.0}

    def state_dict(self) -> dict:
        return {"w": self.w}

    def load_state_dict(self, state: dict) -> None:
        self.w = state["w"]


def _two_processes(out: Path) -> None:
    """What each of the two processes runs (under torchrun); ``rank{r}.json`` records what it saw."""
    from ebmlab.cli import main

    torch.set_num_threads(1)
    seen: dict = {}
    with distributed.process_group("cpu") as size:
        seen["world_size"], rank = size, distributed.rank()
        recipe, shares = DAERecipe(_dae_config(1)), []
        recipe.net.register_forward_hook(lambda module, inputs, output: shares.append(len(inputs[0])))
        recipe.step(0)
        seen["shares"] = shares  # the points of each batch this rank trained on
        seen["dae2"] = main(["train", "dae", "--epochs", "2", "--out", str(out / "dae2"), *DAE_FLAGS])
        seen["occupied"] = main(["train", "dae", "--epochs", "2", "--out", str(out / "dae2"), *DAE_FLAGS])
        if distributed.is_main():
            shutil.copytree(out / "dae2", out / "dae3")
        distributed.barrier()
        seen["dae3"] = main(["train", "dae", "--epochs", "3", "--resume", "--out", str(out / "dae3"), *DAE_FLAGS])
        seen["kmeans"] = main(["train", "kmeans", "--out", str(out / "kmeans"), *KMEANS_FLAGS])
        seen["ellipse"] = main(["train", "ellipse", "--epochs", "1", "--out", str(out / "ellipse")])
        seen["odd_batch"] = main(["train", "dae", "--batch-size", "33", "--out", str(out / "odd"), *DAE_FLAGS[:2]])
        solved = []
        for settings in _solver_settings():
            result = KMeansSolver(**settings, track_inertia=True, distributed=True).run()
            solved.append([result.centers, result.labels, result.inertia_history])
        resumed = KMeansSolver(**_solver_settings()[0], distributed=True)
        for _ in range(2):
            resumed.step()
        state = resumed.state_dict()
        seen["state_labels"] = list(state["iteration"]["labels"].shape)
        again = KMeansSolver(**_solver_settings()[0], distributed=True)
        again.load_state_dict(state)
        result = again.run()
        solved.append([result.centers, result.labels, ()])
        torch.save(solved, out / f"solver{rank}.pt")
        for what in ("signal", "nan"):
            try:
                train(_Agreeing(what, at=3), progress=False)
                seen[what] = "finished"
            except (Interrupted, Diverged) as exc:
                seen[what] = [type(exc).__name__, exc.step]
    (out / f"rank{rank}.json").write_text(json.dumps(seen))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict], str]:
    """The two-process half, run once by torchrun: (its folder, each rank's record, its output)."""
    out = tmp_path_factory.mktemp("two")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(_free_port()),
        __file__,
        str(out),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    if done.returncode != 0:
        pytest.fail(f"torchrun exited with {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
    records = [json.loads((out / f"rank{rank}.json").read_text()) for rank in range(2)]
    return out, records, done.stdout


def _trained_dae(epochs: int) -> DAERecipe:
    recipe = DAERecipe(_dae_config(epochs))
    train(recipe, progress=False)
    return recipe


@pytest.mark.parametrize("epochs", [2, 3])
def test_two_processes_take_the_steps_of_one(launched, epochs):
    """DDP on two processes, each on half of every batch (its noise sliced from the whole batch's),
    ends at one process's parameters; the 3-epoch run was resumed on two processes from the 2-epoch one."""
    out, records, _ = launched
    assert [record[f"dae{epochs}"] for record in records] == [0, 0]
    two = load_run(out / f"dae{epochs}")
    one = _trained_dae(epochs)
    assert two.step == epochs
    for name, value in one.net.state_dict().items():
        torch.testing.assert_close(two.model.state_dict()[name], value, atol=1e-5, rtol=0)
    rows = (out / f"dae{epochs}" / "metrics.jsonl").read_text().splitlines()
    logged = [json.loads(row)["loss"] for row in rows]
    assert logged == pytest.approx([float(loss) for loss in one.losses], rel=1e-5)


def test_each_process_trains_on_its_share_of_every_batch(launched):
    _, records, _ = launched
    assert [record["shares"] for record in records] == [[16, 16, 16, 0], [16, 16, 16, 1]]


def test_distributed_kmeans_gives_one_process_centroids_and_labels(launched):
    out, records, _ = launched
    assert [record["kmeans"] for record in records] == [0, 0]
    two = load_run(out / "kmeans").recipe.fit()
    recipe = KMeansRecipe(KMeansConfig(n_samples=400, k=8, n_init=2))
    train(recipe, progress=False)
    one = recipe.fit()
    torch.testing.assert_close(two.energy.centroids, one.energy.centroids, atol=1e-5, rtol=1e-5)
    assert torch.equal(two.labels, one.labels)
    assert two.inertia_history == pytest.approx(one.inertia_history, rel=1e-6)


def test_distributed_solver_relocates_anneals_restarts_and_resumes_like_one_process(launched):
    out, records, _ = launched
    assert [record["state_labels"] for record in records] == [[SOLVER_ROWS], [SOLVER_ROWS]]
    ranks = [torch.load(out / f"solver{rank}.pt") for rank in range(2)]
    settings = _solver_settings()
    expected = [KMeansSolver(**each, track_inertia=True).run() for each in settings]
    expected.append(KMeansSolver(**settings[0]).run())
    for solved in ranks:
        for (centers, labels, history), one in zip(solved, expected, strict=True):
            torch.testing.assert_close(centers, one.centers, atol=1e-5, rtol=1e-5)
            assert torch.equal(labels, one.labels)
            assert tuple(history) == pytest.approx(one.inertia_history if history else (), rel=1e-6)


def test_runs_record_two_processes_and_only_rank_0_writes(launched):
    out, records, stdout = launched
    assert [record["world_size"] for record in records] == [2, 2]
    for name in ("dae2", "dae3", "kmeans"):
        run = out / name
        assert json.loads((run / "config.json").read_text())["world_size"] == 2
        summary = json.loads((run / "summary.json").read_text())
        assert summary["world_size"] == 2 and summary["status"] == "finished"
        assert sorted(entry.name for entry in run.iterdir()) == [
            "checkpoint.safetensors",
            "config.json",
            "metrics.jsonl",
            "summary.json",
        ]
    steps = [json.loads(line)["step"] for line in (out / "dae3" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]  # one writer: no row twice
    assert stdout.count("run saved in") == 3  # dae2, dae3, kmeans: printed by rank 0 alone
    assert sorted(path.name for path in out.iterdir() if path.is_file()) == [
        "rank0.json",
        "rank1.json",
        "solver0.pt",
        "solver1.pt",
    ]


def test_every_rank_fails_alike_on_bad_input(launched):
    """A directory rank 0 refuses, a model that trains on one process, a batch the processes cannot
    share: exit code 2 on both ranks (none waits for the other)."""
    _, records, _ = launched
    for key in ("occupied", "ellipse", "odd_batch"):
        assert [record[key] for record in records] == [2, 2], key


@pytest.mark.parametrize(("what", "expected"), [("signal", ["Interrupted", 4]), ("nan", ["Diverged", 4])])
def test_ranks_stop_after_the_same_unit(launched, what, expected):
    """Rank 1 alone is interrupted, or logs a NaN, at unit 4: both ranks stop there."""
    _, records, _ = launched
    assert [record[what] for record in records] == [expected, expected]


def test_one_process_helpers_are_identities():
    assert distributed.world_size() == 1 and distributed.rank() == 0 and distributed.is_main()
    assert distributed.shard(10) == slice(0, 10)
    values = torch.tensor([1.0, 2.0, 4.0])
    assert distributed.all_reduce(values.clone(), "sum").tolist() == [1.0, 2.0, 4.0]
    assert distributed.gather_rows(values, [3]) is values
    assert distributed.any_rank(False, True) == (False, True)
    net = torch.nn.Linear(2, 1)
    assert distributed.data_parallel(net) is net
    with distributed.process_group("cpu") as size:
        assert size == 1


def test_launch_reads_torchrun_variables_and_names_bad_ones():
    assert distributed.launch({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}) == distributed.Launch(3, 4, 1)
    assert distributed.launch({}) is None
    with pytest.raises(ValueError, match="RANK=4, WORLD_SIZE=4"):
        distributed.launch({"WORLD_SIZE": "4", "RANK": "4"})
    with pytest.raises(ValueError, match="must be integers"):
        distributed.launch({"WORLD_SIZE": "two"})


if __name__ == "__main__":  # one of the two processes of the ``launched`` fixture
    _two_processes(Path(sys.argv[1]))
