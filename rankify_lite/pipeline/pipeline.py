"""``Pipeline(retriever, reranker).run(dataset)``: retrieve, rerank, evaluate, cached.

Stage outputs are cached by content, keyed by what each stage reads: the first-stage run by the
hash of the corpus and queries (not the qrels: editing judgments only re-scores), the
retriever's full config, ``k`` and the self-hit rule; each reranked run by the first-stage key,
the reranker's config (model id, revision, prompt hash), ``depth`` and the queries per call.
Cached runs are verified against a recorded sha256 before they are served (see run_cache.py).
Reranking checkpoints every finished query, so a killed run continues where it stopped.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rankify_lite.cache import cache_dir, content_key
from rankify_lite.datasets import Dataset, DatasetGroup, load_dataset
from rankify_lite.errors import InputError
from rankify_lite.evaluation import compare
from rankify_lite.executors.base import LocalExecutor
from rankify_lite.pipeline.checkpoint import JsonlCheckpoint
from rankify_lite.pipeline.environment import environment
from rankify_lite.pipeline.group import GroupResult, run_group
from rankify_lite.pipeline.result import PipelineResult, StageTiming
from rankify_lite.pipeline.run_cache import RunCache
from rankify_lite.rerankers.base import Reranker
from rankify_lite.retrievers.base import Retriever
from rankify_lite.retrievers.runs import SHIPPED_PREFIX, RunStage, as_first_stage
from rankify_lite.stage_stats import RerankTiming, StageStats
from rankify_lite.systems import SystemId
from rankify_lite.types import Run

__all__ = ["SHIPPED_PREFIX", "Pipeline"]


class Pipeline:
    """Wire a first stage, zero or more rerankers and the evaluator.

    ``retriever``: the first stage: a Retriever, a Run, a ``RunFile(path)``, or ``"run:NAME"``
    for a run shipped with the dataset (e.g. ``"run:bm25.top100"`` on TREC DL).
    ``reranker``: one Reranker, a list of them (each reranks the same first stage, which is
    retrieved once), or None. ``k``: first-stage depth
    (default ``max(depth, 1000)``); ``depth``: how many candidates each reranker sees.
    ``metrics``: default, the dataset's own (its collection rules: nDCG@10, R@100, R@1000 for
    BEIR; MAP@1000 too for TREC DL). ``cache``: True (default cache dir), False, or a folder;
    ``refresh`` recomputes and overwrites cached results. ``executor``: where reranking and
    dense/SPLADE corpus encoding run (default this process; ``RayExecutor(address)`` shards them
    over a Ray cluster with byte-identical results).
    """

    def __init__(self, retriever: Retriever | RunStage | Run | str, reranker: Reranker | Sequence[Reranker]
                 | None = None, depth: int = 100, k: int | None = None,
                 metrics: Sequence[str] | None = None,
                 cache: bool | str | Path = True, refresh: bool = False, progress: bool = True,
                 seed: int = 0, test: str = "t-test", executor: Any = None) -> None:
        if depth < 1:
            raise InputError(f"depth must be >= 1, got {depth}.", fix="e.g. depth=100.")
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            raise InputError(f"k (the first-stage depth) must be a positive integer, got {k!r}.",
                             fix="e.g. k=1000.")
        self.retriever = retriever
        self.first = as_first_stage(retriever)  # the one type check of the first stage
        if reranker is None:
            self.rerankers: list[Reranker] = []
        elif isinstance(reranker, Reranker):
            self.rerankers = [reranker]
        else:
            self.rerankers = list(reranker)
        self.depth = depth
        self.k = k if k is not None else max(depth, 1000)
        self.metrics = tuple(metrics) if metrics is not None else None
        if self.metrics is not None:
            from rankify_lite.evaluation.metrics import parse_metric

            for m in self.metrics:
                parse_metric(m)  # a bad metric name fails here, before any work
        self.cache = cache
        self.refresh = refresh
        self.progress = progress
        self.seed = seed
        self.test = test
        self.executor = executor  # None: in this process; RayExecutor(): on a Ray cluster

    # -- configuration ----------------------------------------------------------------------
    def _cache_root(self) -> Path | None:
        if self.cache is False:
            return None
        if self.cache is True:
            return cache_dir("runs")
        path = Path(self.cache)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def config(self) -> dict[str, Any]:
        """The provenance record (``retriever`` and each reranker's ``config()``: resolved values
        included) with each component's saved spec, which ``rerun`` rebuilds from."""
        return {"retriever": self.first.config(), "first_stage": self.first.spec().as_dict(),
                "rerankers": [{**r.config(), "spec": r.spec().as_dict()} for r in self.rerankers],
                "depth": self.depth, "k": self.k,
                "metrics": list(self.metrics) if self.metrics is not None else None,
                "seed": self.seed, "test": self.test}

    # -- stages -----------------------------------------------------------------------------
    def _first_stage(self, ds: Dataset, cache: RunCache | None, timing: StageTiming,
                     notes: list[str], stages: list[StageStats]) -> tuple[Run, str]:
        rconf = self.first.config()
        key = content_key(ds.input_hash(), rconf, self.k, ds.rules.self_hits)
        stem = f"first-{key}"
        system = SystemId(self.first.name)
        if cache is not None and not self.refresh:
            run = cache.load(stem, self.first.name, "first-stage run")
            if run is not None:
                timing.cached.append("retrieve")
                stages.append(StageStats(system, "first-stage", cached=True))
                return run.with_metadata(retriever=rconf, k=self.k), key
        t0 = time.perf_counter()
        run, seconds = self.first.first_stage(ds, self.k, self.executor)
        wall = time.perf_counter() - t0
        timing.seconds.update(seconds)
        retrieved = "retrieve" in seconds  # a retriever ran here (not a precomputed run)
        removed = int(run.metadata.get("self_hits_removed", 0)) if retrieved else 0
        if retrieved:
            per_q = seconds["retrieve"] / max(1, len(ds.queries))
            stages.append(StageStats(system, "first-stage", cached=False, wall_s=wall,
                                     index_s=seconds.get("index"),
                                     per_query_s={q: per_q for q in ds.queries}))
        else:
            stages.append(StageStats(system, "first-stage", cached=False, wall_s=wall))
        run = run.restrict(ds.queries).top(self.k)  # a shipped run may cover more topics
        if not len(run):
            raise InputError(f"the first stage returned no query of dataset {ds.name!r}.",
                             fix="check that the run and the dataset share query ids.")
        if ds.remove_self_hits:
            removed += run.count_self_hits()
            run = run.without_self_hits()
        empty = [q for q, rl in run.items() if not len(rl)]
        if empty:
            notes.append(f"{len(empty)} queries got no documents from the first stage "
                         f"(e.g. {empty[0]!r}: nothing indexable in the query text?); "
                         "they score 0")
            warnings.warn(notes[-1], stacklevel=3)
        run = run.replace(name=self.first.name,
                          metadata={**run.metadata, "retriever": rconf,
                                    "self_hits_removed": removed})
        if cache is not None:
            cache.store(stem, run)
        return run, key

    def _rerank(self, ds: Dataset, first: Run, first_key: str, reranker: Reranker,
                cache: RunCache | None, timing: StageTiming, notes: list[str],
                stages: list[StageStats]) -> Run:
        rconf = reranker.config()
        per_call = reranker.queries_per_call(self.depth)
        key = content_key(first_key, rconf, self.depth, per_call)
        system = SystemId(first.name, reranker.family, self.depth)
        name = system.label
        stem = f"rerank-{key}"
        if cache is not None and not self.refresh:
            run = cache.load(stem, name, f"reranked run {name}")
            if run is not None:
                timing.cached.append(f"rerank:{name}")
                recorded = RerankTiming.of(run.metadata)
                stages.append(StageStats(
                    system, "rerank", cached=True,
                    per_query_s=recorded.per_query_s if recorded else {},
                    queries_per_call=per_call))
                return run
        if ds.corpus is None:
            raise InputError(f"dataset {ds.name!r} has no corpus; rerankers need passage text.",
                             fix="use a dataset folder with corpus.jsonl.")
        checkpoint = None
        if cache is not None:
            partial = cache.root / f"{stem}.partial.jsonl"
            if self.refresh and partial.is_file():
                partial.unlink()
            checkpoint = JsonlCheckpoint(partial, total=len(first))
            notes.extend(checkpoint.notes)
        bar = _progress_bar(len(first), f"rerank {reranker.family}", self.progress)
        t0 = time.perf_counter()
        try:
            executor = self.executor or LocalExecutor()
            run = executor.rerank(reranker, ds.queries, first, ds.corpus, self.depth,
                                  checkpoint=checkpoint, progress=bar.update if bar else None)
        finally:
            if bar:
                bar.close()
            if checkpoint is not None:
                checkpoint.close()
        wall = time.perf_counter() - t0
        timing.seconds[f"rerank:{name}"] = wall
        recorded = RerankTiming.of(run.metadata)
        per_query = dict(recorded.per_query_s) if recorded else {}
        resumed = recorded.resumed_queries if recorded else 0
        timing.per_query[name] = per_query
        stages.append(StageStats(system, "rerank", cached=False, wall_s=wall,
                                 per_query_s=per_query, resumed_queries=resumed,
                                 queries_per_call=per_call))
        if resumed:
            notes.append(f"{name}: resumed from a checkpoint ({resumed} queries kept)")
        run = run.replace(name=name)
        if cache is not None:
            cache.store(stem, run)
            checkpoint.close(remove=True)
        return run

    # -- the one call -----------------------------------------------------------------------
    def run(self, dataset: Dataset | DatasetGroup | str) -> PipelineResult | GroupResult:
        """Run on one dataset; a DatasetGroup (CQADupStack) runs each part and averages."""
        ds = load_dataset(dataset) if isinstance(dataset, str) else dataset
        if isinstance(ds, DatasetGroup):
            return run_group(self, ds)
        if not isinstance(ds, Dataset):
            raise InputError(f"{type(ds).__name__} is not a dataset.",
                             fix="pass a Dataset, a DatasetGroup or a dataset name/path.")
        if not len(ds.queries):
            raise InputError(f"dataset {ds.name!r} has no queries.",
                             fix="check queries.jsonl (and that the qrels split names its queries).")
        root = self._cache_root()
        cache = RunCache(root) if root is not None else None
        timing = StageTiming()
        stages: list[StageStats] = []
        notes: list[str] = [f"rules: {ds.rules.describe()}"]
        started = time.perf_counter()
        first, first_key = self._first_stage(ds, cache, timing, notes, stages)
        reranked = [self._rerank(ds, first, first_key, r, cache, timing, notes, stages)
                    for r in self.rerankers]
        if cache is not None:
            notes.extend(cache.notes)
        removed = int(first.metadata.get("self_hits_removed", 0))
        if ds.remove_self_hits:
            notes.append(f"self-hits removed from the first stage: {removed}")
        runs = [first, *reranked]
        qrels = ds.qrels.restrict(ds.queries)  # the dataset's topics define what is scored
        metrics = self.metrics if self.metrics is not None else ds.rules.metrics
        comparison = compare(runs, qrels, metrics, baseline=0, test=self.test,
                             rel_level=ds.rel_level, seed=self.seed)
        timing.seconds["total"] = time.perf_counter() - started
        if stages[0].per_query_s:  # retrieved in this run (the first stage's typed stats)
            timing.per_query[first.name] = dict(stages[0].per_query_s)
        metadata = {"dataset": ds.describe(), "pipeline": self.config(),
                    "rules": ds.rules.as_dict(), "notes": notes,
                    "environment": environment(), "rankify_lite_result_version": 1}
        return PipelineResult(ds.name, first, tuple(reranked), comparison, timing, metadata,
                              tuple(stages))


def _progress_bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    import sys

    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="q", disable=not sys.stderr.isatty(), leave=False)
