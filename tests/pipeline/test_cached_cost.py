"""A cached first stage keeps its cost (issue #32): the seconds measured when it was computed
are kept with the cache entry, so a cache hit reports them (``mean_s``, ``index_s`` in
``meta.json``) and the leaderboard shows them; a shipped run stays "precomputed" (never timed)
and a cached one is never called that."""

from __future__ import annotations

import json

from helpers.extras import BM25S

from rankify_lite import Pipeline
from rankify_lite.rerankers import load_reranker
from rankify_lite.retrievers.bm25 import BM25


@BM25S
def test_a_cached_first_stage_reports_what_it_cost(scifact, tmp_path):
    ds = scifact.head(5)

    def once(out):
        result = Pipeline(BM25(backend="bm25s", progress=False), load_reranker("identity"),
                          depth=5, k=10,
                          cache=tmp_path / "cache", progress=False).run(ds)
        result.save(tmp_path / out)
        return result, json.loads((tmp_path / out / "meta.json").read_text())["stages"][0]

    first, computed = once("a")
    again, cached = once("b")
    assert computed["cached"] is False and cached["cached"] is True
    assert computed["precomputed"] is False and cached["precomputed"] is False
    assert computed["mean_s"] > 0 and cached["mean_s"] == computed["mean_s"]
    assert cached["index_s"] == computed["index_s"] and cached["index_s"] is not None
    assert cached["wall_s"] is None  # nothing ran in this run
    assert again.stages[0].mean_s == first.stages[0].mean_s


def test_a_shipped_run_stays_precomputed_when_cached(scifact, tmp_path):
    from rankify_lite.types import Run

    ds = scifact.head(3)
    run = Run.from_rankings({q: list(ds.corpus)[:5] for q in ds.queries}, name="given")
    stages = [Pipeline(run, cache=tmp_path / "cache", progress=False).run(ds).stages[0]
              for _ in range(2)]
    assert [s.cached for s in stages] == [False, True]
    assert all(s.precomputed and s.mean_s is None for s in stages)


def test_the_report_says_not_timed_rather_than_precomputed(tmp_path):
    from rankify_lite.report.html import _seconds

    assert _seconds(None, precomputed=True) == "precomputed"
    assert _seconds(None) == "not timed"
    assert _seconds(0.0123) == "12.3"
