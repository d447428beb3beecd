"""MNIST without torchvision: the IDX files read with numpy, checked, downloaded, put on a device.

LeCun et al.'s IDX format: a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the raw values. ``parse_idx`` checks all
of it; ``read_idx`` adds gzip and the published md5 sums; ``load_mnist`` finds (or downloads,
atomically and with a progress bar) the four standard files in a cache directory. Every problem
is a ``MnistError``: one line that names the file.

``MnistSource`` holds the whole dataset as one tensor on the training device and serves
minibatches by random permutation (epochs without replacement), with ``state_dict`` for exact
resume: no DataLoader, no per-sample Python.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from toygan import io
from toygan.sources import EpochSource

FILES = {  # name -> md5 of the published .gz file
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
SPLITS = {"train": "train", "test": "t10k"}  # split -> file prefix
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
IDX_TYPES = {0x08: np.uint8}  # MNIST uses only unsigned bytes
OUTPUT_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}  # G output -> pixel range


class MnistError(ValueError):
    """A missing, corrupt or unexpected MNIST file (the message names it)."""


def default_data_dir() -> Path:
    """``$TOYGAN_DATA/mnist`` or ``~/.cache/toygan/mnist``."""
    root = os.environ.get("TOYGAN_DATA") or Path.home() / ".cache" / "toygan"
    return Path(root) / "mnist"


def parse_idx(data: bytes, name: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """The array stored in IDX bytes, checked: magic, type, dimensions and exact length."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise MnistError(f"{name}: not an IDX file (bad magic number {data[:4].hex() or 'empty'})")
    code, nd = data[2], data[3]
    if code not in IDX_TYPES:
        raise MnistError(f"{name}: unsupported IDX type code 0x{code:02x} (MNIST uses 0x08)")
    if ndim is not None and nd != ndim:
        raise MnistError(f"{name}: expected {ndim} dimensions, magic number says {nd}")
    head = 4 + 4 * nd
    if len(data) < head:
        raise MnistError(f"{name}: truncated header ({len(data)} bytes)")
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", nd, 4))
    dtype = np.dtype(IDX_TYPES[code])
    want = head + int(np.prod(shape)) * dtype.itemsize
    if len(data) != want:
        what = "truncated" if len(data) < want else "has trailing bytes"
        raise MnistError(f"{name}: {what}: {len(data)} bytes, shape {shape} needs {want}")
    return np.frombuffer(data, dtype, offset=head).reshape(shape)


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def read_idx(path: str | Path, expected_md5: str | None = None, ndim: int | None = None):
    """Read a raw or gzipped IDX file; a gzipped one is checked against ``expected_md5``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise MnistError(f"{path}: cannot read: {err.strerror or err}") from None
    if raw[:2] == b"\x1f\x8b":  # gzip
        if expected_md5 is not None and md5(raw) != expected_md5:
            raise MnistError(f"{path}: md5 {md5(raw)} != published {expected_md5} (corrupt?)")
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise MnistError(f"{path}: corrupt gzip data ({err})") from None
    return parse_idx(raw, str(path), ndim)


def find_file(data_dir: Path, name: str) -> Path | None:
    """``name.gz`` or the raw ``name`` in ``data_dir``, whichever exists (gzip first)."""
    for candidate in (data_dir / f"{name}.gz", data_dir / name):
        if candidate.is_file():
            return candidate
    return None


def download(name: str, data_dir: Path, progress: bool = True) -> Path:
    """Fetch ``name.gz`` from the first mirror that answers, verify its md5, write atomically."""
    io.ensure_writable_dir(data_dir)
    target = data_dir / f"{name}.gz"
    errors = []
    for mirror in MIRRORS:
        url = mirror + target.name

        def write(f, url=url):
            h = hashlib.md5(usedforsecurity=False)
            with urllib.request.urlopen(url, timeout=30) as resp:
                total = int(resp.headers.get("Content-Length") or 0) or None
                with tqdm(
                    total=total, unit="B", unit_scale=True, desc=target.name, disable=not progress
                ) as bar:
                    while chunk := resp.read(1 << 16):
                        f.write(chunk)
                        h.update(chunk)
                        bar.update(len(chunk))
            if h.hexdigest() != FILES[name]:
                raise MnistError(f"{url}: md5 {h.hexdigest()} != published {FILES[name]}")

        try:
            return io.atomic_write(target, write)
        except (urllib.error.URLError, OSError, MnistError) as err:
            errors.append(f"{url}: {getattr(err, 'reason', err)}")
    raise MnistError(
        f"{target.name} is not in {data_dir} and could not be downloaded ({errors[-1]}); "
        f"put {', '.join(f'{n}.gz' for n in FILES)} into {data_dir}"
    )


def load_idx(name: str, data_dir: str | Path | None = None, download_missing: bool = True):
    """The array of standard MNIST file ``name`` from ``data_dir`` (downloaded if missing)."""
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    path = find_file(data_dir, name)
    if path is None:
        if not download_missing:
            raise MnistError(
                f"{name}.gz not found in {data_dir}: put the MNIST files "
                f"({', '.join(f'{n}.gz' for n in FILES)}) there"
            )
        created = [d for d in (data_dir, *data_dir.parents) if not d.exists()]
        try:
            path = download(name, data_dir, progress=True)
        except MnistError:
            for d in created:  # deepest first: leave no empty directories behind
                if d.is_dir() and not any(d.iterdir()):
                    d.rmdir()
            raise
    return read_idx(
        path, FILES[name] if path.suffix == ".gz" else None, 3 if "images" in name else 1
    )


def load_mnist(
    split: str = "train",
    data_dir: str | Path | None = None,
    limit: int = 0,
    start: int = 0,
    labels: bool = False,
    download_missing: bool = True,
):
    """Images ``[start:start + limit]`` (uint8, (n, 28, 28)) of ``split``; ``limit`` 0: all.

    With ``labels``, returns (images, labels (n,) uint8).
    """
    if split not in SPLITS:
        raise MnistError(f"unknown split {split!r}; choose from {list(SPLITS)}")
    stop = None if limit <= 0 else start + limit
    images = load_idx(f"{SPLITS[split]}-images-idx3-ubyte", data_dir, download_missing)
    if images.shape[1:] != (28, 28):
        raise MnistError(f"{split} images: expected 28x28, got {images.shape[1:]}")
    if stop is not None and stop > len(images) or start >= len(images):
        raise MnistError(f"{split} split has {len(images)} images, asked for [{start}:{stop}]")
    images = images[start:stop]
    if not labels:
        return images
    ys = load_idx(f"{SPLITS[split]}-labels-idx1-ubyte", data_dir, download_missing)
    return images, ys[start:stop]


def to_pixels(images: np.ndarray, value_range: tuple[float, float], device) -> torch.Tensor:
    """uint8 images (n, 28, 28) -> float32 (n, 784) on ``device``, linearly mapped to the range."""
    lo, hi = value_range
    x = torch.from_numpy(np.array(images, dtype=np.uint8)).to(device).reshape(len(images), -1)
    return x.float().mul_((hi - lo) / 255.0).add_(lo)  # (n, 784)


def check_range(data: torch.Tensor, output: str) -> None:
    """Data and generator must share a range (the tanh-vs-mean/std-normalised trap)."""
    lo, hi = OUTPUT_RANGES[output]
    dmin, dmax = data.min().item(), data.max().item()
    if dmin < lo - 1e-6 or dmax > hi + 1e-6 or dmax - dmin < 0.9 * (hi - lo):
        raise MnistError(
            f"data range [{dmin:.3g}, {dmax:.3g}] does not match the generator's {output} "
            f"output range [{lo:g}, {hi:g}]"
        )


class MnistSource(EpochSource):
    """Minibatches of the (N, 784) on-device MNIST images by random permutation, one epoch at a
    time (``toygan.sources.EpochSource``); with ``labels`` (N,), images and labels (CGAN)."""

    def __init__(self, data: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        if data.ndim != 2 or len(data) == 0:
            raise ValueError(f"data must be (N, D) with N > 0, got {tuple(data.shape)}")
        super().__init__(data, labels)
