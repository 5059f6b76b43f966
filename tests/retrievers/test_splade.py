"""SPLADE: the encoder computes max-pooled log(1+ReLU(MLM logits)) over real tokens; the
scipy inverted index returns exactly the brute-force top-k of quantised impact dot products."""

from __future__ import annotations

import numpy as np
import pytest

from rankify_lite.errors import InputError
from rankify_lite.types import Corpus, Document, Queries, Query

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("scipy")

SPLADE = "rasyosef/splade-tiny"
from helpers.tiny import WORDS, _cached_or_skip, tiny_bert_folder  # noqa: E402


@pytest.fixture(scope="module")
def tiny_mlm(tmp_path_factory) -> str:
    return tiny_bert_folder(tmp_path_factory.mktemp("tiny-mlm"), mlm=True)


@pytest.fixture(scope="module")
def random_corpus() -> Corpus:
    rng = np.random.default_rng(0)
    return Corpus.from_documents(
        Document(f"d{i}", " ".join(rng.choice(WORDS, size=rng.integers(2, 40)))) for i in range(150))


def test_encoder_matches_the_splade_formula(tiny_mlm):
    from rankify_lite.models import SpladeEncoder

    enc = SpladeEncoder(tiny_mlm, batch_size=4, progress=False, max_logits=2000)  # row slices
    rng = np.random.default_rng(2)
    texts = [" ".join(rng.choice(WORDS, size=n)) for n in (1, 5, 30, 12, 2, 60, 7)] + [""]
    mat = enc.encode_documents(texts)
    assert mat.shape == (len(texts), enc.vocab_size) and mat.dtype == np.float32
    tok = transformers.AutoTokenizer.from_pretrained(tiny_mlm)
    model = transformers.AutoModelForMaskedLM.from_pretrained(tiny_mlm).eval()
    for i, t in enumerate(texts):  # one text at a time: no padding
        ids = tok(t, return_tensors="pt", truncation=True, max_length=64)
        with torch.inference_mode():
            want = torch.log1p(torch.relu(model(**ids).logits[0])).max(0).values.numpy()
        np.testing.assert_allclose(mat[i].toarray()[0], want, atol=1e-5)
    assert enc.last_truncated == 0
    short = SpladeEncoder(tiny_mlm, doc_max_length=8, progress=False)
    short.encode_documents(texts)
    assert short.last_truncated == 4  # 30, 12, 60 and 7 words + [CLS] [SEP] exceed 8 tokens


def test_index_returns_brute_force_topk(tiny_mlm, random_corpus):
    from rankify_lite.retrievers import Splade
    from rankify_lite.retrievers.splade import quantize

    sp = Splade(tiny_mlm, progress=False).index(random_corpus)
    rng = np.random.default_rng(3)
    queries = Queries({f"q{i}": Query(f"q{i}", " ".join(rng.choice(WORDS, size=3)))
                       for i in range(20)})
    run = sp.retrieve(queries, k=15)
    enc = sp.encoder
    docs = quantize(enc.encode_documents([d.text for d in random_corpus.values()]), 100)
    qs = quantize(enc.encode_queries([q.text for q in queries.values()]), 100)
    brute = (qs.astype(np.int64) @ docs.T.astype(np.int64)).toarray() / 1e4
    ids = list(random_corpus)
    for i, qid in enumerate(queries):
        got = run[qid]
        np.testing.assert_allclose(got.scores, np.sort(brute[i])[::-1][:15], atol=1e-9)
        for d, s in zip(got.doc_ids, got.scores, strict=True):
            assert brute[i, ids.index(d)] == pytest.approx(s)
    assert sp.stats["nnz"] == docs.nnz and sp.stats["index_mb"] > 0
    assert sp.stats["search_ms_per_query"] >= 0


