"""ColBERT MaxSim reranking equals PyLate 1.6.0 on the same weights, on DL19 candidates.

PyLate pins sentence-transformers 5.3 / transformers <= 5.3, so it lives in its own venv
(``.ci/run`` builds ``~/.cache/rankify-lite/pylate`` and marks it ready; ``RANKIFY_LITE_PYLATE_
PYTHON`` points elsewhere): the reference runs there (``helpers/pylate_reference.py``) on a
tiny random ColBERT checkpoint in PyLate's saved format (MiniLM's real tokenizer), and writes
token ids and scores to JSON, which are compared here. Skipped without the venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.tiny_colbert import stanford_colbert_folder, tiny_colbert_folder

from rankify_lite.errors import InputError
from rankify_lite.types import Run

HERE = Path(__file__).resolve().parent
PYLATE_PYTHON = Path(os.environ.get(
    "RANKIFY_LITE_PYLATE_PYTHON",
    Path.home() / ".cache" / "rankify-lite" / "pylate" / "bin" / "python"))


def pylate_python() -> Path:
    ready = PYLATE_PYTHON.parent.parent / ".rankify-ready"
    if not PYLATE_PYTHON.is_file() or ("RANKIFY_LITE_PYLATE_PYTHON" not in os.environ
                                       and not ready.is_file()):
        pytest.skip("no PyLate environment (set RANKIFY_LITE_PYLATE_PYTHON; .ci/run makes one)")
    return PYLATE_PYTHON


def reference(model: str, queries: list[str], documents: list[list[str]],
              tmp_path: Path, options: dict | None = None) -> dict:
    req, ans = tmp_path / "request.json", tmp_path / "answer.json"
    req.write_text(json.dumps({"model": model, "queries": queries, "documents": documents,
                               "batch_size": 7, "options": options or {}}))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([str(pylate_python()), str(HERE.parents[1] / "helpers" /
                                                     "pylate_reference.py"), str(req), str(ans)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(ans.read_text())


@pytest.fixture(scope="module")
def dl19_small(dl19):
    run = dl19.load_run("bm25.top100")
    qids = list(run)[:4]
    return dl19, Run({q: run[q].top(10) for q in qids}, name="bm25")


@pytest.mark.parametrize("attend", [False, True])
def test_scores_and_token_ids_equal_pylate(attend, dl19_small, tmp_path):
    from rankify_lite import load_reranker

    ds, first = dl19_small
    model = tiny_colbert_folder(tmp_path / "colbert", attend_to_expansion_tokens=attend,
                                query_length=16, document_length=48)
    queries = [ds.queries[q].text for q in first]
    docs = [[ds.corpus[d].full_text() for d in first[q].doc_ids] for q in first]
    ref = reference(model, queries, docs, tmp_path)

    rr = load_reranker("colbert", model=model, device="cpu", batch_size=5)
    enc = rr.encoder
    assert [enc.query_ids(q)[0] for q in queries] == ref["query_ids"]
    assert [enc.query_ids(q)[1] for q in queries] == ref["query_mask"]
    assert [[enc.document_ids(t) for t in ds_] for ds_ in docs] == ref["document_ids"]
    from rankify_lite.models.colbert_encoder import maxsim

    run = rr.rerank(ds.queries, first, ds.corpus, depth=10)
    q_emb = enc.encode_queries(queries)
    for q, qe, texts, ref_scores in zip(first, q_emb, docs, ref["scores"], strict=True):
        ours = [maxsim(qe, e) for e in rr.document_embeddings(texts)]
        np.testing.assert_allclose(ours, ref_scores, rtol=1e-5, atol=1e-5)
        # the reranked order is the reference's order (up to ties within the tolerance)
        ref_of = dict(zip(first[q].doc_ids, ref_scores, strict=True))
        in_order = [ref_of[d] for d in run[q].doc_ids]
        assert all(a >= b - 1e-5 for a, b in zip(in_order, in_order[1:], strict=False))
    kept = [[len(e) for e in rr.document_embeddings(ds_)] for ds_ in docs]
    assert kept == ref["token_counts"]                          # skiplist and padding dropped


def test_jina_style_marker_overrides_equal_pylate(dl19_small, tmp_path):
    """jina-colbert-v2's card loads it into PyLate with ``query_prefix="[QueryMarker]",
    document_prefix="[DocumentMarker]", attend_to_expansion_tokens=True``; the same keyword
    arguments here override the checkpoint's settings the same way (its config says [unused0] /
    [unused1] and no attention to the expansion tokens). The markers are tokens of the
    tokenizer, as in jina's; the XLM-RoBERTa remote code itself is not available offline."""
    import transformers

    from rankify_lite import load_reranker

    ds, first = dl19_small
    model = tiny_colbert_folder(tmp_path / "colbert", query_length=16, document_length=48)
    tok = transformers.AutoTokenizer.from_pretrained(model)
    tok.add_tokens(["[QueryMarker]", "[DocumentMarker]"], special_tokens=True)
    tok.save_pretrained(model)
    bert = transformers.BertModel.from_pretrained(model)
    bert.resize_token_embeddings(len(tok))
    bert.save_pretrained(model)
    options = {"query_prefix": "[QueryMarker]", "document_prefix": "[DocumentMarker]",
               "attend_to_expansion_tokens": True}
    queries = [ds.queries[q].text for q in first][:2]
    docs = [[ds.corpus[d].full_text() for d in first[q].doc_ids] for q in first][:2]
    ref = reference(model, queries, docs, tmp_path, options)

    rr = load_reranker("colbert", model=model, device="cpu", batch_size=5, **options)
    enc = rr.encoder
    marker = tok.convert_tokens_to_ids("[QueryMarker]")
    assert all(ids[1] == marker for ids, _ in map(enc.query_ids, queries))
    assert [enc.query_ids(q)[0] for q in queries] == ref["query_ids"]
    assert [enc.query_ids(q)[1] for q in queries] == ref["query_mask"]
    assert all(m == 1 for q in queries for m in enc.query_ids(q)[1])   # attends to expansion
    assert [[enc.document_ids(t) for t in d] for d in docs] == ref["document_ids"]
    q_emb = enc.encode_queries(queries)
    for qe, texts, ref_scores in zip(q_emb, docs, ref["scores"], strict=True):
        from rankify_lite.models.colbert_encoder import maxsim

        ours = [maxsim(qe, e) for e in rr.document_embeddings(texts)]
        np.testing.assert_allclose(ours, ref_scores, rtol=1e-5, atol=1e-5)
    assert rr.config()["query_prefix"] == "[QueryMarker]"           # recorded in the spec


