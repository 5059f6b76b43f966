"""One stage computation, one cache entry (#33): a Pipeline and a PyTerrier transformer running
the same stage on the same cache share it, whichever asks first, and a run that one of them
left half done is resumed by the other. Real queries and passages (the bundled SciFact); the
reranker is a counting hash reranker, so "served from the cache" is proved by a model that was
never called."""

from __future__ import annotations

import hashlib

import pytest

pytest.importorskip("pyterrier", reason="pip install 'rankify-lite[pyterrier]'")

from helpers.extras import BM25S  # noqa: E402
from helpers.slow_reranker import HashReranker  # noqa: E402

from rankify_lite import Pipeline  # noqa: E402
from rankify_lite.errors import RankifyError  # noqa: E402
from rankify_lite.interop.frames import frame_to_run, queries_to_frame, run_to_frame  # noqa: E402
from rankify_lite.interop.pyterrier import RerankerTransformer, RetrieverTransformer  # noqa: E402
from rankify_lite.types import Run  # noqa: E402

DEPTH = 10
QUERIES = 6


def _score(q: str, d: str) -> float:
    return int(hashlib.sha256(f"first/{q}/{d}".encode()).hexdigest()[:6], 16) / 2**24


@pytest.fixture(scope="module")
def data(scifact):
    """Six SciFact queries, each with 20 real candidates (none with the query's own id, so
    BEIR's self-hit rule leaves the first stage as given)."""
    ds = scifact.head(QUERIES)
    docs = [d for d in ds.corpus if d not in ds.queries][:20]
    first = Run.from_scores({q: {d: _score(q, d) for d in docs} for q in ds.queries},
                            name="given")
    return ds, first


def _pipeline(first, reranker, cache, **kw) -> Pipeline:
    return Pipeline(first, reranker, depth=DEPTH, cache=cache, progress=False, **kw)


def _frame(ds, first, text: bool = False):
    inp = run_to_frame(first, ds.queries)
    if text:  # passages from the frame, not from a corpus
        inp["text"] = [ds.corpus[d].text for d in inp["docno"]]
        inp["title"] = [ds.corpus[d].title for d in inp["docno"]]
    return inp


def test_a_pipeline_stage_is_served_to_pyterrier(data, tmp_path):
    ds, first = data
    computed = HashReranker()
    result = _pipeline(first, computed, tmp_path).run(ds)
    assert not result.stages[1].cached and computed.scored == QUERIES
    for text in (False, True):  # the Dataset's corpus, or the frame's 'text' column
        model = HashReranker()
        stage = RerankerTransformer(model, None if text else ds.corpus, depth=DEPTH,
                                    cache=tmp_path)
        out = stage.transform(_frame(ds, result.first_stage, text))
        assert stage.cached is True and model.scored == 0, text  # never called
        assert frame_to_run(out).to_dict() == result.run.to_dict()
        assert stage.stats.cached and stage.stats.wall_s is None
        assert dict(stage.stats.per_query_s) == dict(result.stages[1].per_query_s)
    assert len(list(tmp_path.glob("rerank-*.trec"))) == 1


def test_a_pyterrier_stage_is_served_to_the_pipeline(data, tmp_path):
    ds, first = data
    model = HashReranker()
    out = RerankerTransformer(model, ds.corpus, depth=DEPTH, cache=tmp_path).transform(
        _frame(ds, first))
    assert model.scored == QUERIES
    again = HashReranker()
    result = _pipeline(first, again, tmp_path).run(ds)
    assert result.stages[1].cached and again.scored == 0
    assert result.run.to_dict() == frame_to_run(out).to_dict()
    assert result.run.to_dict() == _pipeline(first, HashReranker(), False).run(ds).run.to_dict()
    assert result.run.name == "given>>hash-test"  # the served run carries the Pipeline's names
    assert result.run.metadata["first_stage"] == "given"


def test_other_passage_text_is_another_entry(data, tmp_path):
    ds, first = data
    _pipeline(first, HashReranker(), tmp_path).run(ds)
    inp = _frame(ds, first, text=True)
    top = inp.index[inp["rank"] == 0][0]
    inp.loc[top, "text"] = inp.loc[top, "text"] + " (edited)"
    model = HashReranker()
    stage = RerankerTransformer(model, depth=DEPTH, cache=tmp_path)
    stage.transform(inp)
    assert stage.cached is False and model.scored == QUERIES


