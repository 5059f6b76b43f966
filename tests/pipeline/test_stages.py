"""Named stages and cascades on real DL19 data: two rerankers of one family kept apart
everywhere (runs, files, meta.json, stats, rerun), a cascade equal to its stages run by hand
with a shared prefix computed once, and the errors for clashing names."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import pytest

from rankify_lite import Pipeline, load_reranker, read_run
from rankify_lite.cascade import Chain, Stage
from rankify_lite.errors import InputError
from rankify_lite.pipeline.rebuild import pipeline_from_meta
from rankify_lite.rerankers.base import Reranker, RerankItem, Scored
from rankify_lite.systems import SystemId

BM25 = "run:bm25.top100"


class Counting(Reranker):
    """Deterministic scores from a hash of (salt, query, doc); counts the queries it scored."""

    family = "counting-test"
    query_batch_size = 2

    def __init__(self, salt: str = "a") -> None:
        self.salt = salt
        self.scored_queries: list[str] = []

    def config(self) -> dict:
        return {"family": self.family, "salt": self.salt}

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        self.scored_queries += [it.query.id for it in items]
        return [[(d.id, int(hashlib.sha256(f"{self.salt}/{it.query.id}/{d.id}".encode())
                            .hexdigest()[:8], 16)) for d in it.documents] for it in items]


@pytest.fixture(scope="module")
def dl19_5(dl19):
    return dl19.head(5)


def test_head_and_subset(dl19):
    five = dl19.head(5)
    assert list(five.queries) == list(dl19.queries)[:5]
    assert set(five.qrels) <= set(five.queries) and five.corpus is dl19.corpus
    assert five.rules == dl19.rules and five.describe()["subset"] == {"of_queries": 43,
                                                                      "queries": 5}
    picked = dl19.subset([list(dl19.queries)[7], list(dl19.queries)[2]])
    assert list(picked.queries) == [list(dl19.queries)[7], list(dl19.queries)[2]]
    with pytest.raises(InputError, match="no queries"):
        dl19.subset(["no-such-query"])
    with pytest.raises(InputError, match="positive"):
        dl19.head(0)


def test_two_bi_encoders_are_kept_apart_saved_and_rerun(dl19_5, tmp_path):
    a = load_reranker("bi-encoder")
    b = load_reranker("bi-encoder", batch_size=8, max_length=32)
    result = Pipeline(BM25, [a, b], depth=10, cache=tmp_path / "c", progress=False).run(dl19_5)
    names = ["bm25.top100", "bm25.top100>>bi-encoder",
             "bm25.top100>>bi-encoder(batch_size=8,max_length=32)"]
    assert list(result.runs) == names == list(result.metrics) == list(result.comparison.systems)
    assert [st.name for st in result.stages] == names
    assert set(result.timing.per_query) == set(names[1:])
    # max_length=32 truncates passages: a different ranking, a different score
    assert result.runs[names[1]].lists != result.runs[names[2]].lists
    assert result.metrics[names[1]]["ndcg@10"] != result.metrics[names[2]]["ndcg@10"]
    meta_path = result.save(tmp_path / "out")
    meta = json.loads(meta_path.read_text())
    assert sorted(meta["files"]) == sorted(names)
    assert len(set(meta["files"].values())) == 3
    assert [r["name"] for r in meta["pipeline"]["rerankers"]] == [n.split(">>")[1]
                                                                  for n in names[1:]]
    # each file equals that reranker run alone
    for reranker, name in ((a, names[1]), (b, names[2])):
        alone = Pipeline(BM25, reranker, depth=10, cache=False, progress=False).run(dl19_5)
        saved = read_run(tmp_path / "out" / meta["files"][name])
        assert saved.content_hash() == alone.run.content_hash()
    # rerun rebuilds both, apart, under their names: the same files
    pipe, _ = pipeline_from_meta(meta, tmp_path / "out")
    again = pipe.run(dl19_5)
    assert list(again.runs) == names
    for name in names[1:]:
        assert again.runs[name].content_hash() == result.runs[name].content_hash()


def test_given_names_and_clashes(dl19_5):
    x = Counting("x")
    y = Counting("y")
    derived = Pipeline(BM25, [x, y], depth=5)  # one family: told apart by the differing option
    assert [s.label for s in derived.system_ids] == ["bm25.top100>>counting-test(salt=x)",
                                                     "bm25.top100>>counting-test(salt=y)"]
    # two objects with the same spec and config are one stage (same outputs, one cache key)
    assert len({s.label for s in Pipeline(BM25, [x, Counting("x")]).system_ids}) == 1
    named = Pipeline(BM25, [x.named("x"), y.named("y")], depth=5, cache=False, progress=False)
    assert [s.label for s in named.system_ids] == ["bm25.top100>>x", "bm25.top100>>y"]
    with pytest.raises(InputError, match="both named 'same'"):
        Pipeline(BM25, [x.named("same"), y.named("same")], depth=5)
    with pytest.raises(InputError, match="differ only in depth"):
        Pipeline(BM25, [x % 5, x % 10], depth=5)
    with pytest.raises(InputError, match="without '>>'"):
        x.named("a>>b")
    # the same reranker object in several systems is one stage with one name
    assert Pipeline(BM25, [x, x % 3 >> y.named("y")], depth=5).name_of(x) == "counting-test"


def test_cascade_equals_stages_by_hand_and_shares_its_prefix(dl19_5, tmp_path):
    ce, second, third = Counting("ce"), Counting("second"), Counting("third")
    systems = [ce % 20, ce % 20 >> second.named("second") % 5,
               ce % 20 >> third.named("third") % 5]
    pipe = Pipeline(BM25, systems, cache=tmp_path / "c", progress=False)
    result = pipe.run(dl19_5)
    assert len(ce.scored_queries) == 5  # the shared prefix ran once, not three times
    assert list(result.runs) == ["bm25.top100", "bm25.top100>>counting-test",
                                 "bm25.top100>>counting-test>>second",
                                 "bm25.top100>>counting-test>>third"]
    sid = result.systems[2]
    assert sid == SystemId("bm25.top100", "second", 5, (("counting-test", 20),))
    assert sid.display() == "bm25.top100 » counting-test » second"
    assert [st.name for st in result.stages] == list(result.runs)  # each stage computed once
    # by hand: each stage on the previous stage's output
    bm25 = dl19_5.load_run("bm25.top100").restrict(dl19_5.queries)
    first = Counting("ce").rerank(dl19_5.queries, bm25, dl19_5.corpus, depth=20)
    by_hand = Counting("second").rerank(dl19_5.queries, first, dl19_5.corpus, depth=5)
    assert result.runs[sid.label].lists == by_hand.lists
    assert result.runs[sid.label].metadata["first_stage"] == "bm25.top100>>counting-test"
    # a second run is served from the cache, stage by stage
    again = Pipeline(BM25, systems, cache=tmp_path / "c", progress=False).run(dl19_5)
    assert all(st.cached for st in again.stages) and len(ce.scored_queries) == 5
    # the chain is recorded as stage names and depths
    systems_meta = result.metadata["pipeline"]["systems"]
    assert systems_meta[1]["stages"] == [{"name": "counting-test", "depth": 20},
                                         {"name": "second", "depth": 5}]


def test_cascade_api_objects():
    a, b = Counting("a"), Counting("b")
    chain = a % 50 >> b % 10
    assert isinstance(chain, Chain) and [s.depth for s in chain.stages] == [50, 10]
    assert isinstance(a % 3, Stage) and (a >> b).at(7).stages[1].depth == 7
    with pytest.raises(InputError, match="positive integer"):
        a % 0
    with pytest.raises(InputError, match="not a reranker"):
        a >> "first"


def test_a_cascade_reruns_from_meta_json(dl19_5, tmp_path):
    ident = load_reranker("identity")
    bi = load_reranker("bi-encoder", max_length=64)
    result = Pipeline(BM25, [bi % 10, ident % 30 >> bi % 10], cache=tmp_path / "c",
                      progress=False).run(dl19_5)
    labels = list(result.runs)
    assert labels[1:] == ["bm25.top100>>bi-encoder", "bm25.top100>>identity>>bi-encoder"]
    meta = json.loads(result.save(tmp_path / "out").read_text())
    pipe, _ = pipeline_from_meta(meta, tmp_path / "out")
    again = pipe.run(dl19_5)
    assert list(again.runs) == labels
    for label in labels:
        assert again.runs[label].content_hash() == result.runs[label].content_hash()