def test_corpus_encoded_chunk_by_chunk(tiny_mlm, random_corpus, monkeypatch, tmp_path):
    """Past ENCODE_CHUNK documents SPLADE encodes one chunk per call (texts one chunk at a
    time): the matrix is the chunks' matrices stacked, and within one impact unit of one call."""
    import scipy.sparse as sps

    from rankify_lite.retrievers import Splade
    from rankify_lite.retrievers import dense as dense_mod
    from rankify_lite.retrievers.splade import quantize

    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path))
    monkeypatch.setattr(dense_mod, "ENCODE_CHUNK", 37)  # 150 docs: 4 full chunks + 2
    sp = Splade(tiny_mlm, progress=False)
    mat = sp.doc_matrix(random_corpus)
    texts = [d.full_text(" ") for d in random_corpus.values()]
    chunks = sps.vstack([quantize(sp.encoder.encode_documents(texts[i:i + 37]), 100)
                         for i in range(0, len(texts), 37)], format="csr")
    for a in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(mat, a), getattr(chunks, a))
    one_call = quantize(sp.encoder.encode_documents(texts), 100)
    assert mat.shape == one_call.shape == (150, sp.encoder.vocab_size)
    assert abs(mat - one_call).max() <= 1  # batches differ, so float noise may round apart


def test_cache_and_bad_input(tiny_mlm, random_corpus):
    from rankify_lite.retrievers import Splade
    from rankify_lite.retrievers.registry import retriever_from_config

    a = Splade(tiny_mlm, progress=False).index(random_corpus)
    b = Splade(tiny_mlm, progress=False).index(random_corpus)
    assert b.stats["cached"] is True
    q = Queries({"d3": Query("d3", random_corpus["d3"].text)})
    assert a.retrieve(q, k=5).lists == b.retrieve(q, k=5).lists
    assert "d3" not in a.retrieve(q, k=5, exclude_self_hits=True)["d3"].doc_ids
    c = Splade(tiny_mlm, quantization=10, progress=False).index(random_corpus)
    assert c.stats["cached"] is False  # quantisation is part of the cache key
    assert retriever_from_config(a.config()).config() == a.config()
    with pytest.raises(InputError, match="empty"):
        Splade(tiny_mlm, progress=False).index(Corpus({}))
    with pytest.raises(InputError, match="quantization"):
        Splade(tiny_mlm, quantization=0)


@pytest.mark.slow
def test_splade_tiny_expands_and_retrieves_scifact(scifact):
    from rankify_lite.evaluation.metrics import evaluate
    from rankify_lite.retrievers import Splade

    sp = Splade(_cached_or_skip(SPLADE), progress=False)
    vec = sp.encoder.encode_queries(["vitamin d deficiency increases cancer risk"])
    vocab = sp.encoder.vocabulary()
    terms = {vocab[j] for j in vec.indices}
    assert {"vitamin", "cancer", "risk"} <= terms  # the query's own words are kept ...
    assert len(terms) > 10  # ... and expanded
    qids = sorted(scifact.qrels)[:10]
    rel = {d for q in qids for d in scifact.qrels[q]}
    others = [d for d in scifact.corpus if d not in rel][:80]
    corpus = Corpus({d: scifact.corpus[d] for d in [*sorted(rel), *others]})
    run = sp.index(corpus).retrieve(Queries({q: scifact.queries[q] for q in qids}), k=10)
    assert evaluate(run, scifact.qrels.restrict(qids), ["ndcg_cut_10"]).mean["ndcg@10"] > 0.5


def test_split_head_equals_full_logits_path(tiny_mlm):
    from rankify_lite.models import SpladeEncoder

    split = SpladeEncoder(tiny_mlm, progress=False)
    assert split._decoder is not None  # BERT MLM: the vocabulary projection runs separately
    full = SpladeEncoder(tiny_mlm, progress=False, max_logits=5000)
    full._decoder = None
    del full.model.get_output_embeddings().forward  # back to the model's own head
    rng = np.random.default_rng(5)
    texts = [" ".join(rng.choice(WORDS, size=n)) for n in (3, 50, 9, 1)]
    a, b = split.encode_documents(texts), full.encode_documents(texts)
    np.testing.assert_allclose(a.toarray(), b.toarray(), atol=1e-5)
