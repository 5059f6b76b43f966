"""Component specs: recorded by construction, validated, plain data, rebuilt exactly."""

from __future__ import annotations

import json

import pytest

from rankify_lite.builders import build
from rankify_lite.errors import InputError
from rankify_lite.rerankers import load_reranker, registry
from rankify_lite.retrievers import BM25, Fusion
from rankify_lite.retrievers.runs import GivenRun, ShippedRun, as_first_stage
from rankify_lite.spec import ComponentSpec
from rankify_lite.types import Run


def test_spec_round_trips_and_is_frozen():
    spec = ComponentSpec("reranker", "first", {"model": "/m", "window_size": 4})
    again = ComponentSpec.from_dict(json.loads(json.dumps(spec.as_dict())))
    assert again == spec and again.rebuildable
    with pytest.raises(TypeError):
        spec.options["window_size"] = 8  # type: ignore[index]
    with pytest.raises(AttributeError):
        spec.family = "listwise"  # type: ignore[misc]
    with pytest.raises(InputError, match="kind 'model' is unknown"):
        ComponentSpec("model", "x")
    with pytest.raises(InputError, match="not a component spec"):
        ComponentSpec.from_dict(["first"])
    with pytest.raises(InputError, match="not plain data"):
        ComponentSpec("reranker", "first", {"model": object()})


def test_reranker_spec_is_what_it_was_built_with():
    spec = load_reranker("identity").spec()
    assert spec == ComponentSpec("reranker", "identity", {})
    assert isinstance(build(spec), type(load_reranker("identity")))


def test_retriever_specs_rebuild_the_same_config():
    bm25 = BM25(backend="bm25s", k1=1.2)
    spec = bm25.spec()
    assert (spec.kind, spec.family, dict(spec.options)) == ("retriever", "bm25",
                                                            {"backend": "bm25s", "k1": 1.2})
    assert build(spec).config() == bm25.config()
    fused = Fusion([BM25(backend="bm25s"), BM25(backend="bm25s", k1=1.5)], k=30)
    fspec = ComponentSpec.from_dict(json.loads(json.dumps(fused.spec().as_dict())))
    assert fspec.rebuildable and fspec.family == "fusion"
    assert build(fspec).config() == fused.config()


def test_first_stage_runs_are_components():
    shipped = as_first_stage("run:bm25.top100")
    assert isinstance(shipped, ShippedRun) and build(shipped.spec()).config() == shipped.config()
    given = as_first_stage(Run.from_scores({"q": {"d": 1.0}}, name="mine"))
    assert isinstance(given, GivenRun) and given.name == "mine"
    assert not given.spec().rebuildable and "run" in given.spec().why
    with pytest.raises(InputError, match="can't be rebuilt"):
        build(given.spec())
    with pytest.raises(InputError, match="not a retriever or a run"):
        as_first_stage("bm25")


def test_unknown_options_are_refused_before_anything_loads():
    # a typo fails with the close match, before the (absent) model is looked for
    with pytest.raises(InputError, match="'windw_size' \\(did you mean 'window_size'"):
        load_reranker("first", model="/no/such/model", windw_size=4)
    with pytest.raises(InputError, match="no option 'k2'"):
        build(ComponentSpec("retriever", "bm25", {"k2": 1.0}))
    with pytest.raises(InputError, match="unknown retriever family"):
        build(ComponentSpec("retriever", "bm26", {}))


def test_registry_options_come_from_the_signatures():
    rows = {r["family"]: set(r["options"]) for r in registry.describe_families()}
    # the options that had drifted out of the hand-written lists
    for family in ("first", "listwise", "pointwise"):
        assert {"passage_words", "prompt", "log_path", "engine", "base_url"} <= rows[family]
    assert {"window_size", "stride", "top_window"} <= rows["first"]
    assert {"mask_std", "reverse_order"} <= rows["icr"]
    assert {"method", "top_k", "device", "revision"} <= rows["pairwise"]
    assert {"trust_remote_code", "backend"} <= rows["cross-encoder"]
    # and every listed option is one the family accepts
    from rankify_lite.spec import check_options

    for info in registry.families():
        check_options(info.cls(), dict.fromkeys(info.options), info.key, extra=info.options)
