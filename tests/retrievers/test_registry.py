"""The first-stage tables (RETRIEVERS, FAMILIES, RUN_FAMILIES) are views of the one registry:
a family registered once shows in each, and nothing can be put in one table alone (issue #33:
they were four dicts kept in step by hand)."""

from __future__ import annotations

import pytest

from rankify_lite.errors import InputError
from rankify_lite.retrievers import registry


@pytest.fixture
def scratch(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", registry._REGISTRY.copy())
    return registry


def test_one_register_line_feeds_every_table(scratch):
    scratch.register("toy", "rankify_lite.retrievers.runs:GivenRun",
                     presets={"toy": {}, "toy-big": {"k": 5}})
    scratch.register("toy-run", "rankify_lite.retrievers.runs:RunFile", kind="first-stage")
    assert scratch.RETRIEVERS["toy-big"] == ("rankify_lite.retrievers.runs:GivenRun", {"k": 5})
    assert scratch.FAMILIES["toy"] == "rankify_lite.retrievers.runs:GivenRun"
    assert "toy-run" in scratch.RUN_FAMILIES and "toy-run" not in scratch.FAMILIES
    assert "toy-run" not in scratch.RETRIEVERS  # a run first stage has no CLI name of its own
    with pytest.raises(ValueError, match="registered twice"):
        scratch.register("other", "m:C", presets={"toy-big": {}})


def test_the_tables_agree_with_the_registry():
    infos = registry._REGISTRY.values()
    assert dict(registry.FAMILIES) == {i.key: i.target for i in infos if i.kind == "retriever"}
    assert dict(registry.RUN_FAMILIES) == {i.key: i.target for i in infos
                                           if i.kind == "first-stage"}
    assert {n for i in infos for n in i.presets} == set(registry.RETRIEVERS)
    assert registry.RETRIEVERS["bm25-multifield"] == (registry.FAMILIES["bm25"],
                                                      {"fields": "multifield"})


def test_the_tables_are_read_only():
    with pytest.raises(TypeError):
        registry.FAMILIES["x"] = "m:C"  # type: ignore[index]
    with pytest.raises(InputError, match="unknown retriever 'bm25-multi'"):
        registry.build_retriever("bm25-multi")
