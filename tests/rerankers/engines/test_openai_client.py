"""The OpenAI-compatible backend's client behaviour against a scripted local HTTP server:
results equal the in-process fake's, 429/500 are retried with back-off, a slow server times
out and is retried (and one that stays slow is a clear error naming it), concurrency is
bounded, the API key never leaks (metadata, config, call log, logging output, errors), and
servers that cannot do what a family needs get a clear error naming them.
"""

from __future__ import annotations

import pytest

pytest.importorskip("httpx")
from helpers.fake_lm import FakeLM, rerank_inputs
from helpers.fake_server import FakeServer, FakeTokenizer

from rankify_lite.errors import InputError
from rankify_lite.rerankers.base import RerankQueryError
from rankify_lite.rerankers.engines import build_backend
from rankify_lite.rerankers.engines.http_client import ServerError
from rankify_lite.rerankers.engines.openai_backend import OpenAIBackend
from rankify_lite.rerankers.families.first import FirstReranker
from rankify_lite.rerankers.families.listwise import ListwiseReranker
from rankify_lite.rerankers.families.pointwise import PointwiseReranker
from rankify_lite.types import Run

SCORES = {"q1": [0.1, 3.0, 2.0, 5.0, 0.5, 4.0, 1.0, 6.0], "q2": [2.0, 1.0, 7.0, 0.0, 3.0, 5.0]}


def _inputs():
    return rerank_inputs(SCORES)


def _backend(lm, server, **kw):
    opts = {"backoff": 0.01, "max_backoff": 0.05, "max_retries": 3, "timeout": 5.0} | kw
    return OpenAIBackend("fake", base_url=server.url, tokenizer=FakeTokenizer(lm), **opts)


def _ranking(run: Run) -> dict[str, list[str]]:
    return {q: list(run[q].doc_ids) for q in run}


@pytest.mark.parametrize("family", ["first", "listwise", "pointwise"])
def test_families_through_the_server_equal_the_in_process_backend(family):
    cls = {"first": FirstReranker, "listwise": ListwiseReranker,
           "pointwise": PointwiseReranker}[family]
    opts = {} if family == "pointwise" else {"window_size": 4, "stride": 2}
    lm = FakeLM()
    local = cls(backend=lm, **opts).rerank(*_inputs())
    with FakeServer(lm) as server:
        remote_run = cls(backend=_backend(lm, server), **opts).rerank(*_inputs())
    assert _ranking(remote_run) == _ranking(local)
    # the perfect fake ranks by the true relevance
    assert _ranking(remote_run)["q1"][0] == "q1-d7"
    # token ids travelled, not text, and the server's token counts reached llm_stats
    assert all(isinstance(b["prompt"], list) for b in server.bodies)
    assert remote_run.metadata["llm_stats"]["input_tokens"] == \
        local.metadata["llm_stats"]["input_tokens"]
    assert remote_run.metadata["llm_stats"]["prompts"] == len(server.bodies)


def test_429_and_500_are_retried_and_counted():
    lm = FakeLM()
    with FakeServer(lm) as server:
        backend = _backend(lm, server, concurrency=1)
        first = FirstReranker(backend=backend, window_size=4, stride=2)
        expected = _ranking(FirstReranker(backend=lm, window_size=4, stride=2).rerank(*_inputs()))
        server.plan = [429, 500, 429]
        run = first.rerank(*_inputs())
    assert _ranking(run) == expected
    assert backend.counters["retries"] == 3
    assert backend.counters["requests"] == len(server.bodies)


