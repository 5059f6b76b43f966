"""Leaderboard configs (YAML): datasets x first stages x rerankers, validated with clear errors.

Schema (every key other than ``datasets`` and ``first_stages`` is optional)::

    name: main                         # output folder name (default: the file's stem)
    title: "..."                       # heading of table.md
    metrics: [ndcg@10, recall@100]     # first one is the main metric (plots, win/loss)
    depth: 100                         # candidates each reranker sees (per reranker: depth:)
    k: 1000                            # first-stage depth (default max(depth, 1000))
    test: t-test                       # or randomization; Holm-corrected (correction:)
    alpha: 0.05
    baseline: bm25                     # a first-stage or "first>>reranker" system name
    average: beir                      # optional: a BEIR-average column (leaderboard.beir_average)
    datasets:                          # names or folders, or {name: ..., label: ...}
      - {name: beir/scifact, label: SciFact}
      - trec-dl/dl19-passage
    first_stages:                      # retriever: a built-in (bm25, bm25-multifield, ...)
      - {name: bm25, retriever: bm25, datasets: [beir/scifact]}
      - {name: bm25, run: bm25.top100, datasets: [trec-dl/dl19-passage]}   # a shipped run
    rerankers:                         # family + model + options, as load_reranker takes them
      - {name: minilm, family: bi-encoder}
      - {name: first, family: first, model: HuggingFaceTB/SmolLM2-135M-Instruct, depth: 20,
         options: {window_size: 20, stride: 10}, datasets: [...], first_stages: [bm25]}
      - {name: ce, family: cross-encoder, depth: 100}
      - {name: ce-first, family: first, depth: 20, after: ce}   # a cascade: bm25 >> ce >> first

``datasets`` / ``first_stages`` inside an entry restrict where it applies (default: all).
``after: NAME`` makes an entry a cascade stage: it reranks the top ``depth`` of entry NAME's
output (itself possibly a cascade); the shared prefix is computed once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.file_policy import Consent, consent_of
from rankify_lite.io.files import inside
from rankify_lite.io.numbers import COUNT, PROBABILITY, Number
from rankify_lite.metric_defaults import DEFAULT_METRICS
from rankify_lite.names import check_name
from rankify_lite.systems import SystemId

_TOP_KEYS = {"name", "title", "metrics", "depth", "k", "test", "correction", "alpha", "baseline",
             "datasets", "first_stages", "rerankers", "note", "average"}
_FS_KEYS = {"name", "retriever", "run", "options", "datasets"}
_RR_KEYS = {"name", "family", "model", "options", "depth", "datasets", "first_stages",
            "after"}
_DS_KEYS = {"name", "label"}


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    label: str


@dataclass(frozen=True)
class FirstStageSpec:
    """A first stage: a built-in retriever (``retriever:``) or a run shipped with the dataset."""

    name: str
    retriever: str | None = None
    run: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    datasets: tuple[str, ...] | None = None

    def applies_to(self, dataset: str) -> bool:
        return self.datasets is None or dataset in self.datasets

    def build(self) -> Any:
        """What ``Pipeline`` takes as its first stage: ``"run:NAME"`` or a Retriever."""
        if self.run is not None:
            return f"run:{self.run}"
        from rankify_lite.retrievers.registry import build_retriever

        return build_retriever(self.retriever or "", **self.options)

    def describe(self) -> dict[str, Any]:
        return ({"run": self.run} if self.run is not None
                else {"retriever": self.retriever, **({"options": self.options}
                                                      if self.options else {})})


@dataclass(frozen=True)
class RerankerSpec:
    name: str
    family: str
    model: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    depth: int | None = None
    datasets: tuple[str, ...] | None = None
    first_stages: tuple[str, ...] | None = None
    after: str | None = None                   # the entry whose output this one reranks

    def applies_to(self, dataset: str, first_stage: str) -> bool:
        return ((self.datasets is None or dataset in self.datasets)
                and (self.first_stages is None or first_stage in self.first_stages))

    def build(self) -> Any:
        from rankify_lite.rerankers import load_reranker

        return load_reranker(self.family, model=self.model, **self.options)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"family": self.family}
        if self.model:
            out["model"] = self.model
        if self.options:
            out["options"] = self.options
        return out


def chain_of(entry: RerankerSpec, entries: tuple[RerankerSpec, ...]) -> list[RerankerSpec]:
    """The entries a cascade entry runs, first applied first (``after:`` followed back)."""
    by_name = {e.name: e for e in entries}
    chain = [entry]
    while chain[0].after is not None:
        chain.insert(0, by_name[chain[0].after])
    return chain


@dataclass(frozen=True)
class LeaderboardConfig:
    name: str
    title: str
    path: Path | None
    datasets: tuple[DatasetSpec, ...]
    first_stages: tuple[FirstStageSpec, ...]
    rerankers: tuple[RerankerSpec, ...]
    metrics: tuple[str, ...] = DEFAULT_METRICS
    depth: int = 100
    k: int | None = None
    test: str = "t-test"
    correction: str = "holm"
    alpha: float = 0.05
    baseline: str | None = None
    note: str = ""
    average: str | None = None                 # "beir": the summary's BEIR-average column

    @property
    def main_metric(self) -> str:
        return self.metrics[0]

    def only_datasets(self, names: list[str]) -> LeaderboardConfig:
        """The same config restricted to ``names`` (a dataset's name or label, config order
        kept); an unknown name is refused with the list of the config's datasets."""
        import dataclasses

        wanted = [n.strip() for n in names if n.strip()]
        known = {d.name for d in self.datasets} | {d.label for d in self.datasets}
        bad = [n for n in wanted if n not in known]
        if bad or not wanted:
            raise InputError(f"--datasets {','.join(bad) or '(empty)'}: not a dataset of "
                             f"{self.path or self.name}.",
                             fix="use some of " + ", ".join(d.name for d in self.datasets))
        keep = tuple(d for d in self.datasets if d.name in wanted or d.label in wanted)
        return dataclasses.replace(self, datasets=keep)

    def output_dir(self) -> Path:
        """Outputs go beside the config: ``leaderboards/main.yaml`` -> ``leaderboards/main/``."""
        base = self.path.parent if self.path is not None else Path.cwd()
        return inside(base, self.name, "the leaderboard's output folder")


