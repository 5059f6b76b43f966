"""Our Run / Qrels / Queries to and from PyTerrier's DataFrames (pandas only; no PyTerrier needed).

PyTerrier's conventions: topics have ``qid`` and ``query``; results have ``qid``, ``docno``,
``score`` and a 0-based ``rank`` (plus ``query`` and any other columns); qrels have ``qid``,
``docno`` and an integer ``label``. Ids are strings. Going back, a results frame is read by its
``score`` column (never by ``rank``), so the ranking is the one an evaluator sees; rows with a
missing or non-finite score, or a (qid, docno) twice, are refused with the row named.

Ids and numbers follow :mod:`rankify_lite.io.numbers`: a qid or docno that pandas holds as a
number is written as an integer when it is one (a float column's ``1.0`` is qid ``'1'``, as the
qrels file names it, not ``'1.0'``, which would match no judgment); a fractional or missing
(NaN / None) id is refused, never turned into a document named ``'nan'``. Scores are finite
numbers, labels whole numbers. Qrels rows judging a (qid, docno) twice: the same label is kept
once; different labels are refused (the frame does not say which one is right).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rankify_lite.errors import InputError
from rankify_lite.io.numbers import FINITE, WHOLE, Number, id_text
from rankify_lite.types import Qrels, Queries, Run

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def _require(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"the {what} DataFrame lacks column(s) {', '.join(missing)} "
                         f"(it has: {', '.join(map(str, df.columns)) or 'none'}).",
                         fix=f"a PyTerrier {what} frame has the columns {', '.join(columns)}.")


def _ids(row: int, q: Any, d: Any, what: str) -> tuple[str, str]:
    """(qid, docno) of a frame row as text (see the module docstring)."""
    return (id_text(q, f"{what} row {row}: qid", fix="give every row its query's id."),
            id_text(d, f"{what} row {row} (qid {q!r}): docno",
                    fix="give every row a document id (drop rows without one)."))


def _cell(kind: Number, value: Any, what: str, fix: str) -> Any:
    """A numeric cell read by the one number rule (a missing cell is None or NaN: refused)."""
    if value is None:
        raise InputError(f"{what} is missing.", fix=fix)
    return kind.check(value, what, fix=fix, text=True)


def run_to_frame(run: Run, queries: Queries | None = None) -> pd.DataFrame:
    """PyTerrier's results frame of ``run``: qid, docno, score, rank (0-based), and query
    when ``queries`` is given (PyTerrier's rerankers read it)."""
    import pandas as pd

    rows = [(q, d, float(s), i) for q, rl in run.items()
            for i, (d, s) in enumerate(zip(rl.doc_ids, rl.scores, strict=True))]
    df = pd.DataFrame(rows, columns=["qid", "docno", "score", "rank"])
    df["qid"] = df["qid"].astype(object)
    df["docno"] = df["docno"].astype(object)
    df["rank"] = df["rank"].astype("int64")
    if queries is not None:
        missing = [q for q in run if q not in queries]
        if missing:
            raise InputError(f"{len(missing)} queries of run {run.name!r} have no text, "
                             f"e.g. {missing[0]!r}.", fix="pass the queries the run was made for.")
        df.insert(1, "query", [queries[q].text for q in df["qid"]])
    return df


def frame_to_run(df: pd.DataFrame, name: str = "run") -> Run:
    """A Run from a PyTerrier results frame (by ``score``; ``rank`` is ignored)."""
    _require(df, ("qid", "docno", "score"), "results")
    scores: dict[str, dict[str, float]] = {}
    for row, (q, d, s) in enumerate(zip(df["qid"], df["docno"], df["score"], strict=True)):
        q, d = _ids(row, q, d, "results")
        value = _cell(FINITE, s, f"results row {row} (qid {q!r}, docno {d!r}): score",
                      "give every row a finite numeric score.")
        per = scores.setdefault(q, {})
        if d in per:
            raise InputError(f"results row {row}: qid {q!r} lists docno {d!r} twice.",
                             fix="drop duplicate (qid, docno) rows, e.g. df.drop_duplicates().")
        per[d] = value
    return Run.from_scores(scores, name=name)


def queries_to_frame(queries: Queries) -> pd.DataFrame:
    """PyTerrier's topics frame: qid, query."""
    import pandas as pd

    return pd.DataFrame([(q.id, q.text) for q in queries.values()], columns=["qid", "query"])


def frame_to_queries(df: pd.DataFrame) -> Queries:
    """Queries from a topics (or results) frame; one text per qid."""
    _require(df, ("qid", "query"), "topics")
    texts: dict[str, str] = {}
    for row, (q, text) in enumerate(zip(df["qid"], df["query"], strict=True)):
        q = id_text(q, f"topics row {row}: qid", fix="give every row its query's id.")
        text = "" if text is None else str(text)
        if texts.setdefault(q, text) != text:
            raise InputError(f"qid {q!r} has two query texts: {texts[q]!r} and {text!r}.",
                             fix="give each qid one query text.")
    return Queries.from_dict(texts)


def qrels_to_frame(qrels: Qrels) -> pd.DataFrame:
    """PyTerrier's qrels frame: qid, docno, label (int)."""
    import pandas as pd

    df = pd.DataFrame([(q, d, r) for q, v in qrels.items() for d, r in v.items()],
                      columns=["qid", "docno", "label"])
    df["label"] = df["label"].astype("int64")
    return df


def frame_to_qrels(df: pd.DataFrame) -> Qrels:
    """Qrels from a PyTerrier qrels frame (``label``; ir_measures' ``relevance`` also read)."""
    column = "label" if "label" in df.columns else "relevance"
    _require(df, ("qid", "docno", column), "qrels")
    data: dict[str, dict[str, int]] = {}
    for row, (q, d, r) in enumerate(zip(df["qid"], df["docno"], df[column], strict=True)):
        q, d = _ids(row, q, d, "qrels")
        grade = _cell(WHOLE, r, f"qrels row {row} (qid {q!r}, docno {d!r}): {column}",
                      "labels are whole numbers (graded relevance).")
        per = data.setdefault(q, {})
        if per.get(d, grade) != grade:
            raise InputError(f"qrels row {row}: qid {q!r}, docno {d!r} is judged twice, "
                             f"{per[d]} and {grade}.",
                             fix="keep one label per (qid, docno) (rows with the same label "
                                 "are kept once).")
        per[d] = grade
    return Qrels(data)


__all__ = ["frame_to_qrels", "frame_to_queries", "frame_to_run", "qrels_to_frame",
           "queries_to_frame", "run_to_frame"]
