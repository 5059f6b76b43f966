"""Rank-R1 equals the authors' setwise reasoning ranker, set for set, on DL19 BM25 candidates.

The reference is ielab/llm-rankers' ``R1SetwiseLlmRanker`` (``Rank-R1/run_setwise.py``, commit
b36517b): PyPI's llm-rankers 0.0.2 has no Rank-R1 class, so its ``compare`` is transcribed in
``helpers/rank_r1_reference.py`` on top of the installed package's own ``SetwiseLlmRanker``
(heapsort, bubblesort, rerank and truncate run from the package), with the authors' prompt file
verbatim (sha256 checked). Both sides see the same engine: a tiny random Qwen2 with SmolLM2's
tokenizer and chat template (greedy ``generate``), or a scripted writer that answers in Rank-R1's
format and is malformed for some prompts. Checked: the prompts token for token (shuffles
included), the completions, the parse (malformed answers kept at the set's first passage and
counted), the comparisons and the final order; then ours only: the forced close when the
reasoning budget runs out.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from rankify_lite.errors import InputError
from rankify_lite.types import Run

pytest.importorskip("transformers")
setwise = pytest.importorskip("llmrankers.setwise")

from helpers import rank_r1_reference as ref_mod  # noqa: E402
from helpers.tiny import SMOLLM2, cached_or_skip  # noqa: E402

from rankify_lite.rerankers.families.rank_r1 import (  # noqa: E402
    RankR1Reranker,
    forced_reasoning,
    parse_answer,
)
from rankify_lite.rerankers.prompts.templates import load_prompt  # noqa: E402

PASSAGE_TOKENS, QUERY_TOKENS = 64, 32


def test_the_preset_is_the_authors_prompt_file():
    theirs = ref_mod.authors_prompt()
    ours = load_prompt("rank_r1").fields
    assert ours["system"] == theirs["prompt_system"] and ours["user"] == theirs["prompt_user"]
    assert ours["pattern"] == theirs["pattern"]
    assert ours["passage"] == theirs["doc_prefix"] + "{text}"
    assert ours["passage_separator"] == theirs["doc_separator"]
    labels = RankR1Reranker._labels(load_prompt("rank_r1"))
    assert labels == ref_mod.reference_class().CHARACTERS


@pytest.mark.parametrize("completion,answer", [
    ("<think> a </think> <answer>[3]</answer>", "[3]"),
    ("<think>x\ny</think>\n\n<answer> [12] </answer> more", "[12]"),
    ("<THINK> a </THINK><ANSWER>[2]</ANSWER>", "[2]"),          # read lower-cased
    ("<answer>[3]</answer>", None),                               # no think block
    ("<think> a </think> so <answer>[3]</answer>", None),         # text between the tags
    ("<think> a </think> <answer>[3]", None),                     # cut before the close
    ("<think> a <answer>[1]</answer> </think> <answer>[2]</answer>", "[2]"),
])
def test_parse_is_the_authors_pattern(completion, answer):
    import re

    pattern = ref_mod.authors_prompt()["pattern"]
    assert parse_answer(completion, pattern) == answer
    m = re.search(pattern, completion.lower(), re.DOTALL)  # the authors' statement
    assert (m.group(1).strip() if m else None) == answer


def test_forced_reasoning_keeps_whole_sentences():
    assert forced_reasoning("<think> One. Two, and thr") == "<think> One."
    assert forced_reasoning("<think> One. </THINK>\n<answer>[") == "<think> One."


# -- the engines and the data -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def tokenizer():
    import transformers

    return transformers.AutoTokenizer.from_pretrained(cached_or_skip(SMOLLM2))


@pytest.fixture(scope="module")
def qwen(tmp_path_factory, tokenizer) -> str:
    """A random 2-layer Qwen2 (the base architecture of the Rank-R1 adapters) with SmolLM2's
    tokenizer and ChatML template."""
    import torch
    import transformers

    cfg = transformers.Qwen2Config(vocab_size=len(tokenizer), hidden_size=32,
                                   intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2,
                                   max_position_embeddings=8192, tie_word_embeddings=False,
                                   eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(5)
    path = tmp_path_factory.mktemp("qwen2")
    transformers.Qwen2ForCausalLM(cfg).eval().save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def dl19_top(dl19):
    run = dl19.load_run("bm25.top100")
    qids = list(run)[:3]
    return dl19, Run({q: run[q].top(20) for q in qids}, name="bm25")


def _reference(ranker, ds, first: Run, seed: int | None = 929) -> dict:
    """The reference's rankings; Python's generator seeded as the authors' script seeds it,
    once per query (ours: one generator per query)."""
    from llmrankers.rankers import SearchResult

    out = {}
    for qid in first:
        if seed is not None:
            random.seed(seed)
        query = ranker.truncate(ds.queries[qid].text, QUERY_TOKENS)
        hits = [SearchResult(d, 0.0, ranker.truncate(ds.corpus[d].full_text(), PASSAGE_TOKENS))
                for d in first[qid].doc_ids]
        out[qid] = [r.docid for r in ranker.rerank(query, hits)]
        ranker.compares = getattr(ranker, "compares", 0) + ranker.total_compare
    return out


def _ours(tmp_path: Path, ds, first: Run, **options):
    log = tmp_path / f"log-{len(list(tmp_path.iterdir()))}.jsonl"
    rr = RankR1Reranker(passage_tokens=PASSAGE_TOKENS, query_tokens=QUERY_TOKENS,
                        log_path=log, **options)
    run = rr.rerank(ds.queries, first, ds.corpus, depth=20)
    records = [json.loads(x) for x in log.read_text().splitlines()]
    return rr, run, records


def _by_query(records: list[dict], first: Run) -> list[dict]:
    """Our log in the reference's order (ours advances the sorts of all queries together)."""
    return [r for q in first for r in records if r["qid"] == q]


