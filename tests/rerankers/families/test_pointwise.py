"""Pointwise yes/no with a fake LM: log P(yes) over {yes, no}, batched, monotone scores."""

from __future__ import annotations

import json
import math

import pytest
from helpers.fake_lm import FakeLM, rerank_inputs

from rankify_lite.errors import InputError
from rankify_lite.rerankers.families.pointwise import PointwiseReranker


def test_scores_are_normalised_log_p_yes(tmp_path):
    rels = [0.5, 3.0, -1.0, 2.0, 1.0]
    q, run, corpus = rerank_inputs({"q1": rels, "q2": [1.0, 0.0]})
    lm = FakeLM()
    rr = PointwiseReranker(backend=lm, log_path=tmp_path / "log.jsonl")
    out = rr.rerank(q, run, corpus)
    # both queries' 7 pairs in one backend call
    assert len(lm.logit_calls) == 1 and len(lm.logit_calls[0]) == 7
    assert list(out["q1"].doc_ids) == ["q1-d1", "q1-d3", "q1-d4", "q1-d0", "q1-d2"]
    # yes/Yes/YES all carry logit r, no/No/NO carry 0: log P(yes) = log(3e^r/(3e^r+3))
    expected = {f"q1-d{i}": r - math.log(math.exp(r) + 1.0) for i, r in enumerate(rels)}
    for d, s in zip(out["q1"].doc_ids, out["q1"].scores, strict=True):
        assert s == pytest.approx(expected[d], abs=1e-5)
        assert s < 0.0
    assert all(a > b for a, b in zip(out["q1"].scores, out["q1"].scores[1:], strict=False))
    logs = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert len(logs) == 7 and {"prompt", "logits", "score", "input_tokens"} <= set(logs[0])
    assert "Is the document relevant" in logs[0]["prompt"]
    assert out.metadata["llm_stats"]["prompts"] == 7


def test_ties_in_trec_eval_order_or_first_stage_order_and_scores_stay_monotone():
    q, run, corpus = rerank_inputs({"q1": [1.0, 1.0, 2.0, 1.0]})
    out = PointwiseReranker(backend=FakeLM()).rerank(q, run, corpus)
    assert list(out["q1"].doc_ids) == ["q1-d2", "q1-d3", "q1-d1", "q1-d0"]  # doc id descending
    assert all(a > b for a, b in zip(out["q1"].scores, out["q1"].scores[1:], strict=False))
    kept = PointwiseReranker(backend=FakeLM())
    kept.ties = "first-stage"
    out = kept.rerank(q, run, corpus)
    assert list(out["q1"].doc_ids) == ["q1-d2", "q1-d0", "q1-d1", "q1-d3"]


def test_answer_words_must_have_a_single_token(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("name: p\nversion: 1\nsystem: s\nuser: '{query} {passage}'\n"
                   "assistant_prefix: ''\nyes_words: ['yes']\nno_words: ['no']\n")
    with pytest.raises(InputError, match="'yes_words' answer words"):
        PointwiseReranker(backend=FakeLM(multi_token=["yes"]), prompt=bad)


def test_config_names_prompt_and_token_ids():
    cfg = PointwiseReranker(backend=FakeLM()).config()
    assert cfg["prompt"]["name"] == "yes_no_relevance" and len(cfg["prompt"]["sha256"]) == 64
    # the fake tokenizer has "yes", "Yes", "YES" as single tokens after the prompt; " yes"
    # merges with the prompt's trailing space there, so it is not a clean single token
    assert len(cfg["yes_token_ids"]) == 3 and len(cfg["no_token_ids"]) == 3
    assert cfg["prompt"]["source"] == "family default" and cfg["bos"] == "reference"