def _error(path: Path | None, problem: str, fix: str) -> InputError:
    return InputError(problem, path=str(path) if path else None, fix=fix)


def _names(value: Any, where: str, path: Path | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _error(path, f"{where} must be a list of names, got {value!r}.",
                     fix=f"e.g. {where}: [beir/scifact]")
    return tuple(value)


def _check_keys(entry: Any, allowed: set[str], where: str, path: Path | None) -> dict:
    if not isinstance(entry, dict):
        raise _error(path, f"{where} must be a mapping, got {entry!r}.",
                     fix=f"write it as {{name: ..., ...}}; allowed keys: {sorted(allowed)}")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        import difflib

        hints = [f"{u!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(
            u, allowed, n=1)) else repr(u) for u in unknown]
        raise _error(path, f"unknown key {', '.join(hints)} in {where}.",
                     fix=f"allowed keys: {', '.join(sorted(allowed))}")
    return entry


def _text(entry: dict, key: str, where: str, path: Path | None) -> str | None:
    """``entry[key]`` when it is text (or absent); a number, list or mapping is refused."""
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise _error(path, f"{where}.{key} must be text, got {type(value).__name__} "
                     f"{str(value)[:60]!r}.", fix=f"quote it: {key}: \"...\"")
    return value


def _number(entry: dict, key: str, kind: Number, where: str, path: Path | None,
            example: str, meaning: str = "") -> Any:
    """``entry[key]`` read by the one number rule (rankify_lite.io.numbers), None if absent."""
    value = entry.get(key)
    if value is None:
        return None
    name = (key if where == "the config" else f"{where}.{key}") + meaning
    return kind.check(value, name, path=path, fix=f"{key}: {example}")


