"""Run a leaderboard grid through the cached :class:`~rankify_lite.pipeline.Pipeline`.

Per dataset and first stage, one Pipeline runs every applicable entry: a reranker on the first
stage, or a cascade (``after:``) whose shared prefix is computed once (the pipeline caches every
stage by content hash, so a rerun with nothing changed only re-reads runs).
All systems of a dataset are then compared on the same topics: pairwise tests (letters), vs
the chosen baseline (†) and, for reranked systems, vs their own first stage (‡); each family
of tests is Holm-corrected per metric.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankify_lite.cache import cache_dir, content_key
from rankify_lite.evaluation import Comparison, compare, correct, paired_test, parse_metric
from rankify_lite.leaderboard.config import (
    FirstStageSpec,
    LeaderboardConfig,
    RerankerSpec,
    chain_of,
)
from rankify_lite.leaderboard.inputs import Inputs, refuse_missing
from rankify_lite.leaderboard.lazy import LazyReranker
from rankify_lite.stage_stats import StageStats
from rankify_lite.systems import SystemId
from rankify_lite.types import Run


@dataclass(frozen=True)
class SystemResult:
    system: SystemId                           # first stage, reranker entry name, depth
    mean: dict[str, float]                     # metric name -> mean
    per_query: dict[str, dict[str, float]]     # metric name -> qid -> score
    seconds_per_query: dict[str, float] | None  # qid -> s (first stage + rerank), None: unknown
    p_first_stage: dict[str, float] | None     # metric -> Holm-corrected p vs own first stage
    cached: bool
    notes: tuple[str, ...] = ()                # e.g. malformed LLM outputs
    precomputed: bool = False                  # a run shipped with the dataset (never timed)
    forward_passes: float | None = None        # LLM prompt sequences per query (llm_stats)

    @property
    def name(self) -> str:
        """The canonical label (``bm25`` or ``bm25>>minilm``)."""
        return self.system.label

    @property
    def first_stage(self) -> str:
        return self.system.first_stage

    @property
    def reranker(self) -> str | None:
        return self.system.reranker

    @property
    def depth(self) -> int | None:
        return self.system.depth

    @property
    def mean_seconds(self) -> float | None:
        if not self.seconds_per_query:
            return None
        return sum(self.seconds_per_query.values()) / len(self.seconds_per_query)


@dataclass(frozen=True)
class DatasetResult:
    name: str
    label: str
    queries: int
    systems: tuple[SystemResult, ...]
    comparison: Comparison                     # letters / † vs the baseline
    baseline: str

    def system(self, name: str) -> SystemResult:
        for s in self.systems:
            if s.name == name:
                return s
        raise KeyError(name)


@dataclass(frozen=True)
class LeaderboardResult:
    config: LeaderboardConfig
    datasets: tuple[DatasetResult, ...]
    seconds: float
    cached_stages: int
    computed_stages: int
    notes: list[str] = field(default_factory=list)

    def means(self) -> dict[str, dict[str, dict[str, float]]]:
        """``{dataset: {system: {metric: mean}}}``."""
        return {d.name: {s.name: dict(s.mean) for s in d.systems} for d in self.datasets}


def _timing_path(root: Path, ds_hash: str, fs: FirstStageSpec, k: int) -> Path:
    return root / f"leaderboard-first-timing-{content_key(ds_hash, fs.describe(), k)}.json"


def _first_stage_seconds(fs: FirstStageSpec, stage: StageStats, root: Path, ds_hash: str,
                         k: int, queries: list[str]) -> dict[str, float] | None:
    """Per-query retrieval seconds; remembered on disk so cached reruns still know them."""
    if fs.run is not None:
        return None  # a shipped run: its retrieval time was never measured here
    path = _timing_path(root, ds_hash, fs, k)
    if stage.mean_s is not None:
        path.write_text(json.dumps({"retrieve_s_per_query": stage.mean_s,
                                    "index_s": stage.index_s}))
    if not path.exists():
        return None
    per_q = json.loads(path.read_text())["retrieve_s_per_query"]
    return {q: per_q for q in queries}


def _forward_passes(stages: list[StageStats]) -> float | None:
    """Prompt sequences the model(s) ran per query over a system's reranking stages (an LLM
    family's counters); None when a stage reports none or was resumed (partial counts)."""
    passes = [st.per_query("forward_passes") for st in stages]
    if not passes or any(p is None for p in passes):
        return None
    return float(sum(passes))


