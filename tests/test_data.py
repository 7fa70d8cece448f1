"""ebmlab.data: IDX reading, damaged files, the md5-checked download (local server), load_data, the data root."""

import functools
import gzip
import hashlib
import http.server
import os
import re
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

import ebmlab.data.arrays as arrays_module
import ebmlab.data.mnist as mnist_module
from ebmlab.data import DataFileError, data_home, load_data, load_idx, load_mnist

SRC = Path(__file__).resolve().parents[1] / "src" / "ebmlab"
IMAGES, LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"


def _idx_bytes(array, type_code=0x08):
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def _write_idx(path, array, *, compress=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = _idx_bytes(np.asarray(array, dtype=np.uint8))
    path.write_bytes(gzip.compress(raw, mtime=0) if compress else raw)
    return path


def _fake_mnist(folder, n=4, seed=0):
    """A small MNIST-style test split in ``folder``: returns (images (n, 28, 28), labels (n,))."""
    images = np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    _write_idx(folder / IMAGES, images)
    _write_idx(folder / LABELS, labels)
    return images, labels


# ------------------------------------------------------------------------------------ IDX reader


def test_idx_reader_and_mnist_layout(tmp_path):
    images, labels = _fake_mnist(tmp_path / "mnist", n=5)
    np.testing.assert_array_equal(load_idx(tmp_path / "mnist" / IMAGES), images)
    got_images, got_labels = load_mnist("test", root=tmp_path)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    # files directly in the root are found too
    flat_images, _ = _fake_mnist(tmp_path / "flat", n=3, seed=1)
    np.testing.assert_array_equal(load_mnist("test", root=tmp_path / "flat")[0], flat_images)


def test_idx_reader_uncompressed_and_big_endian(tmp_path):
    plain = _write_idx(tmp_path / "plain-idx2-ubyte", np.arange(6).reshape(2, 3), compress=False)
    np.testing.assert_array_equal(load_idx(plain), np.arange(6).reshape(2, 3))
    values = np.array([-2, 70000, 3], dtype=">i4")
    path = tmp_path / "ints-idx1.gz"
    path.write_bytes(gzip.compress(_idx_bytes(values, type_code=0x0C)))
    np.testing.assert_array_equal(load_idx(path), [-2, 70000, 3])


def test_load_idx_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "absent.gz")


def _good_idx_gz():
    array = np.random.default_rng(0).integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    return gzip.compress(_idx_bytes(array), mtime=0)


