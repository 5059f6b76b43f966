"""Lucene indexing in batches: the merged index scores exactly like one IndexCollection call,
and a build stopped part-way resumes from the batches it had finished."""

from __future__ import annotations

import pytest
from helpers.extras import LUCENE

pytestmark = [LUCENE, pytest.mark.slow]


def _run(corpus, queries, index_root, fields="flat"):
    from rankify_lite.retrievers import BM25

    bm25 = BM25(backend="lucene", fields=fields, threads=1, progress=False,
                index_root=index_root)
    try:
        return bm25.index(corpus).retrieve(queries, k=100), bm25
    finally:
        bm25.close()


@pytest.fixture(scope="module")
def one_call(scifact, tmp_path_factory):
    """The reference: SciFact (5,183 docs) in one batch, as before batching existed."""
    run, bm25 = _run(scifact.corpus, scifact.queries, tmp_path_factory.mktemp("one"))
    assert bm25.index_dir.joinpath("COMPLETE.json").read_text().count('"batches": 1')
    return run


def test_batches_merge_to_the_same_scores(scifact, one_call, tmp_path, monkeypatch):
    from rankify_lite.retrievers import bm25_lucene

    monkeypatch.setattr(bm25_lucene, "_SHARD_DOCS", 1000)  # 6 batches, the last one partial
    run, bm25 = _run(scifact.corpus, scifact.queries, tmp_path)
    assert '"batches": 6' in bm25.index_dir.joinpath("COMPLETE.json").read_text()
    assert run.lists == one_call.lists  # same documents, order and scores for all 300 queries
    assert not list(tmp_path.glob("*/*.parts"))  # the batches are removed once merged


def test_interrupted_build_resumes_from_finished_batches(scifact, one_call, tmp_path,
                                                         monkeypatch):
    from rankify_lite.retrievers import bm25_lucene

    monkeypatch.setattr(bm25_lucene, "_SHARD_DOCS", 1000)
    real, calls = bm25_lucene._index_batch, []

    def stop_at_third(docs, size, out, fields, threads):
        calls.append(out.name)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as Ctrl-C (or a kill) would, mid-build
        return real(docs, size, out, fields, threads)

    monkeypatch.setattr(bm25_lucene, "_index_batch", stop_at_third)
    with pytest.raises(KeyboardInterrupt):
        _run(scifact.corpus, scifact.queries, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("bm25-lucene/*.parts/batch-*")) == \
        ["batch-0000", "batch-0001"]  # two finished batches, no half one
    calls.clear()
    monkeypatch.setattr(bm25_lucene, "_index_batch", lambda *a: calls.append(a[2].name)
                        or real(*a))
    run, _ = _run(scifact.corpus, scifact.queries, tmp_path)
    assert calls == ["batch-0002", "batch-0003", "batch-0004", "batch-0005"]
    assert run.lists == one_call.lists


def test_multifield_batches_match_one_call(scifact, tmp_path, monkeypatch):
    from rankify_lite.retrievers import bm25_lucene
    from rankify_lite.types import Corpus

    corpus = Corpus(dict(list(scifact.corpus.items())[:1500]))
    queries = scifact.queries
    ref, _ = _run(corpus, queries, tmp_path / "one", fields="multifield")
    monkeypatch.setattr(bm25_lucene, "_SHARD_DOCS", 400)
    run, _ = _run(corpus, queries, tmp_path / "parts", fields="multifield")
    assert run.lists == ref.lists