def _run_notes(stage: StageStats) -> tuple[str, ...]:
    """What a reader must know about a reranked stage: LLM outputs that could not be used."""
    counts = stage.counts
    if not counts.get("malformed_windows"):
        return ()
    return (f"{counts['malformed_windows']} of {counts.get('windows', 0)} LLM outputs were "
            f"malformed ({counts.get('missing_ids', 0)} passage ids missing, "
            f"{counts.get('repeated_ids', 0)} repeated, {counts.get('unknown_ids', 0)} "
            "unknown); missing passages keep their first-stage order",)


def _pipeline_systems(entries: list[RerankerSpec], all_entries: tuple[RerankerSpec, ...],
                      default_depth: int) -> tuple[list[Any], int]:
    """One cascade per entry (a single stage, or the chain its ``after:`` names), sharing one
    LazyReranker per entry so shared prefixes are one stage; and the deepest depth."""
    lazies: dict[str, LazyReranker] = {}
    systems = []
    deepest = default_depth
    for entry in entries:
        chain = None
        for e in chain_of(entry, all_entries):
            depth = e.depth or default_depth
            deepest = max(deepest, depth)
            stage = lazies.setdefault(e.name, LazyReranker(e)) % depth
            chain = stage if chain is None else chain >> stage
        systems.append(chain)
    return systems, deepest


def run_leaderboard(config: LeaderboardConfig, *, cache: bool | str | Path = True,
                    refresh: bool = False, progress: bool = True,
                    log: Callable[[str], None] | None = print,
                    skip_missing: bool = False) -> LeaderboardResult:
    """Run every (dataset, first stage, system) of ``config``; see the module docstring.
    A missing input refuses the whole leaderboard up front; with ``skip_missing`` its dataset
    is left out instead, with one line saying why (logged, and in the result's ``notes``)."""
    from rankify_lite.datasets import load_dataset
    from rankify_lite.pipeline import Pipeline

    say = log or (lambda _m: None)
    started = time.perf_counter()
    root = cache_dir("runs") if cache is True else (Path(cache) if cache else None)
    timing_root = root or cache_dir("leaderboard")
    timing_root.mkdir(parents=True, exist_ok=True)
    n_cached = n_computed = 0
    results = []
    inputs = Inputs(load_dataset)  # every dataset and shipped run found before computing
    gone = inputs.all_missing(
        (d.name, fs.run) for d in config.datasets for fs in config.first_stages
        if fs.applies_to(d.name))
    why = {m.dataset: m for m in reversed(gone)}  # the first reason of each dataset
    if not skip_missing or len(why) == len({d.name for d in config.datasets}):
        refuse_missing(gone, f"leaderboard {config.name!r}")
    notes = [f"not run (data missing): {d.label}: {why[d.name].line()}"
             for d in config.datasets if d.name in why]
    for line in notes:
        say(line)
    for dspec in config.datasets:
        if dspec.name in why:
            continue
        ds = inputs.dataset(dspec.name)
        ds_hash = ds.content_hash()
        qids = list(ds.queries)
        runs: dict[str, Run] = {}
        info: dict[str, dict[str, Any]] = {}
        for fs in config.first_stages:
            if not fs.applies_to(dspec.name):
                continue
            entries = [r for r in config.rerankers
                       if all(e.applies_to(dspec.name, fs.name)
                              for e in chain_of(r, config.rerankers))]
            systems, deepest = _pipeline_systems(entries, config.rerankers, config.depth)
            k = config.k if config.k is not None else max(deepest, 1000)
            say(f"[{dspec.label}] {fs.name} -> {', '.join(e.name for e in entries) or 'no reranker'}")
            t0 = time.perf_counter()
            pipe = Pipeline(fs.build(), systems, depth=config.depth, k=k,
                            metrics=config.metrics, cache=cache, refresh=refresh,
                            progress=progress, test=config.test)
            res = pipe.run(ds)
            cached = [st.name for st in res.stages if st.cached]
            say(f"    {time.perf_counter() - t0:.1f}s"
                + (f" (from cache: {', '.join(cached)})" if cached else ""))
            first_stage = res.stages[0]
            first_s = _first_stage_seconds(fs, first_stage, timing_root, ds_hash, k, qids)
            system = SystemId(fs.name)
            runs[system.label] = res.first_stage.replace(name=system.label)
            info[system.label] = {"system": system, "precomputed": fs.run is not None,
                                  "seconds": first_s, "cached": first_stage.cached}
            for sid in pipe.system_ids:
                run = res.runs[sid.label]
                chain = _chain_stages(res, sid)
                system = SystemId(fs.name, sid.reranker, sid.depth, sid.prefix)
                total = None
                if all(st.per_query_s for st in chain):
                    total = {q: sum(st.per_query_s.get(q, 0.0) for st in chain)
                             + (first_s or {}).get(q, 0.0) for q in chain[-1].per_query_s}
                runs[system.label] = run.replace(name=system.label)
                info[system.label] = {"system": system, "seconds": total,
                                      "notes": tuple(n for st in chain for n in _run_notes(st)),
                                      "cached": chain[-1].cached,
                                      "passes": _forward_passes(chain)}
        n_cached += sum(bool(i["cached"]) for i in info.values())
        n_computed += sum(not i["cached"] for i in info.values())
        results.append(_evaluate(config, dspec.name, dspec.label, ds, runs, info))
    return LeaderboardResult(config, tuple(results), time.perf_counter() - started,
                             n_cached, n_computed, notes)


