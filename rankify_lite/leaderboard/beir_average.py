"""The BEIR average as papers report it (a leaderboard config's ``average: beir``).

CQADupStack counts as ONE dataset: its forums (``beir/cqadupstack-<forum>``) are averaged first,
then the mean is taken over datasets, each weighing the same. The average covers the datasets
of the leaderboard and nothing else; :func:`coverage_note` says which (BioASQ, Signal-1M,
TREC-NEWS and Robust04 are not public, so a suite built from public data leaves them out).
"""

from __future__ import annotations

from collections.abc import Mapping

from rankify_lite.datasets.registry import CQADUPSTACK_FORUMS

CQADUPSTACK = "beir/cqadupstack"
NOT_PUBLIC = ("beir/bioasq", "beir/signal1m", "beir/trec-news", "beir/robust04")


def unit_of(dataset: str) -> str:
    """The dataset a score counts for: a CQADupStack forum counts for ``beir/cqadupstack``."""
    name = dataset.strip("/")
    if not name.startswith("beir/"):
        name = f"beir/{name}"
    forum = name.removeprefix("beir/cqadupstack-")
    return CQADUPSTACK if forum != name and forum in CQADUPSTACK_FORUMS else name


def units(datasets: list[str]) -> dict[str, list[str]]:
    """Each averaged dataset (in first-seen order) with the leaderboard datasets it is made of."""
    out: dict[str, list[str]] = {}
    for d in datasets:
        out.setdefault(unit_of(d), []).append(d)
    return out


def beir_average(scores: Mapping[str, float]) -> float:
    """The mean over datasets of ``scores`` (dataset name -> score), CQADupStack's forums
    averaged into one score first."""
    if not scores:
        raise ValueError("no scores to average")
    means = [sum(scores[d] for d in parts) / len(parts)
             for parts in units(list(scores)).values()]
    return sum(means) / len(means)


def system_averages(scores: Mapping[str, Mapping[str, float]],
                    datasets: list[str]) -> dict[str, float | None]:
    """Each system's BEIR average (``scores``: system -> dataset -> score); ``None`` for a
    system without a score on every one of ``datasets`` (it has no average)."""
    return {system: beir_average(per) if all(d in per for d in datasets) else None
            for system, per in scores.items()}


def coverage_note(datasets: list[str], labels: Mapping[str, str] | None = None) -> str:
    """One sentence saying which datasets the average covers, and what it leaves out."""
    labels = labels or {}
    shown = []
    for unit, parts in units(datasets).items():
        if unit == CQADUPSTACK:
            whole = len(parts) == len(CQADUPSTACK_FORUMS)
            shown.append(f"CQADupStack (mean of {'its' if whole else 'the'} {len(parts)}"
                         f"{'' if whole else f' of {len(CQADUPSTACK_FORUMS)}'} forums)")
        else:
            shown.append(labels.get(parts[0], unit.removeprefix("beir/")))
    left_out = [d.removeprefix("beir/") for d in NOT_PUBLIC if d not in datasets]
    text = (f"BEIR average: the unweighted mean over {len(shown)} datasets: "
            f"{', '.join(shown)}.")
    if left_out:
        text += f" Not in it: {', '.join(left_out)} (not public)."
    return text + " A system without a score on every one of them has no average (–)."
