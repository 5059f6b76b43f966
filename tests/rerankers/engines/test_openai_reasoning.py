"""The reasoning families through an OpenAI-compatible server (the scripted local one): the same
orderings, prompts and token counts as in process, reasoning and forced closes included."""

from __future__ import annotations

import pytest

pytest.importorskip("httpx")
from helpers.fake_lm import FakeLM, perfect_writer, rerank_inputs
from helpers.fake_server import FakeServer, FakeTokenizer

from rankify_lite.rerankers.engines.openai_backend import OpenAIBackend
from rankify_lite.rerankers.families.rank1 import Rank1Reranker
from rankify_lite.rerankers.families.reasonrank import ReasonRankReranker

SCORES = {"q1": [0.1, 3.0, 2.0, 5.0, 0.5, 4.0, 1.0, 6.0], "q2": [2.0, 1.0, 7.0, 0.0, 3.0, 5.0]}


def _backend(lm, server):
    return OpenAIBackend("fake", base_url=server.url, tokenizer=FakeTokenizer(lm), backoff=0.01,
                         max_retries=2, timeout=5.0)


def _ranking(run):
    return {q: list(run[q].doc_ids) for q in run}


def _writer(window):
    """Reasoning that never closes its block (the budget runs out: the close is forced); with
    thinking off, a listwise window gets the perfect answer."""
    if not window:                                  # a Rank1 prompt (no [k] passages)
        return "It matches the query. Then"
    return perfect_writer(window) + " Let me see."


@pytest.mark.parametrize("family", ["rank1", "reasonrank"])
@pytest.mark.parametrize("thinking", [True, False])
def test_reasoning_families_through_the_server_equal_in_process(family, thinking):
    cls = {"rank1": Rank1Reranker, "reasonrank": ReasonRankReranker}[family]
    opts = {"thinking": thinking, "reasoning_token_budget": 24}
    if family == "reasonrank":
        opts.update(window_size=4, stride=2)
    lm = FakeLM(writer=_writer)
    local = cls(backend=lm, **opts).rerank(*rerank_inputs(SCORES))
    local_prompts = lm.generate_calls + lm.logit_calls
    lm.generate_calls, lm.logit_calls = [], []
    with FakeServer(lm) as server:
        remote = cls(backend=_backend(lm, server), **opts).rerank(*rerank_inputs(SCORES))
    assert _ranking(remote) == _ranking(local)
    # every prompt the model saw in process reached the server as the same token ids
    sent = sorted(lm.decode(b["prompt"]) for b in server.bodies)
    seen = sorted(p for call in local_prompts for p in call)
    assert sent == seen and all(isinstance(b["prompt"], list) for b in server.bodies)
    mine, theirs = local.metadata["llm_stats"], remote.metadata["llm_stats"]
    for key in ("prompts", "input_tokens", "output_tokens", "forced_closes", "queries"):
        assert theirs[key] == mine[key], key
    if thinking:
        assert mine["forced_closes"] > 0 and mine["output_tokens"] > 0
        budgets = {b["max_tokens"] for b in server.bodies if b.get("max_tokens", 1) > 1}
        assert 24 in budgets
    else:
        assert mine["forced_closes"] == 0