def _truncated(_):
    data = _good_idx_gz()
    return data[: len(data) // 2]


def _flipped_body(_):
    data = bytearray(_good_idx_gz())
    data[len(data) // 2] ^= 0xFF  # the middle of the deflate stream, between header and trailer
    return bytes(data)


def _bad_crc(_):
    data = bytearray(_good_idx_gz())
    data[-8] ^= 0xFF  # the CRC32 of the 8-byte gzip trailer
    return bytes(data)


def _bad_length(_):
    data = bytearray(_good_idx_gz())
    data[-4] ^= 0x01  # ISIZE of the trailer
    return bytes(data)


def _not_gzip(_):
    return b"this is not a gzip file at all, just some text\n" * 20


def _wrong_magic(_):
    return gzip.compress(b"\x01\x02\x03\x04" + bytes(100))


def _unknown_type(_):
    return gzip.compress(struct.pack(">BBBBI", 0, 0, 0x42, 1, 3) + bytes(3))


def _too_few_values(_):
    header = struct.pack(">BBBB3I", 0, 0, 0x08, 3, 5, 28, 28)
    return gzip.compress(header + bytes(4 * 28 * 28))


def _too_many_values(_):
    header = struct.pack(">BBBB3I", 0, 0, 0x08, 3, 5, 28, 28)
    return gzip.compress(header + bytes(5 * 28 * 28 + 1))


def _truncated_header(_):
    return gzip.compress(struct.pack(">BBBBI", 0, 0, 0x08, 3, 5))


def _empty_gzip(_):
    return gzip.compress(b"")


DAMAGED = {
    "truncated gzip": (_truncated, "truncated gzip stream"),
    "flipped byte": (_flipped_body, ""),
    "bad crc": (_bad_crc, "CRC"),
    "bad length": (_bad_length, "length"),
    "not gzip": (_not_gzip, "not a gzip file"),
    "wrong magic": (_wrong_magic, "bad magic number"),
    "unknown element type": (_unknown_type, "bad magic number"),
    "too few values": (_too_few_values, "header says shape (5, 28, 28)"),
    "too many values": (_too_many_values, "header says shape (5, 28, 28)"),
    "truncated header": (_truncated_header, "IDX header"),
    "empty": (_empty_gzip, "shorter than"),
}


@pytest.mark.parametrize("case", DAMAGED)
def test_damaged_idx_is_one_clear_error_naming_the_file(tmp_path, case):
    build, reason = DAMAGED[case]
    _fake_mnist(tmp_path / "mnist")
    path = tmp_path / "mnist" / IMAGES
    path.write_bytes(build(path))
    with pytest.raises(DataFileError, match=re.escape(f"{path} is damaged")) as raised:
        load_idx(path)
    assert reason in str(raised.value)
    with pytest.raises(DataFileError, match=re.escape(f"{path} is damaged")) as raised:
        load_mnist("test", root=tmp_path)
    assert reason in str(raised.value) and "--download" in str(raised.value) and "delete it" in str(raised.value)
    with pytest.raises(DataFileError, match=re.escape(str(path))):
        load_data("mnist", root=tmp_path, split="test")


def test_damaged_labels_file_is_named(tmp_path):
    _fake_mnist(tmp_path)
    (tmp_path / LABELS).write_bytes(_truncated(None))
    with pytest.raises(DataFileError, match=re.escape(f"{tmp_path / LABELS} is damaged (truncated gzip stream)")):
        load_mnist("test", root=tmp_path)


def test_images_and_labels_that_disagree(tmp_path):
    _fake_mnist(tmp_path, n=4)
    _write_idx(tmp_path / LABELS, np.arange(3))
    with pytest.raises(DataFileError, match=re.escape(str(tmp_path / LABELS))):
        load_mnist("test", root=tmp_path)
    _write_idx(tmp_path / IMAGES, np.zeros((4, 784)))
    with pytest.raises(DataFileError, match=re.escape(str(tmp_path / IMAGES))):
        load_mnist("test", root=tmp_path)


def test_missing_mnist_says_where_it_looked_and_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as raised:
        load_mnist("train", root=tmp_path)
    message = str(raised.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "mnist") in message and str(tmp_path) in message
    assert "pass --download (Python: download=True) or --data-root DIR holding the IDX files" in message
    assert not list(tmp_path.iterdir())  # looking creates nothing


def test_bad_arguments():
    with pytest.raises(ValueError, match="split must be"):
        load_mnist("validation")
    with pytest.raises(ValueError, match="name must be one of"):
        load_mnist("train", name="kmnist")
    with pytest.raises(TypeError, match="download must be"):
        load_mnist("train", download="yes")
    with pytest.raises(TypeError, match="path must be"):
        load_idx(3)


# ----------------------------------------------------------------------- download (local server)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture
def mirror(tmp_path):
    """A local HTTP mirror serving fake MNIST test files: yields (url, served folder, images, labels)."""
    served = tmp_path / "served"
    images, labels = _fake_mnist(served, n=6, seed=3)
    _QuietHandler.requests = []
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", served, images, labels
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _md5_of(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def _point_at(monkeypatch, mirrors, served, md5=None):
    monkeypatch.setitem(mnist_module._MIRRORS, "mnist", mirrors)
    table = dict(mnist_module._MD5)
    for filename in (IMAGES, LABELS):
        table[("mnist", filename)] = md5 or _md5_of(served / filename)
    monkeypatch.setattr(mnist_module, "_MD5", table)


def test_download_fetches_verifies_and_writes_atomically(tmp_path, monkeypatch, mirror):
    url, served, images, labels = mirror
    _point_at(monkeypatch, [url], served)
    replaced = []
    real_replace = os.replace

    def spy_replace(src, dst):
        assert Path(src).parent == Path(dst).parent and not Path(dst).exists()  # rename within the folder
        assert _md5_of(Path(src)) == mnist_module._MD5[("mnist", Path(dst).name)]  # verified before the rename
        replaced.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr(mnist_module.os, "replace", spy_replace)
    root = tmp_path / "root"
    got_images, got_labels = load_mnist("test", root=root, download=True)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert replaced == [IMAGES, LABELS]
    assert sorted(p.name for p in (root / "mnist").iterdir()) == sorted([IMAGES, LABELS])  # no temporary files
    assert (root / "mnist" / IMAGES).read_bytes() == (served / IMAGES).read_bytes()
    assert _QuietHandler.requests == [f"/{IMAGES}", f"/{LABELS}"]
    load_mnist("test", root=root, download=True)  # present now: nothing is fetched again
    assert len(_QuietHandler.requests) == 2


def test_download_falls_back_to_the_next_mirror(tmp_path, monkeypatch, mirror):
    url, served, images, _ = mirror
    _point_at(monkeypatch, [url + "missing/", url], served)
    np.testing.assert_array_equal(load_mnist("test", root=tmp_path / "root", download=True)[0], images)


def test_md5_mismatch_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch, mirror):
    url, served, _, _ = mirror
    _point_at(monkeypatch, [url], served, md5="0" * 32)
    root = tmp_path / "root"
    with pytest.raises(DataFileError, match=f"could not download {IMAGES}.*md5 mismatch, expected 0{{32}}"):
        load_mnist("test", root=root, download=True)
    assert not list((root / "mnist").iterdir())  # no partial or temporary file


def test_unreachable_mirrors_are_a_clear_error(tmp_path, monkeypatch, mirror):
    url, served, _, _ = mirror
    _point_at(monkeypatch, [url + "nowhere/"], served)
    with pytest.raises(DataFileError, match=re.escape(f"{url}nowhere/{IMAGES}: HTTP Error 404")):
        load_mnist("test", root=tmp_path / "root", download=True)
    assert not list((tmp_path / "root" / "mnist").iterdir())


def test_load_data_downloads_through_the_local_mirror(tmp_path, monkeypatch, mirror):
    url, served, images, _ = mirror
    _point_at(monkeypatch, [url], served)
    with pytest.raises(FileNotFoundError, match="--download"):
        load_data("mnist", root=tmp_path, split="test")
    dataset = load_data("mnist", root=tmp_path, split="test", download=True)
    np.testing.assert_allclose(dataset.data, images.reshape(6, -1) / 255.0, rtol=1e-6)
    assert dataset.image_shape == (28, 28) and dataset.labels.dtype == np.int64


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
@pytest.mark.parametrize("download", [False, True])
def test_load_data_passes_download_through(monkeypatch, tmp_path, name, download):
    calls = []

    def fake_load_mnist(split, *, name, root, download):
        calls.append((split, name, root, download))
        return np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8)

    monkeypatch.setattr(arrays_module, "load_mnist", fake_load_mnist)
    load_data(name, root=tmp_path, download=download, split="test")
    assert calls == [("test", name, tmp_path, download)]


# ------------------------------------------------------------------------------------- data root


def test_root_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EBMLAB_DATA", raising=False)
    assert data_home() == tmp_path / "home" / ".cache" / "ebmlab"
    monkeypatch.setenv("EBMLAB_DATA", str(tmp_path / "env"))
    assert data_home() == tmp_path / "env"
    assert data_home(tmp_path / "arg") == tmp_path / "arg"  # the argument beats the environment
    with pytest.raises(TypeError, match="root must be a path"):
        data_home(3)


def test_root_resolution_when_loading(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home_images, _ = _fake_mnist(tmp_path / "home" / ".cache" / "ebmlab" / "mnist", seed=1)
    env_images, _ = _fake_mnist(tmp_path / "env" / "mnist", seed=2)
    arg_images, _ = _fake_mnist(tmp_path / "arg", seed=3)
    monkeypatch.delenv("EBMLAB_DATA", raising=False)
    np.testing.assert_array_equal(load_mnist("test")[0], home_images)
    monkeypatch.setenv("EBMLAB_DATA", str(tmp_path / "env"))
    np.testing.assert_array_equal(load_mnist("test")[0], env_images)
    np.testing.assert_array_equal(load_mnist("test", root=tmp_path / "arg")[0], arg_images)
    monkeypatch.setenv("EBMLAB_DATA", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match=re.escape("$EBMLAB_DATA")):
        load_mnist("test")


def test_no_machine_paths_in_the_package():
    offenders = []
    for path in SRC.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            offenders += [f"{path}:{n}" for n, line in enumerate(text.splitlines(), 1) if "/work/" in line]
    assert not offenders, offenders


# ------------------------------------------------------------------------------------- load_data


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
    assert load_data(str(tmp_path / "a.csv"), n_samples=4).data.shape == (4, 3)
    with pytest.raises(ValueError, match="data must be one of"):
        load_data("imagenet")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_data(str(tmp_path / "absent.npy"))
    with pytest.raises(TypeError, match="spec must be"):
        load_data(tmp_path / "a.npy")


def _garbage_npy(path):
    path.write_bytes(b"not an npy file\n" * 10)


def _npz_as_npy(path):
    with open(path, "wb") as handle:
        np.savez(handle, a=np.ones((2, 2)))


def _truncated_npy(path):
    np.save(path, np.ones((100, 3)))
    path.write_bytes(path.read_bytes()[:200])


def _pickled_npy(path):
    np.save(path, np.array([[{"a": 1}, None]], dtype=object), allow_pickle=True)


def _complex_npy(path):
    np.save(path, np.ones((3, 2), dtype=np.complex128))


def _strings_npy(path):
    np.save(path, np.array([["a", "b"]]))


def _one_d_npy(path):
    np.save(path, np.arange(5.0))


def _nan_npy(path):
    np.save(path, np.array([[np.nan, 1.0]]))


def _overflow_npy(path):
    np.save(path, np.array([[1e300, 1.0]]))


def _text_csv(path):
    path.write_text("x,y\n1,2\n3,4\n")


def _word_csv(path):
    path.write_text("1,2\n3,four\n")


def _ragged_csv(path):
    path.write_text("1,2\n3\n")


def _empty_csv(path):
    path.write_text("")


def _binary_csv(path):
    path.write_bytes(bytes(range(256)) * 4)


BAD_FILES = {
    "garbage.npy": (_garbage_npy, "not the NumPy magic"),
    "archive.npy": (_npz_as_npy, "not the NumPy magic"),
    "truncated.npy": (_truncated_npy, "cannot be read as a .npy array"),
    "pickled.npy": (_pickled_npy, "cannot be read as a .npy array"),
    "complex.npy": (_complex_npy, "holds complex values; expected real numbers"),
    "strings.npy": (_strings_npy, "expected real numbers"),
    "one_d.npy": (_one_d_npy, "must hold a 2-D array"),
    "nan.npy": (_nan_npy, "NaN or infinite"),
    "overflow.npy": (_overflow_npy, "NaN or infinite"),
    "header.csv": (_text_csv, "cannot be read as numbers"),
    "word.csv": (_word_csv, "cannot be read as numbers"),
    "ragged.csv": (_ragged_csv, "cannot be read as numbers"),
    "empty.csv": (_empty_csv, "holds no values"),
    "binary.csv": (_binary_csv, "cannot be read as numbers"),
}


@pytest.mark.parametrize("filename", BAD_FILES)
def test_bad_data_files_are_one_clear_error_naming_the_file(tmp_path, filename):
    build, reason = BAD_FILES[filename]
    path = tmp_path / filename
    build(path)
    with pytest.raises(DataFileError, match=re.escape(f"data file {path}")) as raised:
        load_data(str(path))
    assert reason in str(raised.value)


def test_complex_message_is_exact(tmp_path):
    path = tmp_path / "X.npy"
    _complex_npy(path)
    with pytest.raises(DataFileError) as raised:
        load_data(str(path))
    assert str(raised.value) == f"data file {path} holds complex values; expected real numbers"


def test_data_file_error_is_a_value_error():
    assert issubclass(DataFileError, ValueError)  # the CLI reports ValueErrors in one line


def test_real_mnist_if_present():
    root = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (root / "mnist" / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("the shared MNIST files are not beside this checkout")
    images, labels = load_mnist("test", root=root)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,) and labels.max() == 9
