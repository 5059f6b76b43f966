"""What each LLM engine takes comes from its backend's signature; ENGINE_OPTIONS only declares
what a shared file may do with each option (issue #33: ``attention`` was refused for the
transformers engine, whose backend takes it)."""

from __future__ import annotations

import inspect

import pytest

from rankify_lite.errors import InputError
from rankify_lite.file_policy import KINDS
from rankify_lite.rerankers import engines
from rankify_lite.rerankers.engines import (
    COMMON,
    ENGINE_OPTIONS,
    build_backend,
    engine_class,
    engine_names,
    engine_options,
)


@pytest.mark.parametrize("engine", engine_names())
def test_every_option_a_backend_takes_has_a_declared_kind(engine):
    taken = set(engine_options(engine))
    declared = set(ENGINE_OPTIONS[engine])
    assert taken - declared == set(), f"{engine}: options with no shared-file kind"
    assert declared - taken == set(), f"{engine}: kinds declared for options it does not take"
    assert set(ENGINE_OPTIONS[engine].values()) <= set(KINDS)


@pytest.mark.parametrize("engine", engine_names())
def test_every_backend_takes_the_common_options(engine):
    params = inspect.signature(engine_class(engine).__init__).parameters
    assert set(COMMON) <= set(params)


def test_the_tables_name_the_same_engines():
    assert list(ENGINE_OPTIONS) == engine_names() == list(engines.ENGINE_CLASSES)


class _Loaded(Exception):
    """Raised by the stub loader with the keyword arguments it was given."""


def _stub_loader(monkeypatch):
    pytest.importorskip("transformers")
    from rankify_lite.models import loader

    def load(*args, **kwargs):
        raise _Loaded(kwargs)

    monkeypatch.setattr(loader, "load", load)


def test_attention_reaches_the_transformers_loader(monkeypatch):
    _stub_loader(monkeypatch)
    with pytest.raises(_Loaded) as got:
        build_backend("transformers", "some/model", attention="eager", batch_size=4)
    assert got.value.args[0]["attention"] == "eager"


def test_attention_through_an_llm_family(monkeypatch):
    _stub_loader(monkeypatch)
    from rankify_lite.rerankers.registry import load_reranker

    with pytest.raises(_Loaded) as got:
        load_reranker("pointwise", model="some/model", attention="eager")
    assert got.value.args[0]["attention"] == "eager"


def test_a_transformers_option_is_refused_for_another_engine():
    with pytest.raises(InputError, match="attention do not apply to engine 'openai'") as err:
        build_backend("openai", "m", base_url="http://127.0.0.1:9/v1", attention="eager")
    assert "\n" not in str(err.value)
    assert "concurrency" in str(err.value)


@pytest.mark.parametrize("engine", [e for e in engine_names() if e != "transformers"])
def test_batch_size_is_accepted_and_not_passed_on(engine, monkeypatch):
    """batch_size is every LLM family's option (it always passes it): a spec saved with it
    keeps loading when only the engine changes; engines that batch themselves never see it."""
    seen = {}

    class Recorder:
        def __init__(self, model, *, tokenizer=None, revision=None, max_context=None,
                     **opts):
            seen.update(opts)

    monkeypatch.setattr(engines, "engine_class", lambda name: Recorder)
    monkeypatch.setattr(engines, "engine_options", lambda name: tuple(ENGINE_OPTIONS[name]))
    opts = {"base_url": "http://127.0.0.1:9/v1"} if engine == "openai" else {}
    build_backend(engine, "m", batch_size=32, device=None, **opts)
    assert "batch_size" not in seen and "device" not in seen
    with pytest.raises(InputError, match="device do not apply"):
        build_backend(engine, "m", device="cuda", **opts)


def test_unknown_engine_is_one_line():
    with pytest.raises(InputError, match="unknown LLM engine 'vlm'") as err:
        build_backend("vlm", "m")
    assert "\n" not in str(err.value)
