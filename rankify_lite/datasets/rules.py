"""Collection rules as data: how a collection is evaluated, never guessed from its name.

A :class:`CollectionRules` holds the relevance level of binary metrics, BEIR's self-hit rule,
the default metrics and split, and where the published numbers come from. :func:`resolve_rules`
finds them, first match wins:

1. ``collection.yaml`` in the dataset folder (schema: docs/concepts/datasets.md, "Collection rules");
2. the table of known collections (``collections.yaml`` beside this module) by **exact** name:
   an entry's key, one of its ``names`` (ir_datasets ids, short names, data-directory folders),
   or the folder's ``parent/name`` or ``name``;
3. the same table by content: the fingerprint of the split's judged query ids, so a renamed copy
   of DL19 is still evaluated as DL19;
4. the documented defaults.

Whatever the route, one collection gets one set of rules, so by path or by name it gives one number.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.metric_defaults import PIPELINE_METRICS

TABLE_PATH = Path(__file__).resolve().parent / "collections.yaml"
METADATA_FILE = "collection.yaml"
_FIELDS = ("rel_level", "self_hits", "metrics", "split", "convention", "published")


@dataclass(frozen=True)
class CollectionRules:
    """How one collection is evaluated (immutable)."""

    collection: str = ""              # canonical collection key, "" when unknown
    rel_level: int = 1                # binary metrics count grade >= rel_level
    self_hits: str = "keep"           # "remove": a query never retrieves its own id (BEIR)
    metrics: tuple[str, ...] = PIPELINE_METRICS
    split: str = "test"
    convention: str = ""
    published: str = ""
    source: str = "defaults"          # where these rules came from

    @property
    def remove_self_hits(self) -> bool:
        return self.self_hits == "remove"

    def describe(self) -> str:
        """One line for users: which rules applied and why."""
        level = (f"binary metrics count grade >= {self.rel_level}"
                 f" ({self.convention or 'default'})")
        hits = ("documents whose id equals the query id are removed" if self.remove_self_hits
                else "self-hits kept")
        return f"{level}; {hits}; rules: {self.source}"

    def as_dict(self) -> dict[str, Any]:
        return {"collection": self.collection, "rel_level": self.rel_level,
                "self_hits": self.self_hits, "metrics": list(self.metrics), "split": self.split,
                "convention": self.convention, "published": self.published,
                "source": self.source, "summary": self.describe()}


def _check(values: Mapping[str, Any], where: str | Path) -> dict[str, Any]:
    """Validated rule fields from a mapping (unknown keys, wrong types: InputError)."""
    out: dict[str, Any] = {}
    allowed = (*_FIELDS, "collection", "names", "qids_sha256", "group", "name")
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise InputError(f"unknown key(s) {unknown} in collection rules.", path=where,
                         fix=f"use only {list(_FIELDS) + ['collection']}.")
    if "rel_level" in values:
        lv = values["rel_level"]
        if not isinstance(lv, int) or isinstance(lv, bool) or lv < 0:
            raise InputError(f"rel_level must be a whole number >= 0, got {lv!r}.", path=where,
                             fix="e.g. 'rel_level: 2' for TREC DL.")
        out["rel_level"] = lv
    if "self_hits" in values:
        sh = values["self_hits"]
        if sh not in ("remove", "keep"):
            raise InputError(f"self_hits must be 'remove' or 'keep', got {sh!r}.", path=where,
                             fix="'remove' only for BEIR-style sets whose query ids are doc ids.")
        out["self_hits"] = sh
    if "metrics" in values:
        ms = values["metrics"]
        if isinstance(ms, str):
            ms = [ms]
        if not isinstance(ms, list) or not ms or not all(isinstance(m, str) for m in ms):
            raise InputError("metrics must be a non-empty list of metric names.", path=where,
                             fix="e.g. 'metrics: [ndcg@10, recall@100]'.")
        from rankify_lite.evaluation.metrics import parse_metric

        for m in ms:
            try:
                parse_metric(m)
            except InputError as exc:
                raise InputError(exc.problem, path=where, fix=exc.fix) from None
        out["metrics"] = tuple(ms)
    for key in ("split", "convention", "published"):
        if key in values:
            if not isinstance(values[key], str):
                raise InputError(f"{key} must be text, got {values[key]!r}.", path=where,
                                 fix=f"quote the value of '{key}'.")
            out[key] = values[key]
    return out


@functools.lru_cache(maxsize=1)
def _table() -> tuple[CollectionRules, dict[str, CollectionRules], dict[str, str], dict[str, str]]:
    """(defaults, key -> rules, exact name -> key, qids fingerprint -> key)."""
    from rankify_lite.io.yaml_file import load_yaml_file

    data = load_yaml_file(TABLE_PATH, "collection table")
    defaults = CollectionRules(**_check(data["defaults"], TABLE_PATH), source="defaults")
    groups = {g: _check(v, TABLE_PATH) for g, v in data.get("groups", {}).items()}
    rules: dict[str, CollectionRules] = {}
    names: dict[str, str] = {}
    prints: dict[str, str] = {}
    for key, entry in data["collections"].items():
        fields = {**groups.get(entry.get("group", ""), {}), **_check(entry, TABLE_PATH)}
        rules[key] = replace(defaults, collection=key, source=f"known collection {key!r}",
                             **fields)
        for name in (key, *entry.get("names", ())):
            if name in names and names[name] != key:
                raise InputError(f"name {name!r} belongs to two collections.", path=TABLE_PATH,
                                 fix="give every name to one collection.")
            names[name] = key
        if entry.get("qids_sha256"):
            prints[str(entry["qids_sha256"])] = key
    return defaults, rules, names, prints


def default_rules() -> CollectionRules:
    return _table()[0]


def known_collections() -> dict[str, CollectionRules]:
    return dict(_table()[1])


def lookup(name: str) -> CollectionRules | None:
    """Rules of a known collection by exact name (key, alias or ir_datasets id), else None."""
    _, rules, names, _ = _table()
    key = names.get(name.strip("/"))
    return rules[key] if key else None


def qids_fingerprint(qids: Iterable[str]) -> str:
    """First 16 hex of sha256 over the sorted query ids joined by newlines."""
    return hashlib.sha256("\n".join(sorted(qids)).encode("utf-8")).hexdigest()[:16]


def lookup_fingerprint(qids: Iterable[str]) -> CollectionRules | None:
    _, rules, _, prints = _table()
    key = prints.get(qids_fingerprint(qids))
    return replace(rules[key], source=f"known collection {key!r} (matched by its query ids)") \
        if key else None


def read_metadata(folder: Path) -> CollectionRules | None:
    """Rules from ``folder/collection.yaml``, or None when the folder has none."""
    from rankify_lite.io.yaml_file import load_yaml_file

    path = folder / METADATA_FILE
    if not path.exists():
        return None
    data = load_yaml_file(path, "collection metadata")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError("collection metadata must be a YAML mapping.", path=path,
                         fix="write keys such as 'rel_level: 2' and 'self_hits: keep'.")
    base = default_rules()
    if "collection" in data:
        known = lookup(str(data["collection"]))
        if known is None:
            raise InputError(f"unknown collection {data['collection']!r}.", path=path,
                             fix="name a known collection (rankify-lite datasets --collections) "
                                 "or drop the key and give the rules themselves.")
        base = known
    fields = _check({k: v for k, v in data.items() if k != "collection"}, path)
    return replace(base, source=str(path), **fields)


def resolve_rules(names: Iterable[str], folder: Path | None = None,
                  qids: Iterable[str] | None = None) -> CollectionRules:
    """The rules of a dataset; see the module docstring for the order."""
    if folder is not None:
        meta = read_metadata(folder)
        if meta is not None:
            return meta
    for name in names:
        if name:
            found = lookup(name)
            if found is not None:
                return found
    if qids is not None:
        found = lookup_fingerprint(qids)
        if found is not None:
            return found
    return default_rules()
