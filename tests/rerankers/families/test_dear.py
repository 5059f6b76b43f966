"""DeAR (``dear-p``, ``dear-l`` and the cascade of the two) against DeAR's own code.

DeAR-P's reference is ``simple_rerank.py`` of DataScienceUIBK/DeAR-Reranking (commit c31c739;
not on PyPI, and the file runs a demo on an 8B model at import): ``dear_rerank`` below is its
``rerank()`` and ``load_ranker()`` transcribed as test data, the same tokenizer call (the pair
``f"query: {q}"`` / ``f"document: {t} {p}"``, ``truncation=True``, ``padding=True``,
``max_length=32 + 196``, pad = eos on the right) and a plain ``AutoModelForSequenceClassification``
forward. DeAR-L's reference is that repository's ``listwise_rerank/prompts.py``, kept verbatim in
helpers/dear_reference.py and run unchanged: ``build_messages`` for the prompt (rendered as its
``HFClient`` renders it: the chat template, then ``tokenizer(prompt)``), ``extract_after_think``
and ``parse_ranking_to_indices`` for the answer; passages are the ``content`` its
``convert_trec_to_json.py`` writes. Models are tiny random Llamas built from a config; DeAR-L's
generations come from a fake LM (tests/helpers/fake_lm.py) that writes reasoning with numbers in
it, then the ranking.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")

from helpers import dear_reference as ref  # noqa: E402
from helpers.fake_lm import FakeLM  # noqa: E402
from helpers.tiny_classifier import adapter_folders, classifier_folder  # noqa: E402

from rankify_lite import load_reranker  # noqa: E402
from rankify_lite.rerankers.families.dear import DeArListwiseReranker, parse_answer  # noqa: E402
from rankify_lite.rerankers.registry import describe_families  # noqa: E402
from rankify_lite.types import Corpus, Document, Queries, Query, Run  # noqa: E402

LONG = " ".join(["protein expression of cancer cells in the study"] * 40)
QUERY = "what is the protein of cancer cells " + " ".join(["in the study"] * 12)
DOCS = [Document("d0", "the protein of cancer cells"),
        Document("d1", "cells  with   spaces", title="Protein"),
        Document("d2", LONG, title="A long one"),
        Document("d3", "what is the a of [12] cells"),
        Document("d4", LONG + " " + LONG)]
TEXTS = [QUERY, *(d.text for d in DOCS)]


# ---- DeAR-P ------------------------------------------------------------------------------------
def dear_rerank(folder: str, query: str, docs: list[tuple[str, str]], *, adapter: bool = False,
                q_max_len: int = 32, p_max_len: int = 196, batch_size: int = 2):
    """simple_rerank.py's load_ranker() + rerank(): ([(index, score)] best first, the ids)."""
    import peft
    import torch
    import transformers

    auto = transformers.AutoModelForSequenceClassification
    if adapter:
        base_id = peft.PeftConfig.from_pretrained(folder).base_model_name_or_path
        tok = transformers.AutoTokenizer.from_pretrained(base_id)
        model = peft.PeftModel.from_pretrained(auto.from_pretrained(base_id, num_labels=1),
                                               folder).merge_and_unload()
    else:
        tok = transformers.AutoTokenizer.from_pretrained(folder)
        model = auto.from_pretrained(folder)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "right"
    model.eval()
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tok.pad_token_id
    scores, ids = [], []
    for i in range(0, len(docs), batch_size):
        chunk = docs[i:i + batch_size]
        inputs = tok([f"query: {query}"] * len(chunk), [f"document: {t} {p}" for t, p in chunk],
                     return_tensors="pt", truncation=True, padding=True,
                     max_length=q_max_len + p_max_len, return_attention_mask=True)
        ids += [row[m.bool()].tolist() for row, m in zip(inputs["input_ids"],
                                                          inputs["attention_mask"], strict=True)]
        with torch.inference_mode():
            scores.extend(model(**inputs).logits.squeeze(-1).tolist())
    return sorted(enumerate(scores), key=lambda x: x[1], reverse=True), ids


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("dear")
    return {"plain": classifier_folder(root / "plain", TEXTS, seed=3),
            **adapter_folders(root / "lora", TEXTS, seed=5)}


def _inputs(docs=DOCS, query=QUERY):
    run = Run.from_rankings({"q1": [d.id for d in docs]}, name="bm25")
    return Queries.from_dict({"q1": query}), run, Corpus.from_documents(docs)


