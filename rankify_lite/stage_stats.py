"""Typed statistics of pipeline stages: what a stage cost and whether a cache served it.

:class:`RerankStats` is the one reader and writer of what a reranked run records about its
cost (``timing`` and ``llm_stats`` in its metadata, so cached runs keep them): seconds in total
and per query, queries resumed from a checkpoint, queries per model call, batches, and the
family's counters (prompts, forward passes, tokens, malformed outputs, ...), summed over
batches by the batch driver (a first stage's seconds per query take the same shape,
:meth:`RerankStats.per_query`). :class:`StageStats` is what
:class:`~rankify_lite.pipeline.PipelineResult` reports per stage; readers use its typed fields.
It is assembled in one place, :meth:`StageStats.of`, from what the stage's output recorded,
whether a cache served it or it was computed (see :mod:`rankify_lite.pipeline.run_cached`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rankify_lite.systems import SystemId

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _frozen(values: Mapping[str, Any], cast: type) -> Mapping[str, Any]:
    return MappingProxyType({str(k): cast(v) for k, v in values.items()})


@dataclass(frozen=True)
class RerankStats:
    """Cost of one reranking stage. ``counts``: the family's counters (an LLM's ``prompts``,
    ``forward_passes``, ``input_tokens``, ``output_tokens``, ``malformed_windows``, ...), summed
    over the batches computed in this run (a resumed run's counts cover only those)."""

    total_s: float
    per_query_s: Mapping[str, float]
    resumed_queries: int = 0
    queries_per_call: int = 1
    batches: int = 0
    counts: Mapping[str, int] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_query_s", _frozen(self.per_query_s, float))
        object.__setattr__(self, "counts", MappingProxyType(
            {str(k): int(v) for k, v in sorted(self.counts.items())}))

    def timing_dict(self) -> dict[str, Any]:
        return {"total_s": self.total_s, "per_query_s": dict(self.per_query_s),
                "resumed_queries": self.resumed_queries,
                "queries_per_call": self.queries_per_call, "batches": self.batches}

    def metadata(self) -> dict[str, Any]:
        """What a reranked run's metadata records (``llm_stats`` only for families that count)."""
        out: dict[str, Any] = {"timing": self.timing_dict()}
        if self.counts:
            out["llm_stats"] = dict(self.counts)
        return out

    @classmethod
    def per_query(cls, seconds_per_query: float | None, queries: Iterable[str]) -> RerankStats:
        """The same seconds for every query (what a first stage measures: one call for all)."""
        if seconds_per_query is None:
            return cls(0.0, {})
        per_query_s = {q: seconds_per_query for q in queries}
        return cls(seconds_per_query * len(per_query_s), per_query_s)

    @classmethod
    def of(cls, metadata: Mapping[str, Any] | None) -> RerankStats | None:
        """Read back from a run's metadata; None when it has no (or a garbled) record."""
        metadata = metadata or {}
        timing = metadata.get("timing")
        if not isinstance(timing, Mapping) or not isinstance(timing.get("per_query_s"), Mapping):
            return None
        counts = metadata.get("llm_stats")
        try:
            return cls(float(timing.get("total_s", 0.0)), timing["per_query_s"],
                       int(timing.get("resumed_queries", 0)),
                       int(timing.get("queries_per_call", 1)), int(timing.get("batches", 0)),
                       {k: int(v) for k, v in counts.items()
                        if isinstance(v, (int, float)) and not isinstance(v, bool)}
                       if isinstance(counts, Mapping) else {})
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class FirstStageTiming:
    """What a first stage's ``first_stage(dataset, k)`` measured: seconds to index and to
    retrieve (both None for a precomputed run, which costs nothing here)."""

    index_s: float | None = None
    retrieve_s: float | None = None

    @property
    def retrieved(self) -> bool:
        return self.retrieve_s is not None


@dataclass(frozen=True)
class StageStats:
    """One stage of a pipeline run. ``wall_s``: its wall time in this run (None when a cache
    served it); ``per_query_s``: measured seconds per query (kept with cached runs, first stage
    and reranked, so a cache hit still knows what the stage cost when it was computed; a cached
    first stage keeps its ``index_s`` too); ``counts``: the family's
    counters (see :class:`RerankStats`); ``shared``: how many systems of the pipeline read this
    stage's output (a cascade prefix computed once for several)."""

    system: SystemId
    kind: str                                   # "first-stage" | "rerank"
    cached: bool
    wall_s: float | None = None
    index_s: float | None = None
    per_query_s: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    resumed_queries: int = 0
    queries_per_call: int | None = None
    counts: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    precomputed: bool = False                   # a run read from a file (never timed here)

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_query_s", MappingProxyType(dict(self.per_query_s)))
        object.__setattr__(self, "counts", MappingProxyType(dict(self.counts)))

    @classmethod
    def of(cls, system: SystemId, kind: str, *, cached: bool, wall_s: float | None = None,
           recorded: RerankStats | None = None, index_s: float | None = None,
           queries_per_call: int | None = None, precomputed: bool = False) -> StageStats:
        """The one assembly of a stage's statistics, served from a cache or computed here.
        ``recorded``: what the stage's output recorded about its cost (a reranked run's
        :meth:`RerankStats.of`; a first stage's per-query seconds from its cache record), the
        same whoever computed it; ``wall_s``: seconds this run spent (ignored when ``cached``:
        nothing ran)."""
        return cls(system, kind, cached=cached, wall_s=None if cached else wall_s,
                   index_s=index_s,
                   per_query_s=recorded.per_query_s if recorded is not None else {},
                   resumed_queries=recorded.resumed_queries if recorded is not None else 0,
                   queries_per_call=queries_per_call,
                   counts=recorded.counts if recorded is not None else {},
                   precomputed=precomputed)

    @property
    def name(self) -> str:
        return self.system.label

    @property
    def mean_s(self) -> float | None:
        """Mean seconds per query, or None when unknown."""
        if not self.per_query_s:
            return None
        return sum(self.per_query_s.values()) / len(self.per_query_s)

    def per_query(self, counter: str) -> float | None:
        """A counter per query (e.g. ``"forward_passes"``), or None when unknown or partial."""
        value = self.counts.get(counter)
        if counter == "forward_passes" and value is None:
            value = self.counts.get("prompts")
        if value is None or self.resumed_queries or not self.per_query_s:
            return None
        return value / len(self.per_query_s)

    @property
    def forward_passes_per_query(self) -> float | None:
        return self.per_query("forward_passes")

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system.label, "kind": self.kind, "cached": self.cached,
                "wall_s": self.wall_s, "index_s": self.index_s, "mean_s": self.mean_s,
                "resumed_queries": self.resumed_queries,
                "queries_per_call": self.queries_per_call, "counts": dict(self.counts),
                "precomputed": self.precomputed}
