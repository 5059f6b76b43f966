"""What ``Pipeline.run`` returns, and how it is saved and reloaded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankify_lite.evaluation.compare import Comparison
from rankify_lite.io.files import atomic_write
from rankify_lite.io.trec import write_run
from rankify_lite.stage_stats import StageStats
from rankify_lite.systems import SystemId
from rankify_lite.types import Run


@dataclass(frozen=True)
class StageTiming:
    """Seconds by system label, read from the typed :attr:`PipelineResult.stages` (a view for
    scripts: ``seconds`` (wall seconds of each stage computed in this run), ``per_query``
    (measured seconds per query, cached stages included) and ``cached`` (stages a cache
    served))."""

    seconds: dict[str, float]
    per_query: dict[str, dict[str, float]]
    cached: list[str]
    total_s: float

    @classmethod
    def of(cls, stages: tuple[StageStats, ...], total_s: float) -> StageTiming:
        return cls({st.name: st.wall_s for st in stages if st.wall_s is not None},
                   {st.name: dict(st.per_query_s) for st in stages if st.per_query_s},
                   [st.name for st in stages if st.cached], total_s)


@dataclass(frozen=True)
class PipelineResult:
    dataset: str
    first_stage: Run
    reranked: tuple[Run, ...]            # one final run per system, in the order given
    comparison: Comparison
    metadata: dict[str, Any]
    stages: tuple[StageStats, ...] = ()   # the first stage, then each stage computed or read
    wall_s: float = 0.0

    @property
    def timing(self) -> StageTiming:
        """Seconds by system label (derived from :attr:`stages`)."""
        return StageTiming.of(self.stages, self.wall_s)

    def stage(self, system: str | SystemId) -> StageStats:
        """The typed statistics of one stage, by its system label or id."""
        label = system.label if isinstance(system, SystemId) else system
        for st in self.stages:
            if st.name == label:
                return st
        raise KeyError(label)

    @property
    def systems(self) -> tuple[SystemId, ...]:
        """The typed identity of each run, first stage first (the order of :attr:`metrics`)."""
        by_label = {st.system.label: st.system for st in self.stages}
        return tuple(by_label.get(r.name) or SystemId.from_label(r.name)
                     for r in (self.first_stage, *self.reranked))

    @property
    def run(self) -> Run:
        """The final run: the (last) reranked run, or the first stage when there is no reranker."""
        return self.reranked[-1] if self.reranked else self.first_stage

    @property
    def rules(self) -> dict[str, Any]:
        """The collection rules the scores follow (relevance level, self-hit rule, source)."""
        return dict(self.metadata.get("rules", {}))

    @property
    def notes(self) -> list[str]:
        """What the run wants you to know: rules applied, self-hits removed, caches recomputed."""
        return list(self.metadata.get("notes", []))

    @property
    def runs(self) -> dict[str, Run]:
        return {r.name: r for r in (self.first_stage, *self.reranked)}

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        """Mean scores per system, first stage first: ``{system: {metric: value}}``."""
        return {s: dict(e.mean) for s, e in zip(self.comparison.systems,
                                                 self.comparison.evaluations, strict=True)}

    def per_query(self, metric: str = "ndcg@10") -> dict[str, dict[str, float]]:
        from rankify_lite.evaluation import parse_metric

        name = parse_metric(metric).name
        return {s: dict(e.per_query[name]) for s, e in zip(self.comparison.systems,
                                                            self.comparison.evaluations,
                                                            strict=True)}

    def table(self, fmt: str = "text") -> str:
        if fmt == "markdown":
            return self.comparison.to_markdown()
        if fmt == "latex":
            return self.comparison.to_latex()
        return self.comparison.to_text()

    def __str__(self) -> str:
        return self.table()

    def as_dict(self) -> dict[str, Any]:
        return {**self.metadata, "metrics": self.metrics,
                "significance": self.comparison.as_dict(),
                "wall_s": self.wall_s,
                "per_query_s": {st.name: dict(st.per_query_s) for st in self.stages
                                if st.per_query_s},
                "stages": [st.as_dict() for st in self.stages]}

    def save(self, folder: str | Path, overwrite: bool = False) -> Path:
        """Write every run as TREC plus ``meta.json`` (everything ``rerun`` needs).

        A folder that already holds a saved result is refused unless ``overwrite``; then the old
        result's run files are removed first, so the folder never mixes two results.
        """
        from rankify_lite.errors import InputError

        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise InputError("the output path is a file, not a folder.", path=folder,
                             fix="give a folder (it is created if missing).")
        old_meta = folder / "meta.json"
        if old_meta.exists():
            if not overwrite:
                raise InputError("the output folder already holds a saved result (meta.json).",
                                 path=folder, fix="choose a new folder, or pass --overwrite "
                                                  "(overwrite=True) to replace it.")
            try:
                old_files = json.loads(old_meta.read_text(encoding="utf-8")).get("files", {})
            except (OSError, ValueError, AttributeError):
                old_files = {}
            for fname in old_files.values() if isinstance(old_files, dict) else ():
                target = folder / str(fname)
                if target.parent == folder and target.is_file():
                    target.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        files = {}
        for run, system in zip((self.first_stage, *self.reranked), self.systems, strict=True):
            fname = system.filename + ".trec"
            write_run(run, folder / fname)
            files[run.name] = fname
        from rankify_lite.pipeline.trust import saved_file_hashes

        meta = {**self.as_dict(), "files": files,
                "file_sha256": saved_file_hashes(folder, files)}  # rerun verifies these
        path = folder / "meta.json"
        with atomic_write(path) as fh:
            json.dump(meta, fh, indent=1, default=str)
        return path