@pytest.mark.parametrize("kind", ["plain", "adapter"])
def test_dear_p_ids_scores_and_order_equal_simple_rerank(folders, kind):
    rr = load_reranker("dear-p", model=folders[kind], batch_size=3)
    ranked, ref_ids = dear_rerank(folders[kind], QUERY, [(d.title, d.text) for d in DOCS],
                                  adapter=kind == "adapter")
    ours = rr.input_ids(*zip(*[rr.texts(QUERY, d) for d in DOCS], strict=True))
    assert ours == ref_ids
    assert max(len(x) for x in ours) == 228 and min(len(x) for x in ours) < 228
    scores = rr.score_ids(ours)
    np.testing.assert_allclose(scores, [s for _, s in sorted(ranked)], rtol=1e-5, atol=1e-5)
    out = rr.rerank(*_inputs(), depth=len(DOCS))
    assert list(out["q1"].doc_ids) == [DOCS[k].id for k, _ in ranked]


def test_dear_p_adapter_equals_merged_and_records_both(folders):
    adapter = load_reranker("dear-p", model=folders["adapter"])
    merged = load_reranker("dear-p", model=folders["merged"])
    ids = adapter.input_ids(*zip(*[adapter.texts(QUERY, d) for d in DOCS], strict=True))
    np.testing.assert_allclose(adapter.score_ids(ids), merged.score_ids(ids), atol=1e-5)
    cfg = adapter.config()
    assert (cfg["adapter"], cfg["base_model"], cfg["encoding"]) == ("LORA", folders["base"], "pair")
    assert cfg["prompt"]["name"] == "dear_pointwise" and "adapter" not in merged.config()


# ---- DeAR-L ------------------------------------------------------------------------------------
def dear_content(doc: Document, titled: bool = True) -> str:
    """The ``content`` of a hit as DeAR's convert_trec_to_json.py writes it (BEIR-style
    documents carry a title key, empty or not)."""
    content = f"Title: {doc.title} Content: {doc.text}" if titled else doc.text
    return " ".join(content.split())


class LineLM(FakeLM):
    """The fake LM with each message on its own lines, so its passage reader sees the
    multi-turn prompt's "[k] text" turns."""

    def render_chat(self, messages, chat_template=None, enable_thinking=None) -> str:
        return "".join(f"<{m['role']}>\n{m['content']}\n</{m['role']}>\n" for m in messages) + \
            "<asst> "


def reasoning_writer(window):
    """Reasoning that cites passages by number, a close, then a ranking (worst first, so that
    reading the numbers of the reasoning would give a different order)."""
    n = len(window)
    worst_first = " > ".join(f"[{k}]" for k in range(n, 0, -1))
    return (f"Step 1. The query needs 2 facts. Step 2. [1] and [{n}] hold them.</think>\n"
            f"{worst_first}")


def test_dear_l_messages_are_build_messages(folders):
    rr = DeArListwiseReranker(backend=LineLM(), window_size=5, stride=2)
    query = Query("q1", "what is [12] protein?")
    ours = rr.messages(query, DOCS, rr.passage_words, rr._words(DOCS))
    hits = [{"content": dear_content(d)} for d in DOCS]
    assert ours == ref.build_messages(query.text, hits, max_tokens_per_passage=300)
    # a small budget cuts words as the reference does (no cleaning, no "[12]" rewrite)
    assert rr.messages(query, DOCS, 7, rr._words(DOCS)) == ref.build_messages(
        query.text, hits, max_tokens_per_passage=7)
    assert rr.config()["prompt"]["name"] == "dear_listwise"
    assert rr.config()["decoding"] == "greedy" and rr.generation_budget(5) == (1024, 0)


def test_dear_l_prompt_ids_are_the_hf_clients(folders, tmp_path):
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(folders["base"])
    rr = load_reranker("dear-l", model=folders["base"], window_size=5, stride=2,
                       max_new_tokens=4)
    query = Query("q1", QUERY)
    docs = DOCS[:2] + DOCS[3:]
    hits = [{"content": dear_content(d)} for d in docs]
    prompt = tok.apply_chat_template(ref.build_messages(QUERY, hits), add_generation_prompt=True,
                                     tokenize=False)  # HFClient._render
    assert rr.window_prompt(query, docs).ids == tok(prompt)["input_ids"]  # HFClient.chat


def test_dear_l_parse_is_deArs_parse():
    rng = random.Random(0)
    samples = ["[3] > [1] > [2]", "3 1 2", "<think>[1] is best</think> [2] > [3]",
               "Step 1. x </THINK>\n[2] > [2] > [9] > [1]", "no numbers at all", "",
               "reasoning without a close: [3] then [1]", "[10] > [2] > [1]"]
    for _ in range(200):
        parts = [rng.choice(["[", "]", " > ", " ", "</think>", "Step", "\n"]) +
                 str(rng.randint(0, 12)) for _ in range(rng.randint(0, 8))]
        samples.append("".join(parts))
    for text in samples:
        for n in (1, 3, 10):
            expected = ref.parse_ranking_to_indices(ref.extract_after_think(text), n)
            assert parse_answer(text, n).order == expected, (text, n)
    parsed = parse_answer("I cite [1].</think>\n[2] > [2] > [7]", 3)
    assert (parsed.order, parsed.repeats, parsed.unknown, parsed.missing) == ([1, 0, 2], 1, 1, 2)


