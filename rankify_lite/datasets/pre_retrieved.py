"""Pre-retrieved files: rerank what another toolkit retrieved, without indexing anything.

Two peers write a query's candidates together with their passage text; each file becomes a
:class:`~rankify_lite.datasets.dataset.Dataset` whose corpus is the passages it holds, whose
queries are its queries and whose first-stage run (shipped as ``run:pre-retrieved``) is the
file's ranking.

* ``rank_llm`` (castorini/rank_llm), both generations of its ``retrieve_results`` files:
  ``{"query": {"text", "qid"}, "candidates": [{"docid", "score", "doc": {...}}]}`` (its
  ``Request``/``Candidate`` classes; the passage is the first of the ``doc`` keys ``text``,
  ``segment``, ``contents``, ``content``, ``body``, ``passage``, the title ``doc["title"]``),
  and the older ``{"query": "text", "hits": [{"content", "qid", "docid", "rank", "score"}]}``
  (the query id is the hits' ``qid``; ``content`` is kept as the text, title included as
  rank_llm wrote it: ``Title: ... Content: ...``).
* ``rankify`` (DataScienceUIBK/Rankify), its pre-retrieved dataset records:
  ``{"question", "answers", "ctxs": [{"id", "title", "text", "score", "has_answer"}]}``, with
  the query id in ``query_id`` (else ``qid`` or ``id``). Rankify saves no query id, so a file
  without them gets the record's index (``"0"``, ``"1"``, ... in file order) as query ids, and
  the dataset's metadata says so; qrels given for such a file must use those ids.
  ``relevance_from_answers=True`` turns ``has_answer`` into qrels (grade 1 when the passage
  holds an answer, 0 when it does not): the answer-match relevance Rankify's own top-k
  accuracy uses, not human judgments. A ``reranked_ctxs`` list saved beside ``ctxs`` is not
  read: the first stage is ``ctxs``.

A file is a JSON array (``.json``, as both peers write it) or one record per line
(``.jsonl``), possibly compressed (gzip, bzip2, xz; chosen by content, not by name). Each
candidate list keeps the file's order as the ranking and the file's scores; ties are ordered as
trec_eval orders them (doc id descending), as every run here is. Where a list's scores increase
down the list or a score is missing, the whole file's scores are derived from rank (n, n-1, ...,
1 in file order) and the run's metadata says why (``scores: "from-rank"``).

Memory: a ``.json`` file's text is held once while its records are decoded one at a time;
a ``.jsonl`` file is read line by line. The corpus (every distinct passage), queries and run
are held in RAM, as every Dataset holds its corpus.

Without qrels the dataset still reranks; metrics need judgments (pass ``qrels=``: a TREC or
BEIR qrels file, or a Qrels). Bad input is one InputError naming the file, the record's line
and index, and the fix.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rankify_lite.datasets.dataset import Dataset
from rankify_lite.datasets.pre_retrieved_formats import (
    FORMATS,
    RUN_NAME,
    detect_format,
    is_pre_retrieved_name,
    read_records,
)
from rankify_lite.errors import InputError
from rankify_lite.types import Corpus, Document, Qrels, Queries, Query, Run


def load_pre_retrieved(path: str | os.PathLike, qrels: str | os.PathLike | Qrels | None = None,
                       name: str | None = None, format: str = "auto",
                       relevance_from_answers: bool = False) -> Dataset:
    """A Dataset from a rank_llm or Rankify pre-retrieved file (see the module docstring).

    ``qrels``: a TREC or BEIR qrels file (or a Qrels); without it (and without
    ``relevance_from_answers``) the dataset has no judgments: it reranks, metrics need qrels.
    ``format``: "auto" (from the first record), "rank_llm" or "rankify". The first-stage run
    is ``dataset.load_run("pre-retrieved")``, or ``"run:pre-retrieved"`` as a pipeline's first
    stage."""
    from dataclasses import replace

    from rankify_lite.datasets.rules import resolve_rules
    from rankify_lite.names import check_name

    path = Path(path)
    fmt, records = read_records(path, format)
    if relevance_from_answers and fmt != "rankify":
        raise InputError("relevance_from_answers reads Rankify's has_answer, which a rank_llm "
                         "file does not hold.", path=path, fix="pass qrels= instead.")
    if relevance_from_answers and qrels is not None:
        raise InputError("give qrels= or relevance_from_answers=True, not both.", path=path,
                         fix="drop one of them.")
    with_ids = [r for r in records if r.qid is not None]
    if with_ids and len(with_ids) < len(records):
        missing = next(r for r in records if r.qid is None)
        raise InputError(f"record {missing.index} has no query id, but record "
                         f"{with_ids[0].index} has one ({with_ids[0].qid!r}).", path=path,
                         line=missing.line, fix="give every record a query id, or none.")
    assigned = not with_ids
    docs: dict[str, Document] = {}
    queries: dict[str, Query] = {}
    orders: dict[str, list[str]] = {}
    scores: dict[str, dict[str, float]] = {}
    answers: dict[str, dict[str, int]] = {}
    from_rank: str | None = None
    for rec in records:
        qid = str(rec.index) if assigned else rec.qid
        if qid in queries:
            raise InputError(f"record {rec.index}: query id {qid!r} appears twice.", path=path,
                             line=rec.line, fix="write each query's candidates in one record.")
        queries[qid] = Query(qid, rec.query)
        order, per = [], {}
        for c in rec.candidates:
            if c.docid in per:
                raise InputError(f"record {rec.index}: document {c.docid!r} appears twice for "
                                 f"query {qid!r}.", path=path, line=rec.line,
                                 fix="list each candidate once per query.")
            doc = Document(c.docid, c.text, c.title)
            if docs.setdefault(c.docid, doc) != doc:
                raise InputError(f"record {rec.index}: document {c.docid!r} has another text "
                                 "or title than where it first appears.", path=path,
                                 line=rec.line, fix="give one document id one passage.")
            order.append(c.docid)
            per[c.docid] = c.score
            if c.has_answer is not None:
                answers.setdefault(qid, {})[c.docid] = int(c.has_answer)
        if from_rank is None:
            from_rank = _why_from_rank(qid, order, per)
        orders[qid] = order
        scores[qid] = per
    run = _run(orders, scores, from_rank, path, fmt)
    if relevance_from_answers:
        judged = Qrels(answers)
        relevance = "has_answer"
    else:
        judged = _read_qrels(qrels)
        relevance = "qrels" if qrels is not None else None
    display = check_name(name, "the dataset's name", path=path) if name else path.name
    unjudged = sum(1 for q in queries if q not in judged) if judged else 0
    meta: dict[str, Any] = {"source": str(path), "format": f"pre-retrieved/{fmt}",
                            "runs": {RUN_NAME: dict(run.metadata)},
                            "relevance": relevance or "none (metrics need qrels=)"}
    if isinstance(qrels, (str, os.PathLike)):
        meta["qrels_source"] = str(Path(qrels).resolve())  # what `rankify-lite rerun` reads
    if relevance_from_answers:
        meta["relevance_from_answers"] = True
    if assigned:
        meta["query_ids"] = "assigned: the record's index in the file (0, 1, ...)"
    if unjudged:
        meta["queries_without_judgments"] = unjudged
    ds = Dataset(name=display, corpus=Corpus(docs), queries=Queries(queries), qrels=judged,
                 runs={RUN_NAME: run}, metadata=meta)
    rules = resolve_rules((), qids=judged) if judged else resolve_rules(())
    return replace(ds, rules=rules)


def load_pre_retrieved_with_qrels(path: str | os.PathLike, qrels: str | os.PathLike) -> Dataset:
    """``rankify-lite run --dataset FILE --qrels QRELS``: judgments are given only with a
    pre-retrieved file (a dataset folder or a named dataset brings its own)."""
    if not (Path(path).is_file() and is_pre_retrieved_name(path)):
        raise InputError(f"--qrels goes with a pre-retrieved .json/.jsonl file, not {path!r}.",
                         fix="drop --qrels (a dataset folder has its qrels/), or give a "
                             "rank_llm / Rankify file as --dataset.")
    return load_pre_retrieved(path, qrels=qrels)


def default_first_stage(dataset: Any) -> str:
    """The CLI's first stage when none is named: a pre-retrieved file's own run
    (``run:pre-retrieved``), else ``bm25``."""
    path = Path(str(dataset)).expanduser()
    return f"run:{RUN_NAME}" if path.is_file() and is_pre_retrieved_name(path) else "bm25"


def _why_from_rank(qid: str, order: list[str], per: dict[str, float | None]) -> str | None:
    """Why this list's scores can't be kept (missing, or increasing down the list); None."""
    previous = None
    for rank, d in enumerate(order, 1):
        s = per[d]
        if s is None:
            return f"query {qid!r}: document {d!r} at rank {rank} has no score"
        if previous is not None and s > previous:
            return (f"query {qid!r}: the score rises from {previous!r} to {s!r} at rank "
                    f"{rank} ({d!r})")
        previous = s
    return None


def _run(orders: dict[str, list[str]], scores: dict[str, dict[str, Any]],
         from_rank: str | None, path: Path, fmt: str) -> Run:
    meta = {"source": str(path), "format": fmt}
    if from_rank is None:
        return Run.from_scores(scores, name=RUN_NAME, metadata={**meta, "scores": "file"})
    return Run.from_rankings(orders, name=RUN_NAME,
                             metadata={**meta, "scores": "from-rank",
                                       "scores_from_rank_because": from_rank})


def _read_qrels(qrels: str | os.PathLike | Qrels | None) -> Qrels:
    if qrels is None:
        return Qrels({})
    if isinstance(qrels, Qrels):
        return qrels
    from rankify_lite.io.trec import read_qrels

    return read_qrels(qrels)


__all__ = ["FORMATS", "RUN_NAME", "default_first_stage", "detect_format", "is_pre_retrieved_name",
           "load_pre_retrieved", "load_pre_retrieved_with_qrels"]