@pytest.mark.parametrize("method,num_child,k", [("heapsort", 19, 10), ("heapsort", 3, 5),
                                                ("bubblesort", 4, 3)])
def test_scripted_answers_equal_the_authors(method, num_child, k, dl19_top, tokenizer,
                                            tmp_path):
    """Well-formed, upper-case, unparsable, out-of-set and budget-cut answers: both sides read
    them alike (force_close=False is the authors' handling of a cut answer)."""
    ds, first = dl19_top
    budget = 48
    theirs = ref_mod.ScriptedEngine(tokenizer)
    ref = ref_mod.reference_class()(theirs, tokenizer, ref_mod.authors_prompt(),
                                    num_child=num_child, k=k, method=method, max_tokens=budget)
    ref_order = _reference(ref, ds, first)

    engine = ref_mod.ScriptedEngine(tokenizer)
    rr, run, records = _ours(tmp_path, ds, first, backend=engine, method=method,
                             num_child=num_child, k=k, reasoning_token_budget=budget,
                             force_close=False)
    records = _by_query(records, first)
    assert [rr.prompt_ids(r["prompt"]) for r in records] == theirs.calls  # token for token
    assert {q: list(run[q].doc_ids) for q in first} == ref_order
    stats = run.metadata["llm_stats"]
    assert stats["prompts"] == len(theirs.calls) and stats["forced_closes"] == 0
    assert stats["comparisons"] == ref.compares                # the authors' total_compare
    # malformed: the answers the authors' vote rejects ("Unexpected voting."), set kept
    bad = [r for r in records if r["answer"] not in [f"[{i + 1}]" for i in range(len(r["shown"]))]]
    assert stats["malformed"] == len(bad) > 0 and all(r["choice"] == 0 for r in bad)
    assert any(r["completion"].startswith("<THINK>") and r["answer"] is not None for r in records)
    assert len(records) > len(bad) and any(r["choice"] != 0 for r in records)
    if method == "heapsort":  # a judge that saw every set well formed would rank by overlap
        assert any(run[q].doc_ids[:k] != first[q].doc_ids[:k] for q in first)


def test_tiny_qwen2_equals_the_authors(dl19_top, qwen, tmp_path):
    """The same random weights on both sides: prompts, completions, parse and order equal."""
    import transformers

    ds, first = dl19_top
    first = Run({q: first[q] for q in list(first)[:2]}, name="bm25")
    model = transformers.AutoModelForCausalLM.from_pretrained(qwen).eval()
    tok = transformers.AutoTokenizer.from_pretrained(qwen)
    chat = ref_mod.HFChat(model, tok)
    ref = ref_mod.reference_class()(chat, tok, ref_mod.authors_prompt(), num_child=19, k=10,
                                    max_tokens=12)
    completions = []
    inner = chat.chat

    def record(*args, **kwargs):
        outs = inner(*args, **kwargs)
        completions.extend(o.outputs[0].text for o in outs)
        return outs

    chat.chat = record
    ref_order = _reference(ref, ds, first)
    rr, run, records = _ours(tmp_path, ds, first, model=qwen, device="cpu", batch_size=1,
                             reasoning_token_budget=12, force_close=False)
    records = _by_query(records, first)
    assert [rr.prompt_ids(r["prompt"]) for r in records] == chat.calls
    assert [r["completion"] for r in records] == completions
    assert {q: list(run[q].doc_ids) for q in first} == ref_order
    assert rr.stats["output_tokens"] == sum(r["output_tokens"] for r in records) > 0
    assert rr.stats["malformed"] == sum(r["answer"] not in rr.labels for r in records)


