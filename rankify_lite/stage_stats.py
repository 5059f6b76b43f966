"""Typed statistics of pipeline stages: what a stage cost and whether a cache served it.

:class:`RerankTiming` is the one reader and writer of the ``timing`` record a reranked run
carries in its metadata (so cached runs keep their measured times); :class:`StageStats` is what
:class:`~rankify_lite.pipeline.PipelineResult` reports per stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rankify_lite.systems import SystemId

_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True)
class RerankTiming:
    """Seconds of a reranking stage: total, per query (a batch's time spread over its queries),
    queries resumed from a checkpoint, and queries per model call."""

    total_s: float
    per_query_s: Mapping[str, float]
    resumed_queries: int = 0
    queries_per_call: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_query_s", MappingProxyType(
            {str(q): float(s) for q, s in self.per_query_s.items()}))

    def as_dict(self) -> dict[str, Any]:
        return {"total_s": self.total_s, "per_query_s": dict(self.per_query_s),
                "resumed_queries": self.resumed_queries,
                "queries_per_call": self.queries_per_call}

    @classmethod
    def of(cls, metadata: Mapping[str, Any] | None) -> RerankTiming | None:
        """Read back from a run's metadata; None when it has no (or a garbled) record."""
        timing = (metadata or {}).get("timing")
        if not isinstance(timing, Mapping) or not isinstance(timing.get("per_query_s"), Mapping):
            return None
        try:
            return cls(float(timing.get("total_s", 0.0)), timing["per_query_s"],
                       int(timing.get("resumed_queries", 0)),
                       int(timing.get("queries_per_call", 1)))
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class StageStats:
    """One stage of a pipeline run. ``wall_s``: its wall time in this run (None when a cache
    served it); ``per_query_s``: measured seconds per query (kept with cached reranked runs, so
    a cache hit still knows what the stage cost when it was computed)."""

    system: SystemId
    kind: str                                   # "first-stage" | "rerank"
    cached: bool
    wall_s: float | None = None
    index_s: float | None = None
    per_query_s: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    resumed_queries: int = 0
    queries_per_call: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_query_s", MappingProxyType(dict(self.per_query_s)))

    @property
    def mean_s(self) -> float | None:
        """Mean seconds per query, or None when unknown."""
        if not self.per_query_s:
            return None
        return sum(self.per_query_s.values()) / len(self.per_query_s)

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system.label, "kind": self.kind, "cached": self.cached,
                "wall_s": self.wall_s, "index_s": self.index_s, "mean_s": self.mean_s,
                "resumed_queries": self.resumed_queries,
                "queries_per_call": self.queries_per_call}
