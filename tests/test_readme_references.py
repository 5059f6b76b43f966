"""Every ``rankify_lite.x.y`` name and every repository path the README mentions in backticks
exists, so prose cannot keep naming what was renamed or removed."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
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


def test_dotted_names_resolve():
    names = {m.group(0).rstrip(".") for span in CODE.findall(README)
             for m in re.finditer(r"\brankify_lite(?:\.[A-Za-z_]\w*)+", span)
             if "/" not in span and "my_family" not in span}   # the "adding a family" example
    assert names, "the README names no rankify_lite objects"
    missing = sorted(n for n in names if not _resolves(n))
    assert not missing, f"README.md names objects that do not exist: {missing}"


def test_repository_paths_exist():
    paths = {m.group(0) for span in CODE.findall(README)
             for m in re.finditer(r"(?<![\w/~.])(?:rankify_lite|tests|benchmarks|scripts)/[\w/.-]*\w", span)
             if "*" not in span and "<" not in span and "my_family" not in span}
    assert paths, "the README names no repository paths"
    missing = sorted(p for p in paths if not (ROOT / p).exists()
                     and not (ROOT / "rankify_lite" / p).exists())
    assert not missing, f"README.md names paths that do not exist: {missing}"
