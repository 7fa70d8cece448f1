"""Run directories (atomic checkpoints) and data loading (IDX format, named sets)."""

import gzip
import struct

import numpy as np
import pytest
import torch

from ebmlab.datasets import load_data, load_idx, load_mnist
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


def _write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def test_idx_reader_and_mnist_layout(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28))
    labels = np.arange(5)
    (tmp_path / "mnist").mkdir()
    _write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", labels)
    np.testing.assert_array_equal(load_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"), images)
    got_images, got_labels = load_mnist("test", root=tmp_path)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_mnist("train", root=tmp_path)
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as handle:
        handle.write(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        load_idx(bad)


def test_load_data_named_and_files(tmp_path):
    digits = load_data("digits")
    assert digits.data.shape == (1797, 64) and digits.data.max() <= 1.0 and digits.image_shape == (8, 8)
    blobs = load_data("blobs", n_samples=300, seed=1)
    assert blobs.data.shape == (300, 2) and blobs.data.dtype == np.float32
    array = np.random.default_rng(0).normal(size=(10, 3))
    np.save(tmp_path / "a.npy", array)
    np.savetxt(tmp_path / "a.csv", array, delimiter=",")
    np.testing.assert_allclose(load_data(str(tmp_path / "a.npy")).data, array, rtol=1e-6)
    np.testing.assert_allclose(load_data(str(tmp_path / "a.csv")).data, array, rtol=1e-6)
    with pytest.raises(ValueError, match="data must be one of"):
        load_data("imagenet")
    np.save(tmp_path / "nan.npy", np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="NaN"):
        load_data(str(tmp_path / "nan.npy"))


def test_real_mnist_if_present():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (root / "mnist" / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("the shared MNIST files are not beside this checkout")
    images, labels = load_mnist("test", root=root)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,) and labels.max() == 9