def test_forced_close_when_the_budget_runs_out(dl19_top, tokenizer, tmp_path):
    """Ours: a completion cut by the budget is closed after its last full sentence, the answer
    tag opened, and the answer generated and read with the same pattern."""
    ds, first = dl19_top
    engine = ref_mod.ScriptedEngine(tokenizer)
    rr, run, records = _ours(tmp_path, ds, first, backend=engine, reasoning_token_budget=48)
    forced = [r for r in records if r["forced_close"]]
    assert run.metadata["llm_stats"]["forced_closes"] == len(forced) > 0
    for r in forced:
        cut = forced_reasoning(r["completion"])
        assert r["read"].startswith(cut + "\n</think>\n<answer>") and cut.endswith(".")
        assert r["answer"] is not None and r["answer"] in rr.labels      # the writer answered
        assert r["answer"] == r["after_close"].split("</answer>")[0].strip()
    # the extended prompt is the set's prompt, the reasoning and the close, in context
    ext = [c for c in engine.calls if engine.decode(c).rstrip().endswith("<answer>")]
    assert len(ext) == len(forced)
    assert rr.stats["prompts"] == len(records) + len(forced)   # one more prompt per close
    for c in ext:                                               # set prompt + reasoning + close
        text = engine.decode(c)
        assert any(text == r["prompt"] + r["read"].rsplit("<answer>", 1)[0] + "<answer>"
                   for r in forced)
    # without the forced close those sets are malformed, as the authors count them
    rr2, _, records2 = _ours(tmp_path, ds, first, backend=ref_mod.ScriptedEngine(tokenizer),
                             reasoning_token_budget=48, force_close=False)
    assert rr2.stats["malformed"] >= rr.stats["malformed"]


def test_shuffle_is_per_query_and_seeded(dl19_top, tokenizer, tmp_path):
    ds, first = dl19_top
    _, _, a = _ours(tmp_path, ds, first, backend=ref_mod.ScriptedEngine(tokenizer),
                    query_batch_size=1)
    _, _, b = _ours(tmp_path, ds, first, backend=ref_mod.ScriptedEngine(tokenizer),
                    query_batch_size=3)
    key = sorted((r["qid"], r["prompt"]) for r in a)
    assert key == sorted((r["qid"], r["prompt"]) for r in b)     # batching changes nothing
    assert any(r["shown"] != sorted(r["shown"]) for r in a)
    _, _, c = _ours(tmp_path, ds, first, backend=ref_mod.ScriptedEngine(tokenizer),
                    shuffle_seed=None)
    assert all(r["shown"] == list(range(len(r["shown"]))) for r in c)


def test_bad_options_are_refused_before_loading():
    from rankify_lite import load_reranker

    for bad in ({"scoring": "likelihood"}, {"num_child": 20}, {"reasoning_token_budget": 0},
                {"force_close": "yes"}, {"answer_tokens": 0}, {"shuffle_seed": "x"}):
        with pytest.raises(InputError):
            load_reranker("rank-r1", model="/nonexistent", **bad)


def test_config_records_the_prompt_and_budget(tokenizer):
    rr = RankR1Reranker(backend=ref_mod.ScriptedEngine(tokenizer))
    cfg = rr.config()
    assert cfg["family"] == "rank-r1" and cfg["prompt"]["name"] == "rank_r1"
    assert (cfg["num_child"], cfg["k"], cfg["passage_tokens"], cfg["query_tokens"]) == \
        (19, 10, 512, 32)
    assert cfg["reasoning_token_budget"] == 2048 and cfg["shuffle_seed"] == 929
    assert RankR1Reranker(backend=ref_mod.ScriptedEngine(tokenizer),
                          prompt="rank_r1_v02").config()["prompt"]["name"] == "rank_r1_v02"


