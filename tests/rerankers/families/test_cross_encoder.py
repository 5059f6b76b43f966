"""The cross-encoder reranker equals sentence-transformers' CrossEncoder.predict, batches by a
token budget, survives GPU out-of-memory by halving, and fails clearly on a missing model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
from helpers.tiny_models import save_tiny_bert

from rankify_lite.errors import InputError
from rankify_lite.types import Queries, Run


@pytest.fixture(scope="module")
def texts(scifact):
    docs = list(scifact.corpus.values())[:300]
    return [d.full_text() for d in docs] + [q.text for q in scifact.queries.values()]


@pytest.fixture(scope="module")
def tiny_ce(tmp_path_factory, texts) -> Path:
    """num_labels=1, 64 positions: most SciFact abstracts get truncated."""
    return save_tiny_bert(tmp_path_factory.mktemp("ce") / "tiny-ce", texts)


@pytest.fixture(scope="module")
def pairs(scifact):
    """Real SciFact (query, abstract) pairs, long and short, plus awkward edge cases."""
    queries = [q.text for q in list(scifact.queries.values())[:4]]
    docs = [d.full_text() for d in list(scifact.corpus.values())[:25]]
    out = [(q, d) for q in queries for d in docs]
    out += [(queries[0], ""), (queries[0], "short passage"),
            (" ".join([queries[1]] * 20), docs[0]),  # query alone longer than max_length
            (" ".join([queries[2]] * 20), "tiny")]
    return out


def _st(folder: Path, **kwargs):
    st = pytest.importorskip("sentence_transformers")
    return st.CrossEncoder(str(folder), device="cpu", **kwargs)


def _ours(folder: Path, **kwargs):
    from rankify_lite.rerankers.families.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(model=str(folder), device="cpu", **kwargs)


@pytest.mark.parametrize("options", [
    {},                                       # defaults
    {"batch_size": 3},                        # many small batches
    {"batch_size": 64, "max_tokens": 200},    # budget-bound: 3 long pairs or ~20 short ones
])
def test_scores_equal_sentence_transformers_predict(tiny_ce, pairs, options):
    expected = _st(tiny_ce).predict(pairs, batch_size=32)
    assert np.std(expected) > 1e-2  # the comparison below means something
    got = _ours(tiny_ce, **options).predict(pairs)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_raw_logits_and_truncation_length_equal_sentence_transformers(tiny_ce, pairs):
    import torch

    expected = _st(tiny_ce, max_length=24).predict(pairs, activation_fn=torch.nn.Identity())
    ours = _ours(tiny_ce, max_length=24, activation="none")
    assert ours.max_length == 24
    np.testing.assert_allclose(ours.predict(pairs), expected, atol=1e-5, rtol=0)
    # truncation changed the scores (the passage tail beyond 24 tokens is really cut)
    full = _ours(tiny_ce, activation="none").predict(pairs)
    assert np.abs(full - expected).max() > 1e-3


def test_default_max_length_is_capped_at_position_embeddings(tiny_ce):
    assert _ours(tiny_ce).max_length == 64 == _st(tiny_ce).max_seq_length


def test_saved_activation_is_honoured_like_sentence_transformers(tmp_path, texts, pairs):
    """ms-marco cross-encoders save activation_fn=Identity: predict then returns raw logits."""
    folder = save_tiny_bert(tmp_path / "identity-ce", texts, seed=3)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["sentence_transformers"] = {"activation_fn": "torch.nn.modules.linear.Identity"}
    (folder / "config.json").write_text(json.dumps(cfg))
    ours = _ours(folder)
    assert ours.activation == "none"
    expected = _st(folder).predict(pairs)
    assert expected.min() < 0 or expected.max() > 1  # logits, not probabilities
    np.testing.assert_allclose(ours.predict(pairs), expected, atol=1e-5, rtol=0)


def test_two_label_model_scores_by_relevant_class(tmp_path, texts, pairs):
    folder = save_tiny_bert(tmp_path / "two-label", texts, num_labels=2, seed=5)
    probs = _st(folder).predict(pairs, apply_softmax=True)
    got = _ours(folder).predict(pairs)
    np.testing.assert_allclose(np.exp(got), probs[:, 1], atol=1e-5, rtol=0)


def test_rerank_orders_by_model_scores_keeps_tail_and_times_queries(tiny_ce, scifact):
    qids = list(scifact.queries)[:6]
    docs = list(scifact.corpus)
    cands = Run.from_rankings({q: docs[i * 7:i * 7 + 30] for i, q in enumerate(qids)},
                              name="fake-first-stage")
    ours = _ours(tiny_ce, query_batch_size=4)  # 2 calls: 4 + 2 queries
    run = ours.rerank(scifact.queries, cands, scifact.corpus, depth=20)
    st = _st(tiny_ce)
    for q in qids:
        head = cands[q].doc_ids[:20]
        expected = st.predict([(scifact.queries[q].text, scifact.corpus[d].full_text())
                               for d in head])
        want = [head[i] for i in np.argsort(-expected, kind="stable")]
        assert list(run[q].doc_ids[:20]) == want
        assert run[q].doc_ids[20:] == cands[q].doc_ids[20:]          # tail untouched
        np.testing.assert_allclose(run[q].scores[:20], np.sort(expected)[::-1], atol=1e-5)
        assert all(a > b for a, b in zip(run[q].scores, run[q].scores[1:], strict=False))
    timing = run.metadata["timing"]
    assert set(timing["per_query_s"]) == set(qids)
    assert run.metadata["reranker"]["model"] == str(tiny_ce)
    assert run.name == "fake-first-stage>>cross-encoder"


def test_pairs_of_several_queries_go_to_one_call(tiny_ce, scifact):
    ours = _ours(tiny_ce)
    assert ours.queries_per_call(100) == 40 and ours.queries_per_call(10_000) == 1
    calls: list[int] = []

    def fake_score_pairs(queries, passages):  # records the call sizes, scores by length
        calls.append(len(queries))
        return np.array([len(p) for p in passages], dtype=float)

    ours.score_pairs = fake_score_pairs
    qids = list(scifact.queries)[:50]
    docs = list(scifact.corpus)
    cands = Run.from_rankings({q: docs[:100] for q in qids})
    run = ours.rerank(scifact.queries, cands, scifact.corpus, depth=100)
    assert calls == [4000, 1000]
    longest = max(docs[:100], key=lambda d: (len(scifact.corpus[d].full_text()), -docs.index(d)))
    assert all(run[q].doc_ids[0] == longest for q in qids)


def test_empty_candidates_and_single_candidate(tiny_ce, scifact):
    qids = list(scifact.queries)[:3]
    doc = next(iter(scifact.corpus))
    cands = Run.from_rankings({qids[0]: [], qids[1]: [doc], qids[2]: [doc]})
    run = _ours(tiny_ce).rerank(scifact.queries, cands, scifact.corpus, depth=100)
    assert run[qids[0]].doc_ids == ()
    assert run[qids[1]].doc_ids == (doc,)
    expected = _st(tiny_ce).predict([(scifact.queries[qids[1]].text,
                                      scifact.corpus[doc].full_text())])
    assert run[qids[1]].scores[0] == pytest.approx(float(expected[0]), abs=1e-5)
    assert _ours(tiny_ce).predict([]).shape == (0,)


class _OOMOnLargeBatches:
    """Wraps a model; raises CUDA out-of-memory when a batch holds more than `limit` tokens."""

    def __init__(self, model, limit: int) -> None:
        self.model, self.limit, self.sizes = model, limit, []
        self.config = model.config

    def __call__(self, **inputs):
        import torch

        ids = inputs["input_ids"]
        if ids.numel() > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        self.sizes.append(ids.shape[0])
        return self.model(**inputs)


def test_out_of_memory_halves_the_batch_and_finishes(tiny_ce, pairs):
    expected = _st(tiny_ce).predict(pairs)
    ours = _ours(tiny_ce, batch_size=32)
    ours.model = _OOMOnLargeBatches(ours.model, limit=4 * 64)
    got = ours.predict(pairs)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert max(ours.model.sizes) <= 4 and ours.batch_size <= 4
    assert sum(ours.model.sizes) == len(pairs)


def test_other_errors_are_not_swallowed(tiny_ce, pairs):
    ours = _ours(tiny_ce)

    def broken(**_):
        raise RuntimeError("CUBLAS_STATUS_EXECUTION_FAILED")

    broken.config = ours.model.config
    ours.model = broken
    with pytest.raises(RuntimeError, match="CUBLAS"):
        ours.predict(pairs)


@pytest.mark.parametrize("model", ["no-such-org/no-such-cross-encoder", "/no/such/folder/model"])
def test_model_missing_offline_says_how_to_provide_it(model):
    with pytest.raises(InputError) as err:
        _ours(Path(model) if model.startswith("/") else model)
    text = str(err.value)
    assert model in text
    assert "local folder" in text and "HF_HUB_OFFLINE" in text


def test_registry_builds_it(tiny_ce):
    from rankify_lite.rerankers import load_reranker
    from rankify_lite.rerankers.families.cross_encoder import CrossEncoderReranker

    rr = load_reranker("cross-encoder", model=str(tiny_ce), device="cpu", batch_size=8)
    assert isinstance(rr, CrossEncoderReranker) and rr.batch_size == 8
    assert rr.config()["dtype"] == "float32"


def test_bad_options_are_input_errors(tiny_ce):
    with pytest.raises(InputError, match="activation"):
        _ours(tiny_ce, activation="softmax")
    with pytest.raises(InputError, match="max_tokens"):
        _ours(tiny_ce, max_tokens=10)
    with pytest.raises(InputError, match="dtype"):
        _ours(tiny_ce, dtype="int3")


def test_queries_are_not_mutated(tiny_ce, scifact):
    qids = list(scifact.queries)[:2]
    queries = Queries({q: scifact.queries[q] for q in qids})
    cands = Run.from_rankings({q: list(scifact.corpus)[:5] for q in qids})
    before = cands.to_dict()
    _ours(tiny_ce).rerank(queries, cands, scifact.corpus, depth=5)
    assert cands.to_dict() == before
