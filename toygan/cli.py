"""Command-line plumbing shared by every toygan entry point.

Parsers are built from config dataclasses (one flag per field, ``--dashed-name``, the default and
the field's comment as help), and bad input ends in *one* line on stderr and exit code 2, never a
traceback: ``UsageError(flag, problem)`` is the one way to reject a value.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from toygan.io import FileError, ensure_writable_dir, read_json


class UsageError(ValueError):
    """A bad command-line value: ``flag`` (e.g. '--stds') and what is wrong with it."""

    def __init__(self, flag: str, problem: str) -> None:
        super().__init__(f"{flag}: {problem}")
        self.flag, self.problem = flag, problem


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports errors in one line (no usage block) and exits 2, and reads
    '-1e3' or '-inf' as values (plain argparse takes them for unknown flags)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(
            r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.I
        )

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _field_comments(cls: type) -> dict[str, str]:
    """The trailing ``# comment`` of each field line in the dataclass source (its help text)."""
    try:
        src = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    comments = {}
    for m in re.finditer(r"^\s+(\w+): [^=\n]+=.*?#\s*(.+)$", src, re.M):
        comments[m.group(1)] = m.group(2).strip()
    return comments


def add_dataclass_arguments(
    parser: argparse.ArgumentParser,
    cls: type,
    *,
    choices: Mapping[str, Sequence[Any]] | None = None,
    skip: Sequence[str] = (),
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """One flag per field of dataclass ``cls``: type from the annotation, default from the field.

    ``bool`` fields become ``--name/--no-name``; ``list[T]`` fields take space-separated values.
    """
    hints = typing.get_type_hints(cls)
    comments = _field_comments(cls)
    choices, overrides = choices or {}, overrides or {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        tp = hints[f.name]
        kwargs: dict[str, Any] = {"default": default}
        origin = typing.get_origin(tp)
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif origin is list:
            kwargs.update(nargs="+", type=typing.get_args(tp)[0])
        elif origin in (typing.Union, types.UnionType):  # T | None, list[T] | None
            inner = next(a for a in typing.get_args(tp) if a is not type(None))
            if typing.get_origin(inner) is list:
                kwargs.update(nargs="+", type=typing.get_args(inner)[0])
            else:
                kwargs["type"] = inner
        else:
            kwargs["type"] = tp
        if f.name in choices:
            kwargs["choices"] = list(choices[f.name])
        shown = " ".join(map(str, default)) if isinstance(default, list) else default
        kwargs["help"] = f"{comments.get(f.name, f.name)} (default: {shown})"
        kwargs.update(overrides.get(f.name, {}))
        parser.add_argument(flag(f.name), dest=f.name, **kwargs)


def add_force_argument(parser: argparse.ArgumentParser) -> None:
    """``--force``: the one way to replace a run directory (``toygan.rundir``)."""
    parser.add_argument(
        "--force", action="store_true",
        help="replace the run already in --out (default: refuse to overwrite a run)",
    )  # fmt: skip


def config_from_dict(cls: type, d: Mapping[str, Any]) -> Any:
    """Dataclass ``cls`` built from the entries of ``d`` that name its fields (others ignored)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


def _fits(value: Any, tp: Any) -> bool:
    """True if a JSON ``value`` fits field type ``tp`` (int, float, str, bool, list[T], T|None)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in typing.get_args(tp))
    if origin is list:
        (item,) = typing.get_args(tp)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, tp) if isinstance(tp, type) else True


def config_from_file(cls: type, path: str | Path) -> Any:
    """Dataclass ``cls`` read from a config.json, every field type-checked.

    Raises:
        FileError: naming ``path`` if it is missing, not JSON, not an object, or a field has the
            wrong type (e.g. ``"steps": "ten"``).
    """
    d = read_json(path)
    if not isinstance(d, dict):
        raise FileError(path, f"not a toygan config (a JSON object), got {type(d).__name__}")
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in d and not _fits(d[f.name], hints[f.name]):
            raise FileError(path, f"{f.name} = {d[f.name]!r} is not a valid {hints[f.name]}")
    return config_from_dict(cls, d)


def given_flags(argv: Sequence[str]) -> set[str]:
    """The long flags written in ``argv`` ('--steps 5' and '--steps=5' both give '--steps';
    '--no-progress' gives '--progress')."""
    names = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    return {"--" + n[5:] if n.startswith("--no-") else n for n in names}


