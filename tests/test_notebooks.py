"""Every committed notebook shows its results on GitHub: no drawing cell without its output.

A notebook is read, not run (the brief): a cell that draws (matplotlib, a live panel, an image,
a display) must be committed with the picture it drew, and no cell may be committed with an
error. The test reads the .ipynb files as JSON (nothing is executed here; CI executes the
notebooks on tiny settings with nbmake, which does not write the outputs back).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
# calls that put a picture in the cell's output
DRAWS = re.compile(r"\bplt\.|\bdraw_\w*\(|\bdisplay\(|LivePanel|\bImage\(|\bexplore\(|\.plot\(|"
                   r"imshow\(|save_\w*figure|_figure\(|show_\w+\(")  # fmt: skip
PICTURES = ("image/png", "image/gif", "image/svg+xml", "application/vnd.jupyter.widget-view+json")


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_drawing_cell_is_committed_with_its_picture(path):
    missing = []
    for i, cell in enumerate(code_cells(path)):
        lines = source(cell).splitlines()  # comments and imports draw nothing
        text = "\n".join(
            ln for ln in lines if not ln.lstrip().startswith(("#", "import ", "from "))
        )
        if not DRAWS.search(text):
            continue
        kinds = {k for o in cell.get("outputs", []) for k in o.get("data", {})}
        if not kinds & set(PICTURES):
            missing.append(f"cell {i}: {text.strip().splitlines()[0][:60]!r}")
    assert not missing, f"{path.name}: drawing cells without a picture: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_cell_is_committed_with_an_error_or_unrun(path):
    cells = code_cells(path)
    errors = [i for i, c in enumerate(cells) for o in c.get("outputs", [])
              if o.get("output_type") == "error"]  # fmt: skip
    assert not errors, f"{path.name}: cells {errors} were committed with an error"
    unrun = [
        i for i, c in enumerate(cells) if source(c).strip() and c.get("execution_count") is None
    ]
    assert not unrun, f"{path.name}: cells {unrun} were never run (commit the notebook's run)"


def test_the_check_catches_a_bare_notebook(tmp_path):
    nb = {"cells": [{"cell_type": "code", "source": ["plt.plot([1, 2])"], "outputs": [],
                     "execution_count": None, "metadata": {}}], "metadata": {}, "nbformat": 4,
          "nbformat_minor": 5}  # fmt: skip
    path = tmp_path / "bare.ipynb"
    path.write_text(json.dumps(nb))
    with pytest.raises(AssertionError, match="without a picture"):
        test_every_drawing_cell_is_committed_with_its_picture(path)
    with pytest.raises(AssertionError, match="never run"):
        test_no_cell_is_committed_with_an_error_or_unrun(path)
