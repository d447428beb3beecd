"""Writing results without losing work, and reading them back safely.

Every file is written to a temporary file in the same directory (named ``.toygan-tmp-*``), flushed
to disk and renamed into place (atomic on POSIX), so a crash never leaves a half-written result;
``remove_stale_temporaries`` deletes what a killed write left behind. Checkpoints are read with
``torch.load(weights_only=True)`` only (``load_checkpoint``): a file can hold tensors and plain
Python values, never code, and a truncated or foreign file is a one-line ``FileError``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch


class FileError(ValueError):
    """A file toygan was asked to read is unusable: ``path`` and what is wrong with it.

    The CLIs report it like a bad flag (one line, exit code 2), naming the file: a truncated
    checkpoint, a malformed config.json, a samples.npy of the wrong shape.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = str(path), problem


TMP_PREFIX = ".toygan-tmp-"  # every temporary file of an atomic write starts with this


def remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Delete the temporary files that writes killed mid-way left in ``directory``; return them.

    Call it only on a directory no other process is writing to (``toygan.rundir.open_run``).
    """
    stale = sorted(Path(directory).glob(f"{TMP_PREFIX}*"))
    for f in stale:
        f.unlink(missing_ok=True)
    return stale


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TMP_PREFIX}{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are ordinary readable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix) for a writer that wants a file name;
    it is renamed to ``path`` when the block ends without error, removed otherwise."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f"{TMP_PREFIX}{path.stem}.", suffix=path.suffix
    )
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode())


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray | torch.Tensor):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def _csv_text(rows: list[Mapping[str, Any]], header: bool = True) -> str:
    """``rows`` as CSV text (columns from the first row), with or without the header line."""
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        if header:
            writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def write_csv(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    return write_text(path, _csv_text(list(rows)))


def save_npy(path: str | Path, array: np.ndarray) -> Path:
    return atomic_write(path, lambda f: np.save(f, array))


def save_torch(path: str | Path, obj: Any) -> Path:
    return atomic_write(path, lambda f: torch.save(obj, f))


def save_figure(fig, path: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure deterministically (fixed dpi, no software/date metadata)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    meta = {"Software": None} if fmt == "png" else {}
    return atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi, metadata=meta))


def save_animation(anim, path: str | Path, fps: int, dpi: int = 80) -> Path:
    """Write a matplotlib ``FuncAnimation`` as a GIF (PillowWriter: no ffmpeg), atomically."""
    from matplotlib.animation import PillowWriter

    with atomic_path(path) as tmp:
        anim.save(tmp, writer=PillowWriter(fps=fps), dpi=dpi)
    return Path(path)


def ensure_writable_dir(path: str | Path) -> Path:
    """Create ``path`` if needed and check a file can be written there.

    Raises:
        ValueError: one line naming the directory and the problem.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".toygan-write-test-"):
            pass
    except OSError as err:
        raise ValueError(f"cannot write to {str(path)!r}: {err.strerror or err}") from None
    return path


def load_checkpoint(path: str | Path, map_location: Any = None) -> dict[str, Any]:
    """A checkpoint (a dict of tensors and plain values) read with ``weights_only=True``.

    Raises:
        FileError: the file is missing, truncated, not written by ``torch.save``, or holds
            anything but tensors and plain values (a pickle that would run code is refused
            before any of it runs).
    """
    path = Path(path)
    if not path.is_file():
        raise FileError(path, "not found")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise FileError(
            path, "refused: it holds objects other than tensors and plain values, which could "
            "run code when loaded (toygan loads with weights_only=True)"
        ) from None  # fmt: skip
    except Exception as err:  # random bytes make the unpickler raise anything (KeyError, ...)
        raise FileError(
            path, f"not a readable checkpoint, truncated or foreign ({err.__class__.__name__})"
        ) from None
    if not isinstance(obj, dict):
        raise FileError(path, f"not a toygan checkpoint (holds a {type(obj).__name__})")
    return obj


def read_json(path: str | Path) -> Any:
    """The JSON value in ``path``; ``FileError`` naming it if it is missing or malformed."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileError(path, "not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FileError(path, f"not valid JSON ({err.__class__.__name__})") from None


def load_npy(path: str | Path) -> np.ndarray:
    """An array saved with ``np.save``, without pickles; ``FileError`` naming a bad file."""
    path = Path(path)
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileError(path, "not found") from None
    except (OSError, ValueError, EOFError) as err:
        raise FileError(path, f"not a readable .npy array ({err.__class__.__name__})") from None


class CsvLog:
    """A CSV file that grows while training runs, so a killed run keeps its rows.

    ``reset(rows)`` rewrites it atomically (a resumed run drops rows past its checkpoint);
    ``append(rows)`` adds rows and flushes them to disk.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def reset(self, rows: Iterable[Mapping[str, Any]]) -> None:
        write_csv(self.path, rows)

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        new = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "a") as f:
            f.write(_csv_text(rows, header=new))
            f.flush()
            os.fsync(f.fileno())
