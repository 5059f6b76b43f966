"""The one batch driver: every executor reranks through this code.

:func:`drive` cuts the candidates into fixed query batches (slices of the candidate order),
skips batches a checkpoint already holds whole, builds each batch's items (checking queries and
documents), hands the batches to an executor's ``map_batches`` (this process, or Ray workers),
and then, in the driver, turns each batch's scores into ranked lists, checkpoints them, spreads
the batch's seconds over its queries and sums the family's counters. So slicing, resume, timing,
naming and statistics are written once, and what a run records does not depend on where its
batches were computed (only measured seconds differ).

:func:`compute` is what runs where a batch is computed: the family's ``_rerank_batch`` plus the
change of its counters (``reranker.stats``) during the call. A failing batch is an error naming
the batch and its queries (:class:`RerankBatchError`); batches finished before it stay in the
checkpoint. Nothing is retried one query at a time: that would change batch composition (and so
score bytes) and run a deterministic bug once per query.

The contract is declared: :class:`Scorer` is everything the driver reads from a reranker. What
belongs to the pipeline step rather than to the model (its depth, its tie rule, its name) is
read from the :class:`~rankify_lite.cascade.Stage` it is driven as; a wrapper (lazy, cached,
remote) only has to forward :class:`Scorer`.

Batch sizes: each knob sizes one level, and this is the one place that says which.

* ``queries_per_call(depth)`` (:class:`Scorer`): the driver's batch, the only one read here:
  the candidates' query order is cut into slices of this many queries, one ``_rerank_batch``
  call each. It enters the stage's cache key (a listwise model's output can depend on what
  it is batched with) and a Ray worker's rebuilt reranker must agree on it
  (executors/spec.py). :class:`~rankify_lite.rerankers.base.Reranker` derives it from the
  next two; a wrapper (LazyReranker) answers from the memoised pair.
* ``query_batch_size`` (a reranker attribute; the option of most families): queries per call.
* ``max_pairs_per_call`` (pair scorers: the cross-encoder's 4,096): when set, queries per call
  is ``max(1, max_pairs_per_call // depth)`` instead, about that many (query, passage) pairs
  per call at any depth; the cross-encoder's ``query_batch_size`` option clears it.
* ``batch_size`` (a family option, passed to the LLM engines that batch, see
  rerankers/engines): items per model forward pass *inside* one call (pairs, texts,
  prompts), read only by the family or its engine, never by the driver; the cross-encoder's
  ``max_tokens`` bounds a forward pass by padded tokens as well. It never changes which
  queries share a call.
* first stages: the dense / SPLADE encoders' ``batch_size`` times ``chunk_batches``
  (models/_batching.py) is a tokenisation chunk of corpus texts; executors/encode_plan.py cuts
  the same chunks for workers. Nothing here reads it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rankify_lite.cascade import Stage, as_stage
from rankify_lite.errors import InputError, RankifyError
from rankify_lite.stage_stats import RerankStats
from rankify_lite.systems import SystemId
from rankify_lite.ties import DEFAULT
from rankify_lite.ties import order as tie_order
from rankify_lite.types import Corpus, Document, Queries, Query, RankedList, Run


@dataclass(frozen=True, slots=True)
class RerankItem:
    """One query with its candidates (best first-stage first)."""

    query: Query
    documents: tuple[Document, ...]
    first_stage_scores: tuple[float, ...]


# What a family returns for one query: (doc id, score) pairs, higher score = better.
Scored = Sequence[tuple[str, float]]


class Scorer(Protocol):
    """What the batch driver needs from a reranker: exactly what :func:`drive` and
    :func:`compute` read (every :class:`~rankify_lite.rerankers.base.Reranker` has it)."""

    #: the tie rule a :class:`~rankify_lite.cascade.Stage` of this reranker takes by default
    #: (:mod:`rankify_lite.ties`); the driver applies the stage's rule, not this one
    ties: str

    @property
    def name(self) -> str:
        """The stage name a :class:`~rankify_lite.cascade.Stage` without one is labelled by."""
        ...

    @property
    def stats(self) -> Mapping[str, int]:
        """The family's counters (prompts, tokens, ...); the driver sums their change per
        batch into the run's statistics. Non-numeric entries are ignored."""
        ...

    def queries_per_call(self, depth: int) -> int:
        """How many queries one :meth:`_rerank_batch` call gets at ``depth`` (the driver's
        batch size; pair scorers derive it from ``max_pairs_per_call``)."""
        ...

    def config(self) -> dict[str, Any]:
        """Every setting that changes the output; recorded in the run's metadata."""
        ...

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        """One scored list per item: (doc id, score) for every candidate, higher = better."""
        ...


