"""Stage names: unique within a pipeline, given (``name=``) or derived from what differs.

A reranker alone is named by its family (``cross-encoder``). Two rerankers of one family are
told apart by the model's short id when their models differ
(``cross-encoder(ms-marco-MiniLM-L6-v2)`` / ``cross-encoder(ms-marco-MiniLM-L12-v2)``), then by
the options whose values differ (``bi-encoder`` / ``bi-encoder(batch_size=8,max_length=32)``).
Rerankers with the same spec and config are one stage (same outputs, same cache key) and share
a name. Two different rerankers that still end up with one name are an error naming both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from rankify_lite.errors import InputError


def _identity(reranker: Any) -> str:
    spec = reranker.spec().as_dict()
    return json.dumps([type(reranker).__name__, reranker.given_name, spec,
                       reranker.config()], sort_keys=True, default=str)


def _short_model(model: Any, parts: int = 1) -> str:
    text = str(model).rstrip("/\\").replace("\\", "/")
    return "_".join(text.split("/")[-parts:])


def _value(v: Any, longest: int = 24) -> str:
    """An option value as a derived name shows it, within the name rule (rankify_lite.names):
    ``>>`` is spaced out, characters that are not printable are escaped, and a long value is
    cut and told apart by a short hash of the whole value."""
    text = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), sort_keys=True)
    if not text.isprintable():
        text = json.dumps(text)[1:-1]
    text = text.replace(">>", "> >")
    if len(text) > longest:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        text = f"{text[:longest - 9]}~{digest}"
    return text


def _describe(reranker: Any) -> str:
    spec = reranker.spec()
    opts = dict(spec.options)
    return f"{spec.family} {json.dumps(opts, default=str)[:120]}"


def _derived(members: list[Any], family: str) -> list[str]:
    """Names for several rerankers of one family: the model's short id (if models differ),
    then the options whose values differ."""
    options = [dict(m.spec().options) for m in members]
    models = [o.get("model") for o in options]
    parts: list[list[str]] = [[] for _ in members]
    if len({json.dumps(m, default=str) for m in models}) > 1:
        for n in (1, 2, 3):
            shorts = [_short_model(m, n) if m is not None else "default" for m in models]
            if len(set(shorts)) == len({json.dumps(m, default=str) for m in models}):
                break
        for p, s in zip(parts, shorts, strict=True):
            p.append(s)
    keys = sorted({k for o in options for k in o if k != "model"})
    for key in keys:
        values = [json.dumps(o.get(key, "\0absent"), sort_keys=True, default=str)
                  for o in options]
        if len(set(values)) > 1:
            for p, o in zip(parts, options, strict=True):
                if key in o:
                    p.append(f"{key}={_value(o[key])}")
    return [f"{family}({','.join(p)})" if p else family for p in parts]


def stage_names(rerankers: Sequence[Any]) -> dict[int, str]:
    """``{id(reranker): name}`` for every reranker of a pipeline (see the module docstring)."""
    unique: dict[str, Any] = {}
    alias: dict[int, str] = {}
    for r in rerankers:
        ident = _identity(r)
        unique.setdefault(ident, r)
        alias[id(r)] = ident
    names: dict[str, str] = {}
    by_family: dict[str, list[str]] = {}
    for ident, r in unique.items():
        if r.given_name:
            names[ident] = r.given_name
        else:
            by_family.setdefault(r.family or r.spec().family, []).append(ident)
    for family, idents in by_family.items():
        members = [unique[i] for i in idents]
        derived = [family] if len(members) == 1 else _derived(members, family)
        names.update(zip(idents, derived, strict=True))
    seen: dict[str, str] = {}
    for ident, name in names.items():
        if name in seen:
            a, b = unique[seen[name]], unique[ident]
            raise InputError(
                f"two different rerankers of this pipeline are both named {name!r}: "
                f"{_describe(a)} and {_describe(b)}.",
                fix="give one of them its own name: load_reranker(..., name='...') or "
                    "reranker.named('...').")
        seen[name] = ident
    return {rid: names[ident] for rid, ident in alias.items()}
