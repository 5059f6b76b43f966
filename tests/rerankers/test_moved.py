"""The rerankers/ rooms (#33): every module path from before them still imports for one release,
as the very module object of its new path, warning once; nothing in the project uses an old one."""

from __future__ import annotations

import importlib
import re
import sys
import warnings
from pathlib import Path

import pytest

from rankify_lite.rerankers._moved import MOVED, PACKAGE
from rankify_lite.rerankers.engines import ENGINE_CLASSES
from rankify_lite.rerankers.registry import families

ROOT = Path(__file__).resolve().parents[2]
OLD = sorted(MOVED)


@pytest.fixture
def forget_old_names():
    """Each test starts with no old name imported, and leaves none behind (a name left in
    sys.modules would import silently in a later test)."""

    def drop() -> None:
        parent = importlib.import_module(PACKAGE)
        for old in OLD:
            sys.modules.pop(f"{PACKAGE}.{old}", None)
            if old in vars(parent):
                delattr(parent, old)

    drop()
    yield
    drop()


@pytest.mark.parametrize("old", OLD)
def test_an_old_path_is_the_new_module_and_warns_once(old, forget_old_names):
    new = importlib.import_module(f"{PACKAGE}.{MOVED[old]}")
    with pytest.warns(DeprecationWarning, match=re.escape(f"moved to {PACKAGE}.{MOVED[old]}")):
        module = importlib.import_module(f"{PACKAGE}.{old}")
    assert module is new
    assert module.__name__ == module.__spec__.name == f"{PACKAGE}.{MOVED[old]}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second import of the old name is silent
        again = importlib.import_module(f"{PACKAGE}.{old}")
    assert again is new


def test_from_imports_and_monkeypatching_through_an_old_name_reach_one_module(
        forget_old_names, monkeypatch):
    from rankify_lite.rerankers.families import cross_encoder

    with pytest.warns(DeprecationWarning):
        from rankify_lite.rerankers.cross_encoder import CrossEncoderReranker
    assert CrossEncoderReranker is cross_encoder.CrossEncoderReranker
    from rankify_lite.rerankers import cross_encoder as old  # bound by the import above

    monkeypatch.setattr(old, "split_per_query", "patched")
    assert cross_encoder.split_per_query == "patched"
    with pytest.warns(DeprecationWarning, match="prompts.clean"):
        from rankify_lite.rerankers import text_clean
    from rankify_lite.rerankers.prompts import clean
    assert text_clean is clean


def test_every_registered_target_names_a_new_path_and_imports_without_a_warning():
    targets = [f.target for f in families()] + list(ENGINE_CLASSES.values())
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for target in targets:
            module, name = target.split(":")
            assert module.removeprefix(PACKAGE + ".") not in MOVED, target
            assert getattr(importlib.import_module(module), name).__name__ == name


def test_no_source_file_names_an_old_path():
    names = "|".join(re.escape(o) for o in OLD)
    dotted = re.compile(rf"rankify_lite\.rerankers\.({names})\b")
    from_import = re.compile(rf"from rankify_lite\.rerankers import [^\n]*\b({names})\b")
    slashed = re.compile(rf"rankify_lite/rerankers/({names})\.py\b")
    mine = {Path(__file__).resolve(), ROOT / "rankify_lite" / "rerankers" / "_moved.py"}
    found = []
    for folder in ("rankify_lite", "tests", "benchmarks", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.resolve() in mine:
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if dotted.search(line) or from_import.search(line) or slashed.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_packaged_prompt_templates_are_found_in_their_folder():
    from rankify_lite.rerankers.prompts.templates import PROMPTS_DIR, load_prompt

    names = sorted(p.stem for p in PROMPTS_DIR.glob("*.yaml"))
    assert PROMPTS_DIR == ROOT / "rankify_lite" / "rerankers" / "prompts"
    assert {"rank_zephyr", "monot5", "setwise"} <= set(names)
    assert all(load_prompt(n).sha256 for n in names)
