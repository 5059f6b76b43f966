"""Setwise: heapsort and bubblesort equal ielab/llm-rankers 0.0.2 (``SetwiseLlmRanker``), set for
set, on DL19 BM25 candidates: the same prompts (token ids), the same number of comparisons, the
same answers and final rankings, with the reference's own code running the same tiny weights
(a Llama with SmolLM2's tokenizer and chat template; a T5 with a SentencePiece vocabulary).

The tiny Llama's LM-head rows of the labels " A" .. " D" are scaled up, so that greedy
generation answers with a label instead of noise.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from rankify_lite.errors import InputError
from rankify_lite.rerankers.families.setwise import bubblesort, heapsort
from rankify_lite.types import Run

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVW"
#: passages cut to this many tokens on both sides (the reference's run.py default is 128)
PASSAGE_TOKENS = 48


def _run_sort(sort, rel: list[float]) -> tuple[list[int], int]:
    """Drive a sort with a perfect judge (highest ``rel`` wins; first on ties)."""
    gen, asked = sort, 0
    try:
        window = next(gen)
        while True:
            asked += 1
            best = max(range(len(window)), key=lambda p: (rel[window[p]], -p)) if window else 0
            window = gen.send(best)
    except StopIteration as stop:
        return stop.value, asked


def _reference_sort(method: str, rel: list[float], c: int, k: int) -> tuple[list[int], int]:
    """llm-rankers' own heapsort / bubblesort with the same perfect judge as compare()."""
    setwise = pytest.importorskip("llmrankers.setwise")
    from llmrankers.rankers import SearchResult

    ranker = object.__new__(setwise.SetwiseLlmRanker)
    ranker.num_child, ranker.k, ranker.method, ranker.num_permutation = c, k, method, 1

    def compare(query, docs):
        ranker.total_compare += 1
        scores = [rel[int(d.docid)] for d in docs]
        return LETTERS[max(range(len(docs)), key=lambda p: (scores[p], -p))] if docs else "A"

    ranker.compare = compare
    out = ranker.rerank("q", [SearchResult(str(i), 0.0, "") for i in range(len(rel))])
    return [int(r.docid) for r in out], ranker.total_compare


@pytest.mark.parametrize("method", ["heapsort", "bubblesort"])
def test_sorts_equal_the_reference_step_for_step(method):
    rng = random.Random(7)
    sort = {"heapsort": heapsort, "bubblesort": bubblesort}[method]
    for _ in range(200):
        n, c, k = rng.randint(1, 30), rng.randint(1, 5), rng.randint(1, 12)
        rel = [rng.choice([0.0, 1.0, 2.0, 3.0, rng.random()]) for _ in range(n)]
        ours, asked = _run_sort(sort(n, c, k), rel)
        ref, ref_asked = _reference_sort(method, rel, c, k)
        assert (ours, asked) == (ref, ref_asked), (n, c, k)
        assert sorted(ours) == list(range(n))
        # a perfect judge puts the true top k first, best first (heapsort); the reference's
        # bubble sort skips sets that its previous pass left unchanged, which can misorder
        # passages below the first (kept: parity with the reference is the spec)
        top = ours[:min(k, n)] if method == "heapsort" else ours[:1]
        assert [rel[j] for j in top] == sorted(rel, reverse=True)[:len(top)]


# -- the tiny models ----------------------------------------------------------------------------
def _biased_llama(path: Path) -> str:
    import torch
    import transformers
    from helpers.tiny import tiny_llm_folder

    tiny_llm_folder(path, seed=3)
    model = transformers.AutoModelForCausalLM.from_pretrained(path)
    tok = transformers.AutoTokenizer.from_pretrained(path)
    rows = [tok.encode(f" {x}", add_special_tokens=False)[0] for x in "ABCD"]
    with torch.no_grad():
        model.lm_head.weight[rows] *= 400.0
    model.save_pretrained(path)
    return str(path)


