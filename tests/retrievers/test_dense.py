"""Dense retriever: exact search equals brute force over sentence-transformers embeddings,
embeddings cached on disk by content hash (memory-mapped), HNSW, chunked encoding."""

from __future__ import annotations

import numpy as np
import pytest

from rankify_lite.errors import InputError
from rankify_lite.types import Corpus, Document, Queries, Query

torch = pytest.importorskip("torch")
pytest.importorskip("faiss")
transformers = pytest.importorskip("transformers")

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
from helpers.tiny import WORDS, _cached_or_skip, tiny_bert_folder, words_corpus  # noqa: E402


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> str:
    return tiny_bert_folder(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="module")
def random_corpus() -> Corpus:
    return words_corpus(400)


@pytest.fixture(scope="module")
def scifact_subset(scifact):
    """The first 12 test queries, their relevant docs and 120 other SciFact docs."""
    qids = sorted(scifact.qrels)[:12]
    rel = {d for q in qids for d in scifact.qrels[q]}
    others = [d for d in scifact.corpus if d not in rel][:120]
    corpus = Corpus({d: scifact.corpus[d] for d in [*sorted(rel), *others]})
    queries = Queries({q: scifact.queries[q] for q in qids})
    return corpus, queries, scifact.qrels.restrict(qids)


@pytest.mark.slow
def test_minilm_equals_sentence_transformers_brute_force(scifact_subset):
    from sentence_transformers import SentenceTransformer

    from rankify_lite.evaluation.metrics import evaluate
    from rankify_lite.retrievers import Dense

    corpus, queries, qrels = scifact_subset
    dense = Dense(_cached_or_skip(MINILM), progress=False).index(corpus)
    run = dense.retrieve(queries, k=20)
    st = SentenceTransformer(MINILM, device="cpu")
    emb = st.encode([d.full_text(" ") for d in corpus.values()])
    q = st.encode([x.text for x in queries.values()])
    sims = q @ emb.T
    ids = list(corpus)
    for i, qid in enumerate(queries):
        top = np.argsort(-sims[i])[:10]
        assert list(run[qid].doc_ids[:10]) == [ids[j] for j in top]
        np.testing.assert_allclose(run[qid].scores[:10], sims[i, top], atol=1e-5)
    # the real model finds the relevant abstracts among 300+ others
    assert evaluate(run, qrels, ["ndcg_cut_10"]).mean["ndcg@10"] > 0.6
    assert run.metadata["retriever"]["family"] == "dense"
    assert run.metadata["retriever"]["model_revision"]

    again = Dense(MINILM, progress=False).index(corpus)  # a new instance reuses the cache
    assert again.stats["embeddings_cached"] is True
    assert isinstance(again.embed_corpus(corpus), np.memmap)
    assert again.retrieve(queries, k=20).lists == run.lists


def test_cache_key_follows_content_and_config(tiny_bert, random_corpus):
    from rankify_lite.retrievers.dense import Dense

    a = Dense(tiny_bert, progress=False).index(random_corpus)
    assert a.stats["embeddings_cached"] is False and a.embeddings_path.is_file()
    b = Dense(tiny_bert, progress=False).index(random_corpus)
    assert b.stats["embeddings_cached"] is True and b.embeddings_path == a.embeddings_path
    c = Dense(tiny_bert, pooling="cls", progress=False).index(random_corpus)
    assert c.embeddings_path != a.embeddings_path  # another encoder config, another file
    changed = Corpus.from_documents([*list(random_corpus.values())[:-1], Document("dX", "mice")])
    d = Dense(tiny_bert, progress=False).index(changed)
    assert d.embeddings_path != a.embeddings_path


def test_chunked_memmap_encoding_equals_one_shot(tiny_bert, random_corpus, monkeypatch):
    from rankify_lite.models import DenseEncoder
    from rankify_lite.retrievers import dense as dense_mod

    monkeypatch.setattr(dense_mod, "ENCODE_CHUNK", 37)  # many chunks, last one partial
    r = dense_mod.Dense(tiny_bert, query_prefix="the ", progress=False)
    emb = r.embed_corpus(random_corpus)
    assert isinstance(emb, np.memmap) and emb.shape == (400, 32)
    one_shot = DenseEncoder(tiny_bert, progress=False).encode_documents(
        [d.full_text(" ") for d in random_corpus.values()])
    np.testing.assert_allclose(np.asarray(emb), one_shot, atol=1e-5)
    assert not list(r.embeddings_path.parent.glob(".*tmp*"))  # temp file renamed away


def test_mmap_streaming_search_equals_faiss_flat(tiny_bert, random_corpus, monkeypatch):
    from rankify_lite.retrievers import Dense
    from rankify_lite.retrievers import dense as dense_mod

    monkeypatch.setattr(dense_mod, "SEARCH_BLOCK", 64)  # many blocks, last one partial
    rng = np.random.default_rng(4)
    queries = Queries({f"q{i}": Query(f"q{i}", " ".join(rng.choice(WORDS, size=5)))
                       for i in range(10)})
    flat = Dense(tiny_bert, progress=False).index(random_corpus).retrieve(queries, k=20)
    mm = Dense(tiny_bert, index="mmap", progress=False).index(random_corpus)
    run = mm.retrieve(queries, k=20)
    for q in queries:
        assert run[q].doc_ids == flat[q].doc_ids
        np.testing.assert_allclose(run[q].scores, flat[q].scores, rtol=1e-5)


def test_hnsw_agrees_with_exact_search(tiny_bert, random_corpus):
    from rankify_lite.retrievers import Dense

    rng = np.random.default_rng(1)
    queries = Queries({f"q{i}": Query(f"q{i}", " ".join(rng.choice(WORDS, size=4)))
                       for i in range(30)})
    flat = Dense(tiny_bert, normalize=True, progress=False).index(random_corpus)
    hnsw = Dense(tiny_bert, normalize=True, index="hnsw", ef_search=256,
                 progress=False).index(random_corpus)
    a, b = flat.retrieve(queries, k=10), hnsw.retrieve(queries, k=10)
    overlap = np.mean([len(set(a[q].doc_ids) & set(b[q].doc_ids)) / 10 for q in queries])
    assert overlap >= 0.95
    assert hnsw.config()["index"] == "hnsw" and hnsw.config()["ef_search"] == 256
    for q in queries:  # scores are inner products of unit vectors, in rank order
        assert list(a[q].scores) == sorted(a[q].scores, reverse=True)
        assert all(-1.0001 <= s <= 1.0001 for s in a[q].scores)


def test_self_hits_k_and_bad_input(tiny_bert, random_corpus):
    from rankify_lite.retrievers import Dense
    from rankify_lite.retrievers.registry import retriever_from_config

    r = Dense(tiny_bert, normalize=True, progress=False).index(random_corpus)
    queries = Queries({"d5": Query("d5", random_corpus["d5"].full_text(" "))})
    with_self = r.retrieve(queries, k=5)
    assert with_self["d5"].doc_ids[0] == "d5"  # its own text: cosine 1, the nearest
    without = r.retrieve(queries, k=5, exclude_self_hits=True)
    assert "d5" not in without["d5"].doc_ids and len(without["d5"]) == 5
    assert len(r.retrieve(queries, k=10_000)["d5"]) == 400  # k larger than the corpus
    rebuilt = retriever_from_config(r.config())
    assert rebuilt.config() == r.config()
    with pytest.raises(InputError, match="empty"):
        Dense(tiny_bert, progress=False).index(Corpus({}))
    with pytest.raises(InputError, match="unknown dense index"):
        Dense(tiny_bert, index="ivf")
