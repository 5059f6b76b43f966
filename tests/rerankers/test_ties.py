"""Tied reranker scores are ordered as trec_eval orders them (score, then doc id descending), so
our run evaluates exactly as the raw scores do; the first-stage order is an option, recorded in
the config and the spec (issue #23, item 16). Real data: DL19 with copies of judged passages
under new ids (identical texts, hence exactly tied scores, as MS MARCO v2's duplicates are)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import pytest
from helpers.small_data import small_dl19

from rankify_lite import load_dataset, load_reranker
from rankify_lite.datasets import Dataset
from rankify_lite.evaluation import evaluate
from rankify_lite.rerankers.base import Reranker, RerankItem, Scored
from rankify_lite.rerankers.ties import order, with_ties
from rankify_lite.types import Corpus, Document, Run


class TextHashReranker(Reranker):
    """Score = a hash of (query text, passage text): identical passages tie exactly."""

    family = "text-hash-test"

    def config(self) -> dict:
        return {"family": self.family}

    @staticmethod
    def score(query: str, text: str) -> float:
        return int(hashlib.sha256(f"{query}|{text}".encode()).hexdigest()[:8], 16) / 2**32

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        return [[(d.id, self.score(it.query.text, d.text)) for d in it.documents] for it in items]


def test_order_is_trec_evals_or_the_first_stages():
    scores = {"b": 1.0, "a": 2.0, "c": 1.0, "10": 1.0, "9": 1.0}
    head = ["b", "a", "c", "9", "10"]
    assert order(head, scores) == ["a", "c", "b", "9", "10"]       # strcmp: "9" > "10"
    assert order(head, scores, "first-stage") == ["a", "b", "c", "9", "10"]


@pytest.fixture(scope="module")
def duplicated(shared_data, tmp_path_factory):
    """(dataset, first-stage run): 15 DL19 queries, BM25's top 20, each judged passage of the
    top 20 followed by a copy of it under a new id (unjudged, as a duplicate often is)."""
    ds = load_dataset(str(small_dl19(shared_data, tmp_path_factory.mktemp("d"), n=15, top=20)))
    first = ds.load_run("bm25.top10")  # the helper's name; it holds the top 20
    docs = {d: ds.corpus[d] for d in ds.corpus}
    scores: dict[str, dict[str, float]] = {}
    for qid, rl in first.items():
        judged = ds.qrels.to_dict().get(qid, {})
        per: dict[str, float] = {}
        for i, (d, s) in enumerate(zip(rl.doc_ids, rl.scores, strict=True)):
            per[d] = s - i * 1e-3
            if judged.get(d, 0) >= 2:
                copy = f"zz-copy-of-{d}"  # sorts after every MS MARCO id: trec_eval puts it first
                docs[copy] = Document(copy, ds.corpus[d].text, ds.corpus[d].title)
                per[copy] = s - i * 1e-3 - 5e-4  # just below the original in the first stage
        scores[qid] = per
    from dataclasses import replace

    ds = replace(ds, corpus=Corpus.from_documents(docs.values()))
    return ds, Run.from_scores(scores, name="bm25-dups")


def _ndcg(run: Run, ds: Dataset) -> dict[str, float]:
    return evaluate(run, ds.qrels, ["ndcg@10"], rel_level=ds.rel_level).per_query["ndcg@10"]


def test_reranked_run_evaluates_as_trec_eval_on_the_raw_scores(duplicated):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    ds, first = duplicated
    raw = {q: {d: TextHashReranker.score(ds.queries[q].text, ds.corpus[d].text)
               for d in rl.doc_ids} for q, rl in first.items()}
    ref = pytrec_eval.RelevanceEvaluator(ds.qrels.to_dict(), {"ndcg_cut.10"}).evaluate(raw)
    ours = TextHashReranker().rerank(ds.queries, first, ds.corpus, depth=len(first[next(iter(
        first))]) + 10)
    assert ours.metadata["ties"] == "trec_eval"
    got = _ndcg(ours, ds)
    assert set(got) == set(ref)
    for q in ref:
        assert got[q] == pytest.approx(ref[q]["ndcg_cut_10"], abs=1e-12), q
    tied = sum(len(set(v.values())) < len(v) for v in raw.values())
    assert tied >= 10  # the duplicates do tie
    # the first-stage rule breaks the same ties the other way: it no longer matches trec_eval
    fs = with_ties(TextHashReranker(), "first-stage").rerank(ds.queries, first, ds.corpus,
                                                             depth=100)
    assert fs.metadata["ties"] == "first-stage"
    differs = [q for q in ref if _ndcg(fs, ds)[q] != pytest.approx(ref[q]["ndcg_cut_10"],
                                                                      abs=1e-12)]
    assert differs


def test_the_rule_is_an_option_of_every_family_recorded_in_config_and_spec():
    default = load_reranker("identity")
    assert default.ties == "trec_eval" and "ties" not in default.config()
    rr = load_reranker("identity", ties="first-stage")
    assert rr.ties == "first-stage" and rr.config()["ties"] == "first-stage"
    assert rr.spec().options["ties"] == "first-stage"
    from rankify_lite.builders import build

    rebuilt = build(rr.spec())  # what rerun does
    assert rebuilt.ties == "first-stage" and rebuilt.config() == rr.config()
    from rankify_lite.errors import InputError

    with pytest.raises(InputError, match="tie rule 'docno' is unknown"):
        load_reranker("identity", ties="docno")


class BrokenScoresReranker(Reranker):
    """Scores every document 1.0 except ``bad`` (in query ``query``), which gets ``value``."""

    family = "broken-scores-test"

    def __init__(self, query: str, bad: str, value: float) -> None:
        self.query, self.bad, self.value = query, bad, value

    def config(self) -> dict:
        return {"family": self.family}

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        return [[(d.id, self.value if (it.query.id, d.id) == (self.query, self.bad) else
                  float(i)) for i, d in enumerate(it.documents)] for it in items]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, float("-nan")])
@pytest.mark.parametrize("rule", ["trec_eval", "first-stage"])
def test_a_non_finite_model_score_fails_naming_query_and_document(value, rule):
    """NaN compares false with everything: sorted silently, it left the ranking half made."""
    from rankify_lite.errors import RankifyError
    from rankify_lite.types import Queries

    queries = Queries.from_dict({"q1": "a", "q2": "b"})
    corpus = Corpus.from_documents(Document(d, f"text {d}") for d in ("d1", "d2", "d3"))
    first = Run.from_scores({q: {"d1": 3.0, "d2": 2.0, "d3": 1.0} for q in queries})
    reranker = with_ties(BrokenScoresReranker("q2", "d2", value), rule)
    with pytest.raises(RankifyError) as err:
        reranker.rerank(queries, first, corpus, depth=3)
    message = str(err.value)
    assert "query 'q2', document 'd2'" in message and repr(value) in message
    assert "\n" not in message
    fine = with_ties(BrokenScoresReranker("q2", "d2", 0.5), rule).rerank(queries, first, corpus)
    assert fine["q2"].doc_ids == ("d3", "d2", "d1")


def test_order_refuses_nan_itself():
    with pytest.raises(Exception, match="document 'b' nan"):
        order(["a", "b"], {"a": 1.0, "b": math.nan}, query="q")
