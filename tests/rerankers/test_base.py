"""What the Reranker base class guarantees for every family (on real SciFact candidates)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rankify_lite.errors import InputError
from rankify_lite.io.trec import read_run
from rankify_lite.rerankers.base import (
    RerankBatchError,
    Reranker,
    RerankItem,
    RerankQueryError,
    Scored,
)
from rankify_lite.types import Run


class ByLength(Reranker):
    """Scores a document by its text length (longer first); records the batches it saw."""

    family = "by-length"

    def __init__(self, query_batch_size: int = 16, pairs: int | None = None,
                 fail_on: str | None = None, constant: bool = False) -> None:
        self.query_batch_size = query_batch_size
        self.max_pairs_per_call = pairs
        self.fail_on, self.constant = fail_on, constant
        self.calls: list[list[str]] = []

    def config(self):
        return {"family": self.family}

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        self.calls.append([it.query.id for it in items])
        if self.fail_on in {it.query.id for it in items}:
            raise RuntimeError("model exploded")
        return [[(d.id, 1.0 if self.constant else float(len(d.full_text())))
                 for d in it.documents] for it in items]


@pytest.fixture(scope="module")
def bm25(shared_data):
    run = read_run(shared_data / "beir" / "scifact" / "runs" /
                   "anserini-bm25-flat.top1000.trec.gz", name="bm25")
    return run.restrict(list(run)[:10]).top(30)


@pytest.fixture(scope="module")
def ds(shared_data):
    from rankify_lite import load_dataset

    return load_dataset(shared_data / "beir" / "scifact")


def test_head_reordered_tail_kept_scores_strictly_decreasing(ds, bm25):
    run = ByLength().rerank(ds.queries, bm25, ds.corpus, depth=10)
    kept = 0
    for q in bm25:
        head = bm25[q].doc_ids[:10]
        # ties as trec_eval orders them: doc id descending (rankify_lite.rerankers.ties)
        want = sorted(sorted(head, reverse=True), key=lambda d: -len(ds.corpus[d].full_text()))
        assert list(run[q].doc_ids[:10]) == want
        assert run[q].doc_ids[10:] == bm25[q].doc_ids[10:]
        assert all(a > b for a, b in zip(run[q].scores, run[q].scores[1:], strict=False))
        lengths = [len(ds.corpus[d].full_text()) for d in want]
        if len(set(lengths)) == len(lengths):  # no ties: the model's own scores are kept
            assert list(run[q].scores[:10]) == lengths
            kept += 1
    assert kept >= 5
    assert run.metadata["depth"] == 10 and run.metadata["first_stage"] == "bm25"
    assert run.name == "bm25>>by-length"


def test_ties_in_trec_eval_order_or_first_stage_order_with_rank_scores(ds, bm25):
    from rankify_lite.rerankers.ties import with_ties

    q = next(iter(bm25))
    run = ByLength(constant=True).rerank(ds.queries, bm25, ds.corpus, depth=10)
    assert run[q].doc_ids[:10] == tuple(sorted(bm25[q].doc_ids[:10], reverse=True))
    assert run[q].doc_ids[10:] == bm25[q].doc_ids[10:]
    assert run[q].scores == tuple(float(30 - i) for i in range(30))
    kept = with_ties(ByLength(constant=True), "first-stage").rerank(ds.queries, bm25, ds.corpus,
                                                                    depth=10)
    assert kept[q].doc_ids == bm25[q].doc_ids
    assert kept[q].scores == tuple(float(30 - i) for i in range(30))


def test_batches_span_queries_and_timing_covers_every_query(ds, bm25):
    rr = ByLength(query_batch_size=4)
    run = rr.rerank(ds.queries, bm25, ds.corpus, depth=10)
    assert [len(c) for c in rr.calls] == [4, 4, 2]
    timing = run.metadata["timing"]
    assert set(timing["per_query_s"]) == set(bm25)
    assert timing["total_s"] == pytest.approx(sum(timing["per_query_s"].values()))


def test_pair_budget_sets_queries_per_call(ds, bm25):
    rr = ByLength(pairs=35)
    assert rr.queries_per_call(10) == 3 and rr.queries_per_call(100) == 1
    rr.rerank(ds.queries, bm25, ds.corpus, depth=10)
    assert [len(c) for c in rr.calls] == [3, 3, 3, 1]


def test_empty_lists_skip_the_model(ds, bm25):
    qids = list(bm25)[:2]
    cands = Run.from_rankings({qids[0]: [], qids[1]: bm25[qids[1]].doc_ids[:1]})
    rr = ByLength()
    run = rr.rerank(ds.queries, cands, ds.corpus, depth=5)
    assert run[qids[0]].doc_ids == () and run[qids[1]].doc_ids == bm25[qids[1]].doc_ids[:1]
    assert rr.calls == [[qids[1]]]


def test_failing_query_is_named_and_finished_ones_checkpointed(ds, bm25):
    class Memory:
        def __init__(self):
            self.store = {}

        def done(self):
            return dict(self.store)

        def add(self, qid, ranked):
            self.store[qid] = ranked

    qids = list(bm25)
    ckpt = Memory()
    with pytest.raises(RerankQueryError, match=repr(qids[5])):
        ByLength(query_batch_size=4, fail_on=qids[5]).rerank(ds.queries, bm25, ds.corpus,
                                                              depth=10, checkpoint=ckpt)
    assert set(ckpt.store) == set(qids[:4])
    rr = ByLength(query_batch_size=4)
    run = rr.rerank(ds.queries, bm25, ds.corpus, depth=10, checkpoint=ckpt)
    assert run.metadata["timing"]["resumed_queries"] == 4
    assert sorted(q for c in rr.calls for q in c) == sorted(qids[4:])
    assert list(run) == qids


def test_a_failing_batch_is_named_and_not_redone_query_by_query(ds, bm25):
    qids = list(bm25)
    rr = ByLength(query_batch_size=4, fail_on=qids[5])
    with pytest.raises(RerankBatchError) as err:
        rr.rerank(ds.queries, bm25, ds.corpus, depth=10)
    # batch 2 (queries 4-7) failed once; nothing was retried one query at a time
    assert rr.calls == [qids[:4], qids[4:8]]
    assert err.value.qids == tuple(qids[4:8]) and err.value.index == 1
    text = str(err.value)
    assert f"batch 2 of {-(-len(qids) // 4)}" in text and "RuntimeError: model exploded" in text
    assert all(repr(q) in text for q in qids[4:8]) and "run the same command again" in text


def test_bad_inputs(ds, bm25):
    with pytest.raises(InputError, match="depth"):
        ByLength().rerank(ds.queries, bm25, ds.corpus, depth=0)
    q = next(iter(bm25))
    with pytest.raises(InputError, match="not in the corpus"):
        ByLength().rerank(ds.queries, Run.from_rankings({q: ["no-such-doc"]}), ds.corpus)
    with pytest.raises(InputError, match="queries lack"):
        ByLength().rerank(ds.queries, Run.from_rankings({"no-such-query": []}), ds.corpus)
