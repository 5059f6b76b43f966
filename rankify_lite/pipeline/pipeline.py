"""``Pipeline(retriever, reranker).run(dataset)``: retrieve, rerank, evaluate, cached.

A pipeline is one first stage and any number of systems on top of it; a system is a reranker or
a cascade of them (``ce % 100 >> first % 20``, see :mod:`rankify_lite.cascade`). Every stage has
a name, unique in the pipeline (:mod:`rankify_lite.pipeline.naming`), and a system is named by
its stages (:class:`~rankify_lite.systems.SystemId`): runs, files, tables, timings and stage
statistics all key by that.

Stage outputs are cached by content, keyed by what each stage reads: the first-stage run by the
hash of the corpus and queries (not the qrels: editing judgments only re-scores), the
retriever's full config, ``k`` and the self-hit rule; each reranked stage by the queries, the
candidates and the passages its reranker sees, the reranker's config (model id, revision,
prompt hash), its tie rule, depth and queries per call (keys.py makes every key, with one
version). A cascade prefix shared by several systems is computed once. Every stage runs through
the one cached-stage runner (run_cached.py), which the PyTerrier transformers use too, so the
same computation asked for either way is one cache entry. Cached runs are verified against a
recorded sha256 before they are served (see run_cache.py). Reranking checkpoints every
finished query, so a killed run continues where it stopped.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rankify_lite.cache import cache_dir
from rankify_lite.cascade import Chain, Stage, as_chain
from rankify_lite.datasets import Dataset, DatasetGroup, load_dataset
from rankify_lite.errors import InputError
from rankify_lite.evaluation import compare
from rankify_lite.executors.base import LocalExecutor
from rankify_lite.pipeline.environment import environment
from rankify_lite.pipeline.group import GroupResult, run_group
from rankify_lite.pipeline.keys import rerank_key
from rankify_lite.pipeline.naming import stage_names
from rankify_lite.pipeline.result import PipelineResult
from rankify_lite.pipeline.run_cache import RunCache
from rankify_lite.pipeline.run_cached import first_stage, rerank_stage
from rankify_lite.rerankers.base import Reranker
from rankify_lite.retrievers.base import Retriever
from rankify_lite.retrievers.runs import SHIPPED_PREFIX, RunStage, as_first_stage
from rankify_lite.stage_stats import FirstStageTiming, StageStats
from rankify_lite.systems import SystemId, file_names
from rankify_lite.types import Run

__all__ = ["SHIPPED_PREFIX", "Pipeline"]

SystemLike = Reranker | Stage | Chain


def _positive(value: Any, what: str, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{what} must be a positive integer, got {value!r}.", fix=example)
    return value


class Pipeline:
    """Wire a first stage, zero or more systems on top of it, and the evaluator.

    ``retriever``: the first stage: a Retriever, a Run, a ``RunFile(path)``, or ``"run:NAME"``
    for a run shipped with the dataset (e.g. ``"run:bm25.top100"`` on TREC DL).
    ``reranker``: None, one system or a list of them; a system is a Reranker (on the top
    ``depth``), ``reranker % d`` (on the top ``d``) or a cascade ``a % 100 >> b % 20``. The
    first stage is retrieved once; stages shared by several systems are computed once.
    ``k``: first-stage depth (default ``max(deepest stage, 1000)``); ``depth``: candidates a
    stage without ``% d`` sees. ``metrics``: default, the dataset's own (its collection rules).
    ``cache``: True (default cache dir), False, or a folder; ``refresh`` recomputes and
    overwrites cached results. ``executor``: where reranking batches and dense/SPLADE corpus
    encoding run (default this process; ``RayExecutor(address)`` shards them over a Ray cluster
    with the same run files and metadata).
    """

    def __init__(self, retriever: Retriever | RunStage | Run | str,
                 reranker: SystemLike | Sequence[SystemLike] | None = None, depth: int = 100,
                 k: int | None = None, metrics: Sequence[str] | None = None,
                 cache: bool | str | Path = True, refresh: bool = False, progress: bool = True,
                 seed: int = 0, test: str = "t-test", executor: Any = None) -> None:
        _positive(depth, "depth", "e.g. depth=100.")
        if k is not None:
            _positive(k, "k (the first-stage depth)", "e.g. k=1000.")
        self.retriever = retriever
        self.first = as_first_stage(retriever)  # the one type check of the first stage
        if reranker is None:
            given: list[Any] = []
        elif isinstance(reranker, (Reranker, Stage, Chain)):
            given = [reranker]
        else:
            given = list(reranker)
        self.chains: list[Chain] = [as_chain(x).at(depth) for x in given]
        flat = [st.reranker for ch in self.chains for st in ch.stages]
        self._names = stage_names(flat)
        #: every distinct reranker of the pipeline, in order of first use
        self.rerankers: list[Reranker] = []
        for r in flat:
            if all(self._names[id(r)] != self._names[id(o)] for o in self.rerankers):
                self.rerankers.append(r)
        self.depth = depth
        deepest = max([depth] + [st.depth or depth for ch in self.chains for st in ch.stages])
        self.k = k if k is not None else max(deepest, 1000)
        self.system_ids = [self._system_id(ch) for ch in self.chains]
        self._check_unique_systems()
        file_names(self.output_systems)  # two systems saved to one file: refused before work
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

    # -- naming -----------------------------------------------------------------------------
    @property
    def output_systems(self) -> list[SystemId]:
        """Every system whose run a saved result holds: the first stage, then each system."""
        return [SystemId(self.first.name), *dict.fromkeys(self.system_ids)]

    def name_of(self, reranker: Reranker) -> str:
        """The stage name of ``reranker`` in this pipeline."""
        return self._names[id(reranker)]

    def _system_id(self, chain: Chain) -> SystemId:
        sid = SystemId(self.first.name)
        for st in chain.stages:
            sid = sid.then(self.name_of(st.reranker), st.depth)
        return sid

    def _check_unique_systems(self) -> None:
        seen: dict[str, SystemId] = {}
        for sid in self.system_ids:
            other = seen.get(sid.label)
            if other is not None and other != sid:
                raise InputError(
                    f"two systems of this pipeline are both named {sid.label!r}: their stages "
                    f"differ only in depth ({[d for _, d in other.stages]} vs "
                    f"{[d for _, d in sid.stages]}).",
                    fix="give the stages their own names: reranker.named('ce-top50') % 50.")
            seen[sid.label] = sid

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
        included) with each component's saved spec and stage name, and the systems as chains
        of ``(stage name, depth)``: what ``rerun`` rebuilds from."""
        systems = [{"label": sid.label,
                    "stages": [{"name": n, "depth": d} for n, d in sid.stages]}
                   for sid in dict.fromkeys(self.system_ids)]
        return {"retriever": self.first.config(), "first_stage": self.first.spec().as_dict(),
                "rerankers": [{**r.config(), "spec": r.spec().as_dict(),
                               "name": self.name_of(r)} for r in self.rerankers],
                "systems": systems, "depth": self.depth, "k": self.k,
                "metrics": list(self.metrics) if self.metrics is not None else None,
                "seed": self.seed, "test": self.test}

    # -- stages -----------------------------------------------------------------------------
    def _first_stage(self, ds: Dataset, cache: RunCache | None, notes: list[str],
                     stages: list[StageStats]) -> tuple[Run, str]:
        rconf = self.first.config()

        def compute() -> tuple[Run, FirstStageTiming]:
            run, timing = self.first.first_stage(ds, self.k, self.executor)
            removed = int(run.metadata.get("self_hits_removed", 0)) if timing.retrieved else 0
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
                warnings.warn(notes[-1], stacklevel=7)  # the caller of run()
            return run.replace(name=self.first.name,
                               metadata={**run.metadata, "retriever": rconf,
                                         "self_hits_removed": removed}), timing

        done = first_stage(self.first, ds.queries, ds.corpus, self.k, ds.remove_self_hits,
                           cache, compute, refresh=self.refresh)
        notes.extend(done.notes)
        stages.append(done.stats)
        return done.run, done.key

    def _rerank(self, ds: Dataset, source: Run, system: SystemId, stage: Stage,
                cache: RunCache | None, notes: list[str], stages: list[StageStats]) -> Run:
        """One reranking stage on ``source`` (the first stage or the stage before it)."""
        if ds.corpus is None:
            raise InputError(f"dataset {ds.name!r} has no corpus; rerankers need passage text.",
                             fix="use a dataset folder with corpus.jsonl.")
        done = rerank_stage(
            stage, ds.queries, source, ds.corpus, cache, refresh=self.refresh,
            executor=self.executor, system=system,
            progress_bar=lambda: _progress_bar(len(source), f"rerank {system.reranker}",
                                               self.progress))
        notes.extend(done.notes)
        stages.append(done.stats)
        return done.run

    def _systems(self, ds: Dataset, first: Run, first_key: str, cache: RunCache | None,
                 notes: list[str], stages: list[StageStats]) -> list[Run]:
        """Every system's final run; a stage shared by several systems is computed once."""
        done: dict[tuple[str, str], Run] = {}
        out = []
        for chain, sid in zip(self.chains, self.system_ids, strict=True):
            run, lineage, system = first, first_key, SystemId(first.name)
            for st, (name, depth) in zip(chain.stages, sid.stages, strict=True):
                system = system.then(name, depth)
                # the same stage on the same input: the input's lineage (not its content,
                # which the cache key reads) tells it apart without hashing any text
                lineage = rerank_key(lineage, st)
                memo = (lineage, name)
                if memo not in done:
                    done[memo] = self._rerank(ds, run, system, st, cache, notes, stages)
                run = done[memo]
            out.append(run.replace(name=sid.label))
        return out

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
        if not ds.qrels.restrict(ds.queries):  # refused before hours of reranking, not after
            raise InputError(f"dataset {ds.name!r} has no relevance judgments for its queries, "
                             "so its runs can't be scored.", fix="give qrels (e.g. "
                             "load_pre_retrieved(path, qrels=...), or run --qrels FILE), or "
                             "rerank without scoring: reranker.rerank(queries, run, corpus).")
        root = self._cache_root()
        cache = RunCache(root) if root is not None else None
        stages: list[StageStats] = []
        notes: list[str] = [f"rules: {ds.rules.describe()}"]
        if ds.metadata.get("judged_without_text"):
            notes.append(f"{ds.metadata['judged_without_text']} judged queries have no query "
                         f"text; scored over the {len(ds.queries)} queries present")
        started = time.perf_counter()
        start = getattr(self.executor, "start", None)
        if callable(start):  # before the first stage: Ray must start before any JVM (ray_executor)
            start()
        first, first_key = self._first_stage(ds, cache, notes, stages)
        reranked = self._systems(ds, first, first_key, cache, notes, stages)
        if cache is not None:
            notes.extend(cache.notes)
        removed = int(first.metadata.get("self_hits_removed", 0))
        if ds.remove_self_hits:
            notes.append(f"self-hits removed from the first stage: {removed}")
        unique = list({r.name: r for r in [first, *reranked]}.values())
        qrels = ds.qrels.restrict(ds.queries)  # the dataset's topics define what is scored
        metrics = self.metrics if self.metrics is not None else ds.rules.metrics
        comparison = compare(unique, qrels, metrics, baseline=0, test=self.test,
                             rel_level=ds.rel_level, seed=self.seed)
        executor = (self.executor or LocalExecutor())
        describe = getattr(executor, "describe", None)
        metadata = {"dataset": ds.describe(), "pipeline": self.config(),
                    "rules": ds.rules.as_dict(), "notes": notes,
                    "executor": describe() if callable(describe) else {},
                    "environment": environment(), "rankify_lite_result_version": 2}
        return PipelineResult(ds.name, first, tuple(unique[1:]), comparison, metadata,
                              tuple(stages), time.perf_counter() - started)


def _progress_bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    import sys

    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="q", disable=not sys.stderr.isatty(), leave=False)
