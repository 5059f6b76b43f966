"""What the result and the leaderboard readers share: system letters, parents, win/loss counts
and the metrics a folder declares (checked by :class:`~rankify_lite.report.fields.Fields`)."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from rankify_lite.report.fields import Fields
from rankify_lite.systems import SystemId


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` (the one reader, :mod:`rankify_lite.io.json_file`)."""
    from rankify_lite.io.json_file import load_json_object

    return load_json_object(path, "JSON file", "point at a folder written by rankify-lite run "
                                               "--output or rankify-lite leaderboard.")


def letter(i: int) -> str:
    return string.ascii_lowercase[i % 26]


def parent(name: str, names: list[str]) -> str | None:
    sid = SystemId.from_label(name)
    if not sid.is_reranked:
        return None
    label = sid.parent.label
    return label if label in names else None


def winloss(per_query: dict[str, dict[str, dict[str, float]]], systems: list[str],
            baseline: str, metric: str) -> dict[str, list[int]]:
    base = per_query[baseline][metric]
    out = {}
    for s in systems:
        mine = per_query[s][metric]
        w = sum(1 for q, v in mine.items() if v > base.get(q, 0.0) + 1e-9)
        l_ = sum(1 for q, v in mine.items() if v < base.get(q, 0.0) - 1e-9)
        out[s] = [w, len(mine) - w - l_, l_]
    return out


def first_differing(per_query: dict[str, dict[str, dict[str, float]]], systems: list[str],
                    metric: str, qids: list[str]) -> str | None:
    """The first of ``qids`` whose ``metric`` score is not the same for every system (the query
    the report opens on: one where the systems differ); the first query when none differs,
    None when there is none."""
    for q in qids:
        scores = [per_query.get(s, {}).get(metric, {}).get(q, 0.0) for s in systems]
        if max(scores, default=0.0) - min(scores, default=0.0) > 1e-9:
            return q
    return qids[0] if qids else None


def declared_metrics(f: Fields, sources: list[tuple[str, dict[str, Any]]],
                     default: list[str] | None = None) -> list[str]:
    """The metrics of the first source that declares ``metrics`` (each name checked)."""
    for where, src in sources:
        if src.get("metrics") is not None:
            return f.metrics(src["metrics"], f"{where}metrics")
    if default is None:
        raise f.refuse("metrics", "are not declared (no metrics list).")
    return default


def significance_settings(f: Fields, sig: dict[str, Any], where: str) -> dict[str, Any]:
    """The test, correction and alpha a folder records (each checked; defaults when absent)."""
    from rankify_lite.evaluation.significance import CORRECTIONS, TESTS
    from rankify_lite.io.numbers import PROBABILITY

    return {"test": f.choice(sig.get("test"), f"{where}test", TESTS, "t-test"),
            "correction": f.choice(sig.get("correction"), f"{where}correction", CORRECTIONS,
                                   "holm"),
            "alpha": f.number(sig.get("alpha"), f"{where}alpha", PROBABILITY, 0.05)}


__all__ = ["declared_metrics", "first_differing", "letter", "parent", "read_json", "significance_settings",
           "winloss"]
