"""The one cached-stage runner (#33): what a reranking key reads (exactly what the reranker
sees, from whichever corpus), and run_cached's serve / compute / refresh, with statistics
assembled once for a cached and a computed stage. The Pipeline <-> PyTerrier sharing is proved
in tests/interop/test_shared_cache.py."""

from __future__ import annotations

import pytest
from helpers.slow_reranker import HashReranker

from rankify_lite.cascade import Stage
from rankify_lite.pipeline import keys
from rankify_lite.pipeline.run_cache import RunCache
from rankify_lite.pipeline.run_cached import rerank_stage, run_cached
from rankify_lite.stage_stats import RerankStats, StageStats
from rankify_lite.systems import SystemId
from rankify_lite.types import Corpus, Document, Queries, Run

DEPTH = 3


@pytest.fixture(scope="module")
def inputs(scifact):
    ds = scifact.head(4)
    docs = [d for d in ds.corpus if d not in ds.queries][:6]
    run = Run.from_scores({q: {d: 10.0 - i for i, d in enumerate(docs)} for q in ds.queries},
                          name="given")
    return ds.queries, run, ds.corpus


def _key(queries, run, corpus) -> str:
    return keys.candidates_key(queries, run, corpus, DEPTH)


def _with_text(corpus: Corpus, doc_id: str, text: str) -> Corpus:
    docs = dict(corpus)
    docs[doc_id] = Document(doc_id, text, docs[doc_id].title)
    return Corpus(docs)


def test_the_key_reads_what_the_reranker_sees_from_any_corpus(inputs):
    queries, run, corpus = inputs
    key = _key(queries, run, corpus)
    qid = next(iter(run))
    head, tail = run[qid].doc_ids[:DEPTH], run[qid].doc_ids[DEPTH:]
    # only the candidates' passages, as a PyTerrier frame's 'text' column gives them
    only = Corpus({d: corpus[d] for rl in run.values() for d in rl.doc_ids[:DEPTH]})
    assert _key(queries, run, only) == key
    assert _key(queries, run, _with_text(corpus, tail[0], "not read")) == key  # below depth
    assert _key(queries, run, _with_text(corpus, head[0], "edited")) != key
    other_q = Queries.from_dict({**queries.texts(), qid: "another question"})
    assert _key(other_q, run, corpus) != key
    rescored = run.replace(lists={**run.lists, qid: Run.from_scores(
        {qid: {d: 20.0 - i for i, d in enumerate(run[qid].doc_ids)}})[qid]})
    assert _key(queries, rescored, corpus) != key  # the scores the driver hands over
    cut = run.replace(lists={**run.lists, qid: run[qid].top(DEPTH + 1)})
    assert _key(queries, cut, corpus) != key  # the tail below depth is in the output
    reordered = run.restrict(list(reversed(list(run))))
    assert _key(queries, reordered, corpus) != key  # the order cuts the query batches


def test_the_stage_key_takes_the_tie_rule_from_the_stage():
    model = HashReranker()
    assert keys.reranker_parts(model, 5) == keys.stage_parts(Stage(model, 5))
    assert keys.rerank_key("in", Stage(model, 5, ties="first-stage")) != keys.rerank_key(
        "in", model, 5)
    assert keys.rerank_key("in", Stage(model, 5)) == keys.rerank_key("in", model, 5)
    assert keys.rerank_key("in", model, 5) != keys.rerank_key("in", model, 6)


def test_run_cached_serves_computes_and_refreshes(inputs, tmp_path):
    _, run, _ = inputs
    cache = RunCache(tmp_path)
    calls = []

    def compute(checkpoint):
        calls.append(checkpoint)
        return run, {"wall_s": 1.5, "index_s": None}

    first = run_cached(cache, "x-1", "given", "a run", compute)
    assert not first.cached and first.cost == {"wall_s": 1.5} and len(calls) == 1
    again = run_cached(cache, "x-1", "given", "a run", compute)
    assert again.cached and again.cost == {"wall_s": 1.5} and len(calls) == 1
    assert again.run.to_dict() == run.to_dict()
    run_cached(cache, "x-1", "given", "a run", compute, refresh=True)
    assert len(calls) == 2 and calls[-1] is None  # not resumable: no checkpoint
    run_cached(cache, "x-2", "given", "a run", compute, resumable=True, total=len(run))
    assert calls[-1] is not None and not list(tmp_path.glob("*.partial.jsonl"))
    uncached = run_cached(None, "x-1", "given", "a run", compute)
    assert not uncached.cached and len(calls) == 4


def test_stage_stats_are_assembled_once_for_cached_and_computed(inputs, tmp_path):
    queries, run, corpus = inputs
    cache = RunCache(tmp_path)
    model = HashReranker()
    computed = rerank_stage(Stage(model, DEPTH), queries, run, corpus, cache)
    served = rerank_stage(Stage(HashReranker(), DEPTH), queries, run, corpus, cache)
    assert not computed.cached and served.cached and computed.key == served.key
    assert computed.stats.wall_s is not None and served.stats.wall_s is None
    assert dict(computed.stats.per_query_s) == dict(served.stats.per_query_s)
    assert computed.stats.queries_per_call == served.stats.queries_per_call == 1
    assert computed.stats.system == SystemId("given", "hash-test", DEPTH)
    recorded = RerankStats.of(computed.run.metadata)
    assert StageStats.of(computed.stats.system, "rerank", cached=True, wall_s=9.0,
                         recorded=recorded, queries_per_call=1) == served.stats
    first = StageStats.of(SystemId("bm25"), "first-stage", cached=False, wall_s=2.0,
                          recorded=RerankStats.per_query(0.25, ["a", "b"]), index_s=1.0)
    assert first.mean_s == 0.25 and first.index_s == 1.0 and first.wall_s == 2.0
