"""What ``Pipeline.run`` returns, and how it is saved and reloaded."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankify_lite.evaluation.compare import Comparison
from rankify_lite.io.files import atomic_write, inside
from rankify_lite.io.output_folder import check_output_folder
from rankify_lite.io.trec import write_run
from rankify_lite.stage_stats import StageStats
from rankify_lite.systems import SystemId, file_names
from rankify_lite.types import Run

RESULT_MARKER = "meta.json"   # a saved result's metadata; marks a folder as a saved result


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

        The folder must be new, empty or hold a saved result (then ``overwrite`` is needed;
        see :mod:`rankify_lite.io.output_folder`); the old result's run files are removed
        first, so the folder never mixes two results. ``meta.json["files"]`` records each
        run's file name; readers use it, never :attr:`SystemId.filename`.
        """
        folder = Path(folder)
        files = file_names(self.systems)
        old = check_result_folder(folder, files.values(), overwrite)
        for fname in sorted(old - set(files.values())):
            target = _recorded_file(folder, fname)
            if target is not None:
                target.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        for run in (self.first_stage, *self.reranked):
            write_run(run, inside(folder, files[run.name]))
        from rankify_lite.pipeline.saved import saved_file_hashes

        meta = {**self.as_dict(), "files": files,
                "file_sha256": saved_file_hashes(folder, files)}  # rerun verifies these
        path = inside(folder, RESULT_MARKER)
        with atomic_write(path) as fh:
            json.dump(meta, fh, indent=1, default=str)
        return path


def previous_result_files(folder: Path) -> frozenset[str] | None:
    """The files a result saved in ``folder`` wrote (its meta.json and the run files it
    records), or None when ``folder`` holds no saved result of this project."""
    try:
        meta = json.loads((folder / RESULT_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("files"), dict) \
            or "pipeline" not in meta:
        return None
    return frozenset({RESULT_MARKER, *(str(f) for f in meta["files"].values())})


def check_result_folder(folder: str | Path, run_files: Iterable[str],
                        overwrite: bool = False) -> frozenset[str]:
    """Refuse ``folder`` as a result's output unless it is new, empty or a saved result (with
    ``overwrite``), before anything is computed; returns the old result's files."""
    return check_output_folder(folder, [*run_files, RESULT_MARKER],
                               previous=previous_result_files, overwrite=overwrite)


def _recorded_file(folder: Path, fname: str) -> Path | None:
    """An old result's run file to remove: a ``.trec`` file inside ``folder``, else None (a
    tampered record naming another file, or a path outside, is left alone)."""
    from rankify_lite.errors import InputError

    if not fname.endswith(".trec"):
        return None
    try:
        target = inside(folder, fname)
    except InputError:
        return None
    return target if target.is_file() and not target.is_symlink() else None
