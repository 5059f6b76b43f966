"""The reranker registry: explicit keys, a listing with availability and install hints."""

from __future__ import annotations

import sys

import pytest
from helpers.extras import requires

from rankify_lite.errors import InputError, MissingDependencyError
from rankify_lite.rerankers import load_reranker, registry
from rankify_lite.rerankers.families.identity import IdentityReranker


@requires("torch", "transformers", extra="rerank")  # the cross-encoder row must be available
def test_listing_has_every_family_with_its_options_and_default_model():
    rows = {r["family"]: r for r in registry.describe_families()}
    assert {"identity", "cross-encoder", "bi-encoder", "first", "listwise",
            "pointwise"} <= set(rows)
    ce = rows["cross-encoder"]
    assert ce["default_model"] == "cross-encoder/ms-marco-MiniLM-L6-v2"
    assert {"model", "batch_size", "max_length", "device", "dtype"} <= set(ce["options"])
    assert ce["available"] is True and ce["install"] == "" and ce["missing"] == []
    assert rows["bi-encoder"]["default_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert all(r["description"] for r in rows.values())
    assert list(rows) == sorted(rows)
    assert set(ce) == {"family", "available", "install", "missing", "default_model", "options",
                       "description"}


def test_listing_imports_nothing_heavy():
    heavy = [m for m in ("torch", "transformers") if m not in sys.modules]
    registry.describe_families()
    assert all(m not in sys.modules for m in heavy)


@pytest.fixture
def fake_family(monkeypatch):
    """A family whose dependency is not installed, registered for this test only."""
    monkeypatch.setattr(registry, "_REGISTRY", registry._REGISTRY.copy())
    registry.register("fake-llm", "rankify_lite.rerankers.fake:Fake", extra="fakeextra",
                      requires=("no_such_module_rankify_xyz",), default_model="org/fake",
                      description="a family whose extra is missing")
    return "fake-llm"


def test_family_with_missing_extra_is_listed_unavailable_with_the_fix(fake_family):
    row = next(r for r in registry.describe_families() if r["family"] == fake_family)
    assert row["available"] is False
    assert row["install"] == "pip install 'rankify-lite[fakeextra]'"
    assert row["missing"] == ["no_such_module_rankify_xyz"]
    with pytest.raises(MissingDependencyError, match=r"pip install 'rankify-lite\[fakeextra\]'"):
        load_reranker(fake_family)


def test_keys_are_explicit_never_substrings_of_model_ids(fake_family):
    with pytest.raises(InputError, match="unknown reranker family 'cross-encoder/ms-marco"):
        load_reranker("cross-encoder/ms-marco-MiniLM-L6-v2")
    with pytest.raises(InputError, match="Did you mean cross-encoder"):
        load_reranker("cross-encoders")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(fake_family, "x:Y")


def test_load_reranker_builds_the_registered_class():
    rr = load_reranker("identity")
    assert isinstance(rr, IdentityReranker) and rr.config() == {"family": "identity"}


def test_default_model_is_passed_when_none_given(monkeypatch):
    got = {}

    class Probe(IdentityReranker):
        family = "probe"

        def __init__(self, model: str | None = None, batch_size: int | None = None) -> None:
            got.update(model=model, batch_size=batch_size)

    import rankify_lite.rerankers.families.identity as identity_module

    monkeypatch.setattr(registry, "_REGISTRY", registry._REGISTRY.copy())
    monkeypatch.setattr(identity_module, "Probe", Probe, raising=False)
    registry.register("probe", "rankify_lite.rerankers.families.identity:Probe", default_model="org/x")
    load_reranker("probe", batch_size=3)
    assert got == {"model": "org/x", "batch_size": 3}
    load_reranker("probe", model="/my/folder")
    assert got["model"] == "/my/folder"


def test_every_family_class_carries_its_registered_key_and_default_model():
    """A family's key and default model are declared once, in its registry line; loading the
    class checks that the class agrees (a copy that drifted is an error)."""
    from rankify_lite.rerankers.registry import FamilyInfo, families

    for info in families():
        if info.available:
            cls = info.cls()
            assert cls.family == info.key
            own = getattr(cls, "default_model", None)
            assert not own or not info.default_model or own == info.default_model
    wrong = FamilyInfo("not-identity", "rankify_lite.rerankers.families.identity:IdentityReranker",
                       None, (), None, "")
    with pytest.raises(TypeError, match="make them equal"):
        wrong.cls()
