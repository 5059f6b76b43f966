"""One cached-stage runner: cache lookup, checkpoint, compute, store and statistics, written once.

:func:`run_cached` is the whole cache-and-resume of a stage: serve the entry under its key
unless ``refresh``; otherwise compute it (a reranking with a per-query
:class:`~rankify_lite.pipeline.checkpoint.JsonlCheckpoint`, so a killed run continues where it
stopped; the checkpoint's notes are kept and it is removed once the run is stored), then store
it (:class:`~rankify_lite.pipeline.run_cache.RunCache`). :func:`first_stage` and
:func:`rerank_stage` key a stage (:mod:`rankify_lite.pipeline.keys`), run it through
:func:`run_cached` and assemble its :class:`~rankify_lite.stage_stats.StageStats` (one
:meth:`~rankify_lite.stage_stats.StageStats.of`, fed by what the run recorded, whether a cache
served it or it was computed here).

The Pipeline and the PyTerrier transformers both run their stages here, so one computation
has one cache entry whoever asks: a PyTerrier reranker over a frame holding a Pipeline's
candidates (and their passages) is served the Pipeline's entry, and the other way round.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rankify_lite.cascade import Stage, as_stage
from rankify_lite.errors import InputError
from rankify_lite.pipeline.checkpoint import JsonlCheckpoint
from rankify_lite.pipeline.keys import candidates_key, first_stage_key, rerank_key
from rankify_lite.pipeline.run_cache import RunCache
from rankify_lite.stage_stats import FirstStageTiming, RerankStats, StageStats
from rankify_lite.systems import SystemId
from rankify_lite.types import Corpus, Queries, Run

#: ``compute(checkpoint)`` -> (the run, its cost record or None): what a stage does on a miss
#: attribute of a KeyboardInterrupt that stopped a resumable stage: (queries checkpointed,
#: queries in the stage), read by the CLI's one-line "interrupted" message
CHECKPOINTED = "rankify_checkpointed"

Compute = Callable[[JsonlCheckpoint | None], tuple[Run, dict[str, Any] | None]]


@dataclass(frozen=True)
class StageRun:
    """A stage's output: its run, its cache key, its statistics and what it noted (checkpoint
    repairs, queries resumed). Cache problems are noted on the :class:`RunCache`."""

    run: Run
    key: str
    stats: StageStats
    notes: tuple[str, ...] = ()

    @property
    def cached(self) -> bool:
        return self.stats.cached


@dataclass(frozen=True)
class Served:
    """What :func:`run_cached` gives back: the run, whether the cache served it, and its cost
    record (seconds; the stored one on a hit)."""

    run: Run
    cached: bool
    cost: dict[str, float]
    notes: tuple[str, ...] = ()


def run_cached(cache: RunCache | None, stem: str, name: str, what: str, compute: Compute, *,
               refresh: bool = False, resumable: bool = False,
               total: int | None = None) -> Served:
    """The entry ``stem`` of ``cache`` (its run named ``name``; ``what`` names it in notes),
    or, when there is none (or ``refresh``), ``compute``'d and stored. ``resumable``: compute
    gets a per-query checkpoint beside the entry (``total`` queries), resumed from, and
    removed once the run is stored; ``refresh`` starts it afresh. ``cache`` None: computed,
    nothing kept."""
    if cache is not None and not refresh:
        run = cache.load(stem, name, what)
        if run is not None:
            return Served(run, True, cache.cost(stem))
    notes: list[str] = []
    checkpoint = None
    if cache is not None and resumable:
        partial = cache.root / f"{stem}.partial.jsonl"
        if refresh and partial.is_file():
            partial.unlink()
        checkpoint = JsonlCheckpoint(partial, total=total)
        notes.extend(checkpoint.notes)
    try:
        run, cost = compute(checkpoint)
    except KeyboardInterrupt as stop:  # Ctrl-C / SIGTERM: the CLI says what was kept
        if checkpoint is not None and not hasattr(stop, CHECKPOINTED):
            setattr(stop, CHECKPOINTED, checkpoint.progress())
        raise
    finally:
        if checkpoint is not None:
            checkpoint.close()
    cost = {k: v for k, v in (cost or {}).items() if v is not None}
    if cache is not None:
        cache.store(stem, run, cost=cost)
        if checkpoint is not None:
            checkpoint.close(remove=True)
    return Served(run, False, cost, tuple(notes))


def first_stage(first: Any, queries: Queries, corpus: Corpus | None, k: int, self_hits: bool,
                cache: RunCache | None, compute: Callable[[], tuple[Run, FirstStageTiming]], *,
                refresh: bool = False) -> StageRun:
    """The first stage ``first`` (a Retriever or a RunStage: its ``name`` and ``config()``)
    for ``queries`` over ``corpus``, top ``k``, ``self_hits`` the self-hit rule. ``compute()``
    gives (the finished run, its timing) on a miss; its cost (seconds per query, to index) is
    kept with the entry, so a cache hit still reports what the stage cost."""
    from rankify_lite.retrievers.runs import RunStage

    conf = first.config()
    key = first_stage_key(corpus, queries, conf, k, self_hits)
    timing: list[tuple[FirstStageTiming, float]] = []

    def timed(_: JsonlCheckpoint | None) -> tuple[Run, dict[str, Any] | None]:
        t0 = time.perf_counter()
        run, measured = compute()
        wall = time.perf_counter() - t0
        timing.append((measured, wall))
        if not measured.retrieved:
            return run, None
        return run, {"retrieve_s_per_query": measured.retrieve_s / max(1, len(queries)),
                     "index_s": measured.index_s, "wall_s": wall}

    served = run_cached(cache, f"first-{key}", first.name, "first-stage run", timed,
                        refresh=refresh)
    run = served.run
    if served.cached:
        precomputed, wall = isinstance(first, RunStage), None
        run = run.with_metadata(retriever=conf, k=k)
    else:
        (measured, wall), = timing
        precomputed = not measured.retrieved
    stats = StageStats.of(SystemId(first.name), "first-stage", cached=served.cached, wall_s=wall,
                          recorded=RerankStats.per_query(
                              served.cost.get("retrieve_s_per_query"), queries),
                          index_s=served.cost.get("index_s"), precomputed=precomputed)
    return StageRun(run, key, stats, served.notes)


def rerank_stage(stage: Stage | Any, queries: Queries, candidates: Run, corpus: Corpus,
                 cache: RunCache | None, *, refresh: bool = False, executor: Any = None,
                 progress_bar: Callable[[], Any] | None = None,
                 system: SystemId | None = None) -> StageRun:
    """``stage`` (a :class:`~rankify_lite.cascade.Stage` with its depth) over ``candidates``,
    through the batch driver, batches computed by ``executor`` (None: this process).
    ``system``: the system this stage's output is (default: the candidates' name, then the
    stage's); its label names the run. ``progress_bar()``: called only when the stage is
    computed, gives something with ``update(n)`` and ``close()``, or None."""
    from rankify_lite.executors.base import LocalExecutor
    from rankify_lite.rerankers.driver import drive

    stage = as_stage(stage)
    if stage.depth is None:
        raise InputError("a reranking stage needs its depth.", fix="e.g. reranker % 100.")
    system = system or SystemId.from_label(candidates.name).then(stage.label, stage.depth)
    name = system.label
    key = rerank_key(candidates_key(queries, candidates, corpus, stage.depth), stage)
    walls: list[float] = []

    def compute(checkpoint: JsonlCheckpoint | None) -> tuple[Run, dict[str, Any] | None]:
        bar = progress_bar() if progress_bar is not None else None
        t0 = time.perf_counter()
        try:
            run = drive(stage, queries, candidates, corpus,
                        map_batches=(executor or LocalExecutor()).map_batches,
                        checkpoint=checkpoint, progress=bar.update if bar else None, name=name)
        finally:
            if bar:
                bar.close()
        walls.append(time.perf_counter() - t0)
        return run, None

    served = run_cached(cache, f"rerank-{key}", name, f"reranked run {name}", compute,
                        refresh=refresh, resumable=True, total=len(candidates))
    recorded = RerankStats.of(served.run.metadata)
    stats = StageStats.of(system, "rerank", cached=served.cached,
                          wall_s=walls[0] if walls else None, recorded=recorded,
                          queries_per_call=stage.reranker.queries_per_call(stage.depth))
    notes = list(served.notes)
    run = served.run
    if served.cached:  # computed for another input of the same content: say whose input it is
        run = run.with_metadata(first_stage=candidates.name)
    elif stats.resumed_queries:
        notes.append(f"{name}: resumed from a checkpoint ({stats.resumed_queries} queries kept)")
    return StageRun(run, key, stats, tuple(notes))


__all__ = ["Served", "StageRun", "first_stage", "rerank_stage", "run_cached"]
