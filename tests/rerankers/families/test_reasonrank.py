"""ReasonRank listwise reasoning with a fake LM: think, then the permutation (read after the last
</think>, parsed robustly); a budget that runs out forces the close and the answer is generated
from there; thinking on/off reaches the chat template; generated tokens in the statistics."""

from __future__ import annotations

import json

import pytest
from helpers.fake_lm import FakeLM, perfect_writer, rerank_inputs, sliding_reference

from rankify_lite.errors import InputError
from rankify_lite.rerankers.families.reasonrank import ReasonRankReranker

SCORES = {"q1": [0.1, 3.0, 2.0, 5.0, 0.5, 4.0, 1.0, 6.0], "q2": [2.0, 1.0, 7.0, 0.0, 3.0, 5.0]}
WINDOW = {"window_size": 4, "stride": 2}


def _ranking(run):
    return {q: list(run[q].doc_ids) for q in run}


def _perfect():
    return {q: [f"{q}-d{i}" for i in sliding_reference(s, 4, 2)] for q, s in SCORES.items()}


def test_reasoning_then_permutation_is_read_after_the_last_close(tmp_path):
    # the reasoning mentions identifiers in the wrong order: only the answer may count
    def writer(window):
        worst_first = " > ".join(f"[{c}]" for c, _ in sorted(window, key=lambda x: x[1]))
        return f"Maybe {worst_first}? No.</think>\n<answer>{perfect_writer(window)}</answer>"

    lm = FakeLM(writer=writer)
    rr = ReasonRankReranker(backend=lm, reasoning_token_budget=200, log_path=tmp_path / "l.jsonl",
                            **WINDOW)
    out = rr.rerank(*rerank_inputs(SCORES))
    assert _ranking(out) == _perfect()
    # rank_llm's generation: max = the reasoning budget, min = the answer length (all of
    # these windows hold 4 passages)
    assert lm.generate_args == [(200, rr.answer_tokens(4))] * len(lm.generate_args)
    stats = out.metadata["llm_stats"]
    assert stats["forced_closes"] == 0 and stats["malformed_windows"] == 0
    assert stats["queries"] == 2 and stats["windows"] == stats["prompts"] == 5
    logs = [json.loads(x) for x in (tmp_path / "l.jsonl").read_text().splitlines()]
    assert logs[0]["closed"] is True and logs[0]["reasoning"].startswith("Maybe [")
    assert "<answer>" in logs[0]["output"]
    texts = [writer([(str(k + 1), 0.0) for k in range(4)])]  # same length for every window
    assert stats["output_tokens"] == sum(r["output_tokens"] for r in logs) == \
        5 * len(lm.encode(texts[0]))


def test_budget_run_out_forces_the_close_and_generates_the_answer():
    calls = []

    def writer(window):
        calls.append(window)
        # first call per window: reasoning that never closes; the forced call: the answer
        return "I compare [1] and [2] then" if len(calls) % 2 else perfect_writer(window)

    lm = FakeLM(writer=writer)
    rr = ReasonRankReranker(backend=lm, reasoning_token_budget=16, window_size=8, stride=4,
                            query_batch_size=1)
    out = rr.rerank(*rerank_inputs({"q1": SCORES["q1"]}))
    assert _ranking(out)["q1"] == [f"q1-d{i}" for i in sliding_reference(SCORES["q1"], 8, 4)]
    assert len(lm.generate_calls) == 2
    forced = lm.generate_calls[1][0]
    assert forced.endswith("<asst> I compare [1] and [2] then\n</think>\n\n")
    assert lm.generate_args[1] == (rr.answer_tokens(8), rr.answer_tokens(8))
    stats = out.metadata["llm_stats"]
    assert stats["forced_closes"] == 1 and stats["model_calls"] == 2 and stats["prompts"] == 2
    assert stats["output_tokens"] == len(lm.encode("I compare [1] and [2] then")) + \
        len(lm.encode(perfect_writer(calls[1])))


def test_thinking_off_generates_the_answer_only_and_tells_the_template():
    lm = FakeLM()
    rr = ReasonRankReranker(backend=lm, thinking=False, **WINDOW)
    out = rr.rerank(*rerank_inputs(SCORES))
    assert _ranking(out) == _perfect()
    # the chat template got enable_thinking=False (the fake writes an empty think block)
    assert lm.generate_calls[0][0].endswith("<asst> <think> </think> ")
    assert lm.generate_args == [(rr.answer_tokens(4), rr.answer_tokens(4))] * 3
    assert out.metadata["llm_stats"]["forced_closes"] == 0
    on = ReasonRankReranker(backend=FakeLM(), **WINDOW)
    assert not on.window_prompt(*_one_window()).text.endswith("<think> </think> ")


def _one_window():
    q, run, corpus = rerank_inputs({"q1": [1.0, 2.0]})
    return q["q1"], [corpus[d] for d in run["q1"].doc_ids]


def test_presets_and_config():
    rr = ReasonRankReranker(backend=FakeLM(), **WINDOW)
    cfg = rr.config()
    assert cfg["prompt"]["name"] == "reasonrank" and cfg["prompt"]["source"] == "family default"
    assert cfg["thinking"] is True and cfg["reasoning_token_budget"] == 3072
    assert "<think> reasoning process here </think>" in rr.template.text("system_message")
    qwen = ReasonRankReranker(backend=FakeLM(), prompt="qwen_thinking", **WINDOW)
    assert qwen.config()["prompt"]["name"] == "qwen_thinking"


def test_templates_without_the_think_markers_are_refused(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("name: t\nversion: 1\nmethod: singleturn_listwise\nidentifiers: numeric\n"
                   "prefix: 'p {num} {query}'\nbody: '[{rank}] {candidate}'\nsuffix: ''\n")
    with pytest.raises(InputError, match="think_close"):
        ReasonRankReranker(backend=FakeLM(), prompt=bad, **WINDOW)
    with pytest.raises(InputError, match="reasoning_token_budget must be >= 1"):
        ReasonRankReranker(model="no/such-model", reasoning_token_budget=0)
