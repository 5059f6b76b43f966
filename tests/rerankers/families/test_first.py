"""FIRST with a fake LM whose logits are crafted: exact permutations, one call per window."""

from __future__ import annotations

import json
import random

import pytest
from helpers.fake_lm import FakeLM, docs_with_relevance, rerank_inputs, sliding_reference

from rankify_lite.errors import InputError
from rankify_lite.rerankers.families.first import FirstReranker


def test_hand_checked_permutation():
    # windows (2,5) then (0,3): [d2 d3 d4] -> d3 d4 d2; then [d0 d1 d3] -> d1 d3 d0
    q, run, corpus = rerank_inputs({"q1": [1, 5, 2, 4, 3]})
    out = FirstReranker(backend=FakeLM(), window_size=3, stride=2).rerank(q, run, corpus)
    assert list(out["q1"].doc_ids) == ["q1-d1", "q1-d3", "q1-d0", "q1-d4", "q1-d2"]


def test_one_batched_forward_per_window_step_and_no_generation():
    rng = random.Random(7)
    per_query = {f"q{k}": [round(rng.uniform(0, 100), 3) for _ in range(100)] for k in range(3)}
    q, run, corpus = rerank_inputs(per_query)
    lm = FakeLM()
    rr = FirstReranker(backend=lm)
    out = rr.rerank(q, run, corpus, depth=100)
    # 9 windows per query, window k of the 3 queries in one call: 9 calls of 3 prompts
    assert len(lm.logit_calls) == 9 and all(len(c) == 3 for c in lm.logit_calls)
    assert lm.generate_calls == []
    stats = out.metadata["llm_stats"]
    assert stats["windows"] == 27 and stats["prompts"] == 27 and stats["model_calls"] == 9
    for qid, scores in per_query.items():
        expected = [f"{qid}-d{i}" for i in sliding_reference(scores, 20, 10)]
        assert list(out[qid].doc_ids) == expected
        # a perfect window sorter bubbles the true top 10 to the top, in order
        top10 = sorted(range(100), key=lambda i: -scores[i])[:10]
        assert list(out[qid].doc_ids[:10]) == [f"{qid}-d{i}" for i in top10]


def test_scores_strictly_decrease_and_tail_is_kept():
    rng = random.Random(3)
    q, run, corpus = rerank_inputs({"q1": [rng.random() for _ in range(30)]})
    out = FirstReranker(backend=FakeLM(), window_size=4, stride=2).rerank(q, run, corpus,
                                                                          depth=10)
    rl = out["q1"]
    assert all(a > b for a, b in zip(rl.scores, rl.scores[1:], strict=False))
    assert rl.doc_ids[10:] == run["q1"].doc_ids[10:]
    assert sorted(rl.doc_ids[:10]) == sorted(run["q1"].doc_ids[:10])
    assert rl.doc_ids[:10] != run["q1"].doc_ids[:10]      # the evaluator sees a new order


def test_window_larger_than_alphabet_is_refused():
    with pytest.raises(InputError, match="identifier alphabet"):
        FirstReranker(backend=FakeLM(), window_size=27, stride=10)


def test_multi_token_identifier_is_refused_at_start_up():
    with pytest.raises(InputError, match="'K' is 2 tokens"):
        FirstReranker(backend=FakeLM(multi_token=["K"]), window_size=20, stride=10)
    # a window that never uses K is fine
    FirstReranker(backend=FakeLM(multi_token=["K"]), window_size=10, stride=5)


def test_fewer_candidates_than_window_is_one_window(tmp_path):
    q, run, corpus = rerank_inputs({"q1": [3, 1, 2], "q2": [1, 2, 3, 4, 5, 6, 7, 8]})
    lm = FakeLM()
    out = FirstReranker(backend=lm, window_size=5, stride=2, log_path=tmp_path / "log.jsonl"
                        ).rerank(q, run, corpus)
    assert list(out["q1"].doc_ids) == ["q1-d0", "q1-d2", "q1-d1"]
    # q1: 1 window; q2: 1 + ceil(3/2) = 3 windows -> 3 steps, the first has both queries
    assert [len(c) for c in lm.logit_calls] == [2, 1, 1]
    records = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert len(records) == 4
    first = next(r for r in records if r["qid"] == "q1")
    assert first["logits"] == {"A": 3.0, "B": 1.0, "C": 2.0}
    assert first["prompt"].rstrip().endswith("[") and first["input_tokens"] > 0


def test_config_has_prompt_hash_and_identifier_ids():
    cfg = FirstReranker(backend=FakeLM()).config()
    assert len(cfg["prompt"]["sha256"]) == 64 and cfg["prompt"]["name"] == "rank_zephyr_alpha"
    assert cfg["window_size"] == 20 and cfg["stride"] == 10
    assert len(set(cfg["identifier_token_ids"])) == 20


def test_passages_shrink_to_fit_the_context():
    lm = FakeLM()
    rr = FirstReranker(backend=lm, window_size=5, stride=2, context_size=400)
    docs = docs_with_relevance([1, 2, 3, 4, 5], words=200)
    from rankify_lite.types import Query

    wp = rr.window_prompt(Query("q", "a query"), docs)
    # the reference budget (300 * 20 / 5 = 1200 words) shrank until prompt + answer fit
    assert wp.passage_words < 200
    assert len(lm.encode(wp.text[:-1], add_special_tokens=True)) <= 400 - rr.answer_tokens(5)
    assert wp.ids == lm.encode(wp.text, add_special_tokens=True) and wp.text.endswith("[")
    roomy = FirstReranker(backend=lm, window_size=5, stride=2).window_prompt(
        Query("q", "a query"), docs[:1])
    assert roomy.passage_words == 6000 and "rel=1" in roomy.text     # 300 * 20 / 1
    with pytest.raises(InputError, match="does not fit"):
        FirstReranker(backend=FakeLM(), window_size=5, stride=2,
                      context_size=30).window_prompt(Query("q", "a query"), docs)
