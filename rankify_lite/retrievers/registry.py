"""Retriever names for the CLI and for rebuilding a retriever from a run's metadata."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from rankify_lite.errors import InputError

# name -> ("module:Class", preset options)
RETRIEVERS: dict[str, tuple[str, dict[str, Any]]] = {
    "bm25": ("rankify_lite.retrievers.bm25:BM25", {}),
    "bm25-multifield": ("rankify_lite.retrievers.bm25:BM25", {"fields": "multifield"}),
    "bm25s": ("rankify_lite.retrievers.bm25:BM25", {"backend": "bm25s"}),
    "dense": ("rankify_lite.retrievers.dense:Dense", {}),
    "splade": ("rankify_lite.retrievers.splade:Splade", {}),
}
# spec / config() family -> class (the presets above are names for the CLI, not families)
FAMILIES: dict[str, str] = {
    "bm25": "rankify_lite.retrievers.bm25:BM25",
    "dense": "rankify_lite.retrievers.dense:Dense",
    "splade": "rankify_lite.retrievers.splade:Splade",
    "fusion": "rankify_lite.retrievers.fusion:Fusion",
}
# first stages that are runs, not retrievers
RUN_FAMILIES: dict[str, str] = {
    "shipped-run": "rankify_lite.retrievers.runs:ShippedRun",
    "run-file": "rankify_lite.retrievers.runs:RunFile",
    "given-run": "rankify_lite.retrievers.runs:GivenRun",
}


def _load(target: str):
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def build_retriever(name: str, **options: Any):
    """``build_retriever("bm25")``, ``build_retriever("dense", model="org/name")``."""
    if name not in RETRIEVERS:
        raise InputError(f"unknown retriever {name!r}.",
                         fix=f"use one of: {', '.join(RETRIEVERS)}, or run:<name> for a run "
                             "shipped with the dataset.")
    target, preset = RETRIEVERS[name]
    return _load(target)(**{**preset, **options})


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
    cls = _load(table[family])
    check_options(cls, options, f"{kind} {family!r}")
    return cls(**options)


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
    return cls(**accepted_options(cls, config))