class Checkpoint(Protocol):
    """Where finished queries go (the pipeline stores them on disk, see pipeline/checkpoint)."""

    def done(self) -> Mapping[str, RankedList]: ...

    def add(self, qid: str, ranked: RankedList) -> None: ...


@dataclass(frozen=True)
class Batch:
    """One fixed slice of the candidate order: ``index`` of ``of`` batches, its query ids and
    the items of those that have candidates (what ``_rerank_batch`` gets)."""

    index: int
    of: int
    qids: tuple[str, ...]
    items: tuple[RerankItem, ...]


@dataclass(frozen=True)
class BatchOutput:
    """What computing a batch gives back: one scored list per item, the change of the
    family's counters, and the seconds the call took."""

    scored: list[Scored]
    counts: dict[str, int]
    seconds: float


class RerankBatchError(RankifyError):
    """A batch of queries failed; batches finished before it are kept in the checkpoint."""

    def __init__(self, batch: Batch | None, cause: str, qids: Sequence[str] = ()) -> None:
        self.qids = tuple(batch.qids if batch is not None else qids)
        self.qid = self.qids[0] if self.qids else ""
        self.index = batch.index if batch is not None else -1
        self.cause = cause
        shown = ", ".join(repr(q) for q in self.qids[:8])
        more = f" and {len(self.qids) - 8} more" if len(self.qids) > 8 else ""
        where = (f"batch {batch.index + 1} of {batch.of} " if batch is not None else "")
        what = (f"query {shown}" if len(self.qids) == 1 else f"queries {shown}{more}")
        super().__init__(f"reranking failed on {where}({what}): {cause}. Batches finished "
                         "before it are kept; fix the cause and run the same command again to "
                         "continue from there.")

    def __reduce__(self):  # picklable across processes
        return (_rebuild_error, (self.qids, self.index, str(self), self.cause))


def _rebuild_error(qids, index, message, cause):
    err = RerankBatchError.__new__(RerankBatchError)
    RankifyError.__init__(err, message)
    err.qids, err.qid, err.index, err.cause = tuple(qids), (qids[0] if qids else ""), index, cause
    return err