def test_stanford_layout_equals_pylate_and_the_pylate_layout(dl19_small, tmp_path):
    """ColBERTv2's layout (HF_ColBERT, linear.weight, artifact.metadata) reads as PyLate reads
    it, and gives the scores of the same weights saved in PyLate's layout."""
    from rankify_lite import load_reranker
    from rankify_lite.models.colbert_encoder import maxsim

    ds, first = dl19_small
    pylate_dir = tiny_colbert_folder(tmp_path / "pylate", query_length=16, document_length=48)
    model = stanford_colbert_folder(pylate_dir, tmp_path / "stanford")
    q = next(iter(first))
    texts = [ds.corpus[d].full_text() for d in first[q].doc_ids]
    ref = reference(model, [ds.queries[q].text], [texts], tmp_path)
    scores = {}
    for name, folder in (("stanford", model), ("pylate", pylate_dir)):
        rr = load_reranker("colbert", model=folder, device="cpu")
        assert rr.encoder.format == name
        qe = rr.encoder.encode_queries([ds.queries[q].text])[0]
        scores[name] = [maxsim(qe, e) for e in rr.document_embeddings(texts)]
    np.testing.assert_allclose(scores["stanford"], ref["scores"][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores["stanford"], scores["pylate"], rtol=1e-6, atol=1e-6)


def test_each_passage_is_encoded_once_and_cached(dl19_small, tmp_path):
    from rankify_lite import load_reranker

    ds, first = dl19_small
    model = tiny_colbert_folder(tmp_path / "colbert")
    unique = {d for q in first for d in first[q].doc_ids}
    rr = load_reranker("colbert", model=model, device="cpu", query_batch_size=2)
    a = rr.rerank(ds.queries, first, ds.corpus, depth=10)
    assert a.metadata["llm_stats"]["documents_encoded"] == len(unique)
    b = rr.rerank(ds.queries, first, ds.corpus, depth=10)        # second run: all from memory
    assert b.metadata["llm_stats"]["documents_encoded"] == 0
    assert b.metadata["llm_stats"]["document_cache_hits"] == len(unique)
    assert all(a[q] == b[q] for q in first)                    # same rankings and scores

    disk = load_reranker("colbert", model=model, device="cpu", doc_cache="disk")
    c = disk.rerank(ds.queries, first, ds.corpus, depth=10)
    fresh = load_reranker("colbert", model=model, device="cpu", doc_cache="disk")
    d = fresh.rerank(ds.queries, first, ds.corpus, depth=10)     # a new reranker reads the disk
    assert c.metadata["llm_stats"]["documents_encoded"] == len(unique)
    assert d.metadata["llm_stats"]["documents_encoded"] == 0
    assert [list(c[q].doc_ids) for q in first] == [list(d[q].doc_ids) for q in first]
    np.testing.assert_array_equal([c[q].scores for q in first], [d[q].scores for q in first])


def test_maxsim_is_the_sum_of_best_matches():
    from rankify_lite.models.colbert_encoder import maxsim

    q = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    d = np.array([[0.5, 0.5], [0.9, 0.1], [0.0, 0.2]], dtype=np.float32)
    assert maxsim(q, d) == pytest.approx(0.9 + 0.5)
    assert maxsim(q, d[:0]) == 0.0


def test_unknown_marker_and_cache_mode_are_refused(tmp_path):
    from rankify_lite import load_reranker

    with pytest.raises(InputError, match="doc_cache"):
        load_reranker("colbert", model="/nonexistent", doc_cache="ram")
    model = tiny_colbert_folder(tmp_path / "colbert")
    cfg_path = Path(model) / "config_sentence_transformers.json"
    cfg = json.loads(cfg_path.read_text())
    cfg_path.write_text(json.dumps({**cfg, "query_prefix": "[QQQ]"}))
    with pytest.raises(InputError, match="marker"):
        load_reranker("colbert", model=model, device="cpu")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
