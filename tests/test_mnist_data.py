"""MNIST data: IDX parsing and its errors on tiny generated files, md5, (file://) download,
the real test files, and the on-device permutation sampler."""

import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from toygan.mnist import data as mnist_data
from toygan.mnist.data import MnistError, MnistSource, parse_idx, read_idx

REAL = Path(os.environ.get("TOYGAN_MNIST_DIR", Path(__file__).parents[1] / "../shared/data/mnist"))
needs_real = pytest.mark.skipif(
    not (REAL / "t10k-images-idx3-ubyte.gz").exists(), reason="real MNIST test files not present"
)


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file: magic (0, 0, type, ndim), big-endian dims, raw bytes."""
    return bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def test_parse_round_trip_images_and_labels():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 5, dtype=np.uint8)
    np.testing.assert_array_equal(parse_idx(idx_bytes(images), ndim=3), images)
    np.testing.assert_array_equal(parse_idx(idx_bytes(labels), ndim=1), labels)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b"\x01" + b[1:], "bad magic"),
        (lambda b: b"", "bad magic"),
        (lambda b: b[:2] + b"\x0d" + b[3:], "type code 0x0d"),
        (lambda b: b[:3] + b"\x02" + b[4:], "expected 3 dimensions"),
        (lambda b: b[:9], "truncated header"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b + b"\x00", "trailing bytes"),
    ],
)
def test_parse_errors_name_the_file(mutate, message):
    good = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(MnistError, match=message) as err:
        parse_idx(mutate(good), "some/file-idx3", ndim=3)
    assert str(err.value).startswith("some/file-idx3")
    assert "\n" not in str(err.value)


def test_read_idx_gzip_raw_md5_and_corrupt(tmp_path):
    arr = np.arange(10, dtype=np.uint8)
    raw, gz = tmp_path / "x-idx1-ubyte", tmp_path / "x-idx1-ubyte.gz"
    raw.write_bytes(idx_bytes(arr))
    gz.write_bytes(gzip.compress(idx_bytes(arr)))
    good_md5 = hashlib.md5(gz.read_bytes()).hexdigest()
    np.testing.assert_array_equal(read_idx(raw, ndim=1), arr)
    np.testing.assert_array_equal(read_idx(gz, good_md5, ndim=1), arr)
    with pytest.raises(MnistError, match=f"{gz}: md5"):
        read_idx(gz, "0" * 32)
    gz.write_bytes(gz.read_bytes()[:-12])  # truncated gzip stream
    with pytest.raises(MnistError, match=f"{gz}: corrupt gzip"):
        read_idx(gz)
    with pytest.raises(MnistError, match="cannot read"):
        read_idx(tmp_path / "missing.gz")


def _fake_mirror(tmp_path: Path, monkeypatch) -> Path:
    """Tiny test-split files served from a file:// 'mirror', with their md5 registered."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    rng = np.random.default_rng(1)
    files = {
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 20, dtype=np.uint8),
    }
    sums = dict(mnist_data.FILES)
    for name, arr in files.items():
        data = gzip.compress(idx_bytes(arr), mtime=0)
        (mirror / f"{name}.gz").write_bytes(data)
        sums[name] = hashlib.md5(data).hexdigest()
    monkeypatch.setattr(mnist_data, "FILES", sums)
    monkeypatch.setattr(mnist_data, "MIRRORS", ("http://127.0.0.1:9/", mirror.as_uri() + "/"))
    return mirror


def test_download_falls_back_to_next_mirror_and_caches(tmp_path, monkeypatch):
    _fake_mirror(tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    images, labels = mnist_data.load_mnist("test", cache, limit=5, start=3, labels=True)
    assert images.shape == (5, 28, 28) and labels.shape == (5,)
    assert sorted(p.name for p in cache.iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]  # no temporary files left behind


def test_download_md5_mismatch_and_offline(tmp_path, monkeypatch):
    _fake_mirror(tmp_path, monkeypatch)
    monkeypatch.setitem(mnist_data.FILES, "t10k-images-idx3-ubyte", "0" * 32)
    with pytest.raises(MnistError, match="could not be downloaded.*md5") as err:
        mnist_data.load_mnist("test", tmp_path / "c1")
    assert "put train-images-idx3-ubyte.gz" in str(err.value)
    assert not (tmp_path / "c1").exists()  # a failed download leaves no empty directory
    monkeypatch.setattr(mnist_data, "MIRRORS", ("http://127.0.0.1:9/",))
    with pytest.raises(MnistError, match=r"not in .*c2 and could not be downloaded"):
        mnist_data.load_mnist("test", tmp_path / "c2")
    with pytest.raises(MnistError, match="not found in"):
        mnist_data.load_mnist("test", tmp_path / "c3", download_missing=False)


@needs_real
def test_real_test_files():
    images, labels = mnist_data.load_mnist("test", REAL, labels=True, download_missing=False)
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first test digits
    assert np.bincount(labels).tolist()[:3] == [980, 1135, 1032]
    train_labels = mnist_data.load_idx("train-labels-idx1-ubyte", REAL, download_missing=False)
    assert train_labels.shape == (60_000,)
    train = mnist_data.load_mnist("train", REAL, limit=10, start=50_000, download_missing=False)
    assert train.shape == (10, 28, 28)  # the validation split, train[50000:50010]
    with pytest.raises(MnistError, match="has 10000 images"):
        mnist_data.load_mnist("test", REAL, limit=20, start=9990, download_missing=False)


def test_pixels_and_range_check():
    images = np.array([[[0, 255]]], dtype=np.uint8).repeat(28, 1).repeat(14, 2)
    x = mnist_data.to_pixels(images, (-1.0, 1.0), "cpu")
    assert x.shape == (1, 784) and x.min() == -1 and x.max() == 1
    mnist_data.check_range(x, "tanh")
    with pytest.raises(MnistError, match="does not match the generator's sigmoid"):
        mnist_data.check_range(x, "sigmoid")
    with pytest.raises(MnistError, match="tanh"):  # [0, 1] data for a tanh generator
        mnist_data.check_range(mnist_data.to_pixels(images, (0.0, 1.0), "cpu"), "tanh")


def test_source_epochs_are_permutations_and_resume_exactly():
    data = torch.arange(10.0).unsqueeze(1)  # (10, 1): value = index
    src = MnistSource(data)
    rng = torch.Generator().manual_seed(0)
    drawn = torch.cat([src.sample(4, rng) for _ in range(5)]).squeeze(1)  # 2 epochs exactly
    assert sorted(drawn[:10].tolist()) == list(range(10))
    assert sorted(drawn[10:].tolist()) == list(range(10))
    state, rng_state = src.state_dict(), rng.get_state()
    after = [src.sample(3, rng) for _ in range(4)]
    other = MnistSource(data)
    other.load_state_dict(state)
    rng.set_state(rng_state)
    for a in after:
        torch.testing.assert_close(other.sample(3, rng), a)
