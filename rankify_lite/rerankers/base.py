"""The interface every reranker family implements.

A family implements :meth:`Reranker._rerank_batch` for a batch of queries (batching *across*
queries is the family's job) and :meth:`Reranker.config`. The base class does the rest, the same
way for every family:

* takes the top ``depth`` candidates of each query; documents below ``depth`` stay below, in
  their first-stage order;
* turns what the family returns into scores that strictly decrease down the final ranking
  (tied model scores in trec_eval's order, or the first stage's: see ``ties.py``), so
  evaluators see the new order;
* times every batch and spreads the time over its queries (``run.metadata["timing"]``);
* resumes: with a ``checkpoint`` it skips query batches already done and records each new query;
  batches are fixed slices of the candidate order, so a resumed run is byte-identical.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from rankify_lite.errors import InputError, RankifyError
from rankify_lite.spec import Recorded
from rankify_lite.stage_stats import RerankTiming
from rankify_lite.systems import SystemId
from rankify_lite.types import Corpus, Document, Queries, Query, RankedList, Run


@dataclass(frozen=True, slots=True)
class RerankItem:
    """One query with its candidates (best first-stage first)."""

    query: Query
    documents: tuple[Document, ...]
    first_stage_scores: tuple[float, ...]


class Checkpoint(Protocol):
    """Where finished queries go (the pipeline stores them on disk, see pipeline/checkpoint)."""

    def done(self) -> Mapping[str, RankedList]: ...

    def add(self, qid: str, ranked: RankedList) -> None: ...


class RerankQueryError(RankifyError):
    """A reranker failed on one query; completed queries are kept in the checkpoint."""

    def __init__(self, qid: str, cause: BaseException) -> None:
        self.qid = qid
        super().__init__(f"reranking failed on query {qid!r}: {type(cause).__name__}: {cause}. "
                         "Queries finished before it are kept; fix the cause and run again "
                         "to continue from there.")


# What a family returns for one query: (doc id, score) pairs, higher score = better.
Scored = Sequence[tuple[str, float]]


def _recording_ties(config: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """``config`` that also records a non-default tie rule (it changes the run)."""
    import functools

    @functools.wraps(config)
    def wrapped(self: Any) -> dict[str, Any]:
        out = config(self)
        rule = getattr(self, "ties", "trec_eval")
        return out if rule == "trec_eval" else {**out, "ties": rule}

    wrapped.records_ties = True  # type: ignore[attr-defined]
    return wrapped


class Reranker(Recorded, ABC):
    """Base class of every family. Construction is recorded: :meth:`spec` gives the family and
    the exact options the reranker was built with, which is what ``rerun`` rebuilds it from
    (``config()`` is the provenance record, with resolved values such as revisions and hashes)."""

    family: ClassVar[str] = ""
    spec_kind: ClassVar[str] = "reranker"

    #: how many queries go to one _rerank_batch call
    query_batch_size: int = 16
    #: when set, queries per call = max(1, max_pairs_per_call // depth) instead (pair scorers:
    #: a call then holds about this many (query, document) pairs, whatever the depth)
    max_pairs_per_call: int | None = None
    #: how tied model scores are ordered (:mod:`rankify_lite.rerankers.ties`): trec_eval's order
    ties: str = "trec_eval"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("config")
        if own is not None and not getattr(own, "records_ties", False):
            cls.config = _recording_ties(own)  # a non-default tie rule keys caches, is recorded

    def queries_per_call(self, depth: int) -> int:
        """How many queries one :meth:`_rerank_batch` call gets at this depth."""
        if self.max_pairs_per_call:
            return max(1, self.max_pairs_per_call // max(1, depth))
        return max(1, self.query_batch_size)

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Every setting that changes the output (model id, revision, prompt hash, ...)."""

    @abstractmethod
    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        """Score or order the candidates of several queries; one result per item."""

    def rerank(self, queries: Queries, candidates: Run, corpus: Corpus, depth: int = 100,
               checkpoint: Checkpoint | None = None,
               progress: Callable[[int], None] | None = None) -> Run:
        """A new Run: the top ``depth`` of ``candidates`` reordered by this reranker."""
        if depth < 1:
            raise InputError(f"depth must be >= 1, got {depth}.", fix="pass depth=100 or similar.")
        done = dict(checkpoint.done()) if checkpoint is not None else {}
        per_query_s: dict[str, float] = {}
        results: dict[str, RankedList] = {}
        per_call = self.queries_per_call(depth)
        order = list(candidates)
        resumed = 0
        # Batches are fixed slices of the candidate order, whatever was done before: a batch is
        # skipped only when every query of it is checkpointed, otherwise redone whole. So a
        # resumed run scores every batch with the same composition (padding, shapes) as an
        # uninterrupted one, and gives the same bytes.
        for start in range(0, len(order), per_call):
            qids = order[start:start + per_call]
            if all(q in done for q in qids):
                results.update({q: done[q] for q in qids})
                resumed += len(qids)
                if progress is not None:
                    progress(len(qids))
                continue
            batch = [self._item(queries, candidates, corpus, q, depth) for q in qids]
            nonempty = [it for it in batch if it.documents]
            t0 = time.perf_counter()
            try:
                scored = self._rerank_batch(nonempty) if nonempty else []
            except Exception as exc:
                if len(nonempty) == 1:
                    raise RerankQueryError(nonempty[0].query.id, exc) from exc
                # find the failing query: redo the batch one query at a time
                scored = []
                for it in nonempty:
                    try:
                        scored.extend(self._rerank_batch([it]))
                    except Exception as exc2:
                        raise RerankQueryError(it.query.id, exc2) from exc2
            elapsed = time.perf_counter() - t0
            by_qid = {it.query.id: s for it, s in zip(nonempty, scored, strict=True)}
            for it in batch:
                ranked = self._finish(candidates[it.query.id], by_qid.get(it.query.id, ()), depth,
                                      self.ties)
                results[it.query.id] = ranked
                per_query_s[it.query.id] = elapsed / max(1, len(batch))
                if checkpoint is not None:
                    checkpoint.add(it.query.id, ranked)
            if progress is not None:
                progress(len(batch))
        lists = {q: results[q] for q in candidates}
        timing = RerankTiming(sum(per_query_s.values()), per_query_s, resumed, per_call)
        return Run(lists, name=SystemId(candidates.name, self.family, depth).label, metadata={
            "reranker": self.config(), "depth": depth, "first_stage": candidates.name,
            "ties": self.ties,
            "timing": timing.as_dict()})

    @staticmethod
    def _item(queries: Queries, candidates: Run, corpus: Corpus, qid: str,
              depth: int) -> RerankItem:
        if qid not in queries:
            raise InputError(f"the candidate run has query {qid!r}, which the queries lack.",
                             fix="rerank with the queries the run was retrieved for.")
        rl = candidates[qid].top(depth)
        missing = [d for d in rl.doc_ids if d not in corpus]
        if missing:
            raise InputError(
                f"{len(missing)} candidate doc ids of query {qid!r} are not in the corpus, "
                f"e.g. {', '.join(repr(m) for m in missing[:5])}.",
                fix="rerank a run retrieved from this corpus (or load the matching corpus).")
        return RerankItem(queries[qid], tuple(corpus[d] for d in rl.doc_ids), rl.scores)

    @staticmethod
    def _finish(original: RankedList, scored: Scored, depth: int,
                ties: str = "trec_eval") -> RankedList:
        """Strictly decreasing scores: model order on top (ties ordered by ``ties``), untouched
        tail below."""
        from rankify_lite.rerankers.ties import order as tie_order

        head = original.doc_ids[:depth]
        got = {d: float(s) for d, s in scored}
        if set(got) != set(head):
            raise RankifyError(f"reranker returned {len(got)} documents for {len(head)} "
                               "candidates; every candidate must get exactly one score.")
        order = tie_order(head, got, ties)
        n = len(original)
        # Keep the model's scores where they already strictly decrease (more informative),
        # otherwise fall back to rank-based scores n, n-1, ... for the whole list.
        model_scores = [got[d] for d in order]
        strictly = all(a > b for a, b in zip(model_scores, model_scores[1:], strict=False))
        tail = original.doc_ids[depth:]
        if strictly and model_scores:
            low = model_scores[-1]
            scores = model_scores + [low - 1.0 - i for i in range(len(tail))]
        else:
            scores = [float(n - i) for i in range(n)]
        return RankedList(tuple(order) + tuple(tail), tuple(scores))
