"""Leaderboard figures (matplotlib, Agg backend, imported lazily).

* :func:`plot_latency`: effectiveness vs time per query, one panel per dataset, a point per
  system, log-scaled time axis. Shipped first-stage runs (never timed here) sit on the left
  edge with hollow markers.
* :func:`plot_winloss`: per-query wins / ties / losses of every system against the baseline on
  the main metric, one panel per dataset.
"""

from __future__ import annotations

from pathlib import Path

from rankify_lite.errors import require
from rankify_lite.evaluation import parse_metric
from rankify_lite.leaderboard.runner import DatasetResult, LeaderboardResult


def _pyplot():
    mpl = require("matplotlib", extra="plots", feature="leaderboard plots")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _panels(plt, n: int, width: float, height: float):
    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False)
    return fig, list(axes[0])


def _colors(names: list[str]) -> dict[str, tuple]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {n: cmap(i % 10) for i, n in enumerate(names)}


def _all_systems(result: LeaderboardResult) -> list[str]:
    order: list[str] = []
    for d in result.datasets:
        order += [s.name for s in d.systems if s.name not in order]
    return order


def plot_latency(result: LeaderboardResult, path: str | Path) -> Path:
    plt = _pyplot()
    metric = parse_metric(result.config.main_metric)
    colors = _colors(_all_systems(result))
    fig, axes = _panels(plt, len(result.datasets), 5.2, 4.4)
    for ax, d in zip(axes, result.datasets, strict=True):
        timed = [s.mean_seconds for s in d.systems if s.mean_seconds]
        floor = min(timed) / 3 if timed else 1e-3
        for s in d.systems:
            y = s.mean[metric.name]
            x = s.mean_seconds
            hollow = x is None
            x = floor if x is None else max(x, 1e-6)
            ax.scatter([x], [y], s=70, color=colors[s.name], edgecolors=colors[s.name],
                       facecolors="none" if hollow else colors[s.name], linewidths=1.8,
                       zorder=3, label=s.system.display())
            ax.annotate(s.system.display() + (" (untimed)" if hollow else ""), (x, y),
                        textcoords="offset points", xytext=(6, 4), fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("seconds per query (log scale)")
        ax.set_ylabel(metric.label)
        ax.set_title(f"{d.label} ({d.queries} queries)")
        ax.grid(True, which="both", alpha=0.3)
        ax.margins(x=0.25, y=0.12)
    fig.suptitle(f"{metric.label} vs time per query (hollow: precomputed run, untimed)",
                 fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def winloss_counts(d: DatasetResult, metric: str, eps: float = 1e-9) -> dict[str, tuple[int, ...]]:
    """``{system: (wins, ties, losses)}`` per query against the dataset's baseline."""
    name = parse_metric(metric).name
    base = d.system(d.baseline).per_query[name]
    out = {}
    for s in d.systems:
        if s.name == d.baseline:
            continue
        diffs = [s.per_query[name][q] - base[q] for q in base]
        out[s.name] = (sum(x > eps for x in diffs), sum(abs(x) <= eps for x in diffs),
                       sum(x < -eps for x in diffs))
    return out


def plot_winloss(result: LeaderboardResult, path: str | Path) -> Path:
    plt = _pyplot()
    metric = result.config.main_metric
    label = parse_metric(metric).label
    n_rows = max(len(d.systems) for d in result.datasets)
    fig, axes = _panels(plt, len(result.datasets), 5.2, 0.45 * n_rows + 1.6)
    for ax, d in zip(axes, result.datasets, strict=True):
        counts = winloss_counts(d, metric)
        names = list(counts)[::-1]
        wins = [counts[n][0] for n in names]
        ties = [counts[n][1] for n in names]
        losses = [counts[n][2] for n in names]
        ypos = range(len(names))
        ax.barh(ypos, wins, color="#2ca02c", label="wins")
        ax.barh(ypos, ties, left=wins, color="#bbbbbb", label="ties")
        ax.barh(ypos, losses, left=[w + t for w, t in zip(wins, ties, strict=True)],
                color="#d62728", label="losses")
        for y, (w, t, lo) in enumerate(zip(wins, ties, losses, strict=True)):
            ax.text(w + t + lo + 0.5, y, f"+{w} ={t} -{lo}", va="center", fontsize=7)
        ax.set_yticks(list(ypos), [d.system(n).system.display() for n in names], fontsize=8)
        ax.set_xlim(0, d.queries * 1.45)
        ax.set_xlabel(f"queries ({label} vs {d.system(d.baseline).system.display()})")
        ax.set_title(f"{d.label}")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("per-query wins / ties / losses against the baseline", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
