"""Pairwise (PRP): both orders averaged, sliding bubble passes and all pairs, batched, counted.

A fake LM reads the two passages of a PRP prompt and answers from their hidden relevance
("rel=..."), with a strong bias for whatever is shown as Passage A; averaging both orders must
cancel it. A tiny Llama checks the preferences against the model's own logits.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
from helpers.fake_lm import FakeLM, rel, rerank_inputs

from rankify_lite.errors import InputError
from rankify_lite.rerankers.engines.llm_backend import NextTokenLogits
from rankify_lite.rerankers.families.pairwise import PairwiseReranker

_PAIR = re.compile(r'Passage A: "(.*?)"\n\nPassage B: "(.*?)"', re.S)
BIAS = 3.0


class PairLM(FakeLM):
    """logit(A) = rel(A) + BIAS, logit(B) = rel(B): P(A) = sigmoid(rel(A) - rel(B) + BIAS)."""

    def next_token_logits(self, prompt_ids, token_ids):
        prompts = [self.decode(p) for p in prompt_ids]
        self.logit_calls.append(list(prompts))
        out = np.zeros((len(prompts), 2), dtype=np.float32)
        for row, p in enumerate(prompts):
            a, b = _PAIR.search(p).groups()
            out[row] = [rel(a) + BIAS, rel(b)]
        return NextTokenLogits(out, tuple(len(p) for p in prompt_ids))


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _pref(ra: float, rb: float) -> float:
    """What the reranker must compute: mean of P(A | a first) and P(B | b first)."""
    return (_sig(ra - rb + BIAS) + (1.0 - _sig(rb - ra + BIAS))) / 2.0


def _template(tmp_path: Path) -> Path:
    # the fake tokenizer splits " A" into two tokens: pre-fill "Passage " and answer "A"
    p = tmp_path / "prp.yaml"
    p.write_text('name: prp_test\nversion: 1\nsystem: ""\n'
                 'user: "Given a query \\"{query}\\", which of the following two passages is '
                 'more relevant to the query?\\n\\nPassage A: \\"{passage_a}\\"\\n\\nPassage B: '
                 '\\"{passage_b}\\"\\n\\nOutput Passage A or Passage B:"\n'
                 'assistant_prefix: "Passage "\nanswer_a: "A"\nanswer_b: "B"\n')
    return p


def _bubble(rels: list[float], k: int) -> list[int]:
    """Independent PRP-Sliding-K with the exact preference."""
    order = list(range(len(rels)))
    for p in range(min(k, len(rels) - 1)):
        for pos in range(len(rels) - 2, p - 1, -1):
            if _pref(rels[order[pos]], rels[order[pos + 1]]) < 0.5:
                order[pos], order[pos + 1] = order[pos + 1], order[pos]
    return order


def test_sliding_sorts_top_k_and_cancels_position_bias(tmp_path):
    rels = [0.5, 3.0, -1.0, 2.0, 1.0, 2.5]
    q, run, corpus = rerank_inputs({"q1": rels, "q2": [1.0, 0.0, 4.0]})
    lm = PairLM()
    rr = PairwiseReranker(backend=lm, prompt=_template(tmp_path), top_k=2,
                          log_path=tmp_path / "log.jsonl")
    out = rr.rerank(q, run, corpus)
    # with BIAS alone every single-order answer would be "A"; averaged, the best rise
    assert list(out["q1"].doc_ids[:2]) == ["q1-d1", "q1-d5"]
    assert list(out["q1"].doc_ids) == [f"q1-d{i}" for i in _bubble(rels, 2)]
    assert list(out["q2"].doc_ids) == ["q2-d2", "q2-d0", "q2-d1"]
    stats = out.metadata["llm_stats"]
    # every comparison is asked in both orders: two prompts with the passages swapped
    assert stats["forward_passes"] == stats["prompts"] == 2 * stats["comparisons"]
    first_call = lm.logit_calls[0]
    a0, b0 = _PAIR.search(first_call[0]).groups()
    a1, b1 = _PAIR.search(first_call[1]).groups()
    assert (a0, b0) == (b1, a1)
    # both queries' step-s comparisons share one backend call
    assert len(first_call) == 4 and stats["model_calls"] == len(lm.logit_calls)
    # distinct pairs only: asked pairs + cache hits = bubble steps (q1: 5 + 4, q2: 2 + 1)
    assert stats["comparisons"] + stats["cache_hits"] == 12
    assert all(a > b for a, b in zip(out["q1"].scores, out["q1"].scores[1:], strict=False))


def test_allpairs_scores_are_averaged_wins(tmp_path):
    rels = [0.5, 3.0, -1.0, 2.0]
    q, run, corpus = rerank_inputs({"q1": rels})
    lm = PairLM()
    out = PairwiseReranker(backend=lm, prompt=_template(tmp_path), method="allpairs").rerank(
        q, run, corpus)
    expected = [sum(_pref(rels[i], rels[j]) for j in range(4) if j != i) for i in range(4)]
    got = dict(zip(out["q1"].doc_ids, out["q1"].scores, strict=True))
    for i in range(4):
        assert got[f"q1-d{i}"] == pytest.approx(expected[i], abs=1e-6)
    assert out.metadata["llm_stats"]["comparisons"] == 6          # n(n-1)/2
    assert len(lm.logit_calls) == 1 and len(lm.logit_calls[0]) == 12
    hard = PairwiseReranker(backend=PairLM(), prompt=_template(tmp_path), method="allpairs",
                            aggregate="hard").rerank(q, run, corpus)
    got = dict(zip(hard["q1"].doc_ids, hard["q1"].scores, strict=True))
    assert got == {"q1-d1": 3.0, "q1-d3": 2.0, "q1-d0": 1.0, "q1-d2": 0.0}


def test_options_are_checked_and_config_names_what_changes_output(tmp_path):
    with pytest.raises(InputError, match="unknown pairwise method"):
        PairwiseReranker(backend=PairLM(), prompt=_template(tmp_path), method="heap")
    cfg = PairwiseReranker(backend=PairLM(), prompt=_template(tmp_path), top_k=3).config()
    assert cfg["method"] == "sliding" and cfg["top_k"] == 3
    assert cfg["prompt"]["source"] == "explicit" and len(cfg["prompt"]["sha256"]) == 64
    # the default template's " A" is two tokens for the fake tokenizer: refused, not guessed
    with pytest.raises(InputError, match="answer label"):
        PairwiseReranker(backend=PairLM())


def test_preferences_equal_the_model_logits_on_a_tiny_llama(scifact):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from helpers.tiny_causal import tiny_llama

    from rankify_lite.rerankers.engines.llm_backend import TransformersBackend

    docs = list(scifact.corpus.values())[:4]
    model, tok = tiny_llama(d.full_text() for d in list(scifact.corpus.values())[:200])
    backend = TransformersBackend(model, tok, device="cpu", batch_size=3)
    rr = PairwiseReranker(backend=backend, method="allpairs", passage_words=15)
    assert "Output Passage A or Passage B:" in rr.prompt(next(iter(scifact.queries.values())),
                                                         docs[0], docs[1])
    qid = next(iter(scifact.queries))
    from rankify_lite.types import Run

    out = rr.rerank(scifact.queries, Run.from_rankings({qid: [d.id for d in docs]}),
                    scifact.corpus)
    query = scifact.queries[qid]

    def p_a(a, b):
        ids = rr.prompt_ids(rr.prompt(query, a, b))
        with torch.no_grad():
            lg = model(torch.tensor([ids])).logits[0, -1, rr.answer_ids].double()
        return float(torch.softmax(lg, -1)[0])

    wins = {d.id: 0.0 for d in docs}
    for a, b in itertools.combinations(docs, 2):
        pref = (p_a(a, b) + 1.0 - p_a(b, a)) / 2.0
        wins[a.id] += pref
        wins[b.id] += 1.0 - pref
    got = dict(zip(out[qid].doc_ids, out[qid].scores, strict=True))
    for d in docs:
        assert got[d.id] == pytest.approx(wins[d.id], abs=1e-4)
    assert out.metadata["llm_stats"]["forward_passes"] == 12
