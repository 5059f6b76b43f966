"""Model choice on the held-out validation queries: the untrained student (step 0) is kept when no
checkpoint beats it, the pools validation reranks can be another run's (e.g. BM25's), and the
listwise KL loss takes a temperature."""

from __future__ import annotations

import pytest

from rankify_lite.distill import DistillConfig
from rankify_lite.distill.validation import step0_value, untrained_is_best
from rankify_lite.errors import InputError
from rankify_lite.types import Qrels, Run

HISTORY = [{"step": 0, "eval_ndcg@10": 0.60, "eval_loss": 0.30},
           {"step": 4, "loss": 0.5},
           {"step": 4, "eval_ndcg@10": 0.58, "eval_loss": 0.20}]


def test_step0_value_reads_the_evaluation_before_training():
    assert step0_value(HISTORY, "ndcg@10") == 0.60
    assert step0_value(HISTORY, "loss") == 0.30
    assert step0_value(HISTORY[1:], "ndcg@10") is None


@pytest.mark.parametrize(("best", "metric", "expected"), [
    (0.58, "ndcg@10", True),     # the best checkpoint is worse than before training
    (0.60, "ndcg@10", True),     # a tie: nothing was gained, keep the untrained student
    (0.61, "ndcg@10", False),
    (0.20, "loss", False),       # lower loss is better
    (0.30, "loss", True),
    (None, "ndcg@10", True),     # no checkpoint was ever rated
])
def test_untrained_is_best_compares_with_step_0(best, metric, expected):
    assert untrained_is_best(HISTORY, best, metric) is expected


def test_without_a_step_0_evaluation_there_is_no_fallback():
    assert untrained_is_best(HISTORY[1:], 0.1, "ndcg@10") is False


def test_temperature_belongs_to_the_kl_loss():
    assert DistillConfig(student_kind="bi-encoder", loss="distill-kl",
                         temperature=0.05).temperature == 0.05
    with pytest.raises(InputError, match="distill-kl"):
        DistillConfig(student_kind="bi-encoder", loss="margin-mse", temperature=0.05)
    with pytest.raises(InputError, match="temperature .0.0. is out of range: it must be a number > 0"):
        DistillConfig(student_kind="bi-encoder", loss="distill-kl", temperature=0.0)


# ---- with a tiny model ----------------------------------------------------------------------
torch = pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")
pytest.importorskip("datasets")
pytest.importorskip("accelerate")
from helpers.synthetic import synthetic_task  # noqa: E402
from helpers.tiny import tiny_bert_folder  # noqa: E402

from rankify_lite.distill import distill, students  # noqa: E402

VALIDATED = {"student_kind": "bi-encoder", "negatives": "hard", "batch_size": 8,
             "pairs_per_query": 16, "max_length": 32, "warmup_ratio": 0.0,
             "learning_rate": 1e-3, "validation_queries": 0.25, "eval_steps": 4,
             "validation_metric": "ndcg@10", "validation_depth": 10}


@pytest.fixture(scope="module")
def task():
    return synthetic_task(n_queries=8, docs_per_query=10)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> str:
    return tiny_bert_folder(tmp_path_factory.mktemp("enc") / "tiny")


def _qrels(teacher: Run) -> Qrels:
    """Graded qrels = the teacher's word counts (0-4): the synthetic task's ground truth."""
    return Qrels({q: {d: int(s) for d, s in zip(teacher[q].doc_ids, teacher[q].scores,
                                                 strict=True)} for q in teacher})


def _scores(folder: str, task) -> list[float]:
    queries, corpus, teacher = task
    model = students.load_student(folder, DistillConfig(student_kind="bi-encoder",
                                                        max_length=32), "cpu")
    ids = teacher["q0"].doc_ids
    return students.score(model, "bi-encoder", queries["q0"].text,
                          [corpus[d].full_text() for d in ids])


