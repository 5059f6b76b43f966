"""The one registry type (rankify_lite/registry.py) behind the reranker, first-stage and engine
tables: explicit names, targets imported on first use, one-line refusals with close names."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from rankify_lite.errors import InputError
from rankify_lite.registry import Registry, View, did_you_mean, import_target


@dataclass(frozen=True)
class Info:
    target: str
    note: str = ""


def test_a_target_is_imported_only_when_it_is_loaded(monkeypatch):
    monkeypatch.delitem(sys.modules, "json.decoder", raising=False)
    monkeypatch.delitem(sys.modules, "json", raising=False)
    reg: Registry[str] = Registry("codec")
    reg.register("json", "json.decoder:JSONDecoder")
    assert "json" not in sys.modules  # registering imports nothing
    cls = reg.load("json")
    assert cls.__name__ == "JSONDecoder" and "json.decoder" in sys.modules
    assert reg.target("json") == "json.decoder:JSONDecoder"
    assert import_target("collections:OrderedDict").__name__ == "OrderedDict"


def test_entries_are_kept_by_name_with_their_own_fields():
    reg: Registry[Info] = Registry("family")
    reg.register("b", Info("collections:deque", "second"))
    reg.register("a", Info("collections:OrderedDict", "first"))
    assert reg.names() == ["b", "a"] and list(reg) == ["b", "a"]  # registration order
    assert reg.lookup("a").note == "first" and reg["b"].target == "collections:deque"
    assert reg.load("b").__name__ == "deque"
    assert Registry("family", sort=True).names() == []
    with pytest.raises(ValueError, match="family 'a' is registered twice"):
        reg.register("a", Info("x:Y"))


def test_an_unknown_name_is_one_line_with_close_names_but_never_the_typed_one():
    reg: Registry[str] = Registry("LLM engine", sort=True, listing=" (list them with 'x')")
    for name in ("vllm", "openai", "llamacpp", "transformers"):
        reg.register(name, "m:C")
    with pytest.raises(InputError) as err:
        reg.lookup("vlm")
    text = str(err.value)
    assert "\n" not in text
    assert "unknown LLM engine 'vlm'. Did you mean vllm?" in text
    assert "use one of: llamacpp, openai, transformers, vllm (list them with 'x')." in text
    with pytest.raises(InputError) as err:
        reg.lookup("zzzz")
    assert "Did you mean" not in str(err.value)
    assert did_you_mean("bm25", ["bm25", "bm25s", "bm26"]) == ["bm25s", "bm26"]  # never the name typed


def test_a_copy_registers_on_its_own_and_pop_removes():
    reg: Registry[str] = Registry("family")
    reg.register("a", "m:A")
    scratch = reg.copy()
    scratch.register("b", "m:B")
    assert list(scratch) == ["a", "b"] and list(reg) == ["a"]
    assert scratch.pop("b") == "m:B" and scratch.pop("b") is None
    with pytest.raises(TypeError):
        reg["c"] = "m:C"  # type: ignore[index]  # only register() adds


def test_a_view_is_computed_from_the_registry_on_each_use():
    reg: Registry[str] = Registry("engine")
    table = View(lambda: {k: reg[k] for k in reg})
    assert dict(table) == {}
    reg.register("x", "m:X")
    assert dict(table) == {"x": "m:X"} and table["x"] == "m:X" and len(table) == 1
    with pytest.raises(TypeError):
        table["y"] = "m:Y"  # type: ignore[index]


def test_the_reranker_first_stage_and_engine_tables_are_registries_of_this_type():
    from rankify_lite.rerankers import engines
    from rankify_lite.rerankers import registry as rerankers
    from rankify_lite.retrievers import registry as first_stages

    for reg in (rerankers._REGISTRY, first_stages._REGISTRY, engines._ENGINES):
        assert isinstance(reg, Registry) and len(reg) >= 4
    assert dict(engines.ENGINE_CLASSES) == {n: engines._ENGINES[n] for n in engines.engine_names()}
    assert engines.engine_class("transformers").__name__ == "TransformersBackend"
    with pytest.raises(InputError, match=r"unknown LLM engine 'vlm'\. Did you mean vllm\?"):
        engines.engine_class("vlm")
    with pytest.raises(InputError, match=r"unknown reranker family 'monot'\. Did you mean monot5"):
        rerankers.family_info("monot")
    with pytest.raises(InputError, match=r"unknown retriever 'bm25x'\. Did you mean bm25"):
        first_stages.build_retriever("bm25x")
