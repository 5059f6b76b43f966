"""duoT5 equals rank_llm 0.25.7's DuoT5 on the same weights (a tiny T5 built from a config with
a SentencePiece vocabulary trained here): prompts identical, per-pair P(true) and the summed
scores equal, the same order. rank_llm's own ``create_prompt``, ``run_llm_batched`` and
``rerank_batch`` run unchanged (its modules imported one by one, see helpers.reference_import).

As for monoT5 (tests/rerankers/families/test_monot5.py), the reference runs one prompt per batch: it
calls ``generate`` without an attention mask, so its padded batches depend on the padding.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("sentencepiece")
pytest.importorskip("ftfy")

from helpers.reference_import import isolated_modules  # noqa: E402
from helpers.tiny import tiny_t5_folder  # noqa: E402

from rankify_lite import load_reranker  # noqa: E402
from rankify_lite.errors import InputError  # noqa: E402
from rankify_lite.rerankers.driver import RerankItem  # noqa: E402
from rankify_lite.types import Corpus, Document, Queries, Run  # noqa: E402

PACKAGES = ("rank_llm", "rank_llm.rerank", "rank_llm.rerank.pointwise",
            "rank_llm.rerank.listwise", "rank_llm.rerank.pairwise")


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory, scifact):
    texts = [d.full_text() for d in list(scifact.corpus.values())[:300]]
    texts += ["Query: Document0: Document1: Relevant: true false true false"] * 300
    return Path(tiny_t5_folder(tmp_path_factory.mktemp("tiny_t5"), texts, vocab_size=800,
                               hard_vocab_limit=True, initializer_factor=8.0))


@pytest.fixture(scope="module")
def ref(tiny_t5):
    if importlib.util.find_spec("rank_llm") is None:
        pytest.skip("rank_llm is not installed (pip install --no-deps rank-llm==0.25.7)")
    pytest.importorskip("dacite")
    with isolated_modules("rank_llm", PACKAGES, ["rank_llm.rerank.pairwise.duot5",
                                                 "rank_llm.data"]) as (duot5, data):
        try:
            model = duot5.DuoT5(str(tiny_t5), device="cpu", batch_size=1)
        except Exception as exc:                      # the reference could not be built
            pytest.skip(f"rank_llm's DuoT5 cannot run here: {type(exc).__name__}: {exc}")
        yield model, data


def _inputs(scifact, n_queries: int = 2, n_docs: int = 5):
    qids = list(scifact.queries)[:n_queries]
    docs = list(scifact.corpus.values())
    extra = Document("odd", "Title-less [12] passage with Ã© mojibake " + "word " * 600)
    corpus = Corpus.from_documents([*docs, extra])
    ranking = {q: [*(d.id for d in docs[i * n_docs:(i + 1) * n_docs]), "odd"]
               for i, q in enumerate(qids)}
    queries = Queries.from_dict({q: scifact.queries[q].text + " [3]" for q in qids})
    return qids, queries, corpus, Run.from_rankings(ranking, name="monot5")


def test_prompts_and_scores_equal_rank_llm(tiny_t5, ref, scifact):
    model, data = ref
    qids, queries, corpus, cands = _inputs(scifact)
    ours = load_reranker("duot5", model=str(tiny_t5), device="cpu", batch_size=1)
    out = ours.rerank(queries, cands, corpus)
    batched = load_reranker("duot5", model=str(tiny_t5), device="cpu", batch_size=7).rerank(
        queries, cands, corpus)
    requests = []
    for q in qids:
        cs = [data.Candidate(docid=d, score=0.0,
                             doc={"text": corpus[d].text,
                                  **({"title": corpus[d].title} if corpus[d].title else {})})
              for d in cands[q].doc_ids]
        requests.append(data.Request(query=data.Query(text=queries[q].text, qid=q),
                                     candidates=cs))
    results = model.rerank_batch(requests)
    for q, req, res in zip(qids, requests, results, strict=True):
        unsorted = data.Result(query=req.query, candidates=req.candidates)
        docs = [corpus[d] for d in cands[q].doc_ids]
        for i, j in [(0, 1), (2, 5), (5, 0)]:
            want_prompt, _ = model.create_prompt(unsorted, i, j)
            assert ours.prompt(queries[q], docs[i], docs[j]) == want_prompt, (q, i, j)
        want = {c.docid: c.score for c in res.candidates}
        got = dict(zip(out[q].doc_ids, out[q].scores, strict=True))
        got_batched = dict(zip(batched[q].doc_ids, batched[q].scores, strict=True))
        for d in want:
            assert got[d] == pytest.approx(want[d], rel=1e-9, abs=1e-12)
            assert got_batched[d] == pytest.approx(want[d], rel=1e-5, abs=1e-6)
        assert list(out[q].doc_ids) == [c.docid for c in res.candidates]
        assert len(set(want.values())) > 3                # the tiny model discriminates
    assert "(12)" in ours.prompt(queries[qids[0]], corpus["odd"], docs[0])
    assert out.metadata["llm_stats"]["forward_passes"] == 2 * (6 * 5 // 2)


def test_sym_sum_scores_both_orders(tiny_t5, scifact):
    qids, queries, corpus, cands = _inputs(scifact, 1, 3)
    rr = load_reranker("duot5", model=str(tiny_t5), device="cpu", aggregation="sym-sum")
    q = qids[0]
    docs = [corpus[d] for d in cands[q].doc_ids]
    (scored,) = rr._rerank_batch([RerankItem(queries[q], tuple(docs), (0.0,) * 4)])
    p = {(i, j): float(rr.score_prompts([rr.prompt(queries[q], docs[i], docs[j])])[0][0])
         for i in range(4) for j in range(4) if i != j}
    want = {docs[i].id: sum(p[i, j] + 1 - p[j, i] for j in range(4) if j != i)
            for i in range(4)}
    assert dict(scored) == pytest.approx(want, rel=1e-6)
    assert rr.stats["forward_passes"] == 12
    assert rr.config()["aggregation"] == "sym-sum"
    with pytest.raises(InputError, match="unknown aggregation"):
        load_reranker("duot5", model=str(tiny_t5), aggregation="max")


def test_mono_then_duo_reorders_only_the_top_k(tiny_t5, scifact):
    qids, queries, corpus, cands = _inputs(scifact, 2, 5)
    mono = load_reranker("monot5", model=str(tiny_t5), device="cpu")
    duo = load_reranker("duot5", model=str(tiny_t5), device="cpu")
    first = mono.rerank(queries, cands, corpus)
    second = duo.rerank(queries, first, corpus, depth=3)
    for q in qids:
        assert second[q].doc_ids[3:] == first[q].doc_ids[3:]
        assert set(second[q].doc_ids[:3]) == set(first[q].doc_ids[:3])
    assert second.metadata["llm_stats"]["forward_passes"] == 2 * 3


def test_mono_duo_cascade_in_a_pipeline(tiny_t5, dl19):
    """``monot5 % 6 >> duot5 % 3`` in one pipeline equals the two stages run by hand."""
    from rankify_lite import Pipeline

    ds = dl19.head(2)
    mono = load_reranker("monot5", model=str(tiny_t5), device="cpu")
    duo = load_reranker("duot5", model=str(tiny_t5), device="cpu")
    result = Pipeline("run:bm25.top100", [mono % 6 >> duo % 3], cache=False,
                      progress=False).run(ds)
    final = result.reranked[-1]
    full = ds.load_run("bm25.top100")
    bm25 = Run({q: full[q] for q in final}, name=full.name)
    by_hand = duo.rerank(ds.queries, mono.rerank(ds.queries, bm25, ds.corpus, depth=6),
                         ds.corpus, depth=3)
    for q in final:
        assert final[q].doc_ids[:6] == by_hand[q].doc_ids[:6]
    assert final.metadata["llm_stats"]["forward_passes"] == len(final) * 3