def _own_order_qrels(folder: str, task) -> Qrels:
    """Qrels graded by the untrained student's own ranking of every query's documents: its
    nDCG@10 on them is 1, so no trained checkpoint can beat step 0 (at best it ties)."""
    queries, corpus, teacher = task
    model = students.load_student(folder, DistillConfig(student_kind="bi-encoder",
                                                        max_length=32), "cpu")
    graded = {}
    for qid in teacher:
        ids = list(teacher[qid].doc_ids)
        scores = students.score(model, "bi-encoder", queries[qid].text,
                                [corpus[d].full_text() for d in ids])
        order = sorted(range(len(ids)), key=lambda i: -scores[i])
        graded[qid] = {ids[i]: max(0, 3 - r // 3) for r, i in enumerate(order)}
    return Qrels(graded)


def test_untrained_student_is_kept_when_no_checkpoint_beats_it(task, base, tmp_path):
    queries, corpus, teacher = task
    result = distill(teacher, queries, corpus, student=base, output=tmp_path / "s",
                     config=DistillConfig(loss="margin-mse", max_steps=12, **VALIDATED),
                     progress=False, device="cpu",
                     validation_qrels=_own_order_qrels(base, task))
    val = result.metadata["validation"]
    before = val["curve"][0]
    assert before["step"] == 0 and before["ndcg@10"] == pytest.approx(1.0)
    assert [r["step"] for r in val["curve"]] == [0, 4, 8, 12]
    assert val["kept"] == "untrained" and val["best_step"] == 0
    assert val["best_value"] == before["ndcg@10"]
    assert val["best_trained_step"] in (4, 8, 12)
    assert val["best_trained_value"] <= before["ndcg@10"]
    # what was saved scores exactly like the base model, not like a trained checkpoint
    assert _scores(str(result.folder), task) == pytest.approx(_scores(base, task), abs=1e-6)
    # ... although training did move the weights
    assert result.losses[-1] != result.losses[0]


def test_a_checkpoint_that_beats_step_0_is_kept(task, base, tmp_path):
    queries, corpus, teacher = task
    result = distill(teacher, queries, corpus, student=base, output=tmp_path / "s",
                     config=DistillConfig(loss="margin-mse", max_steps=24, **VALIDATED),
                     progress=False, device="cpu", validation_qrels=_qrels(teacher))
    val = result.metadata["validation"]
    assert val["kept"] == "checkpoint" and val["best_step"] > 0
    assert val["best_value"] > val["curve"][0]["ndcg@10"]
    assert _scores(str(result.folder), task) != pytest.approx(_scores(base, task), abs=1e-4)


def test_validation_reranks_the_candidates_given(task, base, tmp_path):
    queries, corpus, teacher = task
    # candidates: every query's documents in reverse id order, only the first 5 of them
    other = Run.from_scores({q: {d: float(i) for i, d in enumerate(teacher[q].doc_ids[:5])}
                             for q in teacher}, name="other-candidates")
    cfg = DistillConfig(loss="distill-kl", ways=3, temperature=0.05, max_steps=4,
                        validation_examples=2, **VALIDATED)
    result = distill(teacher, queries, corpus, student=base, output=tmp_path / "s", config=cfg,
                     progress=False, device="cpu", validation_qrels=_qrels(teacher),
                     validation_candidates=other)
    meta = result.metadata
    assert meta["validation"]["pools"] == "other-candidates"
    assert meta["loss"]["config"]["temperature"] == 0.05
    assert meta["config"]["temperature"] == 0.05
    assert meta["data"]["validation_examples"] == 2 * len(meta["data"]["validation_queries"])
    # the pools are what nDCG@10 was computed on: reranking only each query's first 5
    # documents can never reach the teacher-pool (10 documents) value when those are worse
    from rankify_lite.distill.validation import candidates, pool_ndcg, pools

    val_run = teacher.restrict(meta["data"]["validation_queries"])
    picked = candidates(val_run, other, corpus)
    assert {q: list(picked[q].doc_ids) for q in picked} == {
        q: list(other[q].doc_ids) for q in val_run}
    model = students.load_student(base, DistillConfig(student_kind="bi-encoder", max_length=32),
                                  "cpu")
    step0 = pool_ndcg(model, "bi-encoder", pools(picked, queries, corpus, 10), _qrels(teacher))
    assert meta["validation"]["curve"][0]["ndcg@10"] == pytest.approx(step0, abs=1e-6)


def test_validation_candidates_must_cover_the_validation_queries(task, base, tmp_path):
    queries, corpus, teacher = task
    partial = teacher.restrict(["q0"])
    with pytest.raises(InputError, match="validation candidates"):
        distill(teacher, queries, corpus, student=base, output=tmp_path / "s",
                config=DistillConfig(loss="margin-mse", max_steps=2, **VALIDATED),
                progress=False, device="cpu", validation_qrels=_qrels(teacher),
                validation_candidates=partial)


def test_bf16_training(task, base, tmp_path):
    queries, corpus, teacher = task
    cfg = DistillConfig(loss="margin-mse", max_steps=4, bf16=True,
                        **{**VALIDATED, "validation_queries": 0.0, "validation_metric": "loss"})
    result = distill(teacher, queries, corpus, student=base, output=tmp_path / "s", config=cfg,
                     progress=False, device="cpu")
    meta = result.metadata
    assert meta["config"]["bf16"] is True and len(result.losses) == 4
    # the weights saved are float32 (autocast only computes in bfloat16)
    model = students.load_student(str(result.folder), DistillConfig(student_kind="bi-encoder"),
                                  "cpu")
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert _scores(str(result.folder), task) != pytest.approx(_scores(base, task), abs=1e-4)
