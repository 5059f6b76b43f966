"""Read a saved result or leaderboard folder into the plain data an HTML report shows.

A **result folder** (``PipelineResult.save``: ``meta.json`` + one TREC file per system) is read
through the public readers: the run files listed in ``meta.json["files"]`` (only files inside
the folder), and the dataset named in ``meta.json["dataset"]`` (its ``source`` path, else its
name; ``dataset=`` overrides both) for the qrels, the query texts and passage snippets. Scores,
per-query values and significance are recomputed with our evaluator under the settings the
result recorded (metrics, relevance level, test, correction, alpha, seed), so the report shows
what ``compare`` shows; the recorded means are kept beside them (``recorded``) to check.

A **leaderboard folder** (``results.json`` + ``per_query.csv``) holds no runs: its report has the
tables, plots and each query's scores, but no top-10 lists.

Unknown keys are ignored and missing optional ones are tolerated; what is needed and absent is
an :class:`~rankify_lite.errors.InputError` naming the file and the fix.
"""

from __future__ import annotations

import csv
import json
import string
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.evaluation import parse_metric
from rankify_lite.systems import SystemId

TOP = 10
SNIPPET_WORDS = 28


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read it as JSON ({exc}).", path=path,
                         fix="point at a folder written by rankify-lite run --output or "
                             "rankify-lite leaderboard.") from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object.", path=path, fix="use the file rankify-lite wrote.")
    return data


def _letter(i: int) -> str:
    return string.ascii_lowercase[i % 26]


def _parent(name: str, names: list[str]) -> str | None:
    sid = SystemId.from_label(name)
    if not sid.is_reranked:
        return None
    parent = sid.parent.label
    return parent if parent in names else None


def _seconds(stages: list, name: str) -> float | None:
    """Mean seconds per query of a system: the sum of its stages' recorded means."""
    by_name = {str(st.get("system")): st for st in stages if isinstance(st, dict)}
    total, timed = 0.0, False
    sid = SystemId.from_label(name)
    chain = [sid]
    while chain[-1].is_reranked:
        chain.append(chain[-1].parent)
    for part in chain:
        st = by_name.get(part.label)
        mean = st.get("mean_s") if st else None
        if isinstance(mean, (int, float)):
            total += float(mean)
            timed = True
    return total if timed else None


def _precomputed(stages: list, name: str) -> bool:
    """Whether the system's first stage is a run read from a file (never timed here)."""
    first = SystemId.from_label(name)
    while first.is_reranked:
        first = first.parent
    return any(isinstance(st, dict) and str(st.get("system")) == first.label
               and st.get("kind") == "first-stage" and st.get("precomputed") is True
               for st in stages)


def _winloss(per_query: dict[str, dict[str, dict[str, float]]], systems: list[str],
             baseline: str, metric: str) -> dict[str, list[int]]:
    base = per_query[baseline][metric]
    out = {}
    for s in systems:
        mine = per_query[s][metric]
        w = sum(1 for q, v in mine.items() if v > base.get(q, 0.0) + 1e-9)
        l_ = sum(1 for q, v in mine.items() if v < base.get(q, 0.0) - 1e-9)
        out[s] = [w, len(mine) - w - l_, l_]
    return out


def _snippet(doc) -> str:
    words = doc.full_text().split()
    return " ".join(words[:SNIPPET_WORDS]) + (" ..." if len(words) > SNIPPET_WORDS else "")


def _find_dataset(meta: dict[str, Any], folder: Path, dataset: str | Path | None):
    from rankify_lite import load_dataset
    from rankify_lite.errors import DatasetNotFoundError

    info = meta.get("dataset") if isinstance(meta.get("dataset"), dict) else {}
    tried: list[str] = []
    candidates: list[str | Path] = []
    if dataset is not None:
        candidates = [dataset]
    else:
        source = info.get("source")
        if isinstance(source, str) and source:
            src = Path(source).expanduser()
            candidates += [src] if src.is_absolute() else [Path.cwd() / src, folder / src]
        if isinstance(info.get("name"), str):
            candidates.append(info["name"])
    for cand in candidates:
        if isinstance(cand, Path) and not cand.exists():
            tried.append(str(cand))
            continue
        try:
            return load_dataset(cand)
        except DatasetNotFoundError:
            tried.append(str(cand))
    raise InputError(f"cannot find the dataset this result was scored on (tried: "
                     f"{', '.join(tried) or 'nothing recorded'}).", path=folder / "meta.json",
                     fix="pass the dataset folder or name: rankify-lite report FOLDER "
                         "--dataset PATH.")


