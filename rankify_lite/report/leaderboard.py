"""Read a leaderboard folder (``results.json`` + ``per_query.csv``) into the report's data.

A leaderboard folder holds no runs: its report has the tables, plots and each query's scores,
but no top-10 lists. Every field read is checked (:class:`~rankify_lite.report.fields.Fields`):
metric names that parse, systems the dataset lists, finite numbers, p-values in [0, 1], alpha
in (0, 1); ``per_query.csv`` rows name a dataset and a system of ``results.json`` and hold
finite numbers, or are refused with their line.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.io.files import iter_lines
from rankify_lite.io.numbers import COUNT_OR_ZERO, FINITE, SECONDS, Number
from rankify_lite.names import check_label
from rankify_lite.report.common import (
    declared_metrics,
    first_differing,
    letter,
    parent,
    read_json,
    significance_settings,
    winloss,
)
from rankify_lite.report.fields import Fields
from rankify_lite.systems import SystemId

FIX = "write the folder again with rankify-lite leaderboard (or restore the edited value)."
P_VALUE = Number(low=0, high=1)
FIXED_COLUMNS = ("dataset", "system", "first_stage", "reranker", "query_id", "seconds")

PerQuery = dict[str, dict[str, dict[str, dict[str, float]]]]


def _read_per_query(path: Path, systems: dict[str, list[str]]) -> PerQuery:
    """``{dataset: {system: {metric: {query: value}}}}`` from ``per_query.csv`` (checked)."""
    out: PerQuery = {}
    if not path.is_file():
        return out
    f = Fields(path, FIX)
    # read through the one line reader: bad bytes, endless lines are one line naming the file
    reader = csv.DictReader(text for _, text in iter_lines(path, "per_query.csv"))
    try:
        header = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise InputError(f"the header is not CSV ({exc}).", path=path, line=1, fix=FIX) from None
    missing = [c for c in ("dataset", "system", "query_id") if c not in header]
    if missing:
        raise InputError(f"the header lacks {', '.join(missing)}.", path=path, line=1, fix=FIX)
    columns = {c: f.metric(c, f"column {c!r}") for c in header if c not in FIXED_COLUMNS}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(f"a row is not CSV ({exc}).", path=path, line=reader.line_num,
                             fix=FIX) from None
        line = reader.line_num
        empty = [c for c in ("dataset", "system", "query_id") if not row.get(c)]
        if empty:
            raise InputError(f"the row has no {', '.join(empty)} (a short row?).", path=path,
                             line=line, fix=FIX)
        dname, system = row["dataset"], row["system"]
        if system not in systems.get(dname, ()):
            raise InputError(f"system {system!r} of dataset {dname!r} is not in "
                             "results.json.", path=path, line=line, fix=FIX)
        sys_pq = out.setdefault(dname, {}).setdefault(system, {})
        for column, metric in columns.items():
            value = row.get(column)
            if value in (None, ""):
                continue
            sys_pq.setdefault(metric, {})[row["query_id"]] = FINITE.parse(
                value, f"column {column!r}", path=path, line=line, fix=FIX)
    return out


def _view(f: Fields, dname: str, d: Any, metrics: list[str], pq_all: PerQuery) -> dict | None:
    where = f"datasets[{dname!r}]."
    d = f.object(d, where[:-1])
    systems_in = f.object(d.get("systems"), f"{where}systems", {})
    order = list(systems_in)
    if not order:
        return None
    sig = f.object(d.get("significance"), f"{where}significance", {})
    settings = significance_settings(f, sig, f"{where}significance.")
    baseline = f.choice(d.get("baseline"), f"{where}baseline", order, order[0])
    names = metrics or declared_metrics(f, [(f"{where}significance.", sig)], [])
    index = {s: i for i, s in enumerate(order)}
    p_all = f.object(sig.get("p_vs_baseline"), f"{where}significance.p_vs_baseline", {})
    beats_all = f.object(sig.get("better_than"), f"{where}significance.better_than", {})
    for what, table in (("p_vs_baseline", p_all), ("better_than", beats_all)):
        for m, per in table.items():
            f.metric(m, f"{where}significance.{what} key")
            for s in f.object(per, f"{where}significance.{what}[{m!r}]"):
                f.choice(s, f"{where}significance.{what}[{m!r}] key", order)
    systems = []
    for i, s in enumerate(order):
        at = f"{where}systems[{s!r}]"
        info = f.object(systems_in[s], at)
        mean_in = f.object(info.get("mean"), f"{at}.mean", {})
        mean = {f.metric(m, f"{at}.mean key"): f.number(v, f"{at}.mean[{m!r}]")
                for m, v in mean_in.items()}
        p = {m: f.number((p_all.get(m) or {}).get(s), f"{where}significance.p_vs_baseline"
                         f"[{m!r}][{s!r}]", P_VALUE, 1.0) for m in names}
        beats = {m: [letter(index[f.choice(o, f"{where}significance.better_than[{m!r}]"
                                              f"[{s!r}][{k}]", order)])
                     for k, o in enumerate(f.texts((beats_all.get(m) or {}).get(s),
                                                   f"{where}significance.better_than"
                                                   f"[{m!r}][{s!r}]", []))]
                 for m in names}
        precomputed = info.get("precomputed")
        if precomputed is not None and not isinstance(precomputed, bool):
            raise f.refuse(f"{at}.precomputed", f"must be true or false, not {precomputed!r}.")
        systems.append({
            "name": s, "display": SystemId.from_label(s).display(), "letter": letter(i),
            "mean": {m: mean[m] for m in names if m in mean}, "recorded": mean,
            "beats": beats,
            "dagger": {m: s != baseline and p[m] < settings["alpha"] for m in names},
            "p": p, "seconds": f.number(info.get("seconds_per_query"),
                                        f"{at}.seconds_per_query", SECONDS, None),
            "precomputed": precomputed is True, "parent": parent(s, order), "changed": None})
    pq = {s: pq_all.get(dname, {}).get(s, {}) for s in order}
    main = names[0] if names else ""
    qids = sorted({q for s in pq.values() for v in s.values() for q in v})
    has_pq = all(main in pq[s] for s in order)
    return {
        "label": f.text(d.get("label"), f"{where}label", dname) or dname,
        "queries_n": f.number(d.get("queries"), f"{where}queries", COUNT_OR_ZERO, len(qids)),
        "metrics": names, "labels": [_label(m) for m in names], "main": main,
        "baseline": baseline, **settings, "rel_level": None, "systems": systems,
        "per_query": pq, "winloss": winloss(pq, order, baseline, main) if has_pq else {},
        "queries": [{"id": q, "text": ""} for q in qids], "top": {}, "grades": {},
        "first_query": first_differing(pq, order, main, qids),
        "docs": {}, "has_runs": False,
        "notes": ["a leaderboard folder stores no run files: each query's scores are shown, "
                  "its top-10 lists are not (open a saved result folder for those)"]}


def _label(metric: str) -> str:
    from rankify_lite.evaluation import parse_metric

    return parse_metric(metric).label


def load_leaderboard(folder: Path) -> dict[str, Any]:
    """The report data of a leaderboard folder (no run files: no top-10 lists)."""
    path = folder / "results.json"
    summary = read_json(path)
    f = Fields(path, FIX)
    metrics = declared_metrics(f, [("", summary)], [])
    datasets = f.object(summary.get("datasets"), "datasets", {})
    systems = {d: [check_label(s, f"datasets[{d!r}].systems key", path=path)
                   for s in f.object(f.object(v, f"datasets[{d!r}]").get("systems"),
                                     f"datasets[{d!r}].systems", {})]
               for d, v in datasets.items()}
    per_query = _read_per_query(folder / "per_query.csv", systems)
    named = [(d, v) for d, v in ((d, _view(f, d, info, metrics, per_query))
                                 for d, info in datasets.items()) if v is not None]
    views = [v for _, v in named]
    if not views:
        raise InputError("results.json lists no datasets with systems.", path=path,
                         fix="point at a folder written by rankify-lite leaderboard.")
    return {"kind": "leaderboard",
            "title": f"rankify_lite leaderboard: {f.text(summary.get('name'), 'name', '')}",
            "source": str(folder), "views": views, "changed": [],
            "average": _average(f, summary.get("average"), named)}


def _average(f: Fields, block: Any, named: list[tuple[str, dict]]) -> dict | None:
    """The BEIR-average table when results.json asks for one (``average.kind: beir``).

    Only the kind is read from the file: every average is computed again here from the
    datasets' checked means, so the page never shows a number the folder's data do not give."""
    if block is None:
        return None
    kind = f.choice(f.object(block, "average").get("kind"), "average.kind", ["beir"])
    from rankify_lite.leaderboard.beir_average import coverage_note, system_averages

    main = named[0][1]["main"]
    scores: dict[str, dict[str, float]] = {}
    display: dict[str, str] = {}
    for dname, view in named:
        for s in view["systems"]:
            key = SystemId.from_label(s["name"]).with_depth(None).label
            display.setdefault(key, SystemId.from_label(key).display())
            if main in s["mean"]:
                scores.setdefault(key, {})[dname] = s["mean"][main]
            else:
                scores.setdefault(key, {})
    names = [d for d, _ in named]
    avg = system_averages(scores, names)
    rows = [{"name": k, "display": display[k],
             "cells": [f"{scores[k][d]:.4f}" if d in scores[k] else None for d in names],
             "value": None if avg[k] is None else f"{avg[k]:.4f}"} for k in scores]
    return {"kind": kind, "metric": _label(main) if main else "",
            "datasets": [v["label"] for _, v in named], "rows": rows,
            "note": coverage_note(names, {d: v["label"] for d, v in named})}


__all__ = ["load_leaderboard"]
