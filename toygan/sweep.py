"""Run a sweep's independent cells: here, one after another, or as Ray tasks.

The regime map, the multi-seed comparison and the 2D benchmark are grids of cells that share
nothing while they train. ``map_cells(fn, cells, ray)`` yields ``fn(cell)`` for every cell, in
the cells' order: in this process when ``ray`` is None, otherwise as one Ray task per cell, on a
new local Ray instance (``ray="local"``) or on a running cluster (``ray="HOST:PORT"``, what
``ray start --head`` prints; any other address ``ray.init`` takes, such as ``auto``, works too).

A task runs ``fn`` with this process's number of torch threads, so a cell computes what it
computes here, bit for bit (cells draw from their own seeded ``torch.Generator``). Ray is an
optional extra (``pip install "toygan[ray]"``), imported only when asked for; a missing Ray or an
address that does not answer is a ``UsageError`` naming ``--ray``. Scheduling is Ray's: a task
asks for one CPU and no GPU.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from toygan.cli import UsageError
from toygan.io import FileError

FLAG = "--ray"


def map_cells(fn: Callable[[Any], Any], cells: Iterable[Any], ray: str | None = None) -> Iterator:
    """``fn(cell)`` for every cell, in order: lazily here (``ray`` None), or every cell submitted
    at once as a Ray task and its result yielded when it and those before it are done.

    ``fn`` and the cells travel by pickle (module-level functions, ``functools.partial``). A Ray
    instance already initialised in this process (a notebook's, a test's) is used as it is.
    """
    if ray is None:
        return (fn(c) for c in cells)
    ray_mod = connect(ray)
    task = ray_mod.remote(_in_task)
    threads = torch.get_num_threads()
    refs = [task.remote(fn, c, threads) for c in cells]
    return _results(ray_mod, refs)


def _in_task(fn: Callable[[Any], Any], cell: Any, threads: int) -> Any:
    torch.set_num_threads(threads)  # as in the driver: the same reductions, the same numbers
    try:
        return fn(cell)
    except UsageError as err:  # toygan's one-line errors, which do not unpickle as raised
        return _Refused(UsageError, (err.flag, err.problem))
    except FileError as err:
        return _Refused(FileError, (err.path, err.problem))


@dataclass(frozen=True)
class _Refused:
    """A ``UsageError`` or ``FileError`` raised in a task, raised again here."""

    error: type
    args: tuple


def _results(ray_mod: Any, refs: list) -> Iterator:
    for ref in refs:
        result = ray_mod.get(ref)
        if isinstance(result, _Refused):
            raise result.error(*result.args)
        yield result


def connect(address: str) -> Any:
    """The ``ray`` module, initialised on ``address`` ("local": a new local instance) unless this
    process already is; ``UsageError`` naming ``--ray`` if Ray is missing or nothing answers."""
    try:
        import ray
    except ImportError:
        raise UsageError(FLAG, 'Ray is not installed: pip install "toygan[ray]"') from None
    if ray.is_initialized():
        return ray
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if sep:  # Ray waits minutes for an address that does not answer: ask first
        if not port.isdigit():
            raise UsageError(FLAG, f"{address!r}: expected local or HOST:PORT")
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as err:
            why = err.strerror or type(err).__name__
            raise UsageError(FLAG, f"no Ray cluster answers at {address} ({why}); start one "
                             "with `ray start --head`, or use --ray local") from None  # fmt: skip
    try:
        ray.init(address=address)
    except (ConnectionError, RuntimeError, ValueError) as err:
        detail = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise UsageError(FLAG, f"cannot start or reach Ray at {address} ({detail})") from None
    return ray


def prepare(ray: str | None, device: str) -> None:
    """Check ``--ray`` before a sweep writes anything: Ray installed, the address answering (the
    connection made now, ``connect``), and no ``--device cuda``: Ray tasks get no GPU."""
    if ray is None:
        return
    if device.startswith("cuda"):
        raise UsageError(FLAG, "Ray runs the cells as CPU tasks: use --device cpu")
    connect(ray)
