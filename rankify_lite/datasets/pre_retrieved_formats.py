"""The readers of pre-retrieved files (rank_llm's and Rankify's JSON; see
:mod:`rankify_lite.datasets.pre_retrieved` for the formats): records in, one InputError
naming the file, the line and the record's index for every bad one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.io.numbers import FINITE, id_text

FORMATS = ("rank_llm", "rankify")
#: the name the file's first-stage run is shipped under: ``Pipeline("run:pre-retrieved", ...)``
RUN_NAME = "pre-retrieved"
#: rank_llm's passage keys in a candidate's ``doc``, in the order rank_llm reads them
RANK_LLM_TEXT_KEYS = ("text", "segment", "contents", "content", "body", "passage")
_SUFFIXES = (".json", ".jsonl")
_COMPRESSED = (".gz", ".xz", ".bz2")


def is_pre_retrieved_name(path: str | Path) -> bool:
    """True for a file named ``*.json`` or ``*.jsonl`` (compressed or not): what
    ``load_dataset`` reads as a pre-retrieved file."""
    name = Path(path).name.lower()
    for ext in _COMPRESSED:
        name = name.removesuffix(ext)
    return name.endswith(_SUFFIXES)


@dataclass(frozen=True)
class _Candidate:
    docid: str
    text: str
    title: str
    score: float | None
    has_answer: bool | None


@dataclass(frozen=True)
class _Record:
    index: int
    line: int
    qid: str | None
    query: str
    candidates: tuple[_Candidate, ...]


class _Where:
    """Where a record sits: refusals name the file, its line and the record's index."""

    def __init__(self, path: Path, index: int, line: int) -> None:
        self.path, self.index, self.line = path, index, line

    def error(self, problem: str, fix: str, sep: str = ": ") -> InputError:
        return InputError(f"record {self.index}{sep}{problem}", path=self.path, line=self.line,
                          fix=fix)

    def obj(self, value: Any, what: str, fix: str) -> dict:
        if not isinstance(value, dict):
            raise self.error(f"{what} is a JSON {type(value).__name__}, not an object.", fix)
        return value

    def field(self, obj: Any, key: str, kind: type | tuple[type, ...], what: str, fix: str) -> Any:
        if not isinstance(obj, dict) or key not in obj:
            raise self.error(f"{what} has no {key!r} field.", fix)
        value = obj[key]
        if not isinstance(value, kind) or isinstance(value, bool) and bool not in _kinds(kind):
            raise self.error(f"{what}'s {key!r} is {type(value).__name__}, not "
                             f"{' or '.join(k.__name__ for k in _kinds(kind))}.", fix)
        return value

    def id(self, value: Any, what: str) -> str:
        fix = "write ids as text or whole numbers, without spaces."
        try:
            text = id_text(value, what, fix=fix)
        except InputError as exc:
            raise self.error(exc.problem, exc.fix or fix) from None
        if not text or any(c.isspace() for c in text):
            raise self.error(f"{what} {text!r} is empty or holds whitespace (a TREC run "
                             "cannot hold it).", fix)
        return text

    def score(self, value: Any, what: str) -> float | None:
        if value is None:
            return None
        try:
            return float(FINITE.check(value, what))
        except InputError as exc:
            raise self.error(exc.problem, exc.fix or "write scores as plain numbers.") from None


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


