"""Read a saved result or leaderboard folder into the plain data an HTML report shows.

A **result folder** (``PipelineResult.save``: ``meta.json`` + one TREC file per system) is read
through the one loader of saved results (:func:`rankify_lite.pipeline.saved.open_saved`): the
run files listed in ``meta.json["files"]`` (only files inside the folder), each checked against
the sha256 ``meta.json`` recorded: a changed file is refused, or with ``allow_changed`` read and
marked in the page. The dataset named in ``meta.json["dataset"]`` (its ``source`` path, else
its name; ``dataset=`` overrides both) gives the qrels, the query texts and passage snippets.
Scores, per-query values and significance are recomputed with our evaluator under the settings
the result recorded (metrics, relevance level, test, correction, alpha, seed), so the report
shows what ``compare`` shows; the recorded means are kept beside them (``recorded``) to check.

A **leaderboard folder** (``results.json`` + ``per_query.csv``): see
:mod:`rankify_lite.report.leaderboard`.

Unknown keys are ignored and missing optional ones are tolerated; every field that is read is
checked first (:mod:`rankify_lite.report.fields`: types, finite numbers in range, known names),
before anything is computed; a bad or missing one is an
:class:`~rankify_lite.errors.InputError` naming the file, the field and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.io.numbers import COUNT_OR_ZERO, SECONDS, SEED
from rankify_lite.report.common import (
    declared_metrics,
    first_differing,
    letter,
    parent,
    significance_settings,
    winloss,
)
from rankify_lite.report.fields import Fields
from rankify_lite.report.leaderboard import load_leaderboard
from rankify_lite.systems import SystemId

TOP = 10
SNIPPET_WORDS = 28
FIX = "restore the value rankify-lite wrote in meta.json, or save the result again."


def _stages(f: Fields, meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{system: {"mean_s", "first_stage", "precomputed"}}`` from ``meta.json["stages"]``."""
    stages = meta.get("stages")
    if stages is None:
        return {}
    if not isinstance(stages, list):
        raise f.refuse("stages", f"must be a list of stage records, not {type(stages).__name__}.")
    out = {}
    for i, st in enumerate(stages):
        st = f.object(st, f"stages[{i}]")
        precomputed = st.get("precomputed")
        if precomputed is not None and not isinstance(precomputed, bool):
            raise f.refuse(f"stages[{i}].precomputed", f"must be true or false, not "
                                                       f"{precomputed!r}.")
        out[f.text(st.get("system"), f"stages[{i}].system")] = {
            "mean_s": f.number(st.get("mean_s"), f"stages[{i}].mean_s", SECONDS, None),
            "first_stage": f.text(st.get("kind"), f"stages[{i}].kind", "") == "first-stage",
            "precomputed": precomputed is True}
    return out


def _chain(name: str) -> list[SystemId]:
    chain = [SystemId.from_label(name)]
    while chain[-1].is_reranked:
        chain.append(chain[-1].parent)
    return chain


def _seconds(stages: dict[str, dict[str, Any]], name: str) -> float | None:
    """Mean seconds per query of a system: the sum of its stages' recorded means."""
    means = [stages[p.label]["mean_s"] for p in _chain(name)
             if p.label in stages and stages[p.label]["mean_s"] is not None]
    return float(sum(means)) if means else None


def _precomputed(stages: dict[str, dict[str, Any]], name: str) -> bool:
    """Whether the system's first stage is a run read from a file (never timed here)."""
    st = stages.get(_chain(name)[-1].label)
    return bool(st and st["first_stage"] and st["precomputed"])


def _snippet(doc) -> str:
    words = doc.full_text().split()
    return " ".join(words[:SNIPPET_WORDS]) + (" ..." if len(words) > SNIPPET_WORDS else "")


