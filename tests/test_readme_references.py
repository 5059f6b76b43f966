"""Every ``rankify_lite.x.y`` name and every repository path that the README, CONTRIBUTING.md or a
docs/ page mentions in backticks exists, and every relative link of the README and
CONTRIBUTING.md reaches a file, so prose cannot keep naming what was renamed or removed (the
docs site's own links are checked by ``mkdocs build --strict`` in tests/test_docs.py)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
TEXTS = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in PAGES if p.is_file()}
CODE = re.compile(r"`([^`\n]+)`")


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def test_the_pages_are_there():
    assert {"README.md", "CONTRIBUTING.md", "docs/index.md"} <= set(TEXTS)


@pytest.mark.parametrize("page", sorted(TEXTS))
def test_dotted_names_resolve(page):
    names = {m.group(0).rstrip(".") for span in CODE.findall(TEXTS[page])
             for m in re.finditer(r"\brankify_lite(?:\.[A-Za-z_]\w*)+", span)
             if "/" not in span and "my_family" not in span}   # the "adding a family" example
    missing = sorted(n for n in names if not _resolves(n))
    assert not missing, f"{page} names objects that do not exist: {missing}"


@pytest.mark.parametrize("page", sorted(TEXTS))
def test_repository_paths_exist(page):
    paths = {m.group(0) for span in CODE.findall(TEXTS[page])
             for m in re.finditer(r"(?<![\w/~.])(?:rankify_lite|tests|benchmarks|scripts|docs)/[\w/.-]*\w",
                                  span)
             if "*" not in span and "<" not in span and "my_family" not in span}
    missing = sorted(p for p in paths if not (ROOT / p).exists()
                     and not (ROOT / "rankify_lite" / p).exists())
    assert not missing, f"{page} names paths that do not exist: {missing}"


def test_the_pages_name_objects_and_paths():
    text = "".join(TEXTS.values())
    assert re.search(r"`[^`\n]*\brankify_lite\.\w+", text), "no page names a rankify_lite object"
    assert re.search(r"`(?:rankify_lite|tests|benchmarks|scripts)/\w", text), "no page names a path"


@pytest.mark.parametrize("page", ["README.md", "CONTRIBUTING.md"])
def test_relative_links_reach_a_file(page):
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", TEXTS.get(page, ""))
    missing = sorted(link for link in links if "://" not in link and not (ROOT / link).exists())
    assert not missing, f"{page} links files that do not exist: {missing}"
