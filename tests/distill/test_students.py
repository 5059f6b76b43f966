"""Bi-encoder and SPLADE students with tiny models the tests build: the loss goes down, the
student reloads as the matching first stage (Dense / Splade) and reranker and ranks more like its
teacher than before, the held-out validation queries are not trained on and give a curve, and the
metadata names the teacher, the data and the architecture."""

from __future__ import annotations

import statistics

import pytest

pytest.importorskip("torch")
pytest.importorskip("sentence_transformers.sparse_encoder")
pytest.importorskip("datasets")
pytest.importorskip("accelerate")
from helpers.synthetic import synthetic_task
from helpers.tiny import tiny_bert_folder

from rankify_lite.distill import DistillConfig, distill, load_metadata
from rankify_lite.distill.data import split_queries
from rankify_lite.errors import InputError
from rankify_lite.types import Qrels

FAST = {"batch_size": 8, "pairs_per_query": 16, "max_length": 32, "warmup_ratio": 0.0,
        "learning_rate": 1e-3, "epochs": 3, "negatives": "hard", "validation_queries": 0.25,
        "eval_steps": 6, "validation_metric": "loss", "validation_depth": 10}
# the checkpoint is chosen by validation loss here: on 2 held-out synthetic queries the tiny
# bi-encoder's nDCG@10 starts near 0.95 and no checkpoint beats it, which would keep the
# untrained student (tested in test_validation.py); the loss falls steadily


@pytest.fixture(scope="module")
def task():
    return synthetic_task(n_queries=8, docs_per_query=10)


def _qrels(teacher) -> Qrels:
    """Graded qrels = the teacher's word counts (0-4): the synthetic task's ground truth."""
    return Qrels({q: {d: int(s) for d, s in zip(teacher[q].doc_ids, teacher[q].scores,
                                                 strict=True)} for q in teacher})


def _concordance(run, teacher) -> float:
    shares = []
    for qid in run:
        t = dict(zip(teacher[qid].doc_ids, teacher[qid].scores, strict=True))
        pos = {d: i for i, d in enumerate(run[qid].doc_ids)}
        pos = {d: pos.get(d, len(pos)) for d in t}   # not retrieved: below everything
        ids = list(t)
        pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:] if abs(t[a] - t[b]) >= 1]
        shares.append(sum((pos[a] < pos[b]) == (t[a] > t[b]) for a, b in pairs) / len(pairs))
    return statistics.fmean(shares)


@pytest.fixture(scope="module", params=["bi-encoder", "splade"])
def trained(request, task, tmp_path_factory):
    kind = request.param
    queries, corpus, teacher = task
    base = tiny_bert_folder(tmp_path_factory.mktemp("enc") / "tiny", mlm=kind == "splade")
    cfg = DistillConfig(student_kind=kind, loss="margin-mse", **FAST)
    out = tmp_path_factory.mktemp("student") / kind
    result = distill(teacher, queries, corpus, student=base, output=out, config=cfg,
                     dataset="synthetic", progress=False, device="cpu",
                     validation_qrels=_qrels(teacher))
    return kind, base, result


def test_loss_goes_down(trained):
    _, _, result = trained
    losses = result.losses
    assert len(losses) == result.metadata["training"]["steps"] == 3 * 12   # 96 triplets / 8
    assert statistics.fmean(losses[-6:]) < 0.8 * statistics.fmean(losses[:6])


def test_student_reloads_as_its_first_stage_and_reranker(trained, task):
    from rankify_lite.rerankers import load_reranker
    from rankify_lite.retrievers.dense import Dense
    from rankify_lite.retrievers.splade import Splade

    kind, base, result = trained
    queries, corpus, teacher = task
    cls = Dense if kind == "bi-encoder" else Splade
    after = cls(str(result.folder), device="cpu", progress=False).index(corpus)
    before = cls(base, device="cpu", progress=False).index(corpus)
    run_after = after.retrieve(queries, len(corpus))
    run_before = before.retrieve(queries, len(corpus))
    assert set(run_after.lists) == set(queries)
    c_after = _concordance(run_after, teacher)
    assert c_after > _concordance(run_before, teacher) + 0.05
    # the retriever's scores are the trained model's own (sentence-transformers) scores
    from rankify_lite.distill import students

    model = students.load_student(str(result.folder), DistillConfig(
        student_kind=kind, max_length=32), "cpu")
    q0 = queries["q0"].text
    top = run_after["q0"].top(10)
    theirs = students.score(model, kind, q0, [corpus[d].full_text() for d in top.doc_ids])
    tol = 1e-4 if kind == "bi-encoder" else 0.02   # SPLADE: impacts quantised to 1/100
    assert list(top.scores) == pytest.approx(theirs, abs=tol)
    if kind == "bi-encoder":
        rr = load_reranker("bi-encoder", model=str(result.folder), device="cpu")
        reranked = rr.rerank(queries, teacher, corpus, depth=10)
        assert _concordance(reranked, teacher) == pytest.approx(
            _concordance(run_after, teacher), abs=0.05)


