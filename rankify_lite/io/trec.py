"""TREC run, qrels and topic files.

* run:    ``qid Q0 docid rank score tag`` (6 whitespace-separated columns). Order and the rank
  column are ignored on reading, as trec_eval does: lists are sorted by score, ties by doc id
  descending. Duplicate (qid, docid) pairs are an error (trec_eval refuses them too).
* numbers (rank, score, grade) are read by the one parser (:mod:`rankify_lite.io.numbers`):
  plain ASCII, finite; ``1_0`` or ``'١'`` (which Python's int/float would read as 10 and 1)
  are refused with the file and line.
* qrels:  TREC ``qid iter docid rel`` (4 columns) or BEIR ``query-id corpus-id score`` TSV
  (3 columns), with or without a header line.
* topics: tab-separated ``qid<TAB>text``, BEIR JSONL, or TREC SGML (``<top><num>...<title>``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from rankify_lite.errors import InputError
from rankify_lite.io.files import atomic_write, iter_lines, read_text
from rankify_lite.io.numbers import _QUICK, _QUICK_LEN, FINITE, WHOLE, Number
from rankify_lite.types import Qrels, Queries, Query, Run

#: the rank column is ignored (lists are ordered by score) but must be a whole number >= 0
#: (PyTerrier writes 0-based ranks); a grade is a whole number, negative ones included (TREC
#: Web's -2 for spam)
RANK = Number(whole=True, low=0)


def read_run(path: str | Path, name: str | None = None) -> Run:
    scores: dict[str, dict[str, float]] = {}
    for lineno, line in iter_lines(path, "run file"):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 6:
            raise InputError(
                f"a TREC run line needs 6 columns (qid Q0 docid rank score tag), "
                f"found {len(parts)}.", path=path, line=lineno,
                fix="write 'qid Q0 docid rank score tag' on every line.")
        qid, _, docid, rank, score, _ = parts
        # inline fast paths (a subset of what RANK / FINITE.parse accept, same values); any
        # other text goes through the parser, which accepts or words the refusal
        if not (len(rank) <= 9 and rank.isascii() and rank.isdigit()):
            RANK.parse(rank, "rank (4th column)", path=path, line=lineno)  # read to refuse
        if len(score) <= _QUICK_LEN and _QUICK.fullmatch(score):
            value = float(score)  # finite: the pattern bounds digits and exponent
        else:
            value = FINITE.parse(score, "score (5th column)", path=path, line=lineno)
        per = scores.setdefault(qid, {})
        if docid in per:
            raise InputError(f"document {docid!r} appears twice for query {qid!r}.",
                             path=path, line=lineno,
                             fix="keep one line per (qid, docid) pair.")
        per[docid] = value
    if not scores:
        raise InputError("the run file is empty.", path=path,
                         fix="point at a non-empty TREC run file.")
    run_name = name or Path(path).name.split(".trec")[0]
    return Run.from_scores(scores, name=run_name, metadata={"source": str(path)})


def read_own_run(path: str | Path, name: str | None = None) -> Run:
    """A run file this package wrote with :func:`write_run` and whose bytes the caller has
    checked (the run cache compares its sha256 with the record it wrote): the same Run as
    :func:`read_run`, without the per-field checks a file from elsewhere needs, so a cached
    300 x 1000 run reads ~3x faster. Anything :func:`write_run` would not have written (a
    column other than ``Q0``, ranks not 1, 2, ... per query, a query in two places, an order
    that is not trec_eval's, a score Python reads but the number rule refuses) falls back to
    :func:`read_run`, which sorts and words every refusal."""
    from rankify_lite.types import RankedList

    try:
        tokens = Path(path).read_bytes().decode("utf-8").split()
    except UnicodeDecodeError:  # read_run names the line with the bad bytes
        return read_run(path, name)
    if not tokens or len(tokens) % 6 or any(t != "Q0" for t in tokens[1::6]):
        return read_run(path, name)
    qids, docs, ranks, texts = tokens[0::6], tokens[2::6], tokens[3::6], tokens[4::6]
    if not all(t.isascii() and "_" not in t for t in texts):  # '1_0', '١': read_run refuses
        return read_run(path, name)
    try:
        scores = [float(t) for t in texts]
    except ValueError:
        return read_run(path, name)
    lists: dict[str, RankedList] = {}
    start = 0
    for end in range(1, len(qids) + 1):
        if end < len(qids) and qids[end] == qids[start]:
            continue
        ids, ss = tuple(docs[start:end]), tuple(scores[start:end])
        if (qids[start] in lists or not _as_written(ids, ss)
                or ranks[start:end] != [str(i) for i in range(1, end - start + 1)]):
            return read_run(path, name)
        lists[qids[start]] = RankedList(ids, ss)
        start = end
    run_name = name or Path(path).name.split(".trec")[0]
    return Run(lists, run_name, {"source": str(path)})


def _as_written(ids: tuple[str, ...], scores: tuple[float, ...]) -> bool:
    """Distinct ids, finite scores in trec_eval's order (descending, ties by doc id
    descending): what read_run would sort them to."""
    for i in range(1, len(scores)):
        if scores[i] > scores[i - 1] or (scores[i] == scores[i - 1] and ids[i] > ids[i - 1]):
            return False
    return len(set(ids)) == len(ids) and all(map(math.isfinite, scores))


def write_run(run: Run, path: str | Path, tag: str | None = None) -> None:
    """Write a 6-column run atomically. Scores are written exactly (shortest round-trip repr,
    not a fixed 6 decimals), so reading the file back gives the very same ranking: rounding
    could turn two close scores into a tie and let the tie-break reorder them."""
    tag = (tag or run.name or "rankify_lite").replace(" ", "_")
    with atomic_write(path) as fh:
        for qid, rl in run.items():
            for i, (d, s) in enumerate(zip(rl.doc_ids, rl.scores, strict=True), 1):
                fh.write(f"{qid} Q0 {d} {i} {s!r} {tag}\n")


def _is_header(text: str) -> bool:
    """A qrels header's grade column ('score', 'relevance') holds no digit at all; a grade
    written badly ('1_0', '٢') does, and is refused rather than skipped as a header."""
    return not any(c.isdigit() for c in text) and text.lower() not in ("nan", "inf", "-inf")


def read_qrels(path: str | Path) -> Qrels:
    """TREC 4-column or BEIR 3-column qrels. A first line is taken as a header only when it is
    not a judgment (its grade has no digit, e.g. ``query-id corpus-id score``). A (qid, docid)
    judged twice with the same grade is kept once; with different grades it is refused."""
    data: dict[str, dict[str, int]] = {}
    seen_line = False
    for lineno, line in iter_lines(path, "qrels file"):
        parts = line.split()
        if not parts:
            continue
        first, seen_line = not seen_line, True
        if len(parts) == 4:
            qid, _, docid, rel = parts
        elif len(parts) == 3:
            qid, docid, rel = parts
        else:
            raise InputError(f"a qrels line needs 3 or 4 columns, found {len(parts)}.",
                             path=path, line=lineno,
                             fix="use 'qid 0 docid rel' (TREC) or 'qid<TAB>docid<TAB>rel'.")
        if first and _is_header(rel):
            continue  # a header line such as "query-id corpus-id score"
        grade = WHOLE.parse(rel, "relevance grade (last column)", path=path, line=lineno,
                            fix="the last column must be an integer grade (e.g. 0, 1, 2).")
        per = data.setdefault(qid, {})
        if docid in per and per[docid] != grade:
            raise InputError(f"document {docid!r} is judged twice for query {qid!r} with "
                             f"different grades.", path=path, line=lineno,
                             fix="keep one judgment per (qid, docid).")
        per[docid] = grade
    if not data:
        raise InputError("the qrels file has no judgments.", path=path,
                         fix="point at a non-empty qrels file.")
    return Qrels(data)


_SGML_TOP = re.compile(r"<top>(.*?)</top>", re.S | re.I)
_SGML_NUM = re.compile(r"<num>\s*(?:Number:)?\s*(\S+)", re.I)
_SGML_TITLE = re.compile(r"<title>\s*(?:Topic:)?\s*(.*?)\s*(?=<|$)", re.S | re.I)


def read_topics(path: str | Path) -> Queries:
    """Read queries from TSV, JSONL or TREC SGML topics (chosen by content)."""
    from rankify_lite.io.jsonl import read_queries_jsonl

    text = read_text(path, "topics file")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return read_queries_jsonl(path)
    if stripped.lower().startswith("<top>"):
        queries = {}
        for block in _SGML_TOP.findall(text):
            num, title = _SGML_NUM.search(block), _SGML_TITLE.search(block)
            if not num or not title:
                raise InputError("a <top> block lacks <num> or <title>.", path=path,
                                 fix="give each topic a <num> and a <title>.")
            queries[num.group(1)] = Query(num.group(1), " ".join(title.group(1).split()))
        return Queries(queries)
    queries = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.rstrip("\n").split("\t", 1)
        if len(parts) != 2:
            raise InputError("a topics line needs 'qid<TAB>text'.", path=path, line=lineno,
                             fix="separate the query id and text with a tab.")
        if parts[0] in queries:
            raise InputError(f"duplicate query id {parts[0]!r}.", path=path, line=lineno,
                             fix="give every query a unique id.")
        queries[parts[0]] = Query(parts[0], parts[1].strip())
    if not queries:
        raise InputError("the topics file has no queries.", path=path,
                         fix="write one 'qid<TAB>text' line per query.")
    return Queries(queries)