def test_smollm2_rank_r1_on_dl19(dl19, tmp_path):
    """The real SmolLM2-135M-Instruct (not trained for Rank-R1): every set's answer is either
    read with the authors' pattern or counted malformed, budget cuts are closed and answered,
    and the counts add up; the ranking is a permutation of the candidates."""
    run = dl19.load_run("bm25.top100")
    q = next(iter(run))
    first = Run({q: run[q].top(6)}, name="bm25")
    log = tmp_path / "r1.jsonl"
    rr = RankR1Reranker(cached_or_skip(SMOLLM2), device="cpu", num_child=5, k=2,
                        passage_tokens=32, reasoning_token_budget=24, answer_tokens=6,
                        log_path=log)
    out = rr.rerank(dl19.queries, first, dl19.corpus, depth=6)
    stats = out.metadata["llm_stats"]
    records = [json.loads(x) for x in log.read_text().splitlines()]
    forced = [r for r in records if r["forced_close"]]
    assert stats["comparisons"] == len(records) > 0 and stats["forced_closes"] == len(forced)
    assert stats["prompts"] == len(records) + len(forced)
    labels = [f"[{i + 1}]" for i in range(6)]
    bad = [r for r in records if r["answer"] not in labels[:len(r["doc_ids"])]]
    assert stats["malformed"] == len(bad) and all(r["choice"] == 0 for r in bad)
    for r in records:  # the authors' pattern on the completion, or ours after a forced close
        if r["forced_close"]:
            assert r["read"] == forced_reasoning(r["completion"]) + "\n</think>\n<answer>" + \
                r["after_close"]
            assert r["answer"] == parse_answer(r["after_close"], "^(.*?)</answer>")
        else:
            assert r["read"] == r["completion"]
            assert r["answer"] == parse_answer(r["completion"], rr.pattern)
    assert sorted(out[q].doc_ids) == sorted(first[q].doc_ids)


def test_lora_adapter_equals_the_authors_merge(dl19_top, qwen, tmp_path):
    """The published checkpoints are LoRA adapters over Qwen2.5-Instruct: an adapter folder
    loads its base and merges, and equals the authors' README recipe (``PeftConfig`` ->
    base -> ``PeftModel.from_pretrained`` -> ``merge_and_unload``) set for set."""
    peft = pytest.importorskip("peft")
    import torch
    import transformers

    ds, first = dl19_top
    first = Run({q: first[q] for q in list(first)[:1]}, name="bm25")
    torch.manual_seed(11)
    cfg = peft.LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"],
                          init_lora_weights=False)
    base = transformers.AutoModelForCausalLM.from_pretrained(qwen)
    peft.get_peft_model(base, cfg).save_pretrained(tmp_path / "adapter")
    conf = peft.PeftConfig.from_pretrained(str(tmp_path / "adapter"))      # the authors' get_model
    merged = peft.PeftModel.from_pretrained(
        transformers.AutoModelForCausalLM.from_pretrained(conf.base_model_name_or_path),
        str(tmp_path / "adapter")).merge_and_unload().eval()
    tok = transformers.AutoTokenizer.from_pretrained(qwen)
    chat = ref_mod.HFChat(merged, tok)
    completions = []
    inner = chat.chat

    def record(*args, **kwargs):
        outs = inner(*args, **kwargs)
        completions.extend(o.outputs[0].text for o in outs)
        return outs

    chat.chat = record
    ref = ref_mod.reference_class()(chat, tok, ref_mod.authors_prompt(), num_child=19, k=10,
                                    max_tokens=12)
    ref_order = _reference(ref, ds, first)
    rr, run, records = _ours(tmp_path, ds, first, model=str(tmp_path / "adapter"),
                             device="cpu", batch_size=1, reasoning_token_budget=12,
                             force_close=False)
    cfg_out = rr.config()
    assert cfg_out["adapter"] and cfg_out["base_model"] == conf.base_model_name_or_path
    name = "model.layers.0.self_attn.q_proj.weight"        # the adapter is in our weights
    ours_w = rr.backend.model.state_dict()[name]
    assert torch.equal(ours_w, merged.state_dict()[name])
    assert not torch.equal(ours_w, transformers.AutoModelForCausalLM.from_pretrained(
        qwen).state_dict()[name])
    records = _by_query(records, first)
    assert [rr.prompt_ids(r["prompt"]) for r in records] == chat.calls
    assert [r["completion"] for r in records] == completions
    assert {q: list(run[q].doc_ids) for q in first} == ref_order
