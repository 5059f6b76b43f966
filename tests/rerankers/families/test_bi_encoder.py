"""The bi-encoder reranker scores by embedding similarity, embeds each unique document once per
batch of queries, and (with the real all-MiniLM-L6-v2 weights) equals sentence-transformers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
from helpers.tiny_models import save_tiny_bert

from rankify_lite.io.trec import read_run
from rankify_lite.types import Run

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory, scifact) -> Path:
    texts = [d.full_text() for d in list(scifact.corpus.values())[:300]]
    return save_tiny_bert(tmp_path_factory.mktemp("bi") / "tiny-enc", texts, task="encoder",
                          max_positions=64)


def _ours(model, **kwargs):
    from rankify_lite.rerankers.families.bi_encoder import BiEncoderReranker

    return BiEncoderReranker(model=str(model), device="cpu", **kwargs)


def _candidates(scifact, n_queries: int, n_docs: int, overlap: bool = True) -> Run:
    qids = list(scifact.queries)[:n_queries]
    docs = list(scifact.corpus)
    step = 3 if overlap else n_docs
    return Run.from_rankings({q: docs[i * step:i * step + n_docs] for i, q in enumerate(qids)},
                             name="first")


def test_scores_are_dot_products_of_the_encoder_vectors(tiny_encoder, scifact):
    ours = _ours(tiny_encoder, query_batch_size=3)
    cands = _candidates(scifact, 5, 12)
    run = ours.rerank(scifact.queries, cands, scifact.corpus, depth=8)
    enc = ours.encoder
    assert enc.normalize is False and ours.config()["similarity"] == "dot"
    for q in cands:
        head = cands[q].doc_ids[:8]
        qv = enc.encode_queries([scifact.queries[q].text])[0]
        dv = enc.encode_documents([scifact.corpus[d].full_text() for d in head])
        expected = dv.astype(np.float64) @ qv.astype(np.float64)
        assert list(run[q].doc_ids[:8]) == [head[i] for i in np.argsort(-expected,
                                                                         kind="stable")]
        np.testing.assert_allclose(run[q].scores[:8], np.sort(expected)[::-1], rtol=1e-4,
                                   atol=1e-4)
        assert run[q].doc_ids[8:] == cands[q].doc_ids[8:]
    assert set(run.metadata["timing"]["per_query_s"]) == set(cands)


def test_each_unique_document_is_embedded_once_per_batch(tiny_encoder, scifact):
    ours = _ours(tiny_encoder, query_batch_size=10)
    seen: list[list[str]] = []
    original = ours.encoder.encode_documents

    def recording(texts, *args, **kwargs):
        seen.append(list(texts))
        return original(texts, *args, **kwargs)

    ours.encoder.encode_documents = recording
    cands = _candidates(scifact, 10, 20)  # windows overlap: 20 + 9 * 3 = 47 unique docs
    ours.rerank(scifact.queries, cands, scifact.corpus, depth=20)
    assert len(seen) == 1 and len(seen[0]) == 47 == len(set(seen[0]))


def test_empty_and_single_candidate_lists(tiny_encoder, scifact):
    qids = list(scifact.queries)[:3]
    doc = next(iter(scifact.corpus))
    cands = Run.from_rankings({qids[0]: [], qids[1]: [doc], qids[2]: []})
    run = _ours(tiny_encoder).rerank(scifact.queries, cands, scifact.corpus, depth=10)
    assert run[qids[0]].doc_ids == () == run[qids[2]].doc_ids
    assert run[qids[1]].doc_ids == (doc,)


def test_registry_builds_it(tiny_encoder):
    from rankify_lite.rerankers import load_reranker
    from rankify_lite.rerankers.families.bi_encoder import BiEncoderReranker

    rr = load_reranker("bi-encoder", model=str(tiny_encoder), device="cpu", pooling="cls")
    assert isinstance(rr, BiEncoderReranker) and rr.config()["pooling"] == "cls"


def _minilm_or_skip() -> str:
    from rankify_lite.models import loader

    if loader.model_file(MINILM, "config.json") is None:
        pytest.skip(f"{MINILM} is not in the Hugging Face cache "
                    "(python scripts/install_offline_models.py --models minilm)")
    return MINILM


@pytest.mark.slow
def test_real_minilm_scores_equal_sentence_transformers_cosine(shared_data):
    """BM25 top-10 of 8 real SciFact queries, real MiniLM weights: cosine as in ST."""
    st = pytest.importorskip("sentence_transformers")
    from rankify_lite import load_dataset

    model = _minilm_or_skip()
    ds = load_dataset(shared_data / "beir" / "scifact")
    bm25 = read_run(shared_data / "beir" / "scifact" / "runs" /
                    "anserini-bm25-flat.top1000.trec.gz").top(10)
    bm25 = bm25.restrict(list(bm25)[:8])
    run = _ours(model).rerank(ds.queries, bm25, ds.corpus, depth=10)
    ref = st.SentenceTransformer(model, device="cpu")
    for q in bm25:
        head = bm25[q].doc_ids
        qv = ref.encode([ds.queries[q].text], normalize_embeddings=True)[0]
        dv = ref.encode([ds.corpus[d].full_text() for d in head], normalize_embeddings=True)
        expected = dv @ qv
        got = dict(zip(run[q].doc_ids, run[q].scores, strict=True))
        np.testing.assert_allclose([got[d] for d in head], expected, atol=1e-5)