def _find_dataset(info: dict[str, Any], f: Fields, folder: Path, dataset: str | Path | None):
    """The dataset given (``dataset``), else the one meta.json names, found by the rule rerun
    uses too (:func:`~rankify_lite.pipeline.rebuild.dataset_candidates`: nothing outside the
    folder that the file's author does not already know)."""
    from rankify_lite import load_dataset
    from rankify_lite.errors import DatasetNotFoundError
    from rankify_lite.pipeline.rebuild import dataset_candidates, load_recorded_dataset

    f.text(info.get("source"), "dataset.source", "")   # checked: text, or refused naming it
    f.text(info.get("name"), "dataset.name", "")
    tried: list[str] = []
    candidates = [dataset] if dataset is not None else dataset_candidates(info, folder)
    for cand in candidates:
        if isinstance(cand, Path) and not cand.exists():
            tried.append(str(cand))
            continue
        try:
            if dataset is not None:
                return load_dataset(cand)
            return load_recorded_dataset(cand, info, folder)
        except DatasetNotFoundError:
            tried.append(str(cand))
    raise InputError(f"cannot find the dataset this result was scored on (tried: "
                     f"{', '.join(tried) or 'nothing usable recorded'}; a dataset outside the "
                     "result folder is read only when meta.json records its content_hash).",
                     path=f.path, fix="pass the dataset folder or name: rankify-lite report "
                                      "FOLDER --dataset PATH.")


