"""The package's layout is its architecture: one core (``toygan.*``) and two worlds above it
(``toygan.toy``: 1D mixtures, ``toygan.mnist``: MNIST), with no import circles.

Read from the source with ``ast`` (nothing is imported): an edge A -> B is an ``import B`` or
``from B import x`` in A (``from P import m`` of a submodule m is an edge to P.m). Module level
means what runs on import (``if`` / ``try`` / class bodies included; functions and
``if TYPE_CHECKING:`` blocks not).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "toygan"
WORLDS = ("toygan.toy", "toygan.mnist")
# Above the core by design: the package facade re-exports public names of both worlds, and
# ``toygan.evaluate`` / ``toygan.hub`` keep ``python -m toygan.evaluate|hub`` working.
FRONTS = {"toygan", "toygan.evaluate", "toygan.hub"}


def module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file of every module under the package directory ``root``."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(body: list[ast.stmt], lazy: bool):
    """The Import / ImportFrom nodes that run when ``body`` runs (all of them when ``lazy``)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if lazy:
                yield from _imports(node.body, lazy)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            continue  # never runs
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    yield from _imports([n for n in inner if isinstance(n, ast.AST)], lazy)
            if isinstance(node, ast.ExceptHandler):
                yield from _imports(node.body, lazy)


def import_graph(root: Path, lazy: bool = False) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (module level only unless ``lazy``)."""
    modules = module_names(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in _imports(ast.parse(path.read_text(), str(path)).body, lazy):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from . import x, from ..y import z
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                subs = [f"{base}.{alias.name}" for alias in node.names]
                targets = [s for s in subs if s in modules] or [base]
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def world(module: str) -> str | None:
    """'toygan.toy', 'toygan.mnist' or None (the core)."""
    return next((w for w in WORLDS if module == w or module.startswith(w + ".")), None)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(PACKAGE)


def test_the_tree_is_one_core_and_two_worlds(graph):
    for expected in (
        "toygan.engine",
        "toygan.run",
        "toygan.toy.compare",
        "toygan.toy.experiment",
        "toygan.mnist.experiment",
        "toygan.mnist.evaluate",
    ):
        assert expected in graph, expected  # the analysis reads the real package
    assert graph["toygan.toy.compare"] >= {"toygan.io", "toygan.toy.ensemble"}  # edges found


def test_no_import_cycles(graph):
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_no_import_cycles_even_through_imports_inside_functions():
    lazy = import_graph(PACKAGE, lazy=True)
    assert find_cycle(lazy) is None, " -> ".join(find_cycle(lazy))


def test_the_core_imports_neither_world_at_module_level(graph):
    bad = {
        f"{m} -> {t}"
        for m, targets in graph.items()
        if world(m) is None and m not in FRONTS
        for t in targets
        if world(t) is not None
    }
    assert not bad, sorted(bad)


def test_the_worlds_do_not_import_each_other():
    """Not even inside functions: a world reaches the other only through the core."""
    lazy = import_graph(PACKAGE, lazy=True)
    bad = {
        f"{m} -> {t}"
        for m, targets in lazy.items()
        for t in targets
        if world(m) is not None and world(t) is not None and world(m) != world(t)
    }
    assert not bad, sorted(bad)


def test_the_checks_catch_what_they_look_for(tmp_path):
    """The analysis finds a circle, a core module importing a world, and a crossing."""
    pkg = tmp_path / "toygan"
    (pkg / "toy").mkdir(parents=True)
    (pkg / "mnist").mkdir()
    files = {
        "__init__.py": "",
        "io.py": "import json\n",
        "engine.py": "from toygan import io\nfrom toygan.toy.a import x\n",
        "run.py": "def main():\n    from toygan.mnist import b\n",
        "toy/__init__.py": "",
        "toy/a.py": "from toygan.toy import c\nfrom toygan.io import f\n",
        "toy/c.py": "from . import a\n",
        "mnist/__init__.py": "",
        "mnist/b.py": "import typing\nif typing.TYPE_CHECKING:\n    import toygan.toy.a\n",
        "mnist/d.py": "def f():\n    from ..toy import c\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    graph = import_graph(pkg)
    assert graph["toygan.engine"] == {"toygan.io", "toygan.toy.a"}
    assert graph["toygan.run"] == set()  # lazy
    assert graph["toygan.mnist.b"] == set()  # TYPE_CHECKING only
    assert find_cycle(graph) == ["toygan.toy.a", "toygan.toy.c", "toygan.toy.a"]
    assert world("toygan.engine") is None and world("toygan.toy.a") == "toygan.toy"
    lazy = import_graph(pkg, lazy=True)
    assert lazy["toygan.run"] == {"toygan.mnist.b"}
    assert lazy["toygan.mnist.d"] == {"toygan.toy.c"}
