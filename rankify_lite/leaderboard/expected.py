"""Expected scores, 2CR style: each entry is a reproducible command with its expected score(s).

File format (YAML)::

    title: "SciFact and TREC DL regressions"
    entries:
      - id: scifact-bm25-flat
        dataset: beir/scifact
        first_stage: {retriever: bm25}            # or {run: bm25.top100} (shipped with data)
        reranker: {family: bi-encoder, depth: 100} # optional; also model:, options:
        k: 1000                                    # optional first-stage depth
        scores: {ndcg@10: 0.6789, recall@100: 0.9253}
        tolerance: 0.0005                          # absolute; per entry (default 1e-4)
        ci: true                                   # cheap enough for CI (--ci-only)
        note: "Anserini 2CR"

``check_expected`` re-runs every entry through the cached pipeline; an entry drifts when
``|got - expected| > tolerance`` for any of its scores. ``command(entry)`` gives the
equivalent ``rankify-lite run`` line.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.io.numbers import COUNT, Number
from rankify_lite.leaderboard.config import (
    FirstStageSpec,
    RerankerSpec,
    _check_keys,
    _error,
    load_yaml,
    parse_first_stage,
    parse_reranker,
)

_ENTRY_KEYS = {"id", "dataset", "first_stage", "reranker", "k", "scores", "tolerance", "ci",
               "note", "command"}


@dataclass(frozen=True)
class ExpectedEntry:
    id: str
    dataset: str
    first_stage: FirstStageSpec
    reranker: RerankerSpec | None
    k: int | None
    scores: dict[str, float]
    tolerance: float
    ci: bool
    note: str = ""

    @property
    def depth(self) -> int:
        return (self.reranker.depth if self.reranker and self.reranker.depth else 100)

    def command(self) -> str:
        """The equivalent ``rankify-lite run`` command line."""
        fs = self.first_stage
        parts = ["rankify-lite", "run", "--dataset", self.dataset, "--retriever",
                 f"run:{fs.run}" if fs.run else str(fs.retriever)]
        if self.reranker is not None:
            parts += ["--reranker", self.reranker.family, "--depth", str(self.depth)]
            if self.reranker.model:
                parts += ["--model", self.reranker.model]
            for key, value in self.reranker.options.items():
                import json

                parts += ["--option", f"{key}={json.dumps(value)}"]
        if self.k is not None:
            parts += ["-k", str(self.k)]
        for m in self.scores:
            parts += ["-m", m]
        return " ".join(shlex.quote(p) for p in parts)


@dataclass(frozen=True)
class CheckResult:
    entry: ExpectedEntry
    got: dict[str, float]
    drift: dict[str, float] = field(default_factory=dict)   # metric -> got - expected (drifted)
    error: str | None = None
    missing: str | None = None   # not run: its data is not on this machine (why, and the fix)

    @property
    def status(self) -> str:
        """"ok", "drifted", "error" or "missing" (not run: data missing)."""
        if self.error is not None:
            return "error"
        if self.missing is not None:
            return "missing"
        return "drifted" if self.drift else "ok"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def failed(self) -> bool:
        """Drifted or broken: a missing input is neither (see :func:`missing_report`)."""
        return self.status in ("drifted", "error")


#: every metric we compute lies in [0, 1]; a tolerance of 1 or more would pass any score
SCORE = Number(low=0, high=1)
TOLERANCE = Number(low=0, high=1, high_open=True)


def _flag(value: Any, where: str, path: Path | None) -> bool:
    """A yes/no field: a YAML bool (``bool("no")`` would be True)."""
    if not isinstance(value, bool):
        raise _error(path, f"{where} must be true or false, got {value!r}.", fix="ci: true")
    return value


def parse_expected(data: Any, path: Path | None = None) -> list[ExpectedEntry]:
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise _error(path, "an expected-scores file needs a top-level 'entries:' list.",
                     fix="entries: [{id: ..., dataset: ..., first_stage: ..., scores: ...}]")
    entries, seen = [], set()
    for i, raw in enumerate(data["entries"]):
        where = f"entries[{i}]"
        e = _check_keys(raw, _ENTRY_KEYS, where, path)
        for key in ("id", "dataset", "first_stage", "scores"):
            if key not in e:
                raise _error(path, f"{where} has no '{key}'.",
                             fix="each entry needs id, dataset, first_stage and scores")
        if e["id"] in seen:
            raise _error(path, f"{where}: id {e['id']!r} is used twice.", fix="make ids unique")
        seen.add(e["id"])
        scores = e["scores"]
        if not isinstance(scores, dict) or not scores:
            raise _error(path, f"{where}.scores must map metrics to expected scores.",
                         fix="scores: {ndcg@10: 0.6789}")
        # a NaN would pass every comparison: the check could not fail
        scores = {str(m): SCORE.check(v, f"{where}.scores.{m}", path=path,
                                      fix="scores: {ndcg@10: 0.6789} (finite, in [0, 1])")
                  for m, v in scores.items()}
        tol = TOLERANCE.check(e.get("tolerance", 1e-4), f"{where}.tolerance", path=path,
                              fix="tolerance: 1e-4")
        k = None if e.get("k") is None else COUNT.check(e["k"], f"{where}.k", path=path,
                                                          fix="k: 1000")
        reranker = None
        if e.get("reranker") is not None:
            reranker = parse_reranker({"name": e["reranker"].get("family", "?"), **e["reranker"]}
                                      if isinstance(e["reranker"], dict) else e["reranker"],
                                      f"{where}.reranker", path)
        entries.append(ExpectedEntry(
            id=str(e["id"]), dataset=str(e["dataset"]),
            first_stage=parse_first_stage(e["first_stage"], f"{where}.first_stage", path),
            reranker=reranker, k=k, scores=scores, tolerance=tol,
            ci=_flag(e.get("ci", False), f"{where}.ci", path), note=str(e.get("note") or "")))
    return entries


def load_expected(path: str | Path) -> list[ExpectedEntry]:
    path = Path(path)
    return parse_expected(load_yaml(path), path)


def check_expected(entries: list[ExpectedEntry], *, ci_only: bool = False,
                   only: list[str] | None = None, cache: bool | str | Path = True,
                   progress: bool = False, log: Any = print) -> list[CheckResult]:
    """Re-run the entries (cached pipeline) and compare with their expected scores."""
    from rankify_lite.evaluation import parse_metric
    from rankify_lite.leaderboard.lazy import LazyReranker
    from rankify_lite.pipeline import Pipeline

    say = log or (lambda _m: None)
    chosen = [e for e in entries if (e.ci or not ci_only) and (not only or e.id in only)]
    if only:
        unknown = sorted(set(only) - {e.id for e in entries})
        if unknown:
            raise InputError(f"no expected entry with id {unknown}.",
                             fix=f"use some of {[e.id for e in entries]}")
    from rankify_lite.leaderboard.inputs import Inputs, load_local

    inputs = Inputs()
    results: dict[str, CheckResult] = {}
    # --ci-only leaves the other entries out; those whose data is missing are still listed
    # (looked for on this machine only: a cheap check downloads nothing)
    skipped = [e for e in entries if ci_only and not e.ci and (not only or e.id in only)]
    local = Inputs(load_local)
    for e in skipped:
        try:
            gone = local.missing(e.dataset, e.first_stage.run,
                                 needs_corpus=e.first_stage.run is None)
        except InputError:
            continue  # a mistake in an entry not run: the full check reports it
        if gone is not None:
            results[e.id] = CheckResult(e, {}, missing=gone.line())
    for e in chosen:  # every input first: nothing is computed before all are found
        try:
            gone = inputs.missing(e.dataset, e.first_stage.run,
                                  needs_corpus=e.first_stage.run is None)
        except InputError as exc:
            results[e.id] = CheckResult(e, {}, {}, f"{type(exc).__name__}: {exc}")
            continue
        if gone is None:
            gone = next(filter(None, (inputs.missing_model(e.dataset, m)
                                      for m in _models_of(e))), None)
        if gone is not None:
            results[e.id] = CheckResult(e, {}, missing=gone.line())
    for e in chosen:
        if e.id in results:
            r = results[e.id]
            say(f"ERROR  {e.id}: {r.error}" if r.error else f"NOT RUN {e.id}: data missing")
            continue
        try:
            rerankers = [LazyReranker(e.reranker)] if e.reranker else []  # no model on a hit
            pipe = Pipeline(e.first_stage.build(), rerankers, depth=e.depth, k=e.k,
                            metrics=list(e.scores), cache=cache, progress=progress)
            res = pipe.run(inputs.dataset(e.dataset))
            final = res.comparison.evaluations[-1].mean
            got = {m: float(final[parse_metric(m).name]) for m in e.scores}
        except Exception as exc:  # a broken entry is a failure, not a crash of the whole check
            results[e.id] = CheckResult(e, {}, {}, f"{type(exc).__name__}: {exc}")
            say(f"ERROR  {e.id}: {type(exc).__name__}: {exc}")
            continue
        drift = {m: got[m] - v for m, v in e.scores.items() if abs(got[m] - v) > e.tolerance}
        results[e.id] = CheckResult(e, got, drift)
        status = "ok    " if not drift else "DRIFT "
        shown = ", ".join(f"{m} {got[m]:.4f} (expected {v:.4f})" for m, v in e.scores.items())
        say(f"{status} {e.id}: {shown}")
    return [results[e.id] for e in entries if e.id in results]


def _models_of(entry: ExpectedEntry) -> list[str]:
    """The model ids an entry loads: its first stage's ``model`` option and its reranker's model
    (the family's default when none is named)."""
    from rankify_lite.rerankers.registry import family_info
    from rankify_lite.retrievers.registry import RETRIEVERS

    fs = entry.first_stage
    preset = RETRIEVERS[fs.retriever][1] if fs.retriever in RETRIEVERS else {}
    models = [fs.options.get("model", preset.get("model"))]
    if entry.reranker is not None:
        models.append(entry.reranker.model or family_info(entry.reranker.family).default_model)
    return [m for m in models if isinstance(m, str) and m]


def failure_report(results: list[CheckResult]) -> str:
    """The loud message listing every drifted or broken entry, with its reproducing command
    (entries whose data is missing are not failures: :func:`missing_report` lists them)."""
    bad = [r for r in results if r.failed]
    if not bad:
        return ""
    ran = [r for r in results if r.status != "missing"]
    drifted = sum(r.status == "drifted" for r in bad)
    broken = len(bad) - drifted
    head = (f"{len(bad)} of {len(ran)} entries drifted" if not broken else
            f"{len(bad)} of {len(ran)} entries failed ({drifted} drifted, {broken} broken)")
    lines = [f"EXPECTED-SCORE CHECK FAILED: {head}:"]
    for r in bad:
        lines.append(f"  - {r.entry.id}:")
        if r.error:
            lines.append(f"      error: {r.error}")
        for m, d in r.drift.items():
            lines.append(f"      {m}: got {r.got[m]:.4f}, expected {r.entry.scores[m]:.4f} "
                         f"(off by {d:+.4f}, tolerance {r.entry.tolerance:g})")
        lines.append(f"      reproduce: {r.entry.command()}")
    return "\n".join(lines)


def missing_report(results: list[CheckResult]) -> str:
    """The entries that were not run because their data is not on this machine, each with why
    and how to get it (one line per distinct reason)."""
    gone = [r for r in results if r.status == "missing"]
    if not gone:
        return ""
    by_reason: dict[str, list[str]] = {}
    for r in gone:
        by_reason.setdefault(str(r.missing), []).append(r.entry.id)
    lines = [f"not run: data missing for {len(gone)} of {len(results)} entries:"]
    for reason, ids in by_reason.items():
        lines.append(f"  - {', '.join(ids)}: {reason}")
    return "\n".join(lines)


LLM_FAMILIES = ("first", "listwise", "pointwise")


def entries_from_leaderboard(result: Any, tolerance: float = 0.0005) -> dict[str, Any]:
    """An expected-scores document (see the module docstring) for every system of a finished
    leaderboard: its current scores become the expected ones. LLM entries get ``ci: false``."""
    config = result.config
    fs_specs = {(f.name, d.name): f for d in config.datasets for f in config.first_stages
                if f.applies_to(d.name)}
    rr_specs = {r.name: r for r in config.rerankers}
    from rankify_lite.systems import unique_ids

    pairs = [(d, s) for d in result.datasets for s in d.systems]
    ids = unique_ids([(config.name, d.label, s.system.slug) for d, s in pairs],
                     [[config.name, d.name, s.system.label] for d, s in pairs])
    entries = []
    for (d, s), entry_id in zip(pairs, ids, strict=True):
        fs = fs_specs[(s.first_stage, d.name)]
        entry: dict[str, Any] = {"id": entry_id, "dataset": d.name,
                                 "first_stage": fs.describe()}
        ci = True
        if s.reranker is not None:
            spec = rr_specs[s.reranker]
            entry["reranker"] = {**spec.describe(), "depth": s.depth}
            ci = spec.family not in LLM_FAMILIES
        if config.k is not None and fs.run is None:
            entry["k"] = config.k
        entry["scores"] = {m: round(float(s.mean[m]), 4) for m in s.mean}
        entry["tolerance"] = tolerance
        entry["ci"] = ci
        entries.append(entry)
    import json

    # fresh objects: entries sharing one options mapping were dumped with a YAML alias, which
    # load_expected (like every reader of shared files) refuses
    return {"title": f"expected scores of leaderboard {config.name!r} (written by the run)",
            "entries": json.loads(json.dumps(entries))}
