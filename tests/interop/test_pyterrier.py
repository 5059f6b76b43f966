"""Our components as PyTerrier transformers, tested with the real python-terrier package.

The worked example (README "PyTerrier"): a PyTerrier pipeline ``bm25 >> our FIRST`` on DL19
evaluated by ``pt.Experiment`` reports the numbers (means and paired t-test p-values) that our
``compare`` reports. FIRST runs a random-weight 2-layer Llama with SmolLM2's tokenizer (the real
FIRST code path, one forward pass per window) on the first 4 DL19 queries at depth 10, to keep it
quick (the README runs the same example on all 43 queries with SmolLM2-135M-Instruct).
"""

from __future__ import annotations

import pytest

pt = pytest.importorskip("pyterrier", reason="pip install 'rankify-lite[pyterrier]'")
ir_measures = pytest.importorskip("ir_measures")

from helpers.tiny import tiny_llm_folder  # noqa: E402

from rankify_lite import compare, evaluate, load_reranker  # noqa: E402
from rankify_lite.errors import InputError  # noqa: E402
from rankify_lite.interop.frames import (  # noqa: E402
    frame_to_run,
    qrels_to_frame,
    queries_to_frame,
    run_to_frame,
)
from rankify_lite.interop.pyterrier import (  # noqa: E402
    RerankerTransformer,
    RetrieverTransformer,
    as_transformer,
)
from rankify_lite.types import Queries  # noqa: E402

DEPTH = 10
MEASURES = [ir_measures.nDCG @ 10, ir_measures.R(rel=2) @ 100, ir_measures.AP(rel=2),
            ir_measures.RR(rel=2) @ 10]


@pytest.fixture(scope="module")
def small_dl19(dl19):
    qids = list(dl19.queries)[:4]
    queries = Queries({q: dl19.queries[q] for q in qids})
    return queries, dl19.load_run("bm25.top100").restrict(qids), dl19.qrels.restrict(qids)


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    folder = tiny_llm_folder(tmp_path_factory.mktemp("tiny-llm"))
    return load_reranker("first", model=folder, window_size=10, stride=5, passage_words=20,
                         query_batch_size=1)


@pytest.fixture(scope="module")
def direct(small_dl19, first, dl19):
    """The reranking done our way, without PyTerrier."""
    queries, bm25, _ = small_dl19
    return first.rerank(queries, bm25, dl19.corpus, depth=DEPTH)


def test_pt_experiment_equals_our_evaluator_on_the_shipped_runs(dl19):
    """Without any model: PyTerrier's numbers on our frames are ours (all 43 queries)."""
    runs = [dl19.load_run("bm25.top100"), dl19.load_run("splade-pp-ed.top100")]
    systems = [pt.Transformer.from_df(run_to_frame(r, dl19.queries)) for r in runs]
    table = pt.Experiment(systems, queries_to_frame(dl19.queries), qrels_to_frame(dl19.qrels),
                          MEASURES, names=[r.name for r in runs], baseline=0)
    ours = compare(runs, dl19.qrels, MEASURES, rel_level=dl19.rel_level)
    for i in range(len(runs)):
        for m in MEASURES:
            assert table[str(m)][i] == pytest.approx(ours.mean(i, str(m)), abs=1e-9), str(m)
    for m in MEASURES:   # the same paired t-test p-value (two systems: Holm changes nothing)
        assert _same_p(table[f"{m} p-value"][1], ours.p_baseline[parse(m)][1]), str(m)


def _same_p(theirs: float, ours: float) -> bool:
    """Equal p-values; scipy's NaN for identical per-query scores (R@100 after reranking inside
    the top 100 cannot change) is our 1.0."""
    if theirs != theirs:
        return ours == 1.0
    return theirs == pytest.approx(ours, rel=1e-9)


def parse(measure) -> str:
    from rankify_lite.evaluation import parse_metric

    return parse_metric(measure).name


def test_worked_example_first_in_a_pyterrier_pipeline(small_dl19, first, direct, dl19, tmp_path):
    queries, bm25, qrels = small_dl19
    source = pt.Transformer.from_df(run_to_frame(bm25, queries))
    reranker = as_transformer(first, dl19.corpus, depth=DEPTH, cache=tmp_path)
    assert isinstance(reranker, RerankerTransformer)
    pipe = source >> reranker
    table = pt.Experiment([source, pipe], queries_to_frame(queries), qrels_to_frame(qrels),
                          MEASURES, names=["bm25", "bm25 >> first"], baseline=0)
    # the same reranking done our way (no PyTerrier) and compared our way
    ours = compare({"bm25": bm25, "bm25 >> first": direct}, qrels, MEASURES, rel_level=2)
    for m in MEASURES:
        for i in range(2):
            assert table[str(m)][i] == pytest.approx(ours.mean(i, str(m)), abs=1e-9), str(m)
        assert _same_p(table[f"{m} p-value"][1], ours.p_baseline[parse(m)][1]), str(m)
    out = pipe.transform(queries_to_frame(queries))
    assert list(out.columns[:5]) == ["qid", "query", "docno", "score", "rank"]
    assert frame_to_run(out).to_dict() == direct.to_dict()       # identical rankings and scores
    assert out.groupby("qid").size().eq(100).all()               # the tail below depth is kept
    assert not pt.java.started()                                 # no Terrier JVM was needed


