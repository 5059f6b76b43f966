"""Train a student cross-encoder on a teacher run's scores with sentence-transformers'
``CrossEncoderTrainer`` and its ranking losses (Margin-MSE, RankNet, ListNet, LambdaLoss,
ADR-MSE); save it as a Hugging Face folder that ``load_reranker("cross-encoder", model=folder)``
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankify_lite.distill.config import DistillConfig
from rankify_lite.distill.data import TrainingExamples, build_examples
from rankify_lite.distill.metadata import (
    METADATA_FILE,
    SPEC_FILE,
    VERSION,
    check_resume_spec,
    describe_teacher,
    training_spec,
    write_json,
)
from rankify_lite.errors import InputError, require
from rankify_lite.types import Corpus, Queries, Run

log = logging.getLogger(__name__)
CHECKPOINTS = "checkpoints"
_FEATURE = "distillation"


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
            callbacks: Sequence[Any] = ()) -> DistillResult:
    """Distil ``teacher`` (any Run: a first stage, a fusion, a reranker's output) into a
    cross-encoder initialised from ``student`` (an HF id or folder; a new 1-logit head is
    added to plain encoders) and save it to ``output``.

    ``dataset`` only labels the metadata. ``callbacks`` are extra ``transformers``
    ``TrainerCallback`` objects.
    """
    config = (config or DistillConfig()).resolved()
    out = Path(output)
    ckpt_dir = out / CHECKPOINTS
    _check_output(out, ckpt_dir, resume=resume, overwrite=overwrite)
    examples = build_examples(teacher, queries, corpus, config)
    spec = training_spec(student=str(student), teacher=teacher, queries=queries, corpus=corpus,
                         config=config.as_dict(), dataset=dataset)
    last = None
    if resume and _checkpoints(ckpt_dir):
        check_resume_spec(ckpt_dir / SPEC_FILE, spec)
        last = str(_checkpoints(ckpt_dir)[-1])
        log.info("resuming from %s", last)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    write_json(ckpt_dir / SPEC_FILE, spec)

    model = _load_student(str(student), config, device)
    loss = _build_loss(model, config)
    trainer = _build_trainer(model, loss, examples, config, ckpt_dir, device, progress, callbacks)
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.train(resume_from_checkpoint=last)
    seconds = (time.perf_counter() - t0, time.process_time() - c0)

    model.save_pretrained(str(out))
    metadata = _metadata(student=str(student), teacher=teacher, examples=examples,
                         config=config, loss=loss, trainer=trainer, seconds=seconds,
                         resumed_from=last, spec=spec, device=str(model.device))
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


def _load_student(student: str, config: DistillConfig, device: str | None) -> Any:
    ce = require("sentence_transformers.cross_encoder", extra="distill", feature=_FEATURE)
    require("datasets", extra="distill", feature=_FEATURE)
    require("accelerate", extra="distill", feature=_FEATURE)
    from rankify_lite.models import loader

    if Path(student).is_dir() and not (Path(student) / "config.json").is_file():
        raise InputError(f"folder {student!r} holds no config.json: not a Hugging Face model.",
                         path=student, fix="pass a model folder or a cached hub id.")
    import transformers

    transformers.set_seed(config.seed)  # the fresh head's initial weights follow the seed
    try:
        model = ce.CrossEncoder(student, num_labels=1, max_length=config.max_length,
                                device=loader.pick_device(device))
    except OSError as exc:
        raise InputError(f"cannot load the student {student!r}: {exc}",
                         fix="pass a local model folder, or a hub id present in the Hugging Face "
                             "cache (offline: see scripts/install_offline_models.py).") from exc
    if model.num_labels != 1:
        raise InputError(f"the student {student!r} has {model.num_labels} output labels; "
                         "ranking losses train a single relevance logit.",
                         fix="start from an encoder or a 1-label cross-encoder.")
    return model


def _build_loss(model: Any, config: DistillConfig) -> Any:
    import sentence_transformers
    from sentence_transformers.cross_encoder import losses

    cls = getattr(losses, config.spec.class_name, None)
    if cls is None:
        raise InputError(f"loss {config.loss!r} needs sentence_transformers.cross_encoder.losses."
                         f"{config.spec.class_name}, which sentence-transformers "
                         f"{sentence_transformers.__version__} lacks.",
                         fix="pip install -c constraints.txt -U sentence-transformers, "
                             "or choose another loss.")
    if config.spec.examples == "lists":
        # sentence-transformers' None means "as many pairs as the batch has queries" (forward
        # passes of 2 pairs for 2 lists); -1 means all pairs of the batch in one pass
        return cls(model, mini_batch_size=config.mini_batch_size or -1)
    return cls(model)


def _build_trainer(model: Any, loss: Any, examples: TrainingExamples, config: DistillConfig,
                   ckpt_dir: Path, device: str | None, progress: bool,
                   callbacks: Sequence[Any]) -> Any:
    import datasets
    from sentence_transformers.cross_encoder import (
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from rankify_lite.distill.progress import LossProgressBar

    args = CrossEncoderTrainingArguments(
        output_dir=str(ckpt_dir), num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1, per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate, warmup_steps=_warmup_steps(config, len(examples)),
        weight_decay=config.weight_decay, seed=config.seed, data_seed=config.seed,
        logging_strategy="steps", logging_steps=1, save_strategy="steps",
        save_steps=config.save_steps, save_total_limit=config.save_total_limit,
        report_to="none", disable_tqdm=True, use_cpu=(str(model.device) == "cpu"),
        dataloader_num_workers=0)
    trainer = CrossEncoderTrainer(model=model, args=args, loss=loss,
                                  train_dataset=datasets.Dataset.from_dict(examples.columns),
                                  callbacks=list(callbacks))
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


def _metadata(*, student: str, teacher: Run, examples: TrainingExamples, config: DistillConfig,
              loss: Any, trainer: Any, seconds: tuple[float, float], resumed_from: str | None,
              spec: dict[str, Any], device: str) -> dict[str, Any]:
    from rankify_lite.models import loader
    from rankify_lite.pipeline.environment import environment

    history = trainer.state.log_history
    losses = [{"step": int(h["step"]), "epoch": round(float(h.get("epoch", 0.0)), 4),
               "loss": float(h["loss"])} for h in history if "loss" in h and "step" in h]
    try:
        loss_config = loss.get_config_dict()
    except Exception:  # a loss without a config dict
        loss_config = {}
    return {
        "rankify_lite_distill_version": VERSION,
        "student": {"base_model": student, "revision": loader.resolved_revision(student),
                    "num_labels": 1, "max_length": config.max_length},
        "teacher": describe_teacher(teacher, config.depth),
        "data": {"dataset": spec["dataset"], "queries_hash": spec["queries_hash"],
                 "corpus_hash": spec["corpus_hash"], "examples": len(examples),
                 "example_kind": examples.kind, "queries": len(examples.queries_used),
                 "skipped_queries": dict(examples.skipped)},
        "config": config.as_dict(),
        "loss": {"name": config.loss, "class": f"{type(loss).__module__}.{type(loss).__name__}",
                 "config": loss_config, "reference": config.spec.reference},
        "training": {"steps": int(trainer.state.global_step),
                     "epochs": float(trainer.state.epoch or 0.0),
                     "train_seconds_this_session": round(seconds[0], 3),
                     "train_cpu_seconds_this_session": round(seconds[1], 3),
                     "resumed_from": Path(resumed_from).name if resumed_from else None,
                     "device": device, "losses": losses},
        "environment": environment(),
    }
