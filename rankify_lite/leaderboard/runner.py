"""Run a leaderboard grid through the cached :class:`~rankify_lite.pipeline.Pipeline`.

Per dataset, each first stage is retrieved once and every applicable reranker reranks it (the
pipeline caches both by content hash, so a rerun with nothing changed only re-reads runs).
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
from rankify_lite.leaderboard.config import FirstStageSpec, LeaderboardConfig, RerankerSpec
from rankify_lite.leaderboard.lazy import LazyReranker
from rankify_lite.stage_stats import RerankTiming, StageStats
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


def _forward_passes(run: Run) -> float | None:
    """Prompt sequences the model ran per query (an LLM family's ``llm_stats``); None when the
    family reports none or the run was resumed (its counts then cover part of the queries)."""
    stats = run.metadata.get("llm_stats") if run.metadata else None
    timing = RerankTiming.of(run.metadata)
    if not isinstance(stats, dict) or timing is None or timing.resumed_queries:
        return None
    passes = stats.get("forward_passes", stats.get("prompts"))
    if not isinstance(passes, (int, float)) or not len(run):
        return None
    return float(passes) / len(run)


def _run_notes(run: Run) -> tuple[str, ...]:
    """What a reader must know about a reranked run: LLM outputs that could not be used."""
    stats = run.metadata.get("llm_stats") if run.metadata else None
    if not isinstance(stats, dict) or not stats.get("malformed_windows"):
        return ()
    windows = stats.get("windows", 0)
    missing = stats.get("missing_ids", 0)
    return (f"{stats['malformed_windows']} of {windows} LLM outputs were malformed ("
            f"{missing} passage ids missing, {stats.get('repeated_ids', 0)} repeated, "
            f"{stats.get('unknown_ids', 0)} unknown); missing passages keep their first-stage "
            "order",)


def _groups(rerankers: list[RerankerSpec], default: int) -> list[tuple[int, list[RerankerSpec]]]:
    """Rerankers that can share one Pipeline call: same depth, no family twice (the pipeline
    names each reranked stage by its family)."""
    groups: list[tuple[int, list[RerankerSpec]]] = []
    for r in rerankers:
        depth = r.depth or default
        for d, members in groups:
            if d == depth and all(m.family != r.family for m in members):
                members.append(r)
                break
        else:
            groups.append((depth, [r]))
    return groups


def run_leaderboard(config: LeaderboardConfig, *, cache: bool | str | Path = True,
                    refresh: bool = False, progress: bool = True,
                    log: Callable[[str], None] | None = print) -> LeaderboardResult:
    """Run every (dataset, first stage, reranker) of ``config``; see the module docstring."""
    from rankify_lite.datasets import load_dataset
    from rankify_lite.pipeline import Pipeline

    say = log or (lambda _m: None)
    started = time.perf_counter()
    root = cache_dir("runs") if cache is True else (Path(cache) if cache else None)
    timing_root = root or cache_dir("leaderboard")
    timing_root.mkdir(parents=True, exist_ok=True)
    n_cached = n_computed = 0
    results = []
    for dspec in config.datasets:
        ds = load_dataset(dspec.name)
        ds_hash = ds.content_hash()
        qids = list(ds.queries)
        runs: dict[str, Run] = {}
        info: dict[str, dict[str, Any]] = {}
        for fs in config.first_stages:
            if not fs.applies_to(dspec.name):
                continue
            applicable = [r for r in config.rerankers if r.applies_to(dspec.name, fs.name)]
            for depth, specs in _groups(applicable, config.depth) or [(config.depth, [])]:
                k = config.k if config.k is not None else max(depth, 1000)
                names = ", ".join(s.name for s in specs) or "no reranker"
                say(f"[{dspec.label}] {fs.name} -> {names} (depth {depth})")
                t0 = time.perf_counter()
                pipe = Pipeline(fs.build(), [LazyReranker(s) for s in specs], depth=depth, k=k,
                                metrics=config.metrics, cache=cache, refresh=refresh,
                                progress=progress, test=config.test)
                res = pipe.run(ds)
                say(f"    {time.perf_counter() - t0:.1f}s"
                    + (f" (from cache: {', '.join(res.timing.cached)})" if res.timing.cached
                       else ""))
                first_stage, *rerank_stages = res.stages
                first_s = _first_stage_seconds(fs, first_stage, timing_root, ds_hash, k, qids)
                if fs.name not in runs:
                    system = SystemId(fs.name)
                    runs[system.label] = res.first_stage.replace(name=system.label)
                    info[system.label] = {"system": system, "precomputed": fs.run is not None,
                                          "seconds": first_s, "cached": first_stage.cached}
                for spec, run, stage in zip(specs, res.reranked, rerank_stages, strict=True):
                    system = SystemId(fs.name, spec.name, depth)
                    rr_s = dict(stage.per_query_s) or None
                    total = None
                    if rr_s is not None:
                        total = {q: rr_s.get(q, 0.0) + (first_s or {}).get(q, 0.0) for q in rr_s}
                    runs[system.label] = run.replace(name=system.label)
                    info[system.label] = {"system": system, "seconds": total,
                                          "notes": _run_notes(run), "cached": stage.cached,
                                          "passes": _forward_passes(run)}
        n_cached += sum(bool(i["cached"]) for i in info.values())
        n_computed += sum(not i["cached"] for i in info.values())
        results.append(_evaluate(config, dspec.name, dspec.label, ds, runs, info))
    return LeaderboardResult(config, tuple(results), time.perf_counter() - started,
                             n_cached, n_computed)


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