def test_persistent_500_raises_naming_the_server_and_never_the_key(monkeypatch):
    monkeypatch.setenv("RL_TEST_KEY", "sk-test-SECRET-1234")
    lm = FakeLM()
    with FakeServer(lm) as server:
        backend = _backend(lm, server, api_key_env="RL_TEST_KEY", max_retries=2)
        server.plan = [500] * 10
        with pytest.raises(ServerError) as err:
            backend.generate([lm.encode("hello")], 4)
        # echoing the key back in an error body must not leak it either
        server.plan = [("status", 400, "bad key sk-test-SECRET-1234")]
        with pytest.raises(InputError) as bad:
            backend.generate([lm.encode("hello")], 4)
    assert server.url in str(err.value) and "3 times" in str(err.value)
    assert len(server.bodies) == 4
    assert all(h.get("Authorization") == "Bearer sk-test-SECRET-1234" for h in server.headers)
    for text in (str(err.value), str(bad.value), repr(backend.config())):
        assert "SECRET" not in text
    assert backend.config()["api_key_env"] == "RL_TEST_KEY"


def test_slow_server_times_out_then_the_retry_succeeds():
    lm = FakeLM()
    with FakeServer(lm) as server:
        backend = _backend(lm, server, timeout=0.3)
        server.plan = [("sleep", 1.0)]
        out = backend.generate([lm.encode("[A] rel=1 x\n[B] rel=2 y")], 8)
    assert out[0].text == "[B] > [A]"
    assert backend.counters["retries"] == 1


@pytest.mark.parametrize("concurrency", [1, 4])
def test_concurrency_is_bounded(concurrency):
    lm = FakeLM()
    with FakeServer(lm) as server:
        # a long timeout: a request timed out under load is retried while the server still
        # writes the abandoned answer, which would count as two in flight
        backend = _backend(lm, server, concurrency=concurrency, timeout=120.0)
        server.plan = [("sleep", 0.1)] * 12
        backend.generate([lm.encode(f"[A] rel={k} x") for k in range(12)], 4)
    assert server.max_in_flight == concurrency


def test_text_keyed_logprobs_when_the_server_rejects_the_token_id_extension():
    lm = FakeLM()
    expected = _ranking(FirstReranker(backend=lm, window_size=4, stride=2).rerank(*_inputs()))
    with FakeServer(lm, text_keys=True, reject_extension=True) as server:
        backend = _backend(lm, server, top_logprobs=50)
        run = FirstReranker(backend=backend, window_size=4, stride=2).rerank(*_inputs())
    assert _ranking(run) == expected
    assert backend._token_id_logprobs is False


def test_missing_logprobs_are_an_error_not_a_guess():
    lm = FakeLM()
    with FakeServer(lm, text_keys=True, reject_extension=True, top_cap=2) as server:
        backend = _backend(lm, server)          # the server returns at most 2 log-probs
        first = FirstReranker(backend=backend, window_size=4, stride=2)
        queries, run, corpus = _inputs()
        with pytest.raises(RerankQueryError, match="returned log-probs for 2 of the 4"):
            first.rerank(queries, run, corpus)


def test_server_that_retokenizes_is_refused():
    lm = FakeLM()
    with FakeServer(lm, prompt_token_offset=1) as server:   # e.g. it prepended a BOS
        backend = _backend(lm, server)
        with pytest.raises(InputError, match="counted .* prompt tokens where we sent"):
            backend.generate([lm.encode("hello there")], 4)


def test_chat_only_server_gets_a_clear_error():
    lm = FakeLM()
    with FakeServer(lm) as server:
        backend = _backend(lm, server)
        server.plan = [("status", 404, "not found")]
        with pytest.raises(InputError, match="chat-only API cannot take them"):
            backend.generate([lm.encode("hello")], 4)


def test_engine_option_checks():
    with pytest.raises(InputError, match="unknown LLM engine"):
        build_backend("tgi", "m")
    with pytest.raises(InputError, match="do not apply to engine 'openai'"):
        build_backend("openai", "m", base_url="http://127.0.0.1:1/v1", device="cuda")
    with pytest.raises(InputError, match="needs base_url"):
        build_backend("openai", "m")
    with pytest.raises(InputError, match="do not apply to engine 'transformers'"):
        FirstReranker("m", base_url="http://127.0.0.1:1/v1")
    with pytest.raises(InputError, match="not an http"):
        OpenAIBackend("m", base_url="localhost:8000", tokenizer=FakeTokenizer(FakeLM()))


