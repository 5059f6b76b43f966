"""Datasets scored as a group (CQADupStack: 12 forums, each scored alone, then averaged)."""

from __future__ import annotations

from dataclasses import dataclass

from rankify_lite.datasets import DatasetGroup
from rankify_lite.pipeline.result import PipelineResult


@dataclass(frozen=True)
class GroupResult:
    name: str
    parts: dict[str, PipelineResult]

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        """Per system, the unweighted mean over parts of each part's mean (BEIR's convention)."""
        systems: dict[str, dict[str, list[float]]] = {}
        for part in self.parts.values():
            for system, means in zip(part.systems, part.metrics.values(), strict=True):
                key = ">>".join(system.rerankers) or "first_stage"
                for metric, value in means.items():
                    systems.setdefault(key, {}).setdefault(metric, []).append(value)
        return {s: {m: sum(v) / len(v) for m, v in ms.items()} for s, ms in systems.items()}

    def table(self) -> str:
        rows = self.metrics
        metrics = list(next(iter(rows.values())))
        lines = ["system".ljust(24) + "".join(m.ljust(12) for m in metrics)]
        for system, means in rows.items():
            shown = system.replace(">>", " » ")  # a cascade as SystemId.display() writes it
            lines.append(shown.ljust(24) + "".join(f"{means[m]:.4f}".ljust(12) for m in metrics))
        return "\n".join(lines) + f"\n(mean over {len(self.parts)} parts of {self.name})\n"


def run_group(pipeline, group: DatasetGroup) -> GroupResult:
    """Run ``pipeline`` on every part of ``group`` and keep the parts' results."""
    return GroupResult(group.name, {part.name: pipeline.run(part) for part in group.parts})