def _tiny_t5(path: Path, texts: list[str]) -> str:
    from helpers.tiny import tiny_t5_folder

    labels = " ".join(f"Passage {x}:" for x in LETTERS)
    return tiny_t5_folder(path, [*texts, *[labels] * 30], vocab_size=300, seed=2)


@pytest.fixture(scope="module")
def llama(tmp_path_factory) -> str:
    return _biased_llama(tmp_path_factory.mktemp("llama"))


@pytest.fixture(scope="module")
def dl19_sets(dl19):
    """The first 2 DL19 queries with their BM25 top 12."""
    run = dl19.load_run("bm25.top100")
    qids = list(run)[:2]
    return dl19, Run({q: run[q].top(12) for q in qids}, name="bm25")


def _ref_rerank(ranker, ds, first: Run, method_name: str) -> tuple[dict, int, list]:
    """The reference's rankings, comparisons and the input ids of every model call it makes
    for a set of two or more passages (ours answers sets of one or none without the model)."""
    from llmrankers.rankers import SearchResult

    calls: list = []
    inner_call, inner_compare = getattr(ranker.llm, method_name), ranker.compare

    def call(*args, **kwargs):
        calls[-1].append(kwargs.get("input_ids", args[0] if args else None)[0].tolist())
        return inner_call(*args, **kwargs)

    def compare(query, docs):
        calls.append([len(docs)])
        return inner_compare(query, docs)

    setattr(ranker.llm, method_name, call)
    ranker.compare = compare
    out, compares = {}, 0
    for qid in first:
        query = ranker.truncate(ds.queries[qid].text, 128)
        hits = [SearchResult(d, 0.0, ranker.truncate(ds.corpus[d].full_text(), PASSAGE_TOKENS))
                for d in first[qid].doc_ids]
        out[qid] = [r.docid for r in ranker.rerank(query, hits)]
        compares += ranker.total_compare
    assert all(len(c) == 2 for c in calls)                   # one model call per comparison
    return out, compares, [ids for size, ids in calls if size > 1]


def _ours(model: str, ds, first: Run, tmp_path: Path, **options):
    from rankify_lite import load_reranker

    log = tmp_path / f"log-{len(list(tmp_path.iterdir()))}.jsonl"
    rr = load_reranker("setwise", model=model, device="cpu", log_path=log,
                       passage_tokens=PASSAGE_TOKENS, **options)
    run = rr.rerank(ds.queries, first, ds.corpus, depth=12)
    records = [json.loads(x) for x in log.read_text().splitlines()]
    return rr, run, records


def _ids_by_query(rr, records, first: Run) -> list[list[int]]:
    return [rr.prompt_ids(r["prompt"]) for q in first for r in records if r["qid"] == q]


@pytest.mark.parametrize("method,k", [("heapsort", 10), ("bubblesort", 5)])
def test_causal_generation_equals_llm_rankers(method, k, dl19_sets, llama, tmp_path):
    setwise = pytest.importorskip("llmrankers.setwise")
    ds, first = dl19_sets
    model = llama
    ref = setwise.SetwiseLlmRanker(model, None, "cpu", num_child=3, k=k, method=method,
                                   scoring="generation")
    ref_order, ref_compares, calls = _ref_rerank(ref, ds, first, "generate")

    rr, run, records = _ours(model, ds, first, tmp_path, method=method, k=k)
    stats = rr.stats
    assert stats["comparisons"] == ref_compares and stats["prompts"] == len(calls)
    assert _ids_by_query(rr, records, first) == calls        # prompts, token for token
    assert stats["input_tokens"] == sum(len(c) for c in calls)
    assert {q: list(run[q].doc_ids) for q in first} == ref_order
    assert stats["output_tokens"] == stats["prompts"]         # one generated token per set
    # every answer is a label of its set, and the choices moved passages
    assert stats["malformed"] == 0 and {r["answer"].strip() for r in records} <= set("ABCD")
    assert any(run[q].doc_ids[:k] != first[q].doc_ids[:k] for q in first)


@pytest.mark.parametrize("method,k,scoring", [("heapsort", 10, "likelihood"),
                                              ("bubblesort", 4, "generation")])
