"""Command-line plumbing shared by every toygan entry point.

Parsers are built from config dataclasses (one flag per field, ``--dashed-name``, the default and
the field's comment as help), and bad input ends in *one* line on stderr and exit code 2, never a
traceback: ``UsageError(flag, problem)`` is the one way to reject a value.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from toygan.io import ensure_writable_dir


class UsageError(ValueError):
    """A bad command-line value: ``flag`` (e.g. '--stds') and what is wrong with it."""

    def __init__(self, flag: str, problem: str) -> None:
        super().__init__(f"{flag}: {problem}")
        self.flag, self.problem = flag, problem


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports errors in one line (no usage block) and exits 2."""

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
        elif origin in (typing.Union, types.UnionType):  # T | None
            kwargs["type"] = next(a for a in typing.get_args(tp) if a is not type(None))
        else:
            kwargs["type"] = tp
        if f.name in choices:
            kwargs["choices"] = list(choices[f.name])
        shown = " ".join(map(str, default)) if isinstance(default, list) else default
        kwargs["help"] = f"{comments.get(f.name, f.name)} (default: {shown})"
        kwargs.update(overrides.get(f.name, {}))
        parser.add_argument(flag(f.name), dest=f.name, **kwargs)


def config_from_dict(cls: type, d: Mapping[str, Any]) -> Any:
    """Dataclass ``cls`` built from the entries of ``d`` that name its fields (others ignored)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


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


def writable_dir(path: str, name: str = "out") -> Path:
    """Create directory ``path`` if needed and check it is writable; ``UsageError`` for flag
    ``--name`` otherwise."""
    try:
        return ensure_writable_dir(path)
    except ValueError as err:
        raise UsageError(flag(name), str(err)) from None


def run_cli(prog: str, body: Callable[[], int | None]) -> int:
    """Run ``body``; a ``UsageError`` becomes one line on stderr and exit code 2."""
    try:
        return body() or 0
    except UsageError as err:
        sys.stderr.write(f"{prog}: error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted\n")
        return 130