def test_spec_cache_and_resume(small_dl19, first, direct, dl19, tmp_path, monkeypatch):
    queries, bm25, _ = small_dl19
    inp = run_to_frame(bm25, queries)
    reranker = RerankerTransformer(first, dl19.corpus, depth=DEPTH, cache=tmp_path)
    assert reranker.spec() == first.spec() and reranker.spec().rebuildable
    assert reranker.config() == {"reranker": first.config(), "depth": DEPTH}
    # a run that dies on its third query batch (one query each) keeps the two it finished ...
    real = type(first)._rerank_batch
    calls = {"n": 0}

    def dies_on_third(self, items):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        return real(self, items)

    monkeypatch.setattr(type(first), "_rerank_batch", dies_on_third)
    with pytest.raises(Exception, match="power cut"):
        reranker.transform(inp)
    monkeypatch.setattr(type(first), "_rerank_batch", real)
    # ... and the next call resumes from them: same bytes as an uninterrupted run
    resumed = reranker.transform(inp)
    assert any("resumed from a checkpoint (2 queries kept)" in n for n in reranker.notes)
    assert frame_to_run(resumed).content_hash() == direct.content_hash()
    # the finished run is cached: served again without calling the model
    monkeypatch.setattr(type(first), "_rerank_batch", dies_on_third)
    calls["n"] = 2
    again = reranker.transform(inp)
    assert reranker.cached is True and calls["n"] == 2
    assert again.equals(resumed)
    monkeypatch.setattr(type(first), "_rerank_batch", real)
    # other candidates are another cache entry (content-keyed)
    fewer = inp[inp["rank"] < 50]
    other = reranker.transform(fewer)
    assert reranker.cached is False and other.groupby("qid").size().eq(50).all()
    assert frame_to_run(other).top(DEPTH).to_dict() == direct.top(DEPTH).to_dict()


def test_text_from_the_frame_and_extra_columns_kept(small_dl19, first, direct, dl19):
    queries, bm25, _ = small_dl19
    inp = run_to_frame(bm25.top(DEPTH), queries)
    inp["text"] = [dl19.corpus[d].text for d in inp["docno"]]
    inp["title"] = [dl19.corpus[d].title for d in inp["docno"]]
    out = RerankerTransformer(first, depth=DEPTH, cache=False).transform(inp)
    assert frame_to_run(out).to_dict() == direct.top(DEPTH).to_dict()
    assert (out["text"] == [dl19.corpus[d].text for d in out["docno"]]).all()
    with pytest.raises(InputError, match="no 'text' column"):
        RerankerTransformer(first, cache=False).transform(inp.drop(columns=["text"]))


def test_a_retriever_as_a_pyterrier_transformer(scifact, tmp_path):
    from helpers.extras import missing

    if missing("bm25s", "Stemmer"):
        pytest.skip("pip install 'rankify-lite[bm25s]'")
    from rankify_lite.retrievers import BM25

    bm25 = BM25(backend="bm25s")
    retr = as_transformer(bm25, scifact.corpus, k=100, exclude_self_hits=True, cache=tmp_path)
    assert isinstance(retr, RetrieverTransformer) and retr.spec() == bm25.spec()
    topics = queries_to_frame(scifact.queries)
    out = retr.transform(topics)
    direct = bm25.retrieve(scifact.queries, k=100, exclude_self_hits=True, corpus=scifact.corpus)
    assert frame_to_run(out).to_dict() == direct.to_dict()
    table = pt.Experiment([retr], topics, qrels_to_frame(scifact.qrels),
                          [ir_measures.nDCG @ 10, ir_measures.R @ 100], names=["bm25s"])
    ours = evaluate(direct, scifact.qrels, ["nDCG@10", "R@100"])
    assert table["nDCG@10"][0] == pytest.approx(ours["nDCG@10"], abs=1e-9)
    assert table["R@100"][0] == pytest.approx(ours["R@100"], abs=1e-9)
    retr.transform(topics)
    assert retr.cached is True
    with pytest.raises(InputError, match="rerankers or retrievers"):
        as_transformer("bm25")
