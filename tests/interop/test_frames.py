"""Run / Qrels / Queries <-> PyTerrier's DataFrames (pandas only), on the real DL19 files."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rankify_lite.errors import InputError
from rankify_lite.interop.frames import (
    frame_to_qrels,
    frame_to_queries,
    frame_to_run,
    qrels_to_frame,
    queries_to_frame,
    run_to_frame,
)
from rankify_lite.types import Qrels, Run


def test_round_trips_on_dl19(dl19):
    run = dl19.load_run("bm25.top100")
    df = run_to_frame(run, dl19.queries)
    assert list(df.columns) == ["qid", "query", "docno", "score", "rank"]
    assert len(df) == sum(len(rl) for rl in run.values())
    first = df[df.qid == next(iter(run))]
    assert list(first["rank"]) == list(range(len(first)))        # PyTerrier ranks from 0
    assert frame_to_run(df, run.name).content_hash() == run.content_hash()
    shuffled = df.sample(frac=1.0, random_state=0).drop(columns=["rank"])
    back = frame_to_run(shuffled)                                  # read by score, not order
    assert {q: back[q].doc_ids for q in back} == {q: run[q].doc_ids for q in run}
    assert back.to_dict() == run.to_dict()
    assert frame_to_queries(df).texts() == {q: dl19.queries[q].text for q in run}
    assert frame_to_queries(queries_to_frame(dl19.queries)).content_hash() == \
        dl19.queries.content_hash()
    qdf = qrels_to_frame(dl19.qrels)
    assert list(qdf.columns) == ["qid", "docno", "label"] and qdf["label"].dtype == "int64"
    assert frame_to_qrels(qdf).content_hash() == dl19.qrels.content_hash()
    assert frame_to_qrels(qdf.rename(columns={"label": "relevance"})).content_hash() == \
        dl19.qrels.content_hash()                                 # ir_measures' column name


def test_ties_keep_trec_eval_order():
    df = pd.DataFrame({"qid": ["q", "q", "q"], "docno": ["a", "c", "b"], "score": [1.0] * 3})
    assert frame_to_run(df)["q"].doc_ids == ("c", "b", "a")      # doc id descending on ties


@pytest.mark.parametrize("frame,why", [
    (pd.DataFrame({"qid": ["q", "q"], "docno": ["a", "a"], "score": [1.0, 2.0]}), "twice"),
    (pd.DataFrame({"qid": ["q"], "docno": ["a"], "score": [math.nan]}), "row 0"),
    (pd.DataFrame({"qid": ["q"], "docno": ["a"], "score": ["high"]}), "'high'"),
    (pd.DataFrame({"qid": ["q"], "docid": ["a"], "score": [1.0]}), "lacks column(s) docno"),
])
def test_bad_results_frames_are_refused(frame, why):
    with pytest.raises(InputError, match="Fix:") as err:
        frame_to_run(frame)
    assert why in str(err.value)


def test_bad_qrels_and_topics_are_refused():
    with pytest.raises(InputError, match="label '1.5' is not a whole number"):
        frame_to_qrels(pd.DataFrame({"qid": ["q"], "docno": ["a"], "label": [1.5]}))
    with pytest.raises(InputError, match="two query texts"):
        frame_to_queries(pd.DataFrame({"qid": ["q", "q"], "query": ["x", "y"]}))
    with pytest.raises(InputError, match="have no text"):
        run_to_frame(Run.from_rankings({"q": ["a"]}), frame_to_queries(
            pd.DataFrame({"qid": ["other"], "query": ["x"]})))
    assert frame_to_qrels(qrels_to_frame(Qrels({"q": {"a": 0, "b": 3}}))).to_dict() == \
        {"q": {"a": 0, "b": 3}}                                   # judged 0 kept


def test_numeric_ids_are_the_ids_the_qrels_name():
    """pandas reads qid 1 as 1.0 once a column has a gap: integral floats are ids '1', '2';
    the run then scores what the same run with text ids scores (not 0 against nothing)."""
    import numpy as np

    from rankify_lite.evaluation import evaluate

    qrels = Qrels({"1": {"10": 1, "11": 0}, "2": {"20": 2}})
    texts = pd.DataFrame({"qid": ["1", "1", "2"], "docno": ["10", "11", "20"],
                          "score": [2.0, 1.0, 3.0]})
    as_text = frame_to_run(texts)
    for qids, docnos in (([1.0, 1.0, 2.0], [10.0, 11.0, 20.0]),
                         (np.array([1, 1, 2], dtype="int64"), [10, 11, 20]),
                         (np.array([1.0, 1.0, 2.0], dtype="float32"), ["10", "11", "20"])):
        run = frame_to_run(pd.DataFrame({"qid": qids, "docno": docnos,
                                         "score": [2.0, 1.0, 3.0]}))
        assert run.to_dict() == as_text.to_dict()
        assert evaluate(run, qrels, ["ndcg@10"]).mean == evaluate(as_text, qrels,
                                                                 ["ndcg@10"]).mean
    back = frame_to_qrels(pd.DataFrame({"qid": [1.0, 2.0], "docno": [10, 20.0],
                                        "label": [1.0, 2]}))
    assert back.to_dict() == {"1": {"10": 1}, "2": {"20": 2}}
    assert frame_to_queries(pd.DataFrame({"qid": [1.0], "query": ["x"]})).texts() == {"1": "x"}


@pytest.mark.parametrize("qid,docno,why", [
    (1.5, "a", "qid 1.5 is not a whole number"),
    (math.nan, "a", "qid is missing"),
    (None, "a", "qid None is not an id"),
    ("q", math.nan, "docno is missing"),       # a missing docno is not a document named 'nan'
    ("q", None, "docno None is not an id"),
    ("q", 2.25, "docno 2.25 is not a whole number"),
    (True, "a", "qid True is not an id"),
])
def test_fractional_or_missing_ids_are_refused(qid, docno, why):
    frame = pd.DataFrame({"qid": [qid], "docno": [docno], "score": [1.0], "label": [1]},
                         dtype=object)
    for read in (frame_to_run, frame_to_qrels):
        with pytest.raises(InputError, match="Fix:") as err:
            read(frame)
        assert why in str(err.value) and "row 0" in str(err.value)


def test_duplicate_judgements_collapse_when_equal_and_are_refused_when_not():
    same = pd.DataFrame({"qid": ["q", "q", "q"], "docno": ["a", "a", "b"], "label": [2, 2, 0]})
    assert frame_to_qrels(same).to_dict() == {"q": {"a": 2, "b": 0}}
    for labels in ([2, 1], [0, 3]):
        clash = pd.DataFrame({"qid": ["q", "q"], "docno": ["a", "a"], "label": labels})
        with pytest.raises(InputError, match=rf"row 1: qid 'q', docno 'a' is judged twice, "
                                             rf"{labels[0]} and {labels[1]}"):
            frame_to_qrels(clash)


@pytest.mark.parametrize("score", [math.inf, -math.inf, "1_0", "\u0661", True, [1.0]])
def test_scores_follow_the_number_rule(score):
    with pytest.raises(InputError, match="results row 0 .*score"):
        frame_to_run(pd.DataFrame({"qid": ["q"], "docno": ["a"], "score": [score]},
                                  dtype=object))