def _untrusted(kind: str, family: str, options: dict, where: str, path: Path | None,
               consent: Consent) -> None:
    """The options a shared file gives a component must be on its class's allow-list
    (rankify_lite.file_policy; checked by rankify_lite.pipeline.trust)."""
    from rankify_lite.pipeline.trust import check_component

    try:
        check_component(kind, family, options, where, consent=consent)
    except InputError as exc:
        raise _error(path, exc.problem, exc.fix or "") from None


def parse_first_stage(entry: Any, where: str, path: Path | None,
                      trust_remote_code: bool = False, *,
                      consent: Consent | None = None) -> FirstStageSpec:
    entry = _check_keys(entry, _FS_KEYS, where, path)
    for key in ("name", "retriever", "run"):
        _text(entry, key, where, path)
    if ("retriever" in entry) == ("run" in entry):
        raise _error(path, f"{where} needs exactly one of 'retriever' or 'run'.",
                     fix="retriever: bm25 (built in) or run: bm25.top100 (shipped with the data)")
    options = entry.get("options") or {}
    if not isinstance(options, dict):
        raise _error(path, f"{where}.options must be a mapping.", fix="options: {k1: 0.9}")
    if "retriever" in entry:
        from rankify_lite.retrievers.registry import RETRIEVERS

        if entry["retriever"] not in RETRIEVERS:
            raise _error(path, f"{where}: unknown retriever {entry['retriever']!r}.",
                         fix=f"use one of {', '.join(RETRIEVERS)}, or run: NAME for a shipped run")
        _untrusted("retriever-name", entry["retriever"], options, f"{where}.options", path,
                   consent_of(consent, trust_remote_code))
    else:
        _untrusted("first-stage", "shipped-run", options, f"{where}.options", path,
                   consent_of(consent, trust_remote_code))
    default = entry.get("retriever") or entry.get("run")
    return FirstStageSpec(check_name(entry.get("name") or default, f"{where}.name", path=path,
                                     example="name: bm25"), entry.get("retriever"),
                          entry.get("run"), dict(options),
                          _names(entry.get("datasets"), f"{where}.datasets", path))


def parse_reranker(entry: Any, where: str, path: Path | None,
                   check_family: bool = True, trust_remote_code: bool = False, *,
                   consent: Consent | None = None) -> RerankerSpec:
    entry = _check_keys(entry, _RR_KEYS, where, path)
    for key in ("name", "family", "model"):
        _text(entry, key, where, path)
    if "family" not in entry:
        raise _error(path, f"{where} has no 'family'.",
                     fix="e.g. family: bi-encoder (list them with 'rankify-lite rerankers')")
    if check_family:
        from rankify_lite.rerankers.registry import family_info

        try:
            family_info(entry["family"])
        except InputError as exc:
            raise _error(path, f"{where}: {exc.problem}", fix=exc.fix or "") from None
    options = entry.get("options") or {}
    if not isinstance(options, dict):
        raise _error(path, f"{where}.options must be a mapping.", fix="options: {window_size: 20}")
    own = sorted(set(options) & {"model", "name", "depth"})  # keys of the entry itself
    if own:
        raise _error(path, f"{where}.options.{own[0]} is a key of the entry, not an option.",
                     fix=f"write '{own[0]}:' beside 'family:', not under 'options:'.")
    _untrusted("reranker", entry["family"], {**options, "model": entry.get("model")}, where,
               path, consent_of(consent, trust_remote_code))
    if check_family:
        _check_reranker_options(entry["family"], options, where, path)
    depth = _number(entry, "depth", COUNT, where, path, "20")
    after = entry.get("after")
    if after is not None and not isinstance(after, str):
        raise _error(path, f"{where}.after must be the name of another reranker entry, got "
                     f"{after!r}.", fix="e.g. after: ce")
    return RerankerSpec(check_name(entry.get("name") or entry["family"], f"{where}.name",
                                   path=path, example="name: ce-l12"), entry["family"],
                        entry.get("model"), dict(options), depth,
                        _names(entry.get("datasets"), f"{where}.datasets", path),
                        _names(entry.get("first_stages"), f"{where}.first_stages", path), after)