# -- reading the records -------------------------------------------------------------------
def _iter_objects(path: Path) -> Iterator[tuple[int, int, Any]]:
    """(index, line, object) for every record of a JSON array or a JSON-lines file."""
    from rankify_lite.io.files import open_binary

    try:
        with open_binary(path, "pre-retrieved file") as fh:
            raw = fh.read()
    except (EOFError, OSError) as exc:
        raise InputError(f"the pre-retrieved file could not be read: {exc}.", path=path,
                         fix="the compressed file is truncated or corrupt; recreate it.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"the pre-retrieved file has bytes that are not UTF-8 (byte "
                         f"{exc.start}).", path=path, fix="re-encode the file as UTF-8.") from None
    del raw
    start = len(text) - len(text.lstrip())
    if text[start:start + 1] == "{":
        from rankify_lite.io.jsonl import iter_jsonl

        for index, (line, obj) in enumerate(iter_jsonl(path)):
            yield index, line, obj
        return
    if text[start:start + 1] != "[":
        raise InputError("a pre-retrieved file holds a JSON array of records or one JSON "
                         "object per line.", path=path,
                         fix="write the file as rank_llm or Rankify save it (.json or .jsonl).")
    yield from _iter_array(path, text, start + 1)


def _iter_array(path: Path, text: str, pos: int) -> Iterator[tuple[int, int, Any]]:
    from rankify_lite.io.jsonl import _has_surrogate

    decoder = json.JSONDecoder()
    line, counted, index = 1, 0, 0
    fix = "write the file as one JSON array of records (json.dump of a list)."
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos < len(text) and text[pos] == "]":
            return
        if index and pos < len(text):
            if text[pos] != ",":
                break
            pos += 1
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise InputError(f"record {index} is not valid JSON ({exc.msg}).", path=path,
                             line=exc.lineno, fix=fix) from None
        except (ValueError, RecursionError) as exc:
            problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise InputError(f"record {index} is not valid JSON ({problem}).", path=path,
                             line=line, fix=fix) from None
        if _has_surrogate(obj):
            raise InputError(f"record {index} holds a lone surrogate escape (e.g. "
                             "\"\\ud800\"), which is not a character.", path=path, line=line,
                             fix="replace the escape with the character it stands for.")
        yield index, line, obj
        pos, index = end, index + 1
    line += text.count("\n", counted, pos)
    raise InputError("the JSON array is not closed (or a ',' is missing between records).",
                     path=path, line=line, fix=fix)


def detect_format(obj: Any) -> str | None:
    """"rank_llm" or "rankify" from one record's fields; None when neither."""
    if isinstance(obj, dict):
        if "question" in obj and "ctxs" in obj:
            return "rankify"
        if "query" in obj and ("candidates" in obj or "hits" in obj):
            return "rank_llm"
    return None


def _rank_llm(obj: dict, w: _Where) -> tuple[str | None, str, list[_Candidate]]:
    fix = ('write records as {"query": {"text": ..., "qid": ...}, "candidates": [{"docid": '
           '..., "score": ..., "doc": {"text": ...}}]} (rank_llm\'s Request).')
    if "hits" in obj and "candidates" not in obj:
        return _rank_llm_hits(obj, w)
    query = w.field(obj, "query", dict, "the record", fix)
    text = w.field(query, "text", str, "the query", fix)
    qid = w.id(query.get("qid"), "query id ('qid')")
    out = []
    for i, cand in enumerate(w.field(obj, "candidates", list, "the record", fix)):
        what = f"candidate {i}"
        docid = w.id(w.obj(cand, what, fix).get("docid"), f"{what}'s docid")
        doc = w.field(cand, "doc", dict, what, fix)
        key = next((k for k in RANK_LLM_TEXT_KEYS if k in doc), None)
        if key is None:
            raise w.error(f"{what} ({docid!r})'s doc has none of the passage keys "
                          f"{', '.join(RANK_LLM_TEXT_KEYS)}.", fix)
        body = w.field(doc, key, str, f"{what}'s doc", fix)
        title = doc.get("title") or ""
        if not isinstance(title, str):
            raise w.error(f"{what}'s doc title is {type(title).__name__}, not str.", fix)
        out.append(_Candidate(docid, body, title, w.score(cand.get("score"), f"{what}'s score"),
                              None))
    return qid, text, out


def _rank_llm_hits(obj: dict, w: _Where) -> tuple[str | None, str, list[_Candidate]]:
    fix = ('write records as {"query": "...", "hits": [{"content": ..., "qid": ..., '
           '"docid": ..., "rank": ..., "score": ...}]} (rank_llm\'s first format).')
    text = w.field(obj, "query", str, "the record", fix)
    qids, out, last_rank = set(), [], 0
    for i, hit in enumerate(w.field(obj, "hits", list, "the record", fix)):
        what = f"hit {i}"
        docid = w.id(w.obj(hit, what, fix).get("docid"), f"{what}'s docid")
        body = w.field(hit, "content", str, what, fix)
        if hit.get("qid") is not None:
            qids.add(w.id(hit["qid"], f"{what}'s qid"))
        if hit.get("rank") is not None:
            rank = w.field(hit, "rank", int, what, fix)
            if rank <= last_rank:
                raise w.error(f"{what} has rank {rank} after rank {last_rank}: the hits are "
                              "not in rank order.", "list the hits best first, ranks 1, 2, ...")
            last_rank = rank
        out.append(_Candidate(docid, body, "", w.score(hit.get("score"), f"{what}'s score"),
                              None))
    if len(qids) > 1:
        raise w.error(f"the hits name {len(qids)} query ids ({', '.join(sorted(qids)[:3])}).",
                      "give every hit of one query the same 'qid'.")
    return (qids.pop() if qids else None), text, out


def _rankify(obj: dict, w: _Where) -> tuple[str | None, str, list[_Candidate]]:
    fix = ('write records as {"question": ..., "answers": [...], "ctxs": [{"id": ..., "title": '
           '..., "text": ..., "score": ..., "has_answer": ...}]} (Rankify\'s Document, saved '
           'with save_text=True).')
    text = w.field(obj, "question", str, "the record", fix)
    key = next((k for k in ("query_id", "qid", "id") if obj.get(k) is not None), None)
    qid = w.id(obj[key], f"query id ({key!r})") if key else None
    out = []
    for i, ctx in enumerate(w.field(obj, "ctxs", list, "the record", fix)):
        what = f"ctx {i}"
        docid = w.id(w.obj(ctx, what, fix).get("id"), f"{what}'s id")
        body = w.field(ctx, "text", str, what, fix)
        title = ctx.get("title") or ""
        if not isinstance(title, str):
            raise w.error(f"{what}'s title is {type(title).__name__}, not str.", fix)
        answer = ctx.get("has_answer")
        if answer is not None and not isinstance(answer, bool):
            raise w.error(f"{what}'s has_answer is {type(answer).__name__}, not true/false.",
                          fix)
        out.append(_Candidate(docid, body, title, w.score(ctx.get("score"), f"{what}'s score"),
                              answer))
    return qid, text, out


_PARSERS = {"rank_llm": _rank_llm, "rankify": _rankify}


def read_records(path: str | Path, format: str = "auto") -> tuple[str, list[_Record]]:
    """(format, records) of a pre-retrieved file; ``format`` "auto" reads the first record."""
    from rankify_lite.io.files import check_readable

    path = check_readable(path, "pre-retrieved file")
    if format not in ("auto", *FORMATS):
        raise InputError(f"unknown pre-retrieved format {format!r}.",
                         fix=f"use one of: auto, {', '.join(FORMATS)}.")
    records, chosen = [], None if format == "auto" else format
    for index, line, obj in _iter_objects(path):
        w = _Where(path, index, line)
        if not isinstance(obj, dict):
            raise w.error(f"is a JSON {type(obj).__name__}, not an object.",
                          "write one object per query.", sep=" ")
        if chosen is None:
            chosen = detect_format(obj)
            if chosen is None:
                raise w.error(f"is neither rank_llm's (query + candidates/hits) nor Rankify's "
                              f"(question + ctxs) format; its keys: "
                              f"{', '.join(map(str, list(obj)[:8])) or 'none'}.",
                              "give a retrieve_results file from rank_llm or a Rankify dataset.",
                              sep=" ")
        qid, text, cands = _PARSERS[chosen](obj, w)
        records.append(_Record(index, line, qid, text, tuple(cands)))
    if not records:
        raise InputError("the pre-retrieved file holds no records.", path=path,
                         fix="point at a file with at least one query and its candidates.")
    return chosen or format, records
