"""The teacher of a pseudo-query set (rankify_lite.distill.gpl) on the bundled SciFact corpus:
first stages' candidates (fused when several), the source passage added for a reranker teacher,
and how well a ranker finds each query's source."""

from __future__ import annotations

import pytest
from helpers.copying_lm import CopyingLM

from rankify_lite.distill.gpl import fused, source_ranks, teacher_run, with_sources
from rankify_lite.distill.pseudo_queries import PseudoQueryConfig, generate_pseudo_queries
from rankify_lite.rerankers import load_reranker
from rankify_lite.retrievers.bm25 import BM25
from rankify_lite.retrievers.fusion import fuse
from rankify_lite.types import Run


@pytest.fixture(scope="module")
def pseudo(scifact):
    return generate_pseudo_queries(scifact.corpus, CopyingLM(words=5),
                                   PseudoQueryConfig(passages=12, seed=5), cache=False,
                                   progress=False)


def test_one_first_stage_is_the_teacher_and_two_are_fused(pseudo, scifact):
    bm25 = teacher_run(pseudo, scifact.corpus, [BM25()], k=20)
    assert bm25 == BM25().index(scifact.corpus).retrieve(pseudo.queries, k=20)
    multi = BM25(fields="multifield")
    both = teacher_run(pseudo, scifact.corpus, [BM25(), multi], k=20)
    other = multi.index(scifact.corpus).retrieve(pseudo.queries, k=20)
    assert both == fuse([bm25, other], method="sum", norm="min-max", name=both.name)
    assert both.name.startswith("combsum(") and fused([bm25]) is bm25


def test_a_reranker_teacher_scores_every_source_passage(pseudo, scifact):
    shallow = teacher_run(pseudo, scifact.corpus, [BM25()], k=1)
    missed = [q for q in pseudo.queries if pseudo.source(q) not in shallow[q].doc_ids]
    pool = with_sources(shallow, pseudo)
    for q in pseudo.queries:
        assert pseudo.source(q) in pool[q].doc_ids
        if q in missed:   # appended below the last candidate, the rest untouched
            assert pool[q].doc_ids == (*shallow[q].doc_ids, pseudo.source(q))
        else:
            assert pool[q] == shallow[q]
    taught = teacher_run(pseudo, scifact.corpus, [BM25()], k=1,
                         reranker=load_reranker("identity"))
    assert all(pseudo.source(q) in taught[q].doc_ids for q in pseudo.queries)


def test_source_ranks_counts_where_each_source_lands(pseudo):
    qids = sorted(pseudo.queries)[:4]
    ranks = {qids[0]: 1, qids[1]: 2, qids[2]: 5}        # qids[3]: not retrieved
    scores = {}
    for q in qids:
        row = {f"x{i}": 10.0 - i for i in range(1, 11)}
        if q in ranks:
            row[pseudo.source(q)] = 10.5 - ranks[q]
        scores[q] = row
    got = source_ranks(Run.from_scores(scores), pseudo, qids, k=10)
    assert got == {"mrr@10": pytest.approx((1 + 1 / 2 + 1 / 5) / 4), "top1": 0.25,
                   "in_top10": 0.75, "queries": 4}