def resumed_config(
    cls: type, run_dir: str, argv: Sequence[str], ns: argparse.Namespace, may_change: set[str]
) -> Any:
    """The config stored in ``run_dir``/config.json, with the fields in ``may_change`` taken from
    the flags given in ``argv``; any other flag given must agree with the stored run.

    Raises:
        UsageError: ``--resume`` names no run, or a flag would change the resumed run.
        FileError: config.json is malformed or holds invalid values.
    """
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise UsageError("--resume", f"{run_dir} holds no toygan run (no config.json)")
    stored = config_from_file(cls, path)
    given = given_flags(argv)
    for f in dataclasses.fields(cls):
        if flag(f.name) not in given or not hasattr(ns, f.name):
            continue
        if f.name in may_change:
            setattr(stored, f.name, getattr(ns, f.name))
        elif getattr(ns, f.name) != getattr(stored, f.name):
            raise UsageError(
                flag(f.name), f"the run in {run_dir} has {getattr(stored, f.name)!r}; --resume "
                f"continues its config (only {', '.join(map(flag, sorted(may_change)))} may change)"
            )  # fmt: skip
    return stored


def config_from_args(cls: type, ns: argparse.Namespace) -> Any:
    return config_from_dict(cls, vars(ns))


class DictConfig:
    """Mixin for config dataclasses: ``to_dict`` for config.json, ``from_dict`` to read it back
    (keys that are not fields are ignored, so older files and wider namespaces load)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Any:
        return config_from_dict(cls, d)


def require(ok: bool, name: str, problem: str) -> None:
    """Raise ``UsageError`` for field ``name`` unless ``ok``."""
    if not ok:
        raise UsageError(flag(name), problem)


def check_path(path: str | Path, flag: str, kind: str = "dir", must_exist: bool = False) -> Path:
    """``path`` as given to ``flag`` ('--data-dir', 'run_dir'), checked before anything is
    written: a regular file where a directory is expected (or a directory where a file is), a
    path inside a file, an unreadable one, or (``must_exist``) a missing one is a
    ``UsageError`` naming ``flag``. ``kind``: "dir" or "file"."""
    p = Path(path)
    for parent in p.parents:  # a path inside a file: 'a_file/x'
        if parent.exists() and not parent.is_dir():
            raise UsageError(flag, f"{p} lies inside {parent}, which is a file")
    if p.exists():
        if kind == "dir" and not p.is_dir():
            raise UsageError(flag, f"{p} is a file, not a directory")
        if kind == "file" and p.is_dir():
            raise UsageError(flag, f"{p} is a directory, not a file")
        if not os.access(p, os.R_OK | (os.X_OK if kind == "dir" else 0)):
            raise UsageError(flag, f"{p} cannot be read (permissions)")
    elif must_exist:
        raise UsageError(flag, f"{p} does not exist")
    return p


def writable_dir(path: str, name: str = "out") -> Path:
    """Create directory ``path`` if needed and check it is writable; ``UsageError`` for flag
    ``--name`` otherwise."""
    try:
        return ensure_writable_dir(path)
    except ValueError as err:
        raise UsageError(flag(name), str(err)) from None


def available_memory() -> int:
    """Bytes of memory available to a new allocation (MemAvailable; total RAM if unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def require_memory(name: str, nbytes: float, what: str) -> None:
    """``UsageError`` for flag ``--name`` when ``what`` needs more memory than is available.

    Called before allocating, so a size the machine cannot hold is one line, not a crash.
    """
    have = available_memory()
    if nbytes > have:
        raise UsageError(
            flag(name), f"{what} needs about {nbytes / 2**30:.3g} GiB, more than the "
            f"{have / 2**30:.3g} GiB of memory available"
        )  # fmt: skip


def _out_of_memory(err: BaseException) -> bool:
    return isinstance(err, MemoryError) or (
        isinstance(err, RuntimeError)
        and ("can't allocate memory" in str(err) or "out of memory" in str(err).lower())
    )


def run_cli(prog: str, body: Callable[[], int | None]) -> int:
    """Run ``body``: the one place where errors become messages.

    ``UsageError`` (a bad flag) and ``FileError`` (a bad file) become one line on stderr and exit
    code 2; running out of memory one line and exit code 1; Ctrl-C exit code 130. Anything else
    is a bug in toygan and keeps its traceback.
    """
    try:
        return body() or 0
    except (UsageError, FileError) as err:
        sys.stderr.write(f"{prog}: error: {err}\n")
        return 2
    except (MemoryError, RuntimeError) as err:
        if not _out_of_memory(err):
            raise
        sys.stderr.write(
            f"{prog}: error: out of memory ({str(err).splitlines()[0][:120]}); use smaller "
            "sizes (--batch-size, --n-samples, widths) or another --device\n"
        )
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted\n")
        return 130
