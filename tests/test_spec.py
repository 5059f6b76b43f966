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
        check_options(info.cls(), dict.fromkeys(info.options), info.key, extra=info.options,
                      values=False)


def _typed_options():
    """(family, option, atoms) for every option of every registered reranker family and
    retriever whose declared type is simple (int, float, bool, str, None)."""
    import inspect

    from rankify_lite.rerankers import registry
    from rankify_lite.retrievers import registry as first_stages
    from rankify_lite.spec import _atoms

    classes = [(f, registry.family_info(f).cls) for f in sorted(registry._REGISTRY)]
    classes += [(k, info.cls) for k, info in sorted(first_stages._REGISTRY.items())]
    out = []
    for family, load in classes:
        try:
            cls = load()
        except ImportError:
            continue  # a family whose module needs a missing extra: its options can't be read
        for name, p in inspect.signature(cls.__init__).parameters.items():
            atoms = _atoms(p.annotation) if name != "self" else None
            if atoms and atoms - {"None"} and not atoms & {"str"}:
                out.append(pytest.param(cls, name, atoms, id=f"{family}-{name}"))
    return out


BAD_VALUES = {"text": "abc", "nan": float("nan"), "inf": float("inf"), "negative": -3,
              "huge": 10**20, "list": [1]}


@pytest.mark.parametrize("cls, name, atoms", _typed_options())
def test_every_typed_option_refuses_a_bad_value_in_one_line(cls, name, atoms):
    """Wrong type, NaN, inf, a negative and a huge value: each refused in one line naming the
    option, before the family is built (issue #38 item 6); a bool option takes only a bool."""
    from rankify_lite.spec import check_options

    bad = dict(BAD_VALUES)
    if "bool" in atoms:
        bad["number"] = 1
    else:
        bad["bool"] = True
    for label, value in bad.items():
        with pytest.raises(InputError) as exc:
            check_options(cls, {name: value}, "family x")
        message = str(exc.value)
        assert f"option {name}" in message and len(message.splitlines()) == 1, (label, message)


def test_the_cli_refuses_a_bad_family_option_in_one_line(capsys):
    from rankify_lite.cli.main import main

    for value in ("abc", "nan", "-1", "99999999999999999999", "1.5"):
        assert main(["run", "--dataset", "beir/scifact", "--retriever", "bm25", "--reranker",
                     f"bi-encoder batch_size={value}", "--no-cache"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "option batch_size" in err, err
        assert "Traceback" not in err
