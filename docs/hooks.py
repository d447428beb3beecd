"""mkdocs hooks: serve the repository's README, figures/ and notebooks/ as part of the site.

The figures and notebooks live at the repository root, outside ``docs/``, and the pages are
written to read on GitHub as well: ``docs/mnist.md`` shows ``../figures/mnist_samples.png``, the
README links ``docs/mnist.md``. So that the same files build the site, with nothing copied or
linked on disk, these hooks

- add every file under ``figures/`` and ``notebooks/`` to the site as if it lay in ``docs/``
  (``figures/x.png`` is served at ``/figures/x.png``; mkdocs-jupyter renders the notebooks);
- make the README the front page (``index.md``);
- list in the nav's "Notebooks" section every notebook that the nav does not name already, so a
  notebook added to ``notebooks/`` shows without an edit to ``mkdocs.yml``;
- map the GitHub links onto that layout before mkdocs validates them (inline Markdown links and
  images, ``](...)``): ``../figures/`` and ``../notebooks/`` from a page in ``docs/``,
  ``docs/`` from the README.

A link that the mapping does not fix is still checked, and fails the strict build.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parent.parent  # the repository
SERVED = ("figures", "notebooks")  # folders at the root served as if they lay in docs/
FRONT = "index.md"  # the README's place in the site
NOTEBOOKS = "Notebooks"  # the nav section that lists notebooks/*.ipynb

# "](../figures/" from docs/page.md is "](figures/" in the site (one "../" less at any depth)
_UP_TO_SERVED = re.compile(r"\]\(((?:\.\./)*)\.\./(" + "|".join(SERVED) + r")/")
_README_TO_DOCS = re.compile(r"\]\(docs/")


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    named = set(_nav_paths(config.nav or []))
    for entry in config.nav or []:
        if isinstance(entry, dict) and NOTEBOOKS in entry:
            section = entry[NOTEBOOKS] or []
            for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
                uri = f"notebooks/{path.name}"
                if uri not in named:
                    section.append(uri)
            entry[NOTEBOOKS] = section
    return config


def _nav_paths(nav: list) -> list[str]:
    """Every page path named in a nav (nested lists of paths and {title: path or list})."""
    paths = []
    for entry in nav:
        values = entry.values() if isinstance(entry, dict) else [entry]
        for value in values:
            paths += _nav_paths(value) if isinstance(value, list) else [value]
    return paths


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns notebooks into pages
def on_files(files: Files, config: MkDocsConfig) -> Files:
    for folder in SERVED:
        for path in sorted((ROOT / folder).rglob("*")):
            rel = path.relative_to(ROOT)
            if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                files.append(
                    File(
                        rel.as_posix(),
                        src_dir=str(ROOT),
                        dest_dir=config.site_dir,
                        use_directory_urls=config.use_directory_urls,
                    )
                )
    files.append(File.generated(config, FRONT, abs_src_path=str(ROOT / "README.md")))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri == FRONT:
        return _README_TO_DOCS.sub("](", markdown)
    return _UP_TO_SERVED.sub(r"](\1\2/", markdown)