def test_registry_passes_engine_options_and_metadata_names_the_server(monkeypatch):
    from rankify_lite.rerankers.registry import family_info, load_reranker

    monkeypatch.setenv("RL_TEST_KEY", "sk-test-SECRET-9")
    assert {"engine", "base_url", "concurrency"} <= set(family_info("pointwise").options)
    lm = FakeLM()
    with FakeServer(lm) as server:
        rr = load_reranker("pointwise", model="fake", engine="openai", base_url=server.url,
                           tokenizer=FakeTokenizer(lm), api_key_env="RL_TEST_KEY",
                           concurrency=2)
        run = rr.rerank(*_inputs())
    assert rr.config()["backend"] == "openai" and rr.config()["base_url"] == server.url
    assert "SECRET" not in repr(rr.config()) + repr(dict(run.metadata))
    assert run.metadata["llm_stats"]["prompts"] == sum(len(s) for s in SCORES.values())
    assert _ranking(run)["q2"][0] == "q2-d2"               # the most relevant passage first


def test_server_without_token_id_prompts_gets_told_to_send_text():
    # llama-cpp-python answers a token-id prompt with HTTP 500 and a validation error
    lm = FakeLM()
    body = ("1 validation error: {'type': 'string_type', 'loc': ('body', 'prompt', 'str'), "
            "'msg': 'Input should be a valid string'}")
    with FakeServer(lm) as server:
        backend = _backend(lm, server)
        server.plan = [("status", 500, body)]
        with pytest.raises(InputError, match="prompt_format='text'"):
            backend.generate([lm.encode("hello")], 4)
        assert len(server.bodies) == 1                      # not retried
        text = OpenAIBackend("fake", base_url=server.url, tokenizer=FakeTokenizer(lm),
                             prompt_format="text")
        out = text.generate([lm.encode("[A] rel=1 x\n[B] rel=2 y")], 8)
    assert server.bodies[-1]["prompt"] == "[A] rel=1 x\n[B] rel=2 y"
    assert out[0].text == "[B] > [A]"


def test_a_server_that_stays_slow_is_a_clear_error_after_the_retries():
    lm = FakeLM()
    with FakeServer(lm) as server:
        backend = _backend(lm, server, timeout=0.2, max_retries=2)
        server.plan = [("sleep", 0.6)] * 3
        with pytest.raises(ServerError) as err:
            backend.generate([lm.encode("[A] rel=1 x")], 4)
    text = str(err.value)
    assert server.url in text and "3 times" in text and "no answer within 0.2 s" in text
    assert "raise max_retries/timeout" in text
    assert backend.counters == {"requests": 3, "retries": 2}


def test_the_key_never_reaches_the_call_log_or_the_logging_output(monkeypatch, tmp_path,
                                                                   caplog):
    import logging

    monkeypatch.setenv("RL_TEST_KEY", "sk-test-SECRET-5678")
    caplog.set_level(logging.DEBUG)                  # httpx logs every request at INFO/DEBUG
    lm = FakeLM()
    log = tmp_path / "calls.jsonl"
    with FakeServer(lm) as server:
        first = FirstReranker(backend=_backend(lm, server, api_key_env="RL_TEST_KEY"),
                              window_size=4, stride=2, log_path=log)
        server.plan = [429, 500]                     # retried requests are logged too
        run = first.rerank(*_inputs())
        # a failed batch is redone query by query: the server keeps refusing
        server.plan = [("status", 401, "invalid key sk-test-SECRET-5678")] * 20
        with pytest.raises(RerankQueryError) as err:
            first.rerank(*_inputs())
    assert all(h.get("Authorization") == "Bearer sk-test-SECRET-5678" for h in server.headers)
    assert log.read_text().count("\n") >= 5          # every window of the first run is logged
    assert "$RL_TEST_KEY" in str(err.value)          # the fix names the variable, not the key
    for text in (log.read_text(), caplog.text, str(err.value), repr(err.value.__cause__),
                 repr(dict(run.metadata)), repr(first.config())):
        assert "SECRET" not in text
