"""BM25 behaviour on small corpora: caching, stale indexes, bad input, both backends."""

from __future__ import annotations

import warnings

import pytest
from helpers.extras import BM25S, LUCENE

from rankify_lite.errors import InputError
from rankify_lite.retrievers import BM25
from rankify_lite.retrievers.index_cache import MARKER, build_or_open, is_complete
from rankify_lite.types import Corpus, Document, Queries

BACKENDS = [pytest.param("lucene", marks=LUCENE), pytest.param("bm25s", marks=BM25S)]

DOCS = [
    Document("d1", "Aspirin reduces the risk of heart attacks in adults.", "Aspirin and the heart"),
    Document("d2", "Vitamin D deficiency is common in northern countries.", "Vitamin D"),
    Document("d3", "Heart disease is the leading cause of death worldwide.", "Cardiology"),
    Document("d4", "Regular exercise lowers blood pressure.", ""),
    Document("q1", "Aspirin aspirin aspirin heart.", "self hit"),
]


@pytest.fixture()
def corpus() -> Corpus:
    return Corpus.from_documents(DOCS)


@pytest.fixture()
def index_root(tmp_path):
    return tmp_path / "indexes"


@pytest.mark.parametrize("backend", BACKENDS)
def test_ranks_matching_documents_with_decreasing_scores(backend, corpus, index_root):
    bm25 = BM25(backend=backend, progress=False, index_root=index_root).index(corpus)
    run = bm25.retrieve(Queries.from_dict({"a": "heart attack aspirin", "b": "vitamin"}), k=10)
    assert run["a"].doc_ids[0] in {"d1", "q1"}
    assert set(run["a"].doc_ids) == {"d1", "d3", "q1"}  # "attacks" stems to "attack"
    assert run["b"].doc_ids == ("d2",)  # documents without a query term are not returned
    assert list(run["a"].scores) == sorted(run["a"].scores, reverse=True)
    assert run.metadata["retriever"]["backend"] == backend


@pytest.mark.parametrize("backend", BACKENDS)
def test_self_hits_removed_but_k_kept(backend, corpus, index_root):
    bm25 = BM25(backend=backend, progress=False, index_root=index_root).index(corpus)
    queries = Queries.from_dict({"q1": "aspirin heart"})
    with_self = bm25.retrieve(queries, k=2)
    without = bm25.retrieve(queries, k=2, exclude_self_hits=True)
    assert with_self["q1"].doc_ids[0] == "q1"
    assert "q1" not in without["q1"].doc_ids and len(without["q1"]) == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_index_reuses_the_cache(backend, corpus, index_root):
    first = BM25(backend=backend, progress=False, index_root=index_root).index(corpus)
    assert first.built is True
    marker = first.index_dir / MARKER
    stamp = marker.stat().st_mtime_ns
    second = BM25(backend=backend, progress=False, index_root=index_root).index(corpus)
    assert second.built is False and second.index_dir == first.index_dir
    assert marker.stat().st_mtime_ns == stamp
    queries = Queries.from_dict({"x": "heart disease"})
    assert second.retrieve(queries, k=5).to_dict() == first.retrieve(queries, k=5).to_dict()


@pytest.mark.parametrize("backend", BACKENDS)
def test_changed_corpus_never_reuses_a_stale_index(backend, corpus, index_root):
    first = BM25(backend=backend, progress=False, index_root=index_root).index(corpus)
    changed = Corpus.from_documents([*DOCS[:3], Document("d4", "Regular exercise lowers stress."),
                                     DOCS[4]])
    second = BM25(backend=backend, progress=False, index_root=index_root).index(changed)
    assert second.built is True and second.index_dir != first.index_dir
    run = second.retrieve(Queries.from_dict({"x": "blood pressure"}), k=5)
    assert run["x"].doc_ids == ()  # the old text of d4 is not in the new index


def test_index_settings_key_the_cache(corpus, index_root):
    flat = BM25(progress=False, index_root=index_root).index(corpus)
    multi = BM25(fields="multifield", progress=False, index_root=index_root).index(corpus)
    assert flat.index_dir != multi.index_dir
    # Lucene applies k1/b at search time: same index, different scores
    other = BM25(k1=1.2, b=0.75, progress=False, index_root=index_root).index(corpus)
    assert other.built is False and other.index_dir == flat.index_dir
    q = Queries.from_dict({"x": "heart"})
    assert other.retrieve(q)["x"].scores != flat.retrieve(q)["x"].scores
    # bm25s bakes k1/b into its index: a different key
    s1 = BM25(backend="bm25s", progress=False, index_root=index_root).index(corpus)
    s2 = BM25(backend="bm25s", k1=1.2, progress=False, index_root=index_root).index(corpus)
    assert s1.index_dir != s2.index_dir


