"""Leaderboard tables (Markdown, LaTeX), per-query CSV and a JSON summary."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rankify_lite.evaluation import parse_metric
from rankify_lite.io.files import atomic_write, inside
from rankify_lite.leaderboard.runner import DatasetResult, LeaderboardResult, SystemResult
from rankify_lite.systems import SystemId


def _label(metric: str) -> str:
    return parse_metric(metric).label


def _marks(d: DatasetResult, i: int, s: SystemResult, metric: str, fmt: str) -> str:
    m = parse_metric(metric).name
    own = s.p_first_stage is not None and s.p_first_stage[m] < d.comparison.alpha
    return d.comparison.marks(i, metric, fmt, vs_own_first_stage=own)


def _baseline(d: DatasetResult, fmt: str = "text") -> str:
    for s in d.systems:
        if s.name == d.baseline:
            return s.system.display(fmt)
    return d.baseline


def _ms(s: SystemResult) -> str:
    t = s.mean_seconds
    if t is None:
        return "precomputed" if s.precomputed else "not timed"
    ms = t * 1000
    return f"{ms:.1f}" if ms < 100 else f"{ms:,.0f}"


def legend(result: LeaderboardResult) -> str:
    c = result.config
    return (f"Letters: significantly better than that system (pairwise); † significantly "
            f"different from the baseline; ‡ significantly different from the system's own "
            f"first stage. Paired {c.test}, {c.correction}-corrected per metric and family of "
            f"tests, alpha={c.alpha}. ms/query: first-stage retrieval (index build excluded) "
            f"plus reranking, wall time on the machine that produced the run; "
            f"'precomputed' = a shipped run, its retrieval was not timed here; 'not timed' = "
            f"served from a cache filled outside a leaderboard run. passes/query (LLM "
            f"families): prompt sequences run through the model per query, from the run's "
            f"llm_stats ('–': not an LLM, or a resumed run whose counts are partial).")


def dataset_markdown(result: LeaderboardResult, d: DatasetResult) -> str:
    metrics = result.config.metrics
    llm = any(s.forward_passes is not None for s in d.systems)
    head = ["", "system", "reranker depth", *(_label(m) for m in metrics), "ms/query",
            *(["passes/query"] if llm else [])]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, s in enumerate(d.systems):
        cells = [d.comparison.letter(i), s.system.display("md"),
                 str(s.depth) if s.depth else "–"]
        for m in metrics:
            cells.append(f"{s.mean[parse_metric(m).name]:.4f}" + _marks(d, i, s, m, "md"))
        cells.append(_ms(s))
        if llm:
            cells.append("–" if s.forward_passes is None else f"{s.forward_passes:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    base = _baseline(d, "md")
    notes = [f"- {s.system.display('md')}: {n}" for s in d.systems for n in s.notes]
    return (f"### {d.label} ({d.queries} queries; baseline: {base})\n\n" + "\n".join(lines)
            + "\n" + ("\nNotes:\n" + "\n".join(notes) + "\n" if notes else ""))


def _order(result: LeaderboardResult) -> list[SystemId]:
    order: list[SystemId] = []
    for d in result.datasets:
        order += [s.system.with_depth(None) for s in d.systems
                  if s.system.with_depth(None) not in order]
    return order


def _found(d: DatasetResult, system: SystemId) -> int | None:
    return next((i for i, s in enumerate(d.systems) if s.name == system.label), None)


def main_scores(result: LeaderboardResult) -> dict[str, dict[str, float]]:
    """system label -> dataset -> the main metric's mean (systems in table order)."""
    name = parse_metric(result.config.main_metric).name
    out: dict[str, dict[str, float]] = {}
    for system in _order(result):
        row = out.setdefault(system.label, {})
        for d in result.datasets:
            i = _found(d, system)
            if i is not None:
                row[d.name] = d.systems[i].mean[name]
    return out


