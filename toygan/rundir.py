"""The life cycle of a run directory, in one place: every toygan writer follows it.

::

    (absent or empty) --open_run--> running --finish--> finished
                                       |  \\--fail----> failed    (an error; message kept)
                                       \\----diverge--> diverged  (NaN/inf; step kept)

``status.json`` in the directory says which state the run is in (with the process id of a
running run, the kind of run, a message and the time). The rules:

- A directory that holds a run (any file a toygan run writes) is never silently replaced:
  starting a new run there is refused, naming ``--resume`` and ``--force``. ``--force`` removes
  the old run's files first (the user asked for it); ``--resume`` continues the run in place.
- A run that is still going (its process alive) is never joined or replaced, even with --force.
- Every file is written atomically (``toygan.io``), so a killed run leaves its last complete
  checkpoint; its status stays ``running`` with a dead process id, which ``describe`` reports as
  killed. Temporary files of writes cut short are removed when the directory is opened again.
- A failed or diverged run says so in status.json; its last good checkpoint stays, and
  ``--resume`` continues from it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from toygan import io
from toygan.cli import FileError, UsageError, check_path, writable_dir

STATUS = "status.json"
STATES = ("running", "finished", "failed", "diverged")
# every name a toygan run may write: a directory holding one of them holds a run
RUN_FILES = (
    STATUS,
    "config.json",
    "checkpoint.pt",
    "summary.json",
    "metrics.csv",
    "samples.npy",
    "snapshots.csv",
    "grids.npy",
    "evaluation.json",
    "saturation.csv",
)
# what else a run writes (figures, per-epoch grids): removed with the run by --force
RUN_ARTIFACTS = ("grid_epoch_*.png", "panel.png", "strip.png", "curves.png", "training.gif",
                 "best.pt", "parzen.csv")  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def read_status(out: str | Path) -> dict[str, Any] | None:
    """The run's status.json as a dict (None if there is none); ``FileError`` if unreadable."""
    path = Path(out) / STATUS
    if not path.exists():
        return None
    status = io.read_json(path)  # FileError naming status.json if it is malformed
    if not isinstance(status, dict) or status.get("state") not in STATES:
        raise FileError(path, f"not a toygan status file (state must be one of {list(STATES)})")
    return status


def is_alive(status: dict[str, Any] | None) -> bool:
    """True if ``status`` describes a run whose process is still running on this host."""
    if not status or status.get("state") != "running":
        return False
    pid, host = status.get("pid"), status.get("host")
    return (
        isinstance(pid, int) and host == socket.gethostname() and pid != os.getpid() and _alive(pid)
    )


def describe(out: str | Path) -> str:
    """One phrase for what ``out`` holds: 'a finished run', 'a killed run', 'files of a run'."""
    status = read_status(out)
    if status is None:
        return "files of a run"
    state = status["state"]
    if state == "running" and not is_alive(status):
        return "a run that was killed or crashed"
    return f"a {state} run"


def holds_run(out: str | Path) -> bool:
    out = Path(out)
    return out.is_dir() and any((out / name).exists() for name in RUN_FILES)


def write_status(out: str | Path, state: str, kind: str, message: str = "", **extra: Any) -> None:
    """Record ``state`` (one of ``STATES``) for the run in ``out``, atomically."""
    if state not in STATES:
        raise ValueError(f"unknown run state {state!r}")
    io.write_json(
        Path(out) / STATUS,
        {
            "state": state,
            "kind": kind,
            "message": message,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **extra,
        },
    )


def open_run(
    out: str | Path, kind: str, *, resume: bool = False, force: bool = False, flag: str = "out"
) -> Path:
    """Take ``out`` for a run of ``kind`` ('toy1d', 'mnist', 'compare', ...): check it, clean
    temporary files of killed writes, and mark it running.

    Raises ``UsageError`` (one line, naming ``--resume``/``--force``) when ``out`` holds another
    run and neither was given, when a run is still going there, or when ``--resume`` names a
    directory without a run or with a run of another kind.
    """
    out = Path(out)
    name = "--" + flag.replace("_", "-")
    check_path(out, "--resume" if resume else name)  # a file, a path inside one, unreadable
    status = read_status(out) if out.is_dir() else None
    if is_alive(status):
        raise UsageError(
            name, f"{out} holds a run still in progress (process {status['pid']}); wait or stop it"
        )
    if resume:
        if not holds_run(out):
            raise UsageError("--resume", f"{out} holds no toygan run to continue")
        if status is not None and status.get("kind", kind) != kind:
            raise UsageError("--resume", f"{out} holds a {status['kind']} run, not a {kind} run")
    elif holds_run(out):
        if not force:
            raise UsageError(
                name,
                f"{out} already holds {describe(out)}; continue it with --resume {out}, "
                "or pass --force to replace it",
            )
        for pattern in (*RUN_FILES, *RUN_ARTIFACTS):
            for f in out.glob(pattern):
                f.unlink()
    writable_dir(str(out), flag)
    io.remove_stale_temporaries(out)
    write_status(out, "running", kind)
    return out


@contextlib.contextmanager
def running(
    out: str | Path, kind: str, *, resume: bool = False, force: bool = False, flag: str = "out"
) -> Iterator[Path]:
    """``open_run``, then the block; the run ends finished, or failed/diverged with the error
    recorded in status.json (and the error propagates)."""
    path = open_run(out, kind, resume=resume, force=force, flag=flag)
    try:
        yield path
    except BaseException as err:
        step = getattr(err, "step", None)  # TrainingDiverged names its step
        message = f"{err.__class__.__name__}: {err}"[:500]
        fail(path, kind, message, diverged=step is not None, **({"step": step} if step else {}))
        raise
    finish(path, kind)


def finish(out: str | Path, kind: str, message: str = "", **extra: Any) -> None:
    write_status(out, "finished", kind, message, **extra)


def fail(out: str | Path, kind: str, message: str, diverged: bool = False, **extra: Any) -> None:
    """Mark the run failed (or diverged); never raises (it runs while handling an error)."""
    try:
        write_status(out, "diverged" if diverged else "failed", kind, message, **extra)
    except OSError:
        pass


def restore(trainer: Any, state: dict[str, Any], path: Path) -> None:
    """Load a checkpoint's trainer state; ``FileError`` naming ``path`` if it does not fit."""
    try:
        trainer.load_state_dict(state["trainer"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as err:
        lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()] or [""]
        # load_state_dict: "Error(s) in loading state_dict for X:" then what does not fit
        detail = " ".join(lines[:2])[:160]
        raise FileError(
            path, f"does not fit this run ({err.__class__.__name__}: {detail})"
        ) from None  # fmt: skip