@pytest.mark.parametrize("dies_in", ["pipeline", "pyterrier"])
def test_a_run_left_half_done_by_one_is_resumed_by_the_other(data, tmp_path, dies_in):
    ds, first = data
    bad = list(ds.queries)[3]
    truth = _pipeline(first, HashReranker(), False).run(ds).run
    dying = HashReranker(fail_on=bad)
    with pytest.raises(RankifyError, match=f"query '{bad}'"):
        if dies_in == "pipeline":
            _pipeline(first, dying, tmp_path).run(ds)
        else:
            RerankerTransformer(dying, ds.corpus, depth=DEPTH, cache=tmp_path).transform(
                _frame(ds, first))
    (partial,) = tmp_path.glob("*.partial.jsonl")
    assert len(partial.read_text().splitlines()) == 3
    model = HashReranker()
    if dies_in == "pipeline":
        stage = RerankerTransformer(model, ds.corpus, depth=DEPTH, cache=tmp_path)
        got = frame_to_run(stage.transform(_frame(ds, first)))
        assert any("resumed from a checkpoint (3 queries kept)" in n for n in stage.notes)
        assert stage.stats.resumed_queries == 3
    else:
        result = _pipeline(first, model, tmp_path).run(ds)
        got = result.run
        assert any("resumed from a checkpoint (3 queries kept)" in n for n in result.notes)
    assert model.scored == QUERIES - 3  # only the queries the checkpoint lacked
    assert got.to_dict() == truth.to_dict()
    assert not list(tmp_path.glob("*.partial.jsonl"))


def test_refresh_recomputes_through_both(data, tmp_path):
    ds, first = data
    _pipeline(first, HashReranker(), tmp_path).run(ds)
    model = HashReranker()
    result = _pipeline(first, model, tmp_path, refresh=True).run(ds)
    assert not result.stages[1].cached and model.scored == QUERIES
    model = HashReranker()
    stage = RerankerTransformer(model, ds.corpus, depth=DEPTH, cache=tmp_path, refresh=True)
    out = stage.transform(_frame(ds, first))
    assert stage.cached is False and model.scored == QUERIES
    assert frame_to_run(out).to_dict() == result.run.to_dict()
    model = HashReranker()
    RerankerTransformer(model, ds.corpus, depth=DEPTH, cache=tmp_path).transform(
        _frame(ds, first))
    assert model.scored == 0  # what refresh stored is served


@BM25S
def test_a_first_stage_is_shared_both_ways(data, tmp_path, monkeypatch):
    from rankify_lite.retrievers.bm25 import BM25

    ds, _ = data
    result = Pipeline(BM25(backend="bm25s", progress=False), cache=tmp_path, k=20,
                      progress=False).run(ds)
    bm25 = BM25(backend="bm25s", progress=False)
    calls = []
    real = type(bm25)._retrieve
    monkeypatch.setattr(type(bm25), "_retrieve",
                        lambda self, *a, **kw: calls.append(1) or real(self, *a, **kw))
    stage = RetrieverTransformer(bm25, ds.corpus, k=20, exclude_self_hits=ds.remove_self_hits,
                                 cache=tmp_path)
    out = stage.transform(queries_to_frame(ds.queries))
    assert stage.cached is True and calls == []
    assert frame_to_run(out).to_dict() == result.first_stage.to_dict()
    assert stage.stats.mean_s == result.stages[0].mean_s  # the cost recorded when computed
    # and the other way: a first stage PyTerrier computed is served to the Pipeline
    other = tmp_path / "other"
    RetrieverTransformer(bm25, ds.corpus, k=20, exclude_self_hits=ds.remove_self_hits,
                         cache=other).transform(queries_to_frame(ds.queries))
    assert calls == [1]
    again = Pipeline(bm25, cache=other, k=20, progress=False).run(ds)
    assert again.stages[0].cached and calls == [1]
    assert again.first_stage.to_dict() == result.first_stage.to_dict()
