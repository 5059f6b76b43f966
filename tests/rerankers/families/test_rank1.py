"""Rank1 pointwise reasoning: reason within the budget, close the think block (forced when the
budget runs out), read true/false at the next position; on a fake LM and on a tiny random
Llama with SmolLM2's real tokenizer against an independent step-by-step computation."""

from __future__ import annotations

import math

import pytest
from helpers.fake_lm import FakeLM, rerank_inputs

from rankify_lite.errors import InputError
from rankify_lite.rerankers.families.rank1 import Rank1Reranker
from rankify_lite.rerankers.llm.reasoning import last_sentence_cut

SCORES = {"q1": [0.5, 3.0, -1.0, 2.0, 1.0], "q2": [1.0, 0.0, 4.0]}


def _ranking(run):
    return {q: list(run[q].doc_ids) for q in run}


def test_model_closing_its_block_is_scored_right_after_it(tmp_path):
    lm = FakeLM(writer=lambda w: "The passage names the topic.</think> true")
    rr = Rank1Reranker(backend=lm, reasoning_token_budget=32, log_path=tmp_path / "log.jsonl")
    out = rr.rerank(*rerank_inputs(SCORES))
    # one generation call and one scoring call for all 8 pairs of both queries
    assert len(lm.generate_calls) == 1 and len(lm.generate_calls[0]) == 8
    assert lm.generate_args == [(32, 0)]
    assert len(lm.logit_calls) == 1 and len(lm.logit_calls[0]) == 8
    scored = lm.logit_calls[0][0]
    assert scored.endswith("\nPassage: passage rel=0.5 w0 w1 w2 w3 w4\n"
                           "<think>The passage names the topic.</think>")
    assert scored.startswith("<bos>Determine if the following passage is relevant to the query."
                             " Answer only with 'true' or 'false'.\nQuery: query q1\n")
    # true carries logit r, false 0 (both spellings that are single tokens): log P(true)
    expected = {f"q1-d{i}": r - math.log(math.exp(r) + 1.0) for i, r in enumerate(SCORES["q1"])}
    assert _ranking(out)["q1"] == ["q1-d1", "q1-d3", "q1-d4", "q1-d0", "q1-d2"]
    for d, s in zip(out["q1"].doc_ids, out["q1"].scores, strict=True):
        assert s == pytest.approx(expected[d], abs=1e-5)
    stats = out.metadata["llm_stats"]
    assert stats["forced_closes"] == 0 and stats["queries"] == 2
    assert stats["output_tokens"] == 8 * len(lm.encode("The passage names the topic.</think> true"))
    assert stats["prompts"] == 16 and stats["model_calls"] == 2


def test_budget_run_out_forces_the_close_after_the_last_sentence():
    lm = FakeLM(writer=lambda w: "It is about the query. It also says")
    out = Rank1Reranker(backend=lm, reasoning_token_budget=9).rerank(*rerank_inputs(SCORES))
    assert lm.logit_calls[0][0].endswith("<think>\nIt is about the query.\n</think>")
    assert out.metadata["llm_stats"]["forced_closes"] == 8
    assert _ranking(out)["q2"] == ["q2-d2", "q2-d0", "q2-d1"]


def test_thinking_off_scores_an_empty_block_without_generating():
    lm = FakeLM(writer=lambda w: pytest.fail("no generation with thinking=False"))
    rr = Rank1Reranker(backend=lm, thinking=False)
    out = rr.rerank(*rerank_inputs(SCORES))
    assert lm.generate_calls == []
    assert lm.logit_calls[0][0].endswith("w4\n<think>\n\n</think>")
    stats = out.metadata["llm_stats"]
    assert stats["output_tokens"] == 0 and stats["prompts"] == 8
    cfg = rr.config()
    assert cfg["thinking"] is False and cfg["reasoning_token_budget"] == 1024
    assert cfg["prompt"]["name"] == "rank1" and len(cfg["prompt"]["sha256"]) == 64


@pytest.mark.parametrize(("text", "cut"), [
    ("One. Two, and", "One."), ("Done!", "Done!"), ("no stop at all", "no stop at all"),
    ("Why? Because. then  ", "Why? Because."), ("", "")])
def test_last_sentence_cut(text, cut):
    assert last_sentence_cut(text) == cut


@pytest.mark.parametrize(("opts", "match"), [
    ({"reasoning_token_budget": 0}, "reasoning_token_budget must be >= 1"),
    ({"thinking": "yes"}, "thinking must be True or False"),
    ({"passage_words": 0}, "passage_words must be >= 1")])
def test_bad_options_are_refused_before_the_model_loads(opts, match):
    with pytest.raises(InputError, match=match):
        Rank1Reranker(model="no/such-model", **opts)