def load_result(folder: Path, dataset: str | Path | None = None) -> dict[str, Any]:
    """The report data of a result folder (see the module docstring)."""
    from rankify_lite import compare, read_run

    meta = _read_json(folder / "meta.json")
    files = meta.get("files")
    if not isinstance(files, dict) or not files:
        raise InputError("meta.json lists no run files ('files').", path=folder / "meta.json",
                         fix="save the result with PipelineResult.save / rankify-lite run --output.")
    runs = {}
    for name, fname in files.items():
        path = (folder / str(fname)).resolve()
        if path.parent != folder.resolve() or not path.is_file():
            raise InputError(f"run file {fname!r} of system {name!r} is not a file inside the "
                             "result folder.", path=folder / "meta.json",
                             fix="keep the run files beside meta.json.")
        runs[str(name)] = read_run(path, name=str(name))
    ds = _find_dataset(meta, folder, dataset)
    sig = meta.get("significance") if isinstance(meta.get("significance"), dict) else {}
    pipe = meta.get("pipeline") if isinstance(meta.get("pipeline"), dict) else {}
    rules = meta.get("rules") if isinstance(meta.get("rules"), dict) else {}
    metrics = sig.get("metrics") or pipe.get("metrics") or rules.get("metrics") or ["ndcg@10"]
    order = [s for s in sig.get("systems", []) if s in runs] or list(runs)
    order += [s for s in runs if s not in order]
    baseline = sig.get("baseline") if sig.get("baseline") in order else order[0]
    dinfo = meta.get("dataset") if isinstance(meta.get("dataset"), dict) else {}
    recorded = meta.get("metrics") if isinstance(meta.get("metrics"), dict) else {}
    level = dinfo.get("rel_level", ds.rel_level)
    rel_level = int(level) if isinstance(level, int) and level >= 0 else ds.rel_level
    qrels = ds.qrels.restrict(ds.queries)
    comp = compare([runs[s] for s in order], qrels, metrics, baseline=order.index(baseline),
                   test=str(sig.get("test", "t-test")), correction=str(sig.get("correction", "holm")),
                   alpha=float(sig.get("alpha", 0.05)), rel_level=rel_level,
                   seed=int(pipe.get("seed") or 0))
    names = [parse_metric(m).name for m in metrics]
    per_query = {s: {m: dict(e.per_query[m]) for m in names}
                 for s, e in zip(order, comp.evaluations, strict=True)}
    notes = [str(n) for n in meta.get("notes", []) if isinstance(n, str)]
    recorded_hash = dinfo.get("content_hash")
    if recorded_hash and recorded_hash != ds.content_hash():
        notes.append(f"the dataset found ({ds.name}) is not the one this result was scored on "
                     "(its content hash differs): scores below are computed on the one found")
    stages = meta.get("stages") if isinstance(meta.get("stages"), list) else []
    systems = []
    for i, s in enumerate(order):
        systems.append({
            "name": s, "display": SystemId.from_label(s).display(), "letter": _letter(i),
            "mean": {m: comp.evaluations[i].mean[m] for m in names},
            "recorded": recorded.get(s, {}),
            "beats": {m: [_letter(j) for j in comp.better_than[m][i]] for m in names},
            "dagger": {m: bool(i != comp.baseline and comp.p_baseline[m][i] < comp.alpha)
                       for m in names},
            "p": {m: comp.p_baseline[m][i] for m in names},
            "seconds": _seconds(stages, s), "precomputed": _precomputed(stages, s),
            "parent": _parent(s, order)})
    qids = [q for q in ds.queries if q in qrels]
    top: dict[str, dict[str, list]] = {}
    shown: set[str] = set()
    for s in order:
        run, parent = runs[s], _parent(s, order)
        top[s] = {}
        for q in qids:
            ids = list(run[q].doc_ids[:TOP]) if q in run else []
            before = ({d: r for r, d in enumerate(runs[parent][q].doc_ids)}
                      if parent and q in runs[parent] else None)
            top[s][q] = [[d, None if before is None else before.get(d)] for d in ids]
            shown.update(ids)
    grades = {q: {d: g for d, g in qrels[q].items() if d in shown} for q in qids}
    docs = ({d: _snippet(ds.corpus[d]) for d in sorted(shown) if d in ds.corpus}
            if ds.corpus is not None else {})
    main = names[0]
    view = {"label": str(dinfo.get("name") or ds.name),
            "queries_n": len(qids), "metrics": names,
            "labels": [parse_metric(m).label for m in names], "main": main,
            "baseline": baseline, "test": comp.test, "correction": comp.correction,
            "alpha": comp.alpha, "rel_level": rel_level, "systems": systems,
            "per_query": per_query, "winloss": _winloss(per_query, order, baseline, main),
            "queries": [{"id": q, "text": ds.queries[q].text} for q in qids],
            "top": top, "grades": grades, "docs": docs, "has_runs": True, "notes": notes}
    return {"kind": "result", "title": f"rankify_lite result: {view['label']}",
            "source": str(folder), "views": [view]}