@pytest.mark.parametrize("backend", BACKENDS)
def test_incomplete_index_folder_is_rebuilt(backend, corpus, index_root):
    first = BM25(backend=backend, progress=False, index_root=index_root).index(corpus)
    folder = first.index_dir
    (folder / MARKER).unlink()  # as if the run died before finishing
    leftover = folder.with_name(folder.name + ".tmp-999-dead")  # a killed build's temp folder
    leftover.mkdir()
    (leftover / "junk").write_text("partial")
    again = BM25(backend=backend, progress=False, index_root=index_root).index(corpus)
    assert again.built is True and is_complete(folder)
    run = again.retrieve(Queries.from_dict({"x": "vitamin"}), k=3)
    assert run["x"].doc_ids == ("d2",)


def test_failed_build_leaves_nothing_taken_as_complete(tmp_path):
    folder = tmp_path / "idx" / "key"

    def boom(tmp):
        (tmp / "half-written").write_text("x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_or_open(folder, boom, {})
    assert not folder.exists()
    assert list(folder.parent.iterdir()) == []  # the temporary folder was removed too
    path, built = build_or_open(folder, lambda tmp: {"ok": 1}, {"k": "v"})
    assert built and is_complete(path)
    assert build_or_open(folder, boom, {}) == (folder, False)  # complete: build never called


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_corpus_is_refused(backend, index_root):
    with pytest.raises(InputError, match="corpus is empty"):
        BM25(backend=backend, progress=False, index_root=index_root).index(Corpus({}))


def test_duplicate_doc_ids_are_refused(index_root):
    docs = [Document("a", "one"), Document("a", "two")]
    with pytest.raises(InputError, match="duplicate document id 'a'"):
        BM25(progress=False, index_root=index_root).index(docs)
    with pytest.raises(InputError, match="differs from its document's id"):
        BM25(progress=False, index_root=index_root).index({"a": docs[0], "b": docs[0]})


@pytest.mark.parametrize("backend", BACKENDS)
def test_document_without_text_is_indexed_as_empty(backend, index_root):
    docs = Corpus.from_documents([*DOCS, Document("blank", "   "), Document("none", "")])
    with pytest.warns(UserWarning, match="2 of 7 documents have no text"):
        bm25 = BM25(backend=backend, progress=False, index_root=index_root).index(docs)
    run = bm25.retrieve(Queries.from_dict({"x": "heart", "y": "vitamin aspirin exercise"}),
                        k=100)
    assert not {"blank", "none"} & set(run["x"].doc_ids + run["y"].doc_ids)
    assert len(run["y"]) == 4


def test_multifield_title_only_document_warns(index_root):
    docs = Corpus.from_documents([*DOCS, Document("t", "", "Heart title only")])
    with pytest.warns(UserWarning, match="titles are not enough"):
        bm25 = BM25(fields="multifield", progress=False, index_root=index_root).index(docs)
    assert "t" not in bm25.retrieve(Queries.from_dict({"x": "heart"}))["x"].doc_ids


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_and_stopword_queries_get_empty_rankings(backend, corpus, index_root):
    bm25 = BM25(backend=backend, progress=False, index_root=index_root).index(corpus)
    queries = Queries.from_dict({"blank": "  ", "empty": "", "stop": "the of and",
                                 "unknown": "zzzz qqqq", "ok": "heart"})
    with pytest.warns(UserWarning, match="2 queries are empty"):
        run = bm25.retrieve(queries, k=10)
    assert set(run) == set(queries)
    assert len(run["blank"]) == len(run["empty"]) == len(run["stop"]) == len(run["unknown"]) == 0
    assert set(run["ok"].doc_ids) == {"d1", "d3", "q1"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_special_characters_never_reach_a_query_parser(backend, corpus, index_root):
    bm25 = BM25(backend=backend, progress=False, index_root=index_root).index(corpus)
    weird = {"p": 'heart AND (aspirin OR "vitamin" [1 TO 5]) ~2 ^3 \\ / : *?', "u": "cœur ♥ 心臓"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = bm25.retrieve(Queries.from_dict(weird), k=10)
    assert {"d1", "d2", "d3"} <= set(run["p"].doc_ids)
    assert len(run["u"]) == 0


def test_bad_options_are_refused(corpus):
    with pytest.raises(InputError, match="unknown BM25 backend"):
        BM25(backend="terrier")
    with pytest.raises(InputError, match="unknown BM25 fields"):
        BM25(fields="title")
    with pytest.raises(InputError, match="fields='flat'"):
        BM25(backend="bm25s", fields="multifield")
    with pytest.raises(InputError, match="b=1.5"):
        BM25(b=1.5)
    with pytest.raises(InputError, match="before index"):
        BM25().retrieve(Queries.from_dict({"x": "y"}))


def test_bad_k_is_refused(corpus, index_root):
    bm25 = BM25(backend="bm25s", progress=False, index_root=index_root).index(corpus)
    for k in (0, -1, 2.5):
        with pytest.raises(InputError, match="k="):
            bm25.retrieve(Queries.from_dict({"x": "heart"}), k=k)