def _chain_stages(res: Any, sid: SystemId) -> list[StageStats]:
    """The stage statistics of every reranking stage of system ``sid``, first applied first."""
    out = []
    while sid.is_reranked:
        out.insert(0, res.stage(sid))
        sid = sid.parent
    return out


def _evaluate(config: LeaderboardConfig, name: str, label: str, ds: Any, runs: dict[str, Run],
              info: dict[str, dict[str, Any]]) -> DatasetResult:
    systems = list(runs)
    baseline = config.baseline if config.baseline in runs else systems[0]
    qrels = ds.qrels.restrict(ds.queries)
    comp = compare(runs, qrels, config.metrics, baseline=baseline, test=config.test,
                   correction=config.correction, alpha=config.alpha, rel_level=ds.rel_level)
    metric_names = [parse_metric(m).name for m in config.metrics]
    evals = dict(zip(comp.systems, comp.evaluations, strict=True))
    # reranked vs own first stage, Holm-corrected over the reranked systems, per metric
    reranked = [s for s in systems if info[s]["system"].is_reranked]
    p_first: dict[str, dict[str, float]] = {s: {} for s in reranked}
    for m in metric_names:
        raw = []
        for s in reranked:
            f = info[s]["system"].first_stage
            qs = list(evals[s].per_query[m])
            raw.append(paired_test([evals[s].per_query[m][q] for q in qs],
                                   [evals[f].per_query[m][q] for q in qs], config.test))
        for s, p in zip(reranked, correct(raw, config.correction), strict=True):
            p_first[s][m] = p
    out = []
    for s in systems:
        e = evals[s]
        out.append(SystemResult(
            system=info[s]["system"], mean=dict(e.mean),
            per_query={m: dict(e.per_query[m]) for m in metric_names},
            seconds_per_query=info[s]["seconds"], p_first_stage=p_first.get(s),
            cached=bool(info[s]["cached"]), notes=tuple(info[s].get("notes", ())),
            precomputed=bool(info[s].get("precomputed")),
            forward_passes=info[s].get("passes")))
    n_queries = len(next(iter(evals.values())).per_query[metric_names[0]])
    return DatasetResult(name, label, n_queries, tuple(out), comp, baseline)