def load_leaderboard(folder: Path) -> dict[str, Any]:
    """The report data of a leaderboard folder (no run files: no top-10 lists)."""
    summary = _read_json(folder / "results.json")
    per_query: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    csv_path = folder / "per_query.csv"
    if csv_path.is_file():
        with open(csv_path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                sys_pq = per_query.setdefault(row["dataset"], {}).setdefault(row["system"], {})
                for key, value in row.items():
                    if key in ("dataset", "system", "first_stage", "reranker", "query_id",
                               "seconds") or value in (None, ""):
                        continue
                    sys_pq.setdefault(key, {})[row["query_id"]] = float(value)
    metrics = [parse_metric(m).name for m in summary.get("metrics", [])]
    views = []
    for dname, d in (summary.get("datasets") or {}).items():
        sig = d.get("significance") or {}
        order = list(d.get("systems") or {})
        if not order:
            continue
        baseline = d.get("baseline") if d.get("baseline") in order else order[0]
        index = {s: i for i, s in enumerate(order)}
        names = [m for m in (metrics or list(sig.get("metrics", []))) if m]
        systems = []
        for i, s in enumerate(order):
            info = d["systems"][s]
            p = {m: float((sig.get("p_vs_baseline") or {}).get(m, {}).get(s, 1.0)) for m in names}
            systems.append({
                "name": s, "display": SystemId.from_label(s).display(), "letter": _letter(i),
                "mean": {m: float(info["mean"][m]) for m in names if m in info.get("mean", {})},
                "recorded": info.get("mean", {}),
                "beats": {m: [_letter(index[o]) for o in
                              (sig.get("better_than") or {}).get(m, {}).get(s, []) if o in index]
                          for m in names},
                "dagger": {m: s != baseline and p[m] < float(sig.get("alpha", 0.05)) for m in names},
                "p": p, "seconds": info.get("seconds_per_query"),
                "precomputed": info.get("precomputed") is True, "parent": _parent(s, order)})
        pq = {s: per_query.get(dname, {}).get(s, {}) for s in order}
        main = names[0] if names else ""
        qids = sorted({q for s in pq.values() for v in s.values() for q in v})
        has_pq = all(main in pq[s] for s in order)
        views.append({
            "label": str(d.get("label") or dname), "queries_n": int(d.get("queries") or len(qids)),
            "metrics": names, "labels": [parse_metric(m).label for m in names], "main": main,
            "baseline": baseline, "test": sig.get("test", ""), "correction": sig.get("correction", ""),
            "alpha": sig.get("alpha", 0.05), "rel_level": None, "systems": systems,
            "per_query": pq, "winloss": _winloss(pq, order, baseline, main) if has_pq else {},
            "queries": [{"id": q, "text": ""} for q in qids], "top": {}, "grades": {},
            "docs": {}, "has_runs": False,
            "notes": ["a leaderboard folder stores no run files: each query's scores are shown, "
                      "its top-10 lists are not (open a saved result folder for those)"]})
    if not views:
        raise InputError("results.json lists no datasets with systems.", path=folder / "results.json",
                         fix="point at a folder written by rankify-lite leaderboard.")
    return {"kind": "leaderboard", "title": f"rankify_lite leaderboard: {summary.get('name', '')}",
            "source": str(folder), "views": views}


def load_folder(folder: str | Path, dataset: str | Path | None = None) -> dict[str, Any]:
    """A result folder (``meta.json``) or a leaderboard folder (``results.json``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("not a folder.", path=folder,
                         fix="give a result folder (rankify-lite run --output) or a leaderboard "
                             "folder (rankify-lite leaderboard).")
    if (folder / "meta.json").is_file():
        return load_result(folder, dataset)
    if (folder / "results.json").is_file():
        return load_leaderboard(folder)
    raise InputError("holds neither meta.json (a saved result) nor results.json (a leaderboard).",
                     path=folder, fix="give a folder written by rankify-lite run --output or "
                                      "rankify-lite leaderboard.")
