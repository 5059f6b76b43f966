"""Distillation with tiny models the tests build: the loss goes down, the saved student reloads
as a cross-encoder reranker and ranks like its teacher, its metadata names the teacher, and an
interrupted training resumes from its checkpoint to the same result."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("torch")
pytest.importorskip("sentence_transformers.cross_encoder")
pytest.importorskip("datasets")
pytest.importorskip("accelerate")
from helpers.synthetic import synthetic_task
from helpers.tiny import tiny_bert_folder

from rankify_lite.distill import METADATA_FILE, DistillConfig, distill, load_metadata
from rankify_lite.errors import InputError

FAST = {"batch_size": 8, "pairs_per_query": 16, "max_length": 32, "warmup_ratio": 0.0,
        "learning_rate": 1e-2}


@pytest.fixture(scope="module")
def task():
    return synthetic_task(n_queries=6, docs_per_query=10)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> str:
    """A plain 2-layer BERT encoder (no classification head): the student gets a fresh one."""
    return tiny_bert_folder(tmp_path_factory.mktemp("enc") / "tiny-bert")


@pytest.fixture(scope="module")
def trained(task, encoder, tmp_path_factory):
    queries, corpus, teacher = task
    out = tmp_path_factory.mktemp("student") / "student"
    cfg = DistillConfig(loss="margin-mse", epochs=6, **FAST)
    return distill(teacher, queries, corpus, student=encoder, output=out, config=cfg,
                   dataset="synthetic", progress=False, device="cpu")


def _concordance(run, teacher) -> float:
    """Mean over queries of the share of teacher-ordered pairs the run orders the same way."""
    shares = []
    for qid in teacher:
        t = dict(zip(teacher[qid].doc_ids, teacher[qid].scores, strict=True))
        pos = {d: i for i, d in enumerate(run[qid].doc_ids)}
        ids = list(t)
        pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:] if abs(t[a] - t[b]) >= 1]
        shares.append(sum((pos[a] < pos[b]) == (t[a] > t[b]) for a, b in pairs) / len(pairs))
    return sum(shares) / len(shares)


def test_loss_goes_down(trained):
    losses = trained.losses
    assert len(losses) == trained.metadata["training"]["steps"] == 6 * math.ceil(96 / 8)
    assert all(math.isfinite(v) for v in losses)
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < 0.5 * first, (first, last)


def test_saved_student_reloads_and_ranks_like_its_teacher(trained, task, encoder):
    import torch

    from rankify_lite.rerankers import load_reranker

    queries, corpus, teacher = task
    student = load_reranker("cross-encoder", model=str(trained.folder), device="cpu")
    assert student.num_labels == 1 and student.max_length == 32
    reranked = student.rerank(queries, teacher, corpus, depth=10)
    torch.manual_seed(0)
    untrained = load_reranker("cross-encoder", model=encoder, device="cpu")  # random head
    before = _concordance(untrained.rerank(queries, teacher, corpus, depth=10), teacher)
    after = _concordance(reranked, teacher)
    assert after > 0.8 and after > before + 0.2, (before, after)
    # a normal sentence-transformers cross-encoder folder: same scores from CrossEncoder.predict
    from sentence_transformers.cross_encoder import CrossEncoder

    pairs = [(queries["q0"].text, corpus[d].text) for d in teacher["q0"].doc_ids]
    ours = student.predict(pairs)
    theirs = CrossEncoder(str(trained.folder), device="cpu").predict(pairs)
    assert ours == pytest.approx(theirs, abs=1e-5)


def test_metadata_names_teacher_config_and_losses(trained, task, encoder):
    queries, corpus, teacher = task
    meta = load_metadata(trained.folder)
    assert meta == json.loads((trained.folder / METADATA_FILE).read_text())
    assert meta["teacher"]["name"] == "count-teacher"
    assert meta["teacher"]["content_hash"] == teacher.content_hash()
    assert meta["teacher"]["metadata"] == {"family": "synthetic"}
    assert meta["student"]["base_model"] == encoder
    assert meta["loss"]["class"].endswith("MarginMSELoss") and meta["loss"]["name"] == "margin-mse"
    assert meta["config"]["labels"] == "zscore" and meta["config"]["learning_rate"] == 1e-2
    assert meta["data"] == {"dataset": "synthetic", "queries_hash": queries.content_hash(),
                            "corpus_hash": corpus.content_hash(), "examples": 96,
                            "example_kind": "triplets", "queries": 6, "skipped_queries": {},
                            "validation_queries": [], "validation_examples": 0}
    assert meta["student"]["kind"] == "cross-encoder" and meta["student"]["num_labels"] == 1
    steps = [row["step"] for row in meta["training"]["losses"]]
    assert steps == list(range(1, 73)) and meta["training"]["resumed_from"] is None
    assert "torch" in meta["environment"]["packages"]
    assert not (trained.folder / "checkpoints").exists()        # removed after success


@pytest.mark.parametrize("loss, cls", [("ranknet", "RankNetLoss"), ("listnet", "ListNetLoss"),
                                       ("lambda", "LambdaLoss"), ("adr-mse", "ADRMSELoss")])
def test_listwise_losses_train(loss, cls, task, encoder, tmp_path):
    from sentence_transformers.cross_encoder import losses

    if not hasattr(losses, cls):
        pytest.skip(f"this sentence-transformers has no {cls}")
    queries, corpus, teacher = task
    cfg = DistillConfig(loss=loss, list_size=5, lists_per_query=2, max_steps=3, batch_size=4,
                        max_length=32)
    result = distill(teacher, queries, corpus, student=encoder, output=tmp_path / loss,
                     config=cfg, progress=False, device="cpu")
    meta = result.metadata
    assert meta["loss"]["class"].endswith(cls) and meta["data"]["example_kind"] == "lists"
    assert meta["data"]["examples"] == 12 and len(result.losses) == 3
    assert all(math.isfinite(v) for v in result.losses)


class _Interrupt(Exception):
    pass


def _interrupt_at(step: int):
    from transformers import TrainerCallback

    class Stop(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == step:
                raise _Interrupt(f"killed at step {step}")

    return Stop()


def test_resume_from_checkpoint_gives_the_uninterrupted_result(task, encoder, tmp_path):
    queries, corpus, teacher = task
    cfg = DistillConfig(loss="margin-mse", max_steps=6, save_steps=2, **FAST)
    kw = {"student": encoder, "config": cfg, "progress": False, "device": "cpu"}
    whole = distill(teacher, queries, corpus, output=tmp_path / "whole", **kw)

    out = tmp_path / "resumed"
    with pytest.raises(_Interrupt):
        distill(teacher, queries, corpus, output=out, callbacks=[_interrupt_at(5)], **kw)
    assert not (out / METADATA_FILE).exists()
    assert sorted(p.name for p in (out / "checkpoints").glob("checkpoint-*")) == \
        ["checkpoint-2", "checkpoint-4"]
    with pytest.raises(InputError, match="interrupted training.*--resume"):
        distill(teacher, queries, corpus, output=out, **kw)          # no silent restart
    other = DistillConfig(loss="margin-mse", max_steps=6, save_steps=2,
                          **{**FAST, "learning_rate": 5e-3})
    with pytest.raises(InputError, match="config.learning_rate"):
        distill(teacher, queries, corpus, output=out, resume=True, **{**kw, "config": other})

    resumed = distill(teacher, queries, corpus, output=out, resume=True, **kw)
    assert resumed.metadata["training"]["resumed_from"] == "checkpoint-4"
    assert [r["step"] for r in resumed.metadata["training"]["losses"]] == [1, 2, 3, 4, 5, 6]
    assert resumed.losses == pytest.approx(whole.losses, abs=1e-5)

    from rankify_lite.rerankers import load_reranker

    pairs = [(queries["q1"].text, corpus[d].text) for d in teacher["q1"].doc_ids]
    a = load_reranker("cross-encoder", model=str(whole.folder), device="cpu").predict(pairs)
    b = load_reranker("cross-encoder", model=str(out), device="cpu").predict(pairs)
    assert a == pytest.approx(b, abs=1e-5)


def test_finished_student_is_not_overwritten_silently(trained, task, encoder):
    queries, corpus, teacher = task
    with pytest.raises(InputError, match="already holds a distilled student.*--overwrite"):
        distill(teacher, queries, corpus, student=encoder, output=trained.folder,
                config=DistillConfig(max_steps=1), progress=False)


def test_missing_student_is_an_input_error(task, tmp_path):
    queries, corpus, teacher = task
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no config.json"):
        distill(teacher, queries, corpus, student=str(tmp_path / "empty"),
                output=tmp_path / "out", progress=False)