def _settings(f: Fields, meta: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Every field of meta.json the report uses, checked (before anything is computed)."""
    sig = f.object(meta.get("significance"), "significance", {})
    pipe = f.object(meta.get("pipeline"), "pipeline", {})
    rules = f.object(meta.get("rules"), "rules", {})
    dinfo = f.object(meta.get("dataset"), "dataset", {})
    metrics = declared_metrics(f, [("significance.", sig), ("pipeline.", pipe),
                                   ("rules.", rules)], ["ndcg@10"])
    order = [f.choice(s, f"significance.systems[{i}]", names)
             for i, s in enumerate(f.texts(sig.get("systems"), "significance.systems", []))]
    order = list(dict.fromkeys(order + names))
    recorded = {f.choice(s, "metrics (a system name)", names):
                {f.metric(m, f"metrics[{s!r}] key"): f.number(v, f"metrics[{s!r}][{m!r}]")
                 for m, v in f.object(means, f"metrics[{s!r}]").items()}
                for s, means in f.object(meta.get("metrics"), "metrics", {}).items()}
    return {"metrics": metrics, "order": order,
            "baseline": f.choice(sig.get("baseline"), "significance.baseline", order, order[0]),
            **significance_settings(f, sig, "significance."),
            "seed": f.number(pipe.get("seed"), "pipeline.seed", SEED, 0),
            "rel_level": f.number(dinfo.get("rel_level"), "dataset.rel_level", COUNT_OR_ZERO,
                                  None),
            "content_hash": f.text(dinfo.get("content_hash"), "dataset.content_hash", None),
            "label": f.text(dinfo.get("name"), "dataset.name", ""), "dataset": dinfo,
            "recorded": recorded, "stages": _stages(f, meta),
            "notes": f.texts(meta.get("notes"), "notes", [])}


def load_result(folder: Path, dataset: str | Path | None = None, *,
                allow_changed: bool = False) -> dict[str, Any]:
    """The report data of a result folder (see the module docstring)."""
    from rankify_lite import compare
    from rankify_lite.evaluation import parse_metric
    from rankify_lite.pipeline.saved import open_saved

    saved = open_saved(folder, allow_changed=allow_changed)
    f = Fields(saved.meta_path, FIX)
    if not saved.files:
        raise InputError("meta.json lists no run files ('files').", path=saved.meta_path,
                         fix="save the result with PipelineResult.save / rankify-lite run --output.")
    conf = _settings(f, dict(saved.meta), [sf.system for sf in saved.files])
    order, baseline, names = conf["order"], conf["baseline"], conf["metrics"]
    runs = {s: saved.read_run(s) for s in order}
    ds = _find_dataset(conf["dataset"], f, folder, dataset)
    rel_level = conf["rel_level"] if conf["rel_level"] is not None else ds.rel_level
    qrels = ds.qrels.restrict(ds.queries)
    comp = compare([runs[s] for s in order], qrels, names, baseline=order.index(baseline),
                   test=conf["test"], correction=conf["correction"], alpha=conf["alpha"],
                   rel_level=rel_level, seed=conf["seed"])
    per_query = {s: {m: dict(e.per_query[m]) for m in names}
                 for s, e in zip(order, comp.evaluations, strict=True)}
    notes = list(conf["notes"])
    if conf["content_hash"] and conf["content_hash"] != ds.content_hash():
        if dataset is None and not allow_changed:  # found by what meta.json says: refused
            raise InputError(f"the dataset found ({ds.name}) is not the one this result was "
                             "scored on: its content hash differs from dataset.content_hash.",
                             path=saved.meta_path, fix="pass the dataset it was scored on "
                             "(--dataset PATH), or --allow-changed to score it on this one.")
        notes.append(f"the dataset found ({ds.name}) is not the one this result was scored on "
                     "(its content hash differs): scores below are computed on the one found")
    if not saved.verified:
        notes.append("meta.json records no sha256 of its run files (saved before they were "
                     "recorded, or written by hand): the run files could not be checked")
    changed = {sf.system: f"CHANGED: {sf.what} {sf.why()}; its scores are the edited file's"
               for sf in saved.changed}
    notes += list(changed.values())
    stages = conf["stages"]
    systems = []
    for i, s in enumerate(order):
        systems.append({
            "name": s, "display": SystemId.from_label(s).display(), "letter": letter(i),
            "mean": {m: comp.evaluations[i].mean[m] for m in names},
            "recorded": conf["recorded"].get(s, {}),
            "beats": {m: [letter(j) for j in comp.better_than[m][i]] for m in names},
            "dagger": {m: bool(i != comp.baseline and comp.p_baseline[m][i] < comp.alpha)
                       for m in names},
            "p": {m: comp.p_baseline[m][i] for m in names},
            "seconds": _seconds(stages, s), "precomputed": _precomputed(stages, s),
            "parent": parent(s, order), "changed": changed.get(s)})
    qids = [q for q in ds.queries if q in qrels]
    top: dict[str, dict[str, list]] = {}
    shown: set[str] = set()
    for s in order:
        run, up = runs[s], parent(s, order)
        top[s] = {}
        for q in qids:
            ids = list(run[q].doc_ids[:TOP]) if q in run else []
            before = ({d: r for r, d in enumerate(runs[up][q].doc_ids)}
                      if up and q in runs[up] else None)
            top[s][q] = [[d, None if before is None else before.get(d)] for d in ids]
            shown.update(ids)
    grades = {q: {d: g for d, g in qrels[q].items() if d in shown} for q in qids}
    docs = ({d: _snippet(ds.corpus[d]) for d in sorted(shown) if d in ds.corpus}
            if ds.corpus is not None else {})
    view = {"label": conf["label"] or ds.name, "queries_n": len(qids), "metrics": names,
            "labels": [parse_metric(m).label for m in names], "main": names[0],
            "baseline": baseline, "test": comp.test, "correction": comp.correction,
            "alpha": comp.alpha, "rel_level": rel_level, "systems": systems,
            "per_query": per_query, "winloss": winloss(per_query, order, baseline, names[0]),
            "queries": [{"id": q, "text": ds.queries[q].text} for q in qids],
            "first_query": first_differing(per_query, order, names[0], qids),
            "top": top, "grades": grades, "docs": docs, "has_runs": True, "notes": notes}
    return {"kind": "result", "title": f"rankify_lite result: {view['label']}",
            "source": str(folder), "views": [view], "changed": sorted(changed)}


def load_folder(folder: str | Path, dataset: str | Path | None = None, *,
                allow_changed: bool = False) -> dict[str, Any]:
    """A result folder (``meta.json``) or a leaderboard folder (``results.json``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("not a folder.", path=folder,
                         fix="give a result folder (rankify-lite run --output) or a leaderboard "
                             "folder (rankify-lite leaderboard).")
    if (folder / "meta.json").is_file():
        return load_result(folder, dataset, allow_changed=allow_changed)
    if (folder / "results.json").is_file():
        return load_leaderboard(folder)
    raise InputError("holds neither meta.json (a saved result) nor results.json (a leaderboard).",
                     path=folder, fix="give a folder written by rankify-lite run --output or "
                                      "rankify-lite leaderboard.")


__all__ = ["load_folder", "load_leaderboard", "load_result"]