def averages(result: LeaderboardResult) -> dict[str, float | None] | None:
    """Each system's BEIR average of the main metric when the config asks for it
    (``average: beir``; see :mod:`rankify_lite.leaderboard.beir_average`), else ``None``."""
    if result.config.average != "beir":
        return None
    from rankify_lite.leaderboard.beir_average import system_averages

    return system_averages(main_scores(result), [d.name for d in result.datasets])


def average_note(result: LeaderboardResult) -> str:
    from rankify_lite.leaderboard.beir_average import coverage_note

    return coverage_note([d.name for d in result.datasets],
                         {d.name: d.label for d in result.datasets})


def summary_markdown(result: LeaderboardResult) -> str:
    """One row per system, one column per dataset: the main metric."""
    metric = result.config.main_metric
    avg = averages(result)
    head = ["system", *(d.label for d in result.datasets), *(["BEIR avg"] if avg else [])]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    name = parse_metric(metric).name
    for system in _order(result):
        cells = [system.display("md")]
        for d in result.datasets:
            i = _found(d, system)
            cells.append("–" if i is None else f"{d.systems[i].mean[name]:.4f}"
                         + _marks(d, i, d.systems[i], metric, "md"))
        if avg is not None:
            value = avg[system.label]
            cells.append("–" if value is None else f"{value:.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    if avg is not None:
        lines.append("\n" + average_note(result))
    return "\n".join(lines) + "\n"


def to_markdown(result: LeaderboardResult) -> str:
    c = result.config
    parts = [f"# {c.title}\n", f"_Generated by `rankify-lite leaderboard {_config_ref(result)}`"
             " from the cached pipeline; do not edit by hand._\n"]
    if c.note:
        parts.append(c.note.strip() + "\n")
    parts.append(f"## {_label(c.main_metric)} across datasets\n")
    parts.append(summary_markdown(result))
    parts.append("## Per dataset\n")
    parts += [dataset_markdown(result, d) for d in result.datasets]
    if result.notes:  # datasets left out (--skip-missing), one line each
        parts.append("## Not run\n\n" + "\n".join(f"- {n}" for n in result.notes) + "\n")
    parts.append(legend(result) + "\n")
    return "\n".join(parts)


def _config_ref(result: LeaderboardResult) -> str:
    p = result.config.path
    if p is None:
        return result.config.name
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return p.name


def to_latex(result: LeaderboardResult) -> str:
    from rankify_lite.systems import latex_escape

    metrics = result.config.metrics
    cols = "ll" + "r" * len(metrics) + "r"
    out = _latex_average(result)
    for d in result.datasets:
        out += [f"% {latex_escape(d.label)}: {d.queries} queries, baseline "
                f"{latex_escape(d.baseline)}",
                f"\\begin{{tabular}}{{{cols}}}", "\\toprule",
                " & system & " + " & ".join(latex_escape(_label(m)) for m in metrics)
                + " & ms/query \\\\", "\\midrule"]
        for i, s in enumerate(d.systems):
            vals = [f"{s.mean[parse_metric(m).name]:.4f}" + _marks(d, i, s, m, "latex")
                    for m in metrics]
            out.append(" & ".join([d.comparison.letter(i), s.system.display("latex"), *vals,
                                   _ms(s)]) + " \\\\")
        out += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(out)


def _latex_average(result: LeaderboardResult) -> list[str]:
    """The main metric across datasets with the BEIR-average column (``average: beir`` only)."""
    from rankify_lite.systems import latex_escape

    avg = averages(result)
    if avg is None:
        return []
    scores = main_scores(result)
    out = [f"% {latex_escape(_label(result.config.main_metric))} across datasets; "
           f"{latex_escape(average_note(result))}",
           f"\\begin{{tabular}}{{l{'r' * (len(result.datasets) + 1)}}}", "\\toprule",
           "system & " + " & ".join(latex_escape(d.label) for d in result.datasets)
           + " & BEIR avg \\\\", "\\midrule"]
    for system in _order(result):
        row = scores[system.label]
        cells = [f"{row[d.name]:.4f}" if d.name in row else "--" for d in result.datasets]
        value = avg[system.label]
        cells.append("--" if value is None else f"{value:.4f}")
        out.append(" & ".join([system.display("latex"), *cells]) + " \\\\")
    return out + ["\\bottomrule", "\\end{tabular}", ""]


def write_csv(result: LeaderboardResult, path: Path) -> None:
    """Per-query scores: one row per (dataset, system, query); one column per metric."""
    names = [parse_metric(m).name for m in result.config.metrics]
    with atomic_write(path) as fh:
        w = csv.writer(fh)
        w.writerow(["dataset", "system", "first_stage", "reranker", "query_id", *names,
                    "seconds"])
        for d in result.datasets:
            for s in d.systems:
                for q in s.per_query[names[0]]:
                    secs = s.seconds_per_query.get(q) if s.seconds_per_query else None
                    w.writerow([d.name, s.name, s.first_stage, s.reranker or "", q,
                                *(f"{s.per_query[m][q]:.6f}" for m in names),
                                "" if secs is None else f"{secs:.6f}"])


def summary_json(result: LeaderboardResult) -> dict:
    return {"name": result.config.name, "metrics": list(result.config.metrics),
            "datasets": {d.name: {"label": d.label, "queries": d.queries,
                                  "baseline": d.baseline,
                                  "systems": {s.name: {"mean": s.mean,
                                                       "seconds_per_query": s.mean_seconds,
                                                       "precomputed": s.precomputed,
                                                       "cached": s.cached,
                                                       "depth": s.depth, "notes": list(s.notes),
                                                       "forward_passes_per_query":
                                                           s.forward_passes,
                                                       "p_vs_first_stage": s.p_first_stage}
                                              for s in d.systems},
                                  "significance": d.comparison.as_dict()}
                         for d in result.datasets},
            **_average_json(result)}


def _average_json(result: LeaderboardResult) -> dict:
    avg = averages(result)
    if avg is None:
        return {}
    return {"average": {"kind": "beir", "metric": result.config.main_metric,
                        "note": average_note(result), "systems": avg}}


def write_reports(result: LeaderboardResult, folder: Path, plots: bool = True,
                  overwrite: bool = False) -> dict[str, Path]:
    """Write table.md, table.tex, per_query.csv, results.json, expected.yaml (+ latency.png,
    winloss.png when matplotlib is installed; otherwise a warning names the extra) into
    ``folder``: new, empty, or an earlier leaderboard output (replaced with ``overwrite``;
    see :mod:`rankify_lite.leaderboard.output`)."""
    from rankify_lite.leaderboard.output import check_folder

    folder = Path(folder)
    check_folder(folder, overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: inside(folder, name) for name in
             ("table.md", "table.tex", "per_query.csv", "results.json")}
    with atomic_write(paths["table.md"]) as fh:
        fh.write(to_markdown(result))
    with atomic_write(paths["table.tex"]) as fh:
        fh.write(to_latex(result))
    write_csv(result, paths["per_query.csv"])
    with atomic_write(paths["results.json"]) as fh:
        json.dump(summary_json(result), fh, indent=1, sort_keys=False)
    import yaml

    from rankify_lite.leaderboard.expected import entries_from_leaderboard

    paths["expected.yaml"] = inside(folder, "expected.yaml")
    with atomic_write(paths["expected.yaml"]) as fh:
        fh.write("# 2CR-style expected scores of this leaderboard, written by the run; check with\n"
                 "# rankify-lite leaderboard --check <this file>\n")
        yaml.safe_dump(entries_from_leaderboard(result), fh, sort_keys=False, width=100)
    import importlib.util

    if plots and importlib.util.find_spec("matplotlib") is None:
        import warnings

        warnings.warn("leaderboard plots skipped: matplotlib is not installed "
                      "(pip install 'rankify-lite[plots]'); tables and CSV are written.",
                      stacklevel=2)
        plots = False
    if plots:
        from rankify_lite.leaderboard.plots import plot_latency, plot_winloss

        paths["latency.png"] = plot_latency(result, inside(folder, "latency.png"))
        paths["winloss.png"] = plot_winloss(result, inside(folder, "winloss.png"))
    return paths
