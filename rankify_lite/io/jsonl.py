"""BEIR-style JSONL corpora and queries, with errors that name the line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from rankify_lite.errors import InputError
from rankify_lite.io.files import iter_lines
from rankify_lite.types import Corpus, Document, Queries, Query

_SURROGATE = re.compile("[\ud800-\udfff]")


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for every non-blank line."""
    for lineno, line in iter_lines(path, "JSONL file"):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON ({exc.msg} at column {exc.colno}).",
                             path=path, line=lineno,
                             fix="make every line one complete JSON object.") from None
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object per line.", path=path, line=lineno,
                             fix='write lines like {"_id": "d1", "text": "..."}.')
        bad = next((k for k, v in obj.items() if _has_surrogate(k) or _has_surrogate(v)), None)
        if bad is not None:
            raise InputError(f"field {bad!r} holds a lone surrogate escape (e.g. \"\\ud800\"), "
                             "which is not a character and can't be encoded.", path=path,
                             line=lineno, fix="replace the escape with the character it stands "
                             "for (or a valid surrogate pair), or remove it.")
        yield lineno, obj


def _has_surrogate(value: object) -> bool:
    """True for text holding a lone UTF-16 surrogate (only a JSON escape can put one there)."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _id_of(obj: dict, path, lineno: int) -> str:
    for key in ("_id", "id", "docid", "doc_id", "qid", "query_id"):
        if key in obj:
            return str(obj[key])
    raise InputError("object has no '_id' field.", path=path, line=lineno,
                     fix="add an '_id' field (BEIR layout).")


def _read_records(path: str | Path, what: str, text_keys: tuple[str, ...], make) -> dict:
    """id -> make(id, text, obj) for every line; duplicate ids and missing text are errors."""
    records: dict = {}
    for lineno, obj in iter_jsonl(path):
        rid = _id_of(obj, path, lineno)
        if rid in records:
            raise InputError(f"duplicate {what} id {rid!r}.", path=path, line=lineno,
                             fix=f"give every {what} a unique '_id'.")
        text = next((obj[k] for k in text_keys if k in obj), None)
        if not isinstance(text, str):
            raise InputError(f"{what} {rid!r} has no 'text' string.", path=path, line=lineno,
                             fix="add a 'text' field (use \"\" for an empty one).")
        records[rid] = make(rid, text, obj)
    return records


def read_corpus(path: str | Path) -> Corpus:
    return Corpus(_read_records(path, "document", ("text", "contents"),
                                lambda i, t, o: Document(i, t, str(o.get("title") or ""))))


def read_queries_jsonl(path: str | Path) -> Queries:
    queries = Queries(_read_records(path, "query", ("text", "query", "title"),
                                    lambda i, t, o: Query(i, t)))
    if not queries:
        raise InputError("the queries file has no queries.", path=path,
                         fix="write one JSON object per query, e.g. {\"_id\": \"q1\", \"text\": \"...\"}.")
    return queries