def _counters(reranker: Any) -> dict[str, int]:
    stats = getattr(reranker, "stats", None)
    if not isinstance(stats, Mapping):
        return {}
    return {str(k): int(v) for k, v in stats.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def compute(reranker: Scorer, batch: Batch) -> BatchOutput:
    """Compute one batch here (in this process or in a worker); a failure is a
    :class:`RerankBatchError` naming the batch."""
    before = _counters(reranker)
    t0 = time.perf_counter()
    try:
        scored = reranker._rerank_batch(list(batch.items)) if batch.items else []
    except RankifyError as exc:
        raise RerankBatchError(batch, str(exc)) from exc
    except Exception as exc:
        raise RerankBatchError(batch, f"{type(exc).__name__}: {exc}") from exc
    seconds = time.perf_counter() - t0
    after = _counters(reranker)
    return BatchOutput(list(scored), {k: v - before.get(k, 0) for k, v in after.items()}, seconds)


def in_process(reranker: Scorer, batches: Sequence[Batch],
               depth: int = 0) -> Iterator[tuple[Batch, BatchOutput]]:
    """The local executor's ``map_batches``: one batch after the other, here."""
    for batch in batches:
        yield batch, compute(reranker, batch)


def make_item(queries: Queries, candidates: Run, corpus: Corpus, qid: str,
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


#: ``map_batches(reranker, batches, depth)``: where an executor computes the batches
MapBatches = Callable[[Scorer, Sequence[Batch], int], Iterable[tuple[Batch, BatchOutput]]]


def drive(stage: Stage | Scorer, queries: Queries, candidates: Run, corpus: Corpus,
          depth: int | None = None, map_batches: MapBatches = in_process,
          checkpoint: Checkpoint | None = None, progress: Callable[[int], None] | None = None,
          name: str | None = None) -> Run:
    """A new Run: the top ``depth`` of ``candidates`` reordered by the stage's reranker, tied
    scores ordered by the stage's tie rule; batches are computed by ``map_batches`` (see the
    module docstring). ``stage``: a :class:`~rankify_lite.cascade.Stage`, or a reranker (a
    stage with the reranker's defaults). ``depth``: None takes the stage's. ``name``: the run's
    name (default: the input's name, then the stage's)."""
    stage = as_stage(stage)
    if depth is None:
        depth = stage.depth
    elif stage.depth is not None and depth != stage.depth:
        raise InputError(f"depth {depth!r} was asked for a stage of depth {stage.depth}.",
                         fix="give the depth once: on the stage (reranker % d) or to drive.")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise InputError(f"depth must be a positive integer, got {depth!r}.",
                         fix="pass depth=100 or similar.")
    reranker, ties = stage.reranker, stage.ties or DEFAULT
    done = dict(checkpoint.done()) if checkpoint is not None else {}
    per_call = reranker.queries_per_call(depth)
    order = list(candidates)
    slices = [tuple(order[s:s + per_call]) for s in range(0, len(order), per_call)]
    results: dict[str, RankedList] = {}
    per_query_s: dict[str, float] = {}
    counts: dict[int, dict[str, int]] = {}
    resumed = 0
    todo: list[Batch] = []
    # A batch is skipped only when every query of it is checkpointed, otherwise redone whole:
    # a resumed run scores every batch with the same composition as an uninterrupted one.
    for index, qids in enumerate(slices):
        if all(q in done for q in qids):
            results.update({q: done[q] for q in qids})
            resumed += len(qids)
            if progress is not None:
                progress(len(qids))
            continue
        items = [make_item(queries, candidates, corpus, q, depth) for q in qids]
        todo.append(Batch(index, len(slices), qids,
                          tuple(it for it in items if it.documents)))
    for batch, out in map_batches(reranker, todo, depth):
        if len(out.scored) != len(batch.items):
            raise RerankBatchError(batch, f"the reranker returned {len(out.scored)} results "
                                          f"for {len(batch.items)} queries")
        by_qid = {it.query.id: s for it, s in zip(batch.items, out.scored, strict=True)}
        for qid in batch.qids:
            try:
                ranked = finish(candidates[qid], by_qid.get(qid, ()), depth, ties, qid)
            except RankifyError as exc:
                raise RerankBatchError(batch, str(exc)) from exc
            results[qid] = ranked
            per_query_s[qid] = out.seconds / max(1, len(batch.qids))
            if checkpoint is not None:
                checkpoint.add(qid, ranked)
        counts[batch.index] = out.counts
        if progress is not None:
            progress(len(batch.qids))
    total: dict[str, int] = {}
    for index in sorted(counts):  # summed in batch order, whoever computed them
        for k, v in counts[index].items():
            total[k] = total.get(k, 0) + v
    stats = RerankStats(sum(per_query_s.values()), per_query_s, resumed, per_call,
                        len(counts), total)
    lists = {q: results[q] for q in candidates}
    label = SystemId.from_label(candidates.name).then(stage.label, None).label
    return Run(lists, name=name or label, metadata={
        "reranker": reranker.config(), "depth": depth, "first_stage": candidates.name,
        "ties": ties, **stats.metadata()})


def finish(original: RankedList, scored: Scored, depth: int,
           ties: str = "trec_eval", qid: str | None = None) -> RankedList:
    """Strictly decreasing scores: model order on top (ties ordered by ``ties``, see
    :mod:`rankify_lite.ties`), untouched tail below."""
    head = original.doc_ids[:depth]
    got = {d: float(s) for d, s in scored}
    if set(got) != set(head):
        raise RankifyError(f"reranker returned {len(got)} documents for {len(head)} "
                           "candidates; every candidate must get exactly one score.")
    order = tie_order(head, got, ties, qid)  # refuses a non-finite score, naming qid
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
