import pytest

from rankify_lite.errors import InputError
from rankify_lite.types import Corpus, Document, Qrels, RankedList, Run


def test_from_scores_sorts_by_score_then_docid_descending_like_trec_eval():
    run = Run.from_scores({"q": {"a": 1.0, "c": 2.0, "b": 1.0, "d": 0.5}})
    assert run["q"].doc_ids == ("c", "b", "a", "d")
    assert run["q"].scores == (2.0, 1.0, 1.0, 0.5)


def test_from_rankings_gives_strictly_decreasing_scores():
    run = Run.from_rankings({"q": ["x", "y", "z"]})
    assert run["q"].scores == (3.0, 2.0, 1.0)
    with pytest.raises(InputError, match="twice"):
        Run.from_rankings({"q": ["x", "x"]})


def test_ranked_list_refuses_increasing_scores_and_duplicates():
    with pytest.raises(InputError, match="must not increase"):
        RankedList(("a", "b"), (1.0, 2.0))
    with pytest.raises(InputError, match="twice"):
        RankedList(("a", "a"), (2.0, 1.0))


def test_run_is_never_mutated_by_operations():
    run = Run.from_scores({"q": {"a": 3.0, "q": 2.0, "b": 1.0}}, name="r")
    top = run.top(1)
    clean = run.without_self_hits()
    assert len(run["q"]) == 3 and len(top["q"]) == 1
    assert clean["q"].doc_ids == ("a", "b")
    with pytest.raises(TypeError):
        run.lists["x"] = None  # read-only mapping


def test_nan_score_is_refused():
    with pytest.raises(InputError, match="not a finite number"):
        Run.from_scores({"q": {"a": float("nan")}})


def test_dataframe_and_ranx_round_trip():
    run = Run.from_scores({"q1": {"a": 2.0, "b": 1.0}, "q2": {"c": 0.3}})
    df = run.to_dataframe()
    assert list(df.columns) == ["qid", "docid", "rank", "score"]
    assert Run.from_dataframe(df).to_dict() == run.to_dict()
    assert Run.from_ranx(run.to_ranx())["q1"].doc_ids == ("a", "b")
    qrels = Qrels({"q1": {"a": 2, "b": 0}})
    assert Qrels.from_dataframe(qrels.to_dataframe()).to_dict() == qrels.to_dict()
    assert qrels.to_dict(min_rel=1) == {"q1": {"a": 2}}
    assert qrels.relevant("q1", 2) == {"a"}


def test_content_hash_changes_with_content():
    c1 = Corpus.from_documents([Document("d1", "text")])
    c2 = Corpus.from_documents([Document("d1", "text!")])
    assert c1.content_hash() != c2.content_hash()
    assert c1.content_hash() == Corpus.from_documents([Document("d1", "text")]).content_hash()
    with pytest.raises(InputError, match="duplicate"):
        Corpus.from_documents([Document("d1", "a"), Document("d1", "b")])