def test_t5_equals_llm_rankers(method, k, scoring, dl19_sets, tmp_path, monkeypatch):
    setwise = pytest.importorskip("llmrankers.setwise")
    import transformers

    # transformers 5 dropped batch_encode_plus, which the reference calls once for its label
    # ids; its transformers-4 meaning is tokenizer(list of texts)
    monkeypatch.setattr(transformers.T5Tokenizer, "batch_encode_plus",
                        lambda self, texts, **kw: self(texts, **kw), raising=False)
    ds, first = dl19_sets
    texts = [ds.corpus[d].full_text() for q in first for d in first[q].doc_ids]
    model = _tiny_t5(tmp_path / "t5", texts + [ds.queries[q].text for q in first])
    ref = setwise.SetwiseLlmRanker(model, None, "cpu", num_child=3, k=k, method=method,
                                   scoring=scoring)
    ref_order, ref_compares, calls = _ref_rerank(
        ref, ds, first, "generate" if scoring == "generation" else "forward")

    rr, run, records = _ours(model, ds, first, tmp_path, method=method, k=k, scoring=scoring)
    assert rr.config()["model_kind"] == "seq2seq"
    assert rr.stats["comparisons"] == ref_compares
    assert rr.stats["input_tokens"] == sum(len(c) for c in calls)
    assert _ids_by_query(rr, records, first) == calls        # prompts, token for token
    assert {q: list(run[q].doc_ids) for q in first} == ref_order


def test_likelihood_on_causal_reads_the_label_logits(dl19_sets, llama, tmp_path):
    """Ours (the reference has no causal likelihood): the set's best label by logit wins."""
    import numpy as np

    ds, first = dl19_sets
    model = llama
    rr, run, records = _ours(model, ds, first, tmp_path, scoring="likelihood")
    for r in records[:5]:
        n = len(r["doc_ids"])
        logits = rr.backend.next_token_logits([rr.prompt_ids(r["prompt"])],
                                              rr.label_ids[:n]).logits[0]
        assert r["choice"] == int(np.argmax(logits))
    assert rr.stats["output_tokens"] == 0 and rr.stats["malformed"] == 0
    assert run.metadata["llm_stats"]["comparisons"] == rr.stats["comparisons"]


def test_bad_options_are_refused_before_loading():
    from rankify_lite import load_reranker

    for bad in ({"method": "quicksort"}, {"scoring": "vote"}, {"num_child": 0},
                {"num_child": 30}, {"k": 0}):
        with pytest.raises(InputError):
            load_reranker("setwise", model="/nonexistent", **bad)


def test_smollm2_setwise_on_dl19(dl19, tmp_path):
    """The real SmolLM2-135M-Instruct: every answer that is not a label of its set is counted
    as malformed (after " Passage:" this model writes a quote, not a label), while the
    likelihood variant always chooses within the set."""
    from helpers.tiny import SMOLLM2, cached_or_skip

    from rankify_lite import load_reranker

    run = dl19.load_run("bm25.top100")
    q = next(iter(run))
    first = Run({q: run[q].top(6)}, name="bm25")
    for scoring in ("generation", "likelihood"):
        log = tmp_path / f"{scoring}.jsonl"
        rr = load_reranker("setwise", model=cached_or_skip(SMOLLM2), device="cpu", k=3,
                           passage_tokens=32, scoring=scoring, log_path=log)
        out = rr.rerank(dl19.queries, first, dl19.corpus, depth=6)
        stats = out.metadata["llm_stats"]
        records = [json.loads(x) for x in log.read_text().splitlines()]
        assert stats["prompts"] == stats["comparisons"] == len(records)  # no set of one here
        bad = sum(r["answer"].strip().upper() not in LETTERS[:len(r["doc_ids"])]
                  for r in records)
        assert stats["malformed"] == (bad if scoring == "generation" else 0)
        assert sorted(out[q].doc_ids) == sorted(first[q].doc_ids)
