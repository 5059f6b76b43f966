"""The first-stage registry: explicit family keys -> lazily imported classes, one line each.

The same ``register()`` style as the reranker registry: a family (what a spec and ``config()``
name: ``bm25``, ``dense``, ...; or a run first stage: ``shipped-run``, ...) with the CLI names
that build it (``bm25-multifield`` is ``bm25`` with ``fields="multifield"``).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.registry import Registry, View, did_you_mean, import_target


@dataclass(frozen=True)
class FirstStageInfo:
    """One registered first-stage family: ``key`` (what a spec and ``config()`` name),
    ``target`` ("module:Class", imported on first use), ``kind`` ("retriever" or "first-stage"
    for runs), and the CLI names that build it (``presets``: name -> preset options)."""

    key: str
    target: str
    kind: str
    presets: Mapping[str, Mapping[str, Any]]
    description: str = ""

    def cls(self) -> type:
        return import_target(self.target)


#: family key -> FirstStageInfo (rankify_lite.registry: one type for every registry); the
#: tables below are views of it, computed on each use
_REGISTRY: Registry[FirstStageInfo] = Registry("first-stage family")
_load = import_target  # "module:Class" -> the class (pipeline/trust.py reads it)

#: CLI / leaderboard name -> ("module:Class", preset options)
RETRIEVERS: Mapping[str, tuple[str, dict[str, Any]]] = View(lambda: {
    n: (i.target, dict(o)) for i in _REGISTRY.values() for n, o in i.presets.items()})
#: spec / config() family -> "module:Class", retrievers and runs
FAMILIES: Mapping[str, str] = View(lambda: {
    k: i.target for k, i in _REGISTRY.items() if i.kind == "retriever"})
RUN_FAMILIES: Mapping[str, str] = View(lambda: {
    k: i.target for k, i in _REGISTRY.items() if i.kind == "first-stage"})


def register(key: str, target: str, *, kind: str = "retriever",
             presets: Mapping[str, Mapping[str, Any]] | None = None,
             description: str = "") -> None:
    """One line per first-stage family, as the reranker registry does it. ``presets``: the
    names ``build_retriever`` / ``--retriever`` take (default: the key itself, no options)."""
    if key in _REGISTRY:  # first: a second registration is named as such, not by its presets
        raise ValueError(f"first-stage family {key!r} is registered twice")
    if kind not in ("retriever", "first-stage"):
        raise ValueError(f"first-stage family {key!r}: kind {kind!r} is unknown")
    names = dict(presets) if presets is not None else ({key: {}} if kind == "retriever" else {})
    for name in names:
        if name in RETRIEVERS:
            raise ValueError(f"retriever name {name!r} is registered twice")
    info = FirstStageInfo(key, target, kind, MappingProxyType(
        {n: MappingProxyType(dict(o)) for n, o in names.items()}), description)
    _REGISTRY.register(key, info)


def build_retriever(name: str, **options: Any):
    """``build_retriever("bm25")``, ``build_retriever("dense", model="org/name")``."""
    if name not in RETRIEVERS:
        close = did_you_mean(name, RETRIEVERS)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise InputError(f"unknown retriever {name!r}.{hint}",
                         fix=f"use one of: {', '.join(RETRIEVERS)}, or run:<name> for a run "
                             "shipped with the dataset.")
    from rankify_lite.spec import check_options

    target, preset = RETRIEVERS[name]
    cls = _load(target)
    merged = {**preset, **options}
    check_options(cls, merged, f"retriever {name!r}")
    return cls(**merged)


def accepted_options(cls, config: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``config`` that ``cls.__init__`` accepts as keyword arguments."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return {k: v for k, v in config.items() if k != "family"}
    return {k: v for k, v in config.items() if k in params and k != "self"}


def build_component(kind: str, family: str, options: dict[str, Any]):
    """A retriever or run first stage from its saved spec (see rankify_lite.spec)."""
    from rankify_lite.spec import check_options

    table = FAMILIES if kind == "retriever" else RUN_FAMILIES
    if family not in table:
        raise InputError(f"the saved spec names an unknown {kind} family {family!r}.",
                         fix=f"use one of {', '.join(table)} (or a rankify-lite version "
                             "that has it).")
    from rankify_lite.spec import with_legacy_defaults

    cls = _load(table[family])
    check_options(cls, options, f"{kind} {family!r}")
    return cls(**with_legacy_defaults(cls, options))


def retriever_from_config(config: dict[str, Any]):
    """Rebuild a retriever from the ``config()`` recorded by results saved before specs were
    (newer results rebuild from their ``first_stage`` spec)."""
    family = config.get("family")
    if family not in FAMILIES:
        raise InputError(f"metadata names an unknown retriever family {family!r}.",
                         fix="rerun with a rankify-lite version that has it.")
    cls = _load(FAMILIES[family])
    if family == "fusion":
        subs = [retriever_from_config(c) for c in config.get("retrievers", [])]
        return cls(subs, **accepted_options(cls, {k: v for k, v in config.items()
                                                  if k != "retrievers"}))
    from rankify_lite.spec import with_legacy_defaults

    return cls(**with_legacy_defaults(cls, accepted_options(cls, config)))


# ---- the families (one line each) ------------------------------------------------------------
register("bm25", "rankify_lite.retrievers.bm25:BM25",
         presets={"bm25": {}, "bm25-multifield": {"fields": "multifield"},
                  "bm25s": {"backend": "bm25s"}},
         description="BM25: Lucene through pyserini (flat or multifield), or Java-free bm25s")
register("dense", "rankify_lite.retrievers.dense:Dense", description="dense bi-encoder + faiss")
register("splade", "rankify_lite.retrievers.splade:Splade", description="SPLADE sparse")
register("fusion", "rankify_lite.retrievers.fusion:Fusion", presets={},
         description="rank fusion of several retrievers (RRF, CombSUM, ...)")
register("reranker-feedback", "rankify_lite.retrievers.feedback:RerankerFeedback", presets={},
         description="dense first stage + reranker relevance feedback on the query vector")
register("shipped-run", "rankify_lite.retrievers.runs:ShippedRun", kind="first-stage",
         description="a run shipped with the dataset ('run:NAME')")
register("run-file", "rankify_lite.retrievers.runs:RunFile", kind="first-stage",
         description="a TREC run file")
register("given-run", "rankify_lite.retrievers.runs:GivenRun", kind="first-stage",
         description="a Run object passed in Python")
