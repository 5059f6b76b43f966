"""Generation listwise: robust parsing, malformed outputs counted, same windows as FIRST."""

from __future__ import annotations

import json
import random

import pytest
from helpers.fake_lm import FakeLM, rerank_inputs, sliding_reference

from rankify_lite.rerankers.families.first import FirstReranker
from rankify_lite.rerankers.families.listwise import ListwiseReranker, parse_permutation


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
    q, run, corpus = rerank_inputs(per_query)
    lm = FakeLM()
    lw = ListwiseReranker(backend=lm, window_size=10, stride=5).rerank(q, run, corpus)
    fi = FirstReranker(backend=FakeLM(), window_size=10, stride=5).rerank(q, run, corpus)
    for qid, scores in per_query.items():
        assert list(lw[qid].doc_ids) == list(fi[qid].doc_ids)
        assert list(lw[qid].doc_ids) == [f"{qid}-d{i}" for i in sliding_reference(scores, 10, 5)]
    assert len(lm.generate_calls) == 7 and lm.logit_calls == []     # 1 + ceil(30/5) steps
    assert lw.metadata["llm_stats"]["malformed_windows"] == 0


def test_unparsable_generations_are_counted_not_crashed_on(tmp_path):
    outputs = iter(["garbage", "[2] > [2] > [1]", "[3] > [1] > [2]"] * 10)
    lm = FakeLM(writer=lambda window: next(outputs))
    q, run, corpus = rerank_inputs({"q1": [1, 2, 3, 4, 5, 6, 7]})
    out = ListwiseReranker(backend=lm, window_size=4, stride=2,
                           log_path=tmp_path / "log.jsonl").rerank(q, run, corpus)
    rl = out["q1"]
    assert sorted(rl.doc_ids) == sorted(run["q1"].doc_ids)
    assert all(a > b for a, b in zip(rl.scores, rl.scores[1:], strict=False))
    stats = out.metadata["llm_stats"]
    # windows: (3,7), (1,5), (0,3) (the reference's top window). "garbage": 4 missing;
    # "[2] > [2] > [1]": 1 repeat, 2 missing; the third is clean
    assert stats["windows"] == 3 and stats["malformed_windows"] == 2
    assert (stats["repeated_ids"], stats["missing_ids"], stats["unknown_ids"]) == (1, 6, 0)
    logs = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["malformed"] for r in logs] == [True, True, False]
    assert logs[0]["output"] == "garbage"
    # window 1 ("garbage") keeps d3..d6; window 2 [d1 d2 d3 d4] -> d2 d1 d3 d4;
    # window 3 [d0 d2 d1] read as 3 1 2 -> d1 d0 d2
    assert list(rl.doc_ids) == ["q1-d1", "q1-d0", "q1-d2", "q1-d3", "q1-d4", "q1-d5", "q1-d6"]


@pytest.mark.parametrize("adds_bos,expected", [(True, 117), (False, 116)])
def test_generation_length_is_the_reference_count_of_a_full_answer(adds_bos, expected):
    # "[1] > [2] > ... > [20]" is 20 * 3 + 19 * 3 = 117 fake tokens; rank_llm counts
    # len(tokenizer.encode(s)) - 1, exact when the tokenizer adds a BOS, one short otherwise
    lm = FakeLM(adds_bos=adds_bos)
    rr = ListwiseReranker(backend=lm, window_size=20, stride=10)
    assert rr.generation_budget(20) == (expected, expected)
    assert rr.config()["decoding"] == "greedy" and rr.config()["max_new_tokens"] == expected
    q, run, corpus = rerank_inputs({"q1": list(range(25))})
    rr.rerank(q, run, corpus)
    # windows (5, 25) and (0, 15): each generates its own size's answer length, min == max
    short = len(lm.encode(" > ".join(f"[{k}]" for k in range(1, 16)), adds_bos)) - 1
    assert lm.generate_args == [(expected, expected), (short, short)]
    fixed = ListwiseReranker(backend=FakeLM(), max_new_tokens=50, min_new_tokens=0)
    assert fixed.generation_budget(20) == (50, 0) and fixed.generation_budget(3) == (50, 0)


@pytest.mark.parametrize("text,order,rep,unk,miss", [
    ("[12] > [3] > [1] > [2] > [4] > [5] > [6] > [7] > [8] > [9] > [10] > [11]",
     [11, 2, 0, 1, 3, 4, 5, 6, 7, 8, 9, 10], 0, 0, 0),
    ("[2] > [13] > [01] > [2", [1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 1, 1, 10),
])
def test_parse_multi_digit_identifiers(text, order, rep, unk, miss):
    p = parse_permutation(text, [str(k) for k in range(1, 13)])
    assert (p.order, p.repeats, p.unknown, p.missing) == (order, rep, unk, miss)


def test_default_templates_follow_the_model_table():
    assert ListwiseReranker(backend=FakeLM()).identifiers[:3] == ["1", "2", "3"]
    alpha = ListwiseReranker(backend=FakeLM(), prompt="rank_zephyr_alpha")
    assert alpha.identifiers[:3] == ["A", "B", "C"]
    assert alpha.config()["prompt"]["source"] == "explicit"