def test_validation_queries_are_held_out_and_give_a_curve(trained, task):
    kind, _, result = trained
    _, _, teacher = task
    meta = result.metadata
    _, val = split_queries(teacher, 0.25, 42)
    assert meta["data"]["validation_queries"] == sorted(val) and len(val) == 2
    assert meta["data"]["queries"] == 6 and meta["data"]["examples"] == 6 * 16
    curve = meta["validation"]["curve"]
    assert [r["step"] for r in curve][:2] == [0, 6]        # before training, then every 6 steps
    assert all("ndcg@10" in r and "loss" in r for r in curve)
    best = meta["validation"]["best_value"]
    assert meta["validation"]["metric"] == "loss" and meta["validation"]["kept"] == "checkpoint"
    assert best == min(r["loss"] for r in curve if r["step"] > 0) < curve[0]["loss"]


def test_metadata_names_teacher_data_and_kind(trained, task):
    kind, base, result = trained
    queries, corpus, teacher = task
    meta = load_metadata(result.folder)
    assert meta["teacher"]["name"] == "count-teacher"
    assert meta["teacher"]["content_hash"] == teacher.content_hash()
    assert meta["data"]["dataset"] == "synthetic"
    assert meta["data"]["queries_hash"] == queries.content_hash()
    assert meta["data"]["corpus_hash"] == corpus.content_hash()
    assert meta["student"]["kind"] == kind and meta["student"]["base_model"] == base
    assert meta["config"]["negatives"] == "hard"
    if kind == "splade":
        assert meta["loss"]["class"].endswith("SpladeLoss")
        assert meta["config"]["splade_document_weight"] > 0
    else:
        assert meta["loss"]["class"].endswith("MarginMSELoss")
        assert 0 < meta["config"]["label_scale"] < 10      # measured on the student


def test_listwise_bi_encoder_loss_trains(task, tmp_path):
    queries, corpus, teacher = task
    base = tiny_bert_folder(tmp_path / "enc")
    cfg = DistillConfig(student_kind="bi-encoder", loss="distill-kl", ways=3, max_steps=4,
                        batch_size=4, pairs_per_query=4, max_length=32)
    result = distill(teacher, queries, corpus, student=base, output=tmp_path / "kl",
                     config=cfg, progress=False, device="cpu")
    assert result.metadata["loss"]["class"].endswith("DistillKLDivLoss")
    assert result.metadata["data"]["example_kind"] == "ways"
    assert len(result.losses) == 4


def test_ndcg_validation_needs_qrels(task, tmp_path):
    queries, corpus, teacher = task
    cfg = DistillConfig(student_kind="bi-encoder", validation_queries=0.25,
                        validation_metric="ndcg@10")
    with pytest.raises(InputError, match="validation_qrels"):
        distill(teacher, queries, corpus, student="unused", output=tmp_path / "x", config=cfg)


def test_unknown_loss_for_kind_is_refused():
    with pytest.raises(InputError, match="for a splade student"):
        DistillConfig(student_kind="splade", loss="lambda")


def test_causal_lm_splade_student_with_echo_embeddings(task, tmp_path):
    """Mistral-SPLADE as a student: a tiny causal LM trained through SpladeLoss with echo
    pooling; it reloads as Splade(folder, architecture="causal-echo") with the same scores."""
    pytest.importorskip("tokenizers")
    from helpers.tiny_causal import tiny_llama

    from rankify_lite.distill import students
    from rankify_lite.retrievers.splade import Splade

    queries, corpus, teacher = task
    model, tok = tiny_llama([d.text for d in corpus.values()] * 5, seed=3)
    model.save_pretrained(tmp_path / "llm")
    tok.save_pretrained(tmp_path / "llm")
    cfg = DistillConfig(student_kind="splade", **{**FAST, "max_length": 48})
    result = distill(teacher, queries, corpus, student=str(tmp_path / "llm"),
                     output=tmp_path / "echo", config=cfg, progress=False, device="cpu",
                     validation_qrels=_qrels(teacher))
    losses = result.losses
    assert statistics.fmean(losses[-6:]) < 0.8 * statistics.fmean(losses[:6])
    assert result.metadata["validation"]["best_step"] is not None
    ret = Splade(str(result.folder), architecture="causal-echo", device="cpu",
                 progress=False).index(corpus)
    top = ret.retrieve(queries, 5)["q0"]
    again = students.load_student(str(result.folder), DistillConfig(
        student_kind="splade", max_length=48), "cpu")
    theirs = students.score(again, "splade", queries["q0"].text,
                            [corpus[d].full_text() for d in top.doc_ids])
    assert list(top.scores) == pytest.approx(theirs, abs=0.02 * (1 + max(theirs)))