def test_dear_l_windows_follow_the_answer_not_the_reasoning(tmp_path):
    docs = [Document(f"d{i}", f"passage number {i}") for i in range(8)]
    rr = DeArListwiseReranker(backend=LineLM(writer=reasoning_writer), window_size=4,
                       stride=2, log_path=tmp_path / "log.jsonl")
    out = rr.rerank(*_inputs(docs, "q"), depth=8)
    # DeAR's sliding_windows with a window that always reverses: [4,8) then [2,6) then [0,4)
    order = list(range(8))
    for lo, hi in ((4, 8), (2, 6), (0, 4)):
        order[lo:hi] = order[lo:hi][::-1]
    assert list(out["q1"].doc_ids) == [f"d{i}" for i in order]
    stats = out.metadata["llm_stats"]
    assert stats["windows"] == 3 and stats["malformed_windows"] == 0


# ---- the cascade and the listing -------------------------------------------------------------
def test_cascade_dear_p_then_dear_l(folders, shared_data, tmp_path):
    from helpers.small_data import small_dl19

    from rankify_lite import Pipeline
    from rankify_lite.retrievers.runs import RunFile

    data = small_dl19(shared_data, tmp_path / "data", n=2, top=10)
    dear_p = load_reranker("dear-p", model=folders["plain"])
    lm = LineLM(writer=reasoning_writer)
    dear_l = DeArListwiseReranker(backend=lm, window_size=4, stride=2)
    result = Pipeline(RunFile(data / "runs" / "run.bm25.top10.trec"), dear_p % 8 >> dear_l % 4,
                      cache=False, progress=False).run(str(data))
    # the same two stages by hand: DeAR-P over the top 8, then DeAR-L (one window of 4: it
    # reverses) over DeAR-P's top 4
    from rankify_lite import load_dataset

    ds = load_dataset(str(data))
    bm25 = ds.load_run("bm25.top10")
    first = dear_p.rerank(ds.queries, bm25, ds.corpus, depth=8)
    assert len(lm.generate_calls) == 1 and len(lm.generate_calls[0]) == 2  # one window a query
    for qid in first:
        top = list(first[qid].doc_ids)
        assert list(result.run[qid].doc_ids)[:8] == top[:4][::-1] + top[4:8]
        # DeAR-L saw DeAR-P's top 4, in its order, each passage as DeAR's content
        turns = [f"<user>\n[{k + 1}] "
                 f"{' '.join(dear_content(ds.corpus[d], False).split()[:300])}\n</user>"
                 for k, d in enumerate(top[:4])]
        assert any(all(t in p for t in turns) for p in lm.generate_calls[0])


def test_each_name_is_listed_with_its_real_checkpoint():
    rows = {r["family"]: r for r in describe_families()}
    assert rows["dear-p"]["default_model"] == "abdoelsayed/dear-8b-reranker-ce-v1"
    assert rows["dear-l"]["default_model"] == "abdoelsayed/dear-8b-reranker-listwise-v1"
    assert {"max_new_tokens", "passage_words", "window_size"} <= set(rows["dear-l"]["options"])


def test_dear_l_prompt_on_real_dl19_passages_is_build_messages(dl19):
    rr = DeArListwiseReranker(backend=LineLM())
    run = dl19.load_run("bm25.top100")
    for qid in list(dl19.queries.keys())[:3]:
        docs = [dl19.corpus[d] for d in list(run[qid].doc_ids)[:20]]
        query = dl19.queries[qid]
        hits = [{"content": dear_content(d, titled=False)} for d in docs]  # MS MARCO: contents
        assert rr.messages(query, docs, 300, rr._words(docs)) == ref.build_messages(query.text,
                                                                                    hits)


def dear_windows(rank_end: int, window: int, step: int) -> list[tuple[int, int]]:
    """The spans of DeAR's pipeline.sliding_windows (rank_start=0), transcribed."""
    spans, end, start = [], rank_end, rank_end - window
    while start >= 0:
        spans.append((max(start, 0), end))
        end, start = end - step, start - step
    return spans


def test_dear_l_windows_are_dears_at_its_settings():
    from rankify_lite.rerankers.llm.windows import window_spans

    for n, w, s in ((30, 20, 10), (20, 20, 10), (100, 20, 10), (8, 4, 2), (10, 10, 5)):
        assert window_spans(n, w, s) == dear_windows(n, w, s), (n, w, s)
    # where they part (documented): DeAR skips a clipped top window, and a list below the window
    assert dear_windows(25, 20, 10) == [(5, 25)] and window_spans(25, 20, 10)[-1] == (0, 15)
    assert dear_windows(10, 20, 10) == [] and window_spans(10, 20, 10) == [(0, 10)]
