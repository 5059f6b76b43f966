"""Fusion: RRF and normalised score fusion equal their formulas on real SciFact runs; the
Fusion retriever wires members, depth and k; bad options are refused."""

from __future__ import annotations

import pytest

from rankify_lite.errors import InputError
from rankify_lite.io.trec import read_run
from rankify_lite.retrievers.base import Retriever
from rankify_lite.retrievers.fusion import Fusion, fuse
from rankify_lite.types import Corpus, Document, Queries, Query, Run

pytest.importorskip("ranx")


@pytest.fixture(scope="module")
def runs(shared_data):
    folder = shared_data / "beir" / "scifact" / "runs"
    flat = read_run(folder / "anserini-bm25-flat.top1000.trec.gz", name="flat")
    multi = read_run(folder / "anserini-bm25-multifield.top1000.trec.gz", name="multifield")
    qids = list(flat)[:40]
    return flat.restrict(qids).top(100), multi.restrict(qids).top(100)


def _ranks(rl) -> dict[str, int]:
    return {d: i + 1 for i, d in enumerate(rl.doc_ids)}


def test_rrf_is_the_sum_of_reciprocal_ranks(runs):
    a, b = runs
    fused = fuse([a, b], method="rrf", k=60)
    assert set(fused) == set(a)
    for q in a:
        ra, rb = _ranks(a[q]), _ranks(b[q])
        want = {d: sum(1 / (60 + r[d]) for r in (ra, rb) if d in r) for d in {*ra, *rb}}
        got = dict(zip(fused[q].doc_ids, fused[q].scores, strict=True))
        assert got.keys() == want.keys()
        assert max(abs(got[d] - want[d]) for d in want) < 1e-12
        assert list(fused[q].scores) == sorted(fused[q].scores, reverse=True)
    assert fused.metadata["fusion"]["method"] == "rrf"
    assert [r["name"] for r in fused.metadata["fusion"]["runs"]] == ["flat", "multifield"]


def test_minmax_sum_and_weights(runs):
    a, b = runs

    def norm(rl):
        lo, hi = min(rl.scores), max(rl.scores)
        return {d: (s - lo) / (hi - lo) for d, s in zip(rl.doc_ids, rl.scores, strict=True)}

    plain = fuse([a, b], method="sum", norm="min-max")
    weighted = fuse([a, b], method="sum", norm="min-max", weights=[0.8, 0.2])
    for q in list(a)[:10]:
        na, nb = norm(a[q]), norm(b[q])
        docs = {*na, *nb}
        want = {d: na.get(d, 0) + nb.get(d, 0) for d in docs}
        want_w = {d: 0.8 * na.get(d, 0) + 0.2 * nb.get(d, 0) for d in docs}
        got = dict(zip(plain[q].doc_ids, plain[q].scores, strict=True))
        got_w = dict(zip(weighted[q].doc_ids, weighted[q].scores, strict=True))
        assert max(abs(got[d] - want[d]) for d in docs) < 1e-9
        assert max(abs(got_w[d] - want_w[d]) for d in docs) < 1e-9


def test_inputs_unchanged_and_one_sided_queries():
    a = Run.from_scores({"q1": {"x": 3.0, "y": 2.0}, "q2": {"z": 1.0}}, name="a")
    b = Run.from_scores({"q1": {"y": 9.0, "w": 1.0}}, name="b")
    before = (a.lists, b.lists)
    fused = fuse([a, b], method="rrf")
    assert (a.lists, b.lists) == before
    assert fused["q1"].doc_ids[0] == "y"  # ranked 2nd and 1st beats 1st alone
    assert fused["q2"].doc_ids == ("z",)  # only run a answers q2: its order is kept


def test_bad_options():
    a = Run.from_scores({"q": {"x": 1.0}})
    with pytest.raises(InputError, match="at least two"):
        fuse([a])
    with pytest.raises(InputError, match="unknown fusion method"):
        fuse([a, a], method="bayes")
    with pytest.raises(InputError, match="takes no weights"):
        fuse([a, a], method="rrf", weights=[1, 2])
    with pytest.raises(InputError, match="one weight per run"):
        fuse([a, a], method="sum", weights=[1])
    with pytest.raises(InputError, match="unknown score normalisation"):
        fuse([a, a], method="sum", norm="softmax")


class _Fixed(Retriever):
    """A retriever returning fixed scores (to test Fusion's wiring without models)."""

    def __init__(self, name: str, scores: dict[str, dict[str, float]]) -> None:
        super().__init__()
        self.name, self.scores, self.asked_k = name, scores, None

    def config(self):
        return {"family": "fixed", "name": self.name}

    def _index(self, corpus):
        pass

    def _retrieve(self, queries, k):
        self.asked_k = k
        return {q: sorted(self.scores[q].items(), key=lambda x: -x[1])[:k] for q in queries}


def test_fusion_retriever():
    corpus = Corpus.from_documents(Document(d, d) for d in "abcde")
    queries = Queries({"q": Query("q", "text")})
    r1 = _Fixed("one", {"q": {"a": 5, "b": 4, "c": 3, "d": 2}})
    r2 = _Fixed("two", {"q": {"c": 9, "a": 8, "e": 1}})
    fusion = Fusion([r1, r2], method="rrf", depth=50).index(corpus)
    run = fusion.retrieve(queries, k=2)
    assert r1.asked_k == 50 and r2.asked_k == 50  # members retrieve to `depth`
    assert run["q"].doc_ids == ("a", "c")  # ranks (1,2) and (3,1)
    assert len(run["q"]) == 2
    cfg = fusion.config()
    assert cfg["family"] == "fusion" and [c["name"] for c in cfg["retrievers"]] == ["one", "two"]
    assert fusion.retrieve(queries, k=3, exclude_self_hits=True)["q"].doc_ids == ("a", "c", "b")
    with pytest.raises(InputError, match="at least two"):
        Fusion([r1])


_FUSE_IN_A_FRESH_PROCESS = """
import warnings
from rankify_lite.retrievers.fusion import fuse
from rankify_lite.types import Run
a = Run.from_scores({"q1": {"d1": 3.0, "d2": 2.0}, "q2": {"d3": 1.0, "d1": 0.5}}, name="a")
b = Run.from_scores({"q1": {"d2": 3.0, "d3": 2.0}, "q2": {"d3": 1.0, "d2": 0.5}}, name="b")
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    fused = fuse([a, b], method="rrf")
    warnings.warn("a warning of ours still shows", UserWarning)
print(sorted(fused["q1"].doc_ids))
print(sorted({w.category.__name__ for w in seen}))
"""


def test_fusion_shows_no_numba_cast_warning(tmp_path):
    """ranx's rrf kernel compiles (empty numba cache) with a uint64 cast notice: not shown;
    other warnings still are."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    out = subprocess.run([sys.executable, "-c", _FUSE_IN_A_FRESH_PROCESS], env=env, text=True,
                         capture_output=True, timeout=240, check=True).stdout.splitlines()
    assert out == ["['d1', 'd2', 'd3']", "['UserWarning']"]