def test_a_budget_larger_than_the_context_is_a_clear_error():
    rr = Rank1Reranker(backend=FakeLM(max_context=64), reasoning_token_budget=60)
    with pytest.raises(Exception, match="do not fit the model's context"):
        rr.rerank(*rerank_inputs({"q1": [1.0]}))


# -- a real tokenizer and a real (tiny, random) model ----------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("transformers")
    from helpers.tiny import tiny_llm_folder

    return tiny_llm_folder(tmp_path_factory.mktemp("tiny-llm"), seed=3)


def _reference_score(model, tok, query: str, passage: str, budget: int, thinking: bool):
    """Rank1's steps written out with plain transformers calls, one pair at a time."""
    import torch

    text = ("Determine if the following passage is relevant to the query. Answer only with "
            f"'true' or 'false'.\nQuery: {query}\nPassage: {passage}\n<think>")
    ids = torch.tensor([tok(text)["input_ids"]])
    if thinking:
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=budget,
                             do_sample=False, pad_token_id=tok.eos_token_id)
        new = out[0, ids.shape[1]:].tolist()
        if tok.eos_token_id in new:
            new = new[:new.index(tok.eos_token_id)]
        gen = tok.decode(new, skip_special_tokens=True)
        if "</think>" in gen:
            text += gen.split("</think>")[0] + "</think>"
        else:
            text += "\n" + last_sentence_cut(gen) + "\n</think>"
    else:
        text += "\n\n</think>"
    ext = tok(text)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([ext])).logits[0, -1].double()
    pick = lambda words: torch.logsumexp(logits[[tok(w, add_special_tokens=False)["input_ids"][0]  # noqa: E731
                                                 for w in words]], 0)
    yes, no = pick([" true", "true", " True", "True"]), pick([" false", "false", " False", "False"])
    return float(yes - torch.logaddexp(yes, no)), text


@pytest.mark.parametrize("thinking", [True, False])
def test_tiny_llm_scores_equal_the_step_by_step_reference(tiny, dl19, thinking, tmp_path):
    import json

    import transformers

    from rankify_lite.types import Run

    tok = transformers.AutoTokenizer.from_pretrained(tiny)
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny).eval()
    run = dl19.load_run("bm25.top100")
    first = Run.from_rankings({q: list(run[q].doc_ids[:3]) for q in list(run)[:2]}, name="bm25")
    rr = Rank1Reranker(tiny, device="cpu", reasoning_token_budget=12, thinking=thinking,
                       passage_words=20, clean_text=False, batch_size=1,
                       log_path=tmp_path / "log.jsonl")
    # each answer word is one token after the think block for SmolLM2's tokenizer
    assert [tok.decode([t]) for t in rr.yes_ids] == [" true", "true", " True", "True"]
    out = rr.rerank(dl19.queries, first, dl19.corpus)
    logs = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert len(logs) == 6
    for rec in logs:
        passage = " ".join(dl19.corpus[rec["doc_id"]].full_text().split()[:20])
        want, text = _reference_score(model, tok, dl19.queries[rec["qid"]].text, passage, 12,
                                      thinking)
        assert rec["prompt"] + rec["ending"] == text
        assert rec["score"] == pytest.approx(want, abs=1e-5)
    for q in first:
        mine = {r["doc_id"]: r["score"] for r in logs if r["qid"] == q}
        ranked = [mine[d] for d in out[q].doc_ids]      # best first (ties: the tie rule)
        assert sorted(ranked, reverse=True) == ranked and len(ranked) == 3
    stats = out.metadata["llm_stats"]
    assert stats["queries"] == 2
    assert (stats["output_tokens"] > 0) == thinking
    assert stats["output_tokens"] <= 6 * 12


def test_a_chat_template_variant_goes_through_the_models_chat_template(tmp_path):
    import yaml

    from rankify_lite.rerankers.prompts.templates import load_prompt

    fields = {**load_prompt("rank1").fields, "name": "rank1_chat", "chat": True,
              "system": "Judge relevance."}
    path = tmp_path / "rank1_chat.yaml"
    path.write_text(yaml.safe_dump(fields))
    lm = FakeLM(writer=lambda w: "Yes.</think> true")
    out = Rank1Reranker(backend=lm, prompt=path).rerank(*rerank_inputs({"q1": [2.0, 5.0]}))
    assert lm.generate_calls[0][0].startswith("<bos><system> Judge relevance. </system>\n<user> "
                                              "Determine if the following passage")
    assert lm.generate_calls[0][0].endswith("</user>\n<asst> <think>")
    assert _ranking(out)["q1"] == ["q1-d1", "q1-d0"]
    assert Rank1Reranker(backend=lm, prompt=path).config()["prompt"]["source"] == "explicit"