def system_of(first_stage: str, entry: RerankerSpec, entries: tuple[RerankerSpec, ...],
              default_depth: int | None = None) -> SystemId:
    """The system an entry names on a first stage (a cascade entry: its whole chain)."""
    sid = SystemId(first_stage)
    for e in chain_of(entry, entries):
        sid = sid.then(e.name, e.depth or default_depth)
    return sid


def _check_cascades(rerankers: tuple[RerankerSpec, ...], path: Path | None) -> None:
    names = {r.name for r in rerankers}
    for i, r in enumerate(rerankers):
        if r.after is not None and r.after not in names:
            raise _error(path, f"rerankers[{i}] ({r.name}) reranks after {r.after!r}, which is "
                         "not a reranker entry.", fix=f"use one of {sorted(names)}")
        seen, cur = {r.name}, r
        while cur.after is not None:
            if cur.after in seen:
                raise _error(path, f"rerankers[{i}] ({r.name}): its 'after:' entries form a "
                             f"loop through {cur.after!r}.", fix="a cascade must end at a "
                             "reranker without 'after:'.")
            seen.add(cur.after)
            cur = next(e for e in rerankers if e.name == cur.after)


def _check_reranker_options(family: str, options: dict, where: str, path: Path | None) -> None:
    """Unknown options are refused for every family (before anything loads)."""
    from rankify_lite.rerankers.registry import family_info
    from rankify_lite.spec import check_options

    info = family_info(family)
    if info.missing():
        return  # the run says which extra is missing
    try:
        check_options(info.cls(), options, f"{where} ({family})",
                      extra=(*info.options, "ties", "model"))
    except InputError as exc:
        raise _error(path, exc.problem, exc.fix or "") from None


