"""Reranker relevance feedback with tiny encoders the test builds: the closed-form gradient is the
KL's gradient (finite differences), feedback lowers the KL and moves each query towards the
reranker's top documents, zero steps is the plain dense run, and the spec rebuilds it."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("faiss")
from helpers.synthetic import synthetic_task
from helpers.tiny import tiny_bert_folder

from rankify_lite.errors import InputError
from rankify_lite.retrievers.feedback import RerankerFeedback, feedback_step


def _kl(q, docs, teacher, t, tt):
    def sm(x):
        e = np.exp(x - x.max())
        return e / e.sum()
    p, r = sm(teacher / tt), sm(docs @ q / t)
    return float(np.sum(p * np.log(p / r)))


def test_gradient_is_the_kl_gradient():
    rng = np.random.default_rng(0)
    q, docs, teacher = rng.normal(size=8), rng.normal(size=(5, 8)), rng.normal(size=5)
    grad, kl = feedback_step(q, docs, teacher, 0.7, 0.5)
    assert kl == pytest.approx(_kl(q, docs, teacher, 0.7, 0.5), rel=1e-9)
    eps = 1e-6
    numeric = [(_kl(q + eps * e, docs, teacher, 0.7, 0.5)
                - _kl(q - eps * e, docs, teacher, 0.7, 0.5)) / (2 * eps) for e in np.eye(8)]
    assert grad == pytest.approx(numeric, abs=1e-6)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    import torch
    import transformers

    from rankify_lite.rerankers import load_reranker
    from rankify_lite.retrievers.dense import Dense

    root = tmp_path_factory.mktemp("fb")
    student = tiny_bert_folder(root / "retriever")
    teacher_dir = tiny_bert_folder(root / "teacher")
    model = transformers.AutoModel.from_pretrained(teacher_dir)
    torch.manual_seed(1)   # another random encoder: a teacher that disagrees with the retriever
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    model.save_pretrained(teacher_dir)
    queries, corpus, _ = synthetic_task(n_queries=4, docs_per_query=10)
    dense = Dense(student, device="cpu", progress=False, normalize=True)
    reranker = load_reranker("bi-encoder", model=teacher_dir, device="cpu", normalize=True)
    return queries, corpus, dense, reranker


def _shares(qids, vecs, judged, emb, rows, k):
    """Per query: softmax weight the query's scores put on the teacher's top 3 of the top k."""
    out = []
    for i, qid in enumerate(qids):
        top = judged[qid].top(k)
        docs = np.asarray(emb[[rows[d] for d in top.doc_ids]])
        s = docs @ vecs[i] / 0.05
        w = np.exp(s - s.max())
        out.append(w[:3].sum() / w.sum())
    return np.array(out)


def test_feedback_moves_queries_towards_the_teachers_top_documents(setup):
    queries, corpus, dense, reranker = setup
    fb = RerankerFeedback(dense, reranker, k=10, steps=10, lr=0.05).index(corpus)
    qids, q0, moved, judged = fb.moved_queries(queries, corpus)
    assert fb.stats["kl_after"] < fb.stats["kl_before"]
    emb, rows = dense.embed_corpus(corpus), {d: i for i, d in enumerate(corpus.keys())}
    before = _shares(qids, q0, judged, emb, rows, 10)
    after = _shares(qids, moved, judged, emb, rows, 10)
    assert np.all(after > before), (before, after)
    run = fb.retrieve(queries, 10)
    assert set(run.lists) == set(queries)
    assert run.metadata["retriever"]["family"] == "reranker-feedback"
    assert run.metadata["retriever"]["reranker"]["family"] == "bi-encoder"


def test_zero_steps_is_the_dense_run(setup):
    queries, corpus, dense, reranker = setup
    plain = dense.index(corpus).retrieve(queries, 10)
    fb = RerankerFeedback(dense, reranker, k=10, steps=0).index(corpus)
    same = fb.retrieve(queries, 10)
    for q in queries:
        assert same[q].doc_ids == plain[q].doc_ids
        assert same[q].scores == pytest.approx(plain[q].scores, abs=1e-6)


def test_spec_rebuilds_the_same_component(setup):
    from rankify_lite.builders import build

    queries, corpus, dense, reranker = setup
    fb = RerankerFeedback(dense, "bi-encoder", reranker_options=dict(reranker.spec().options),
                          k=10, steps=3, lr=0.05)
    spec = fb.spec()
    assert spec.rebuildable and spec.family == "reranker-feedback"
    again = build(spec)
    assert isinstance(again, RerankerFeedback) and again.config() == fb.config()
    a = fb.index(corpus).retrieve(queries, 10)
    b = again.index(corpus).retrieve(queries, 10)
    assert [a[q].doc_ids for q in queries] == [b[q].doc_ids for q in queries]


def test_a_non_dense_first_stage_is_refused(setup):
    from rankify_lite.retrievers.bm25 import BM25

    _, _, _, reranker = setup
    with pytest.raises(InputError, match="Dense"):
        RerankerFeedback(BM25(), reranker)


def test_rerun_rebuilds_a_saved_feedback_pipeline(setup, tmp_path, capsys):
    import json

    from rankify_lite import load_dataset
    from rankify_lite.cli.main import main
    from rankify_lite.pipeline import Pipeline

    queries, corpus, dense, reranker = setup
    root = tmp_path / "synthetic"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": d.id, "title": "", "text": d.text}) + "\n" for d in corpus.values()))
    (root / "queries.jsonl").write_text("".join(
        json.dumps({"_id": q.id, "text": q.text}) + "\n" for q in queries.values()))
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{q}-d4\t1\n" for q in queries))
    fb = RerankerFeedback(dense, "bi-encoder", reranker_options=dict(reranker.spec().options),
                          k=10, steps=3, lr=0.05)
    result = Pipeline(fb, depth=10, cache=False, progress=False).run(load_dataset(str(root)))
    meta = result.save(tmp_path / "a")
    assert main(["rerun", str(meta), "--output", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    files = json.loads(meta.read_text())["files"]
    assert files
    for fname in files.values():
        assert (tmp_path / "a" / fname).read_bytes() == (tmp_path / "b" / fname).read_bytes()
