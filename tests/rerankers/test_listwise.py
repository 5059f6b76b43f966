"""Generation listwise: robust parsing, malformed outputs counted, same windows as FIRST."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fake_lm import FakeLM
from test_first import _inputs, _reference

from rankify_lite.rerankers.first import FirstReranker
from rankify_lite.rerankers.listwise import ListwiseReranker, parse_permutation


@pytest.mark.parametrize("text,order,rep,unk,miss", [
    ("[C] > [A] > [B]", [2, 0, 1], 0, 0, 0),
    ("[C] > [C] > [A]", [2, 0, 1], 1, 0, 1),          # repeat dropped, B appended
    ("[Z] > [B] junk [a]", [1, 0, 2], 0, 1, 1),         # unknown id, lowercase accepted
    ("I cannot rank these.", [0, 1, 2], 0, 0, 3),     # nothing parsable: current order
    ("[ B ]>[AB]>[C]>[A]", [1, 2, 0], 0, 1, 0),         # spaces inside, multi-letter junk
])
def test_parse_permutation(text, order, rep, unk, miss):
    p = parse_permutation(text, "ABC")
    assert (p.order, p.repeats, p.unknown, p.missing) == (order, rep, unk, miss)
    assert p.malformed == bool(rep or unk or miss)


def test_perfect_generation_matches_first_on_same_windows():
    rng = random.Random(11)
    per_query = {f"q{k}": [rng.random() for _ in range(40)] for k in range(2)}
    q, run, corpus = _inputs(per_query)
    lm = FakeLM()
    lw = ListwiseReranker(backend=lm, window_size=10, stride=5).rerank(q, run, corpus)
    fi = FirstReranker(backend=FakeLM(), window_size=10, stride=5).rerank(q, run, corpus)
    for qid, scores in per_query.items():
        assert list(lw[qid].doc_ids) == list(fi[qid].doc_ids)
        assert list(lw[qid].doc_ids) == [f"{qid}-d{i}" for i in _reference(scores, 10, 5)]
    assert len(lm.generate_calls) == 7 and lm.logit_calls == []     # 1 + ceil(30/5) steps
    assert lw.metadata["llm_stats"]["malformed_windows"] == 0


def test_unparsable_generations_are_counted_not_crashed_on(tmp_path):
    outputs = iter(["garbage", "B] > [B] > [A]", "D] > [A] > [C] > [B]"] * 10)
    lm = FakeLM(writer=lambda window: next(outputs))
    q, run, corpus = _inputs({"q1": [1, 2, 3, 4, 5, 6, 7]})
    out = ListwiseReranker(backend=lm, window_size=4, stride=2,
                           log_path=tmp_path / "log.jsonl").rerank(q, run, corpus)
    rl = out["q1"]
    assert sorted(rl.doc_ids) == sorted(run["q1"].doc_ids)
    assert all(a > b for a, b in zip(rl.scores, rl.scores[1:], strict=False))
    stats = out.metadata["llm_stats"]
    # windows: (3,7), (1,5), (0,4). "garbage": 4 missing; "[B] > [B] > [A]": 1 repeat,
    # 2 missing; the third is clean
    assert stats["windows"] == 3 and stats["malformed_windows"] == 2
    assert (stats["repeated_ids"], stats["missing_ids"], stats["unknown_ids"]) == (1, 6, 0)
    logs = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["malformed"] for r in logs] == [True, True, False]
    assert logs[0]["output"] == "garbage"
    # window 1 ("garbage") keeps d3..d6; window 2 [d1 d2 d3 d4] -> d2 d1 d3 d4;
    # window 3 [d0 d2 d1 d3] read as D A C B -> d3 d0 d1 d2
    assert list(rl.doc_ids) == ["q1-d3", "q1-d0", "q1-d1", "q1-d2", "q1-d4", "q1-d5", "q1-d6"]


def test_generation_budget_fits_a_full_permutation():
    rr = ListwiseReranker(backend=FakeLM(), window_size=20, stride=10)
    assert rr.max_new_tokens >= 20 * 4
    assert rr.config()["decoding"] == "greedy"