def parse_config(data: Any, path: Path | None = None,
                 trust_remote_code: bool = False, *,
                 consent: Consent | None = None) -> LeaderboardConfig:
    """Validate a loaded YAML mapping; every error names the file and the bad key. The file is
    untrusted data: every component option must be on its class's allow-list
    (rankify_lite.file_policy): remote code needs ``trust_remote_code`` (the command line's
    ``--trust-remote-code``), a server address needs the user's ``consent``
    (``--allow-server URL``, or the address configured in the environment), options that write
    files or take live objects are refused."""
    data = _check_keys(data, _TOP_KEYS, "the config", path)
    for key in ("name", "title", "note", "baseline", "test", "correction", "average"):
        _text(data, key, "the config", path)
    for key in ("datasets", "first_stages"):
        if not data.get(key):
            raise _error(path, f"missing or empty '{key}'.", fix=f"add a non-empty list '{key}:'")
    datasets = []
    for i, d in enumerate(data["datasets"]):
        if isinstance(d, str):
            d = {"name": d}
        d = _check_keys(d, _DS_KEYS, f"datasets[{i}]", path)
        for key in ("name", "label"):
            _text(d, key, f"datasets[{i}]", path)
        if "name" not in d:
            raise _error(path, f"datasets[{i}] has no name.", fix="{name: beir/scifact}")
        datasets.append(DatasetSpec(str(d["name"]), str(d.get("label") or d["name"])))
    consent = consent_of(consent, trust_remote_code)
    first = tuple(parse_first_stage(e, f"first_stages[{i}]", path, consent=consent)
                  for i, e in enumerate(data["first_stages"]))
    rerankers = tuple(parse_reranker(e, f"rerankers[{i}]", path, consent=consent)
                      for i, e in enumerate(data.get("rerankers") or []))
    ds_names = {d.name for d in datasets}
    for where, specs in (("first_stages", first), ("rerankers", rerankers)):
        for i, s in enumerate(specs):
            bad = sorted(set(s.datasets or ()) - ds_names)
            if bad:
                raise _error(path, f"{where}[{i}] ({s.name}) names datasets {bad} that are not "
                             "in 'datasets'.", fix=f"use some of {sorted(ds_names)}")
    fs_names = {f.name for f in first}
    _check_cascades(rerankers, path)
    for i, r in enumerate(rerankers):
        bad = sorted(set(r.first_stages or ()) - fs_names)
        if bad:
            raise _error(path, f"rerankers[{i}] ({r.name}) names first stages {bad} that are "
                         "not in 'first_stages'.", fix=f"use some of {sorted(fs_names)}")
    for d in ds_names:  # system names must be unique per dataset
        names = [f.name for f in first if f.applies_to(d)]
        dup = {n for n in names if names.count(n) > 1}
        rnames = [r.name for r in rerankers if r.datasets is None or d in r.datasets]
        dup |= {n for n in rnames if rnames.count(n) > 1}
        if dup:
            raise _error(path, f"names {sorted(dup)} are used twice on dataset {d!r}.",
                         fix="give each first stage / reranker its own 'name:'")
    metrics = data.get("metrics") or list(DEFAULT_METRICS)
    if isinstance(metrics, str):
        metrics = [metrics]
    from rankify_lite.evaluation import parse_metric

    for m in metrics:
        try:
            parse_metric(m)
        except (InputError, ValueError) as exc:
            raise _error(path, f"metrics: {m!r} is not a metric ({exc}).",
                         fix="e.g. metrics: [ndcg@10, recall@100, map@1000]") from None
    depth = _number(data, "depth", COUNT, "the config", path, "100") or 100
    k = _number(data, "k", COUNT, "the config", path, "1000, or leave it out for max(depth, "
                "1000)", " (the first-stage depth)")
    alpha = _number(data, "alpha", PROBABILITY, "the config", path, "0.05")
    baseline = data.get("baseline")
    if baseline is not None:
        valid = fs_names | {system_of(f, r, rerankers).label for f in fs_names for r in rerankers}
        if baseline not in valid:
            raise _error(path, f"baseline {baseline!r} is not a system of this leaderboard.",
                         fix=f"use one of {sorted(valid)}")
    if data.get("average") not in (None, "beir"):
        raise _error(path, f"average {data['average']!r} is unknown.",
                     fix="average: beir (CQADupStack's forums first, then the datasets), or "
                         "leave it out")
    test = data.get("test", "t-test")
    if test not in ("t-test", "randomization"):
        raise _error(path, f"test {test!r} is unknown.", fix="test: t-test or randomization")
    name = check_name(data.get("name") or (path.stem if path else "leaderboard"),
                      "the leaderboard name" if data.get("name") else "the file's stem (the "
                      "leaderboard name)", path=path, folder=True, example="name: main")
    return LeaderboardConfig(name=name, title=str(data.get("title") or f"Leaderboard: {name}"),
                             path=path, datasets=tuple(datasets), first_stages=first,
                             rerankers=rerankers, metrics=tuple(metrics), depth=depth,
                             k=k, test=test,
                             correction=str(data.get("correction", "holm")),
                             alpha=0.05 if alpha is None else alpha, baseline=baseline,
                             note=str(data.get("note") or ""), average=data.get("average"))


def load_yaml(path: str | Path) -> Any:
    from rankify_lite.io.yaml_file import load_yaml_file

    return load_yaml_file(path, "leaderboard config")


def load_config(path: str | Path, trust_remote_code: bool = False, *,
                consent: Consent | None = None) -> LeaderboardConfig:
    """Read and validate a leaderboard YAML file (untrusted data, see :func:`parse_config`);
    ``consent``: what the user allowed it (``--allow-server``, ``--trust-remote-code``)."""
    path = Path(path)
    return parse_config(load_yaml(path), path.resolve(), consent=consent_of(
        consent, trust_remote_code))
