"""Train a student (cross-encoder, bi-encoder or SPLADE; see :mod:`.students`) on a teacher
run's scores with sentence-transformers' trainers and ranking losses (cross-encoder: Margin-MSE,
RankNet, ListNet, LambdaLoss, ADR-MSE; bi-encoder: Margin-MSE, listwise KL; SPLADE: the same
inside ``SpladeLoss`` with FLOPS); save it as a folder that the matching retriever or reranker
loads, with ``rankify_lite_distill.json`` beside the weights.

Checkpoints go to ``<output>/checkpoints`` every ``save_steps`` steps; ``resume=True`` continues
an interrupted run from the last one (the trainer restores optimiser, scheduler, RNG and data
order), after checking the checkpoints belong to the same student, teacher, data and settings.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rankify_lite.distill import students, validation
from rankify_lite.distill.config import STUDENT_KINDS, DistillConfig
from rankify_lite.distill.data import TrainingExamples, build_examples, split_queries
from rankify_lite.distill.metadata import (
    METADATA_FILE,
    SPEC_FILE,
    VERSION,
    check_resume_spec,
    describe_teacher,
    training_spec,
    write_json,
)
from rankify_lite.errors import InputError
from rankify_lite.types import Corpus, Qrels, Queries, Run

log = logging.getLogger(__name__)
CHECKPOINTS = "checkpoints"


@dataclass(frozen=True)
class DistillResult:
    """Where the student went and what its training recorded."""

    folder: Path
    metadata: dict[str, Any]

    @property
    def losses(self) -> list[float]:
        return [row["loss"] for row in self.metadata["training"]["losses"]]


def distill(teacher: Run, queries: Queries, corpus: Corpus, *, student: str,
            output: str | Path, config: DistillConfig | None = None, resume: bool = False,
            overwrite: bool = False, keep_checkpoints: bool = False, device: str | None = None,
            dataset: str | None = None, progress: bool = True,
            validation_qrels: Qrels | None = None, rel_level: int = 1,
            validation_candidates: Run | None = None, qrels: Qrels | None = None,
            callbacks: Sequence[Any] = ()) -> DistillResult:
    """Distil ``teacher`` (any Run: a first stage, a fusion, a reranker's output) into a student
    of ``config.student_kind`` initialised from ``student`` (an HF id or folder) and save it to
    ``output``: a cross-encoder (a new 1-logit head is added to plain encoders), a bi-encoder
    (sentence-transformers folder: ``Dense(folder)``) or a SPLADE model (``Splade(folder)``).

    ``config.validation_queries`` > 0 holds a seeded share of the teacher's queries out of
    training; the student is evaluated on them every ``eval_steps`` steps (validation loss, and
    nDCG@10 of reranking their teacher pools when ``validation_qrels``, qrels of the *training*
    queries, are given) and the best checkpoint by ``config.validation_metric`` is kept; when
    no checkpoint beats the untrained student (step 0), the untrained student is what is saved
    (``metadata["validation"]["kept"] == "untrained"``). ``validation_candidates`` (a Run
    covering the validation queries, e.g. a BM25 run) are the pools nDCG@10 validation reranks
    instead of the teacher's own top ``validation_depth``. ``dataset`` only labels the
    metadata. ``qrels`` (of the training queries; for pseudo-queries their source passages)
    are the positives of ``negatives="judged"``. ``callbacks`` are extra ``transformers``
    ``TrainerCallback`` objects.
    """
    config = (config or DistillConfig()).resolved()
    if config.validation_metric == "ndcg@10" and (validation_qrels is None
                                                  or config.validation_queries <= 0):
        raise InputError("validation_metric='ndcg@10' needs validation_queries > 0 and the "
                         "qrels of the training queries (validation_qrels=...).",
                         fix="pass validation_qrels=dataset.qrels, or validation_metric='loss'.")
    out = Path(output)
    ckpt_dir = out / CHECKPOINTS
    _check_output(out, ckpt_dir, resume=resume, overwrite=overwrite)
    train_run, val_run = split_queries(teacher, config.validation_queries, config.seed)
    model = students.load_student(str(student), config, device)
    if config.label_scale is None:  # bi-encoder: labels on the student's own score scale
        sample = [(q, texts) for _, q, _, texts in
                  validation.pools(train_run.restrict(list(train_run)[:4]), queries, corpus,
                                   config.depth)]
        config = replace(config, label_scale=round(
            students.initial_scale(model, config.student_kind, sample), 6))
    examples = build_examples(train_run, queries, corpus, config, qrels, rel_level)
    val_examples = (build_examples(val_run, queries, corpus, replace(
        config, pairs_per_query=min(config.pairs_per_query, config.validation_examples)),
        qrels, rel_level) if val_run is not None else None)
    spec = training_spec(student=str(student), teacher=teacher, queries=queries, corpus=corpus,
                         config=config.as_dict(), dataset=dataset)
    if config.negatives == "judged" and qrels is not None:
        spec["qrels_hash"] = qrels.content_hash()
    last = None
    if resume and _checkpoints(ckpt_dir):
        check_resume_spec(ckpt_dir / SPEC_FILE, spec)
        last = str(_checkpoints(ckpt_dir)[-1])
        log.info("resuming from %s", last)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    write_json(ckpt_dir / SPEC_FILE, spec)

    loss = students.build_loss(model, config)
    evaluator = None
    if val_run is not None and validation_qrels is not None:
        val_pools = validation.pools(
            validation.candidates(val_run, validation_candidates, corpus), queries, corpus,
            config.validation_depth or config.depth)
        evaluator = validation.evaluator(config.student_kind, val_pools, validation_qrels,
                                         rel_level)
    trainer = _build_trainer(model, loss, examples, val_examples, evaluator, config, ckpt_dir,
                             progress, callbacks)
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.train(resume_from_checkpoint=last)
    seconds = (time.perf_counter() - t0, time.process_time() - c0)

    untrained = val_run is not None and validation.untrained_is_best(
        trainer.state.log_history, trainer.state.best_metric, config.validation_metric)
    kept = (students.load_student(str(student), config, device) if untrained  # as at step 0
            else trainer.model)
    students.save_student(kept, config.student_kind, out)
    metadata = _metadata(student=str(student), teacher=teacher, examples=examples,
                         val_run=val_run, val_examples=val_examples, config=config, loss=loss,
                         trainer=trainer, seconds=seconds, resumed_from=last, spec=spec,
                         device=str(model.device), untrained=untrained,
                         validation_candidates=validation_candidates)
    write_json(out / METADATA_FILE, metadata)
    if not keep_checkpoints:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return DistillResult(out, metadata)


# ---- steps --------------------------------------------------------------------------------
def _checkpoints(ckpt_dir: Path) -> list[Path]:
    found = [p for p in ckpt_dir.glob("checkpoint-*") if p.is_dir()
             and p.name.split("-")[-1].isdigit()]
    return sorted(found, key=lambda p: int(p.name.split("-")[-1]))


def _check_output(out: Path, ckpt_dir: Path, *, resume: bool, overwrite: bool) -> None:
    if out.is_dir() and any(out.iterdir()) and not (out / METADATA_FILE).exists() \
            and not _checkpoints(ckpt_dir):
        # the output-folder rule (io/output_folder.py): a student's files (config.json,
        # weights, tokenizer files) never replace files rankify-lite did not write
        from rankify_lite.io.output_folder import check_output_folder

        check_output_folder(out, (), previous=lambda _: None, overwrite=overwrite,
                            what="distilled student")
    if (out / METADATA_FILE).exists():
        if not overwrite:
            raise InputError(f"{out} already holds a distilled student.", path=out,
                             fix="choose another output folder, or pass overwrite=True / "
                                 "--overwrite.")
        (out / METADATA_FILE).unlink()  # until the new student is saved, the folder isn't one
    if _checkpoints(ckpt_dir) and not resume:
        if overwrite:
            shutil.rmtree(ckpt_dir)
            return
        raise InputError(f"{ckpt_dir} holds checkpoints of an interrupted training.",
                         path=ckpt_dir, fix="pass resume=True / --resume to continue it, or "
                                            "overwrite=True / --overwrite to start again.")


def _build_trainer(model: Any, loss: Any, examples: TrainingExamples,
                   val_examples: TrainingExamples | None, evaluator: Any, config: DistillConfig,
                   ckpt_dir: Path, progress: bool, callbacks: Sequence[Any]) -> Any:
    import datasets
    from transformers import EarlyStoppingCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from rankify_lite.distill.progress import LossProgressBar

    trainer_cls, args_cls = students.trainer_classes(config.student_kind)
    validate = val_examples is not None
    best = "eval_ndcg@10" if config.validation_metric == "ndcg@10" else "eval_loss"
    extra: dict[str, Any] = {}
    if validate:
        extra = {"eval_strategy": "steps", "eval_steps": config.eval_steps, "eval_on_start": True,
                 "load_best_model_at_end": True, "metric_for_best_model": best,
                 "greater_is_better": best != "eval_loss",
                 "per_device_eval_batch_size": config.batch_size}
    args = args_cls(
        output_dir=str(ckpt_dir), num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1, per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate, warmup_steps=_warmup_steps(config, len(examples)),
        weight_decay=config.weight_decay, seed=config.seed, data_seed=config.seed,
        logging_strategy="steps", logging_steps=1, save_strategy="steps",
        save_steps=config.eval_steps if validate else config.save_steps,
        save_total_limit=config.save_total_limit, report_to="none", disable_tqdm=True,
        use_cpu=(str(model.device) == "cpu"), dataloader_num_workers=0, bf16=config.bf16,
        **extra)
    cbs = list(callbacks)
    if validate and config.patience:
        cbs.append(EarlyStoppingCallback(early_stopping_patience=config.patience))
    trainer = trainer_cls(model=model, args=args, loss=loss,
                          train_dataset=datasets.Dataset.from_dict(examples.columns),
                          eval_dataset=(datasets.Dataset.from_dict(val_examples.columns)
                                        if validate else None),
                          evaluator=evaluator if validate else None, callbacks=cbs)
    for cb in (PrinterCallback, ProgressCallback):  # one bar with the loss, not a dict per step
        trainer.remove_callback(cb)
    if progress:
        trainer.add_callback(LossProgressBar())
    return trainer


def _warmup_steps(config: DistillConfig, n_examples: int) -> int:
    """``warmup_ratio`` of the planned steps, as an int (what transformers 4 and 5 both take)."""
    per_epoch = math.ceil(n_examples / config.batch_size)
    total = config.max_steps or math.ceil(config.epochs * per_epoch)
    return int(config.warmup_ratio * total)


def _metadata(*, student: str, teacher: Run, examples: TrainingExamples, val_run: Run | None,
              val_examples: TrainingExamples | None, config: DistillConfig, loss: Any,
              trainer: Any, seconds: tuple[float, float], resumed_from: str | None,
              spec: dict[str, Any], device: str, untrained: bool = False,
              validation_candidates: Run | None = None) -> dict[str, Any]:
    from rankify_lite.models import loader
    from rankify_lite.pipeline.environment import environment

    history = trainer.state.log_history
    losses = [{"step": int(h["step"]), "epoch": round(float(h.get("epoch", 0.0)), 4),
               "loss": float(h["loss"])} for h in history if "loss" in h and "step" in h
              and "eval_loss" not in h]
    try:
        loss_config = loss.get_config_dict()
    except Exception:  # a loss without a config dict
        loss_config = {}
    return {
        "rankify_lite_distill_version": VERSION,
        "student": {"base_model": student, "revision": loader.resolved_revision(student),
                    "kind": config.student_kind, "loads_as": STUDENT_KINDS[config.student_kind],
                    "max_length": config.max_length,
                    **({"num_labels": 1} if config.student_kind == "cross-encoder" else {})},
        "teacher": describe_teacher(teacher, config.depth),
        "data": {"dataset": spec["dataset"], "queries_hash": spec["queries_hash"],
                 "corpus_hash": spec["corpus_hash"], "examples": len(examples),
                 "example_kind": examples.kind, "queries": len(examples.queries_used),
                 "skipped_queries": dict(examples.skipped),
                 "validation_queries": sorted(val_run) if val_run is not None else [],
                 "validation_examples": len(val_examples) if val_examples is not None else 0},
        "config": config.as_dict(),
        "loss": {"name": config.loss, "class": f"{type(loss).__module__}.{type(loss).__name__}",
                 "config": loss_config, "reference": config.spec.reference},
        "training": {"steps": int(trainer.state.global_step),
                     "epochs": float(trainer.state.epoch or 0.0),
                     "train_seconds_this_session": round(seconds[0], 3),
                     "train_cpu_seconds_this_session": round(seconds[1], 3),
                     "resumed_from": Path(resumed_from).name if resumed_from else None,
                     "device": device, "losses": losses},
        "validation": _validation_summary(history, trainer.state, config, val_run,
                                          untrained, validation_candidates),
        "environment": environment(),
    }


def _validation_summary(history: list[dict[str, Any]], state: Any, config: DistillConfig,
                        val_run: Run | None, untrained: bool,
                        candidates: Run | None) -> dict[str, Any]:
    """The curve and the kept step: a checkpoint, or step 0 (the untrained student) when no
    checkpoint beat it."""
    rows = validation.curve(history)
    out: dict[str, Any] = {"metric": config.validation_metric if val_run is not None else None,
                           "curve": rows, "pools": (candidates.name if candidates is not None
                                                    else "teacher")}
    if untrained:
        out.update(best_step=0, best_value=validation.step0_value(
            history, config.validation_metric), kept="untrained",
            best_trained_step=_best_step(state.best_model_checkpoint),
            best_trained_value=state.best_metric)
    else:
        out.update(best_step=_best_step(state.best_model_checkpoint),
                   best_value=state.best_metric,
                   kept="checkpoint" if state.best_model_checkpoint else "last")
    return out


def _best_step(checkpoint: str | None) -> int | None:
    return int(Path(checkpoint).name.split("-")[-1]) if checkpoint else None
