"""The teacher of a pseudo-query set (GPL, Wang et al. 2022): hard negatives from first stages,
labels from a stronger scorer.

:func:`teacher_run` retrieves each pseudo-query's candidates with one or more first stages of
ours (BM25, dense, SPLADE, ...); two or more are fused by CombSUM of min-max-normalised scores
(ranx), so "all-mpnet-base-v2 fused with BM25" is ``[BM25(), Dense(mpnet)]``. With a
``reranker`` (a cross-encoder, an LLM reranker, a bi-encoder), each query's source passage joins
its pool when the first stages missed it, and the reranker's scores over the pool are the
teacher's. The run then trains a student with ``distill(..., negatives="judged",
qrels=pseudo.qrels)``: the source passage is the positive, the rest of the pool the negatives,
the teacher's margins the labels.

:func:`source_ranks` measures how well a ranker finds each held-out pseudo-query's source
(MRR@10, top-1): how a teacher is chosen without test qrels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rankify_lite.distill.pseudo_set import PseudoQueries
from rankify_lite.errors import InputError
from rankify_lite.types import Corpus, RankedList, Run


def retrieve_all(pseudo: PseudoQueries, corpus: Corpus, retrievers: Sequence[Any],
                 k: int = 100) -> list[Run]:
    """Each retriever's top ``k`` for the pseudo-queries (each indexes ``corpus`` once)."""
    if not retrievers:
        raise InputError("a pseudo-query teacher needs at least one first stage.",
                         fix="pass retrievers=[BM25()] (or several, fused).")
    return [r.index(corpus).retrieve(pseudo.queries, k=k) for r in retrievers]


def fused(runs: Sequence[Run], name: str | None = None) -> Run:
    """One run: itself, or CombSUM of min-max-normalised scores for two or more."""
    if len(runs) == 1:
        return runs[0]
    from rankify_lite.retrievers.fusion import fuse

    return fuse(list(runs), method="sum", norm="min-max",
                name=name or "combsum(" + ", ".join(r.name for r in runs) + ")")


def with_sources(candidates: Run, pseudo: PseudoQueries) -> Run:
    """``candidates`` with each query's source passage appended (below the last candidate) where
    it is missing: the pool a reranker teacher scores, so the positive always has a label."""
    scores: dict[str, dict[str, float]] = {}
    for qid in candidates:
        ranked: RankedList = candidates[qid]
        row = dict(zip(ranked.doc_ids, ranked.scores, strict=True))
        if qid in pseudo.qrels:
            low = min(row.values(), default=0.0)
            for doc in pseudo.qrels[qid]:
                row.setdefault(doc, low - 1.0)
        scores[qid] = row
    return Run.from_scores(scores, name=candidates.name, metadata=dict(candidates.metadata))


def teacher_run(pseudo: PseudoQueries, corpus: Corpus, retrievers: Sequence[Any], *,
                k: int = 100, reranker: Any = None, depth: int | None = None) -> Run:
    """The teacher's run over ``pseudo``'s queries (see the module docstring): first stages'
    top ``k`` (fused when several), reranked to ``depth`` (default ``k``) by ``reranker``."""
    pool = fused(retrieve_all(pseudo, corpus, retrievers, k))
    if reranker is None:
        return pool
    pool = with_sources(pool, pseudo)
    return reranker.rerank(pseudo.queries, pool, corpus, depth=depth or k + 1)


def source_ranks(run: Run, pseudo: PseudoQueries, qids: Sequence[str] | None = None,
                 k: int = 10) -> dict[str, float]:
    """MRR@k and top-1 accuracy of ``run`` at finding each pseudo-query's source passage
    (over ``qids``, default all), and how often the source is in its top ``k``."""
    qids = list(qids if qids is not None else pseudo.queries)
    if not qids:
        raise InputError("no pseudo-queries to measure.", fix="pass some query ids.")
    rr = top1 = hit = 0.0
    for qid in qids:
        source = pseudo.source(qid)
        docs = run[qid].top(k).doc_ids if qid in run else ()
        if source in docs:
            rank = list(docs).index(source) + 1
            rr += 1.0 / rank
            top1 += rank == 1
            hit += 1
    n = len(qids)
    return {f"mrr@{k}": rr / n, "top1": top1 / n, f"in_top{k}": hit / n, "queries": n}
