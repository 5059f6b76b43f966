"""The three student architectures behind :func:`rankify_lite.distill.distill`: how each is
loaded, which sentence-transformers loss and trainer it trains with, how it scores a query's
candidates (for validation and the bi-encoder label scale), and what it loads back as.

- ``cross-encoder``: ``CrossEncoder`` (a fresh 1-logit head on plain encoders),
  ``CrossEncoderTrainer``; reloads with ``load_reranker("cross-encoder", model=folder)``.
- ``bi-encoder``: ``SentenceTransformer``, ``SentenceTransformerTrainer``; reloads as
  ``Dense(folder)`` (first stage) or ``load_reranker("bi-encoder", model=folder)``.
- ``splade``: ``SparseEncoder`` (masked-LM head + max-pooled log(1+ReLU); a causal LM gets
  Mistral-SPLADE's echo embeddings, :mod:`.echo_module`), trained with
  ``SpladeLoss`` (FLOPS regulariser on documents and queries) around the ranking loss,
  ``SparseEncoderTrainer``; reloads as ``Splade(folder)`` (a causal LM:
  ``Splade(folder, architecture="causal-echo")``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rankify_lite.distill.config import DistillConfig
from rankify_lite.errors import InputError, require

_FEATURE = "distillation"


def _check_folder(student: str) -> None:
    if Path(student).is_dir() and not (Path(student) / "config.json").is_file():
        raise InputError(f"folder {student!r} holds no config.json: not a Hugging Face model.",
                         path=student, fix="pass a model folder or a cached hub id.")


def _load_error(student: str, exc: Exception) -> InputError:
    return InputError(f"cannot load the student {student!r}: {exc}",
                      fix="pass a local model folder, or a hub id present in the Hugging Face "
                          "cache (offline: see scripts/install_offline_models.py).")


def load_student(student: str, config: DistillConfig, device: str | None) -> Any:
    """The sentence-transformers model of ``config.student_kind``, initialised from ``student``."""
    require("datasets", extra="distill", feature=_FEATURE)
    require("accelerate", extra="distill", feature=_FEATURE)
    require("sentence_transformers", extra="distill", feature=_FEATURE)
    import transformers

    from rankify_lite.models import loader

    _check_folder(student)
    transformers.set_seed(config.seed)  # a fresh head's initial weights follow the seed
    dev = loader.pick_device(device)
    kind = config.student_kind
    try:
        if kind == "cross-encoder":
            from sentence_transformers.cross_encoder import CrossEncoder

            model = CrossEncoder(student, num_labels=1, max_length=config.max_length, device=dev)
            if model.num_labels != 1:
                raise InputError(f"the student {student!r} has {model.num_labels} output "
                                 "labels; ranking losses train a single relevance logit.",
                                 fix="start from an encoder or a 1-label cross-encoder.")
            return model
        if kind == "bi-encoder":
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(student, device=dev)
            model.max_seq_length = config.max_length
            return model
        return _splade_student(student, config, dev)
    except OSError as exc:
        raise _load_error(student, exc) from exc


def _splade_student(student: str, config: DistillConfig, device: str) -> Any:
    """A SparseEncoder: the folder's own modules when it is one, else masked-LM + SPLADE max
    pooling of log(1+ReLU) (what :class:`rankify_lite.models.SpladeEncoder` computes)."""
    from sentence_transformers.sparse_encoder import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import SpladePooling

    from rankify_lite.models import loader

    modules = loader.model_json(student, "modules.json") or []
    echo = any(str(m.get("type", "")).endswith("echo_module.EchoCausalLM") for m in modules)
    if modules and not echo:
        model = SparseEncoder(student, device=device)
    elif echo or _is_causal_lm(student):   # Mistral-SPLADE: echo embeddings over a causal LM
        # built here, not through modules.json (sentence-transformers would ask for
        # trust_remote_code for a module class outside its package)
        from rankify_lite.distill.echo_module import EchoCausalLM

        model = SparseEncoder(modules=[EchoCausalLM(student, max_seq_length=config.max_length),
                                       SpladePooling("max", activation_function="relu")],
                              device=device)
    else:
        from sentence_transformers.base.modules.transformer import Transformer

        mlm = Transformer(student, transformer_task="fill-mask",
                          max_seq_length=config.max_length)
        # sentence-transformers' "relu" already is log(1 + ReLU) (its "log1p_relu" applies
        # log1p twice); checked against SpladeEncoder in tests/distill/test_students.py
        model = SparseEncoder(modules=[mlm, SpladePooling("max", activation_function="relu")],
                              device=device)
    model.max_seq_length = config.max_length
    return model


def _is_causal_lm(student: str) -> bool:
    from rankify_lite.models import loader

    cfg = loader.model_json(student, "config.json") or {}
    return any(str(a).endswith("ForCausalLM") for a in cfg.get("architectures") or [])


def build_loss(model: Any, config: DistillConfig) -> Any:
    """The configured sentence-transformers loss for ``model`` (never reimplemented here)."""
    import sentence_transformers

    kind = config.student_kind
    if kind == "cross-encoder":
        from sentence_transformers.cross_encoder import losses
    elif kind == "bi-encoder":
        from sentence_transformers.sentence_transformer import losses
    else:
        from sentence_transformers.sparse_encoder import losses
    cls = getattr(losses, config.spec.class_name, None)
    if cls is None:
        raise InputError(f"loss {config.loss!r} needs {losses.__name__}.{config.spec.class_name},"
                         f" which sentence-transformers {sentence_transformers.__version__} lacks.",
                         fix="pip install -c constraints.txt -U sentence-transformers, "
                             "or choose another loss.")
    if kind == "cross-encoder":
        if config.spec.examples == "lists":
            # sentence-transformers' None means "as many pairs as the batch has queries";
            # -1 means all pairs of the batch in one pass
            return cls(model, mini_batch_size=config.mini_batch_size or -1)
        return cls(model)
    extra = {} if config.temperature is None else {"temperature": config.temperature}
    if kind == "bi-encoder":
        return cls(model, **extra)
    return losses.SpladeLoss(model, loss=cls(model, **extra),
                             document_regularizer_weight=config.splade_document_weight,
                             query_regularizer_weight=config.splade_query_weight)


def trainer_classes(kind: str) -> tuple[Any, Any]:
    """(Trainer, TrainingArguments) of a student kind."""
    if kind == "cross-encoder":
        from sentence_transformers.cross_encoder import (
            CrossEncoderTrainer,
            CrossEncoderTrainingArguments,
        )

        return CrossEncoderTrainer, CrossEncoderTrainingArguments
    if kind == "bi-encoder":
        from sentence_transformers import (
            SentenceTransformerTrainer,
            SentenceTransformerTrainingArguments,
        )

        return SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sparse_encoder import (
        SparseEncoderTrainer,
        SparseEncoderTrainingArguments,
    )

    return SparseEncoderTrainer, SparseEncoderTrainingArguments


def score(model: Any, kind: str, query: str, docs: list[str], batch_size: int = 32) -> list[float]:
    """The student's scores of ``docs`` for ``query`` (what its reranker / retriever ranks by)."""
    import torch

    with torch.inference_mode():
        if kind == "cross-encoder":
            return [float(s) for s in model.predict([(query, d) for d in docs],
                                                    batch_size=batch_size,
                                                    show_progress_bar=False,
                                                    activation_fn=torch.nn.Identity())]
        q = model.encode_query([query], convert_to_tensor=True, show_progress_bar=False)
        d = model.encode_document(docs, convert_to_tensor=True, batch_size=batch_size,
                                  show_progress_bar=False)
        if kind == "splade":
            q, d = q.to_dense(), d.to_dense()
        return [float(s) for s in (d @ q[0]).cpu()]


def initial_scale(model: Any, kind: str, pools: list[tuple[str, list[str]]]) -> float:
    """Mean over queries of the population std of the student's scores of the teacher's pool:
    the spread labels are scaled to when a bi-encoder's label_scale is None."""
    import statistics

    spreads = []
    for query, docs in pools:
        if len(docs) >= 2:
            spreads.append(statistics.pstdev(score(model, kind, query, docs)))
    value = statistics.fmean(spreads) if spreads else 0.0
    if value <= 0:
        raise InputError("the student gives every candidate the same score, so no label scale "
                         "can be measured.", fix="pass an explicit label_scale.")
    return value


def save_student(model: Any, kind: str, out: Path) -> None:
    if kind == "cross-encoder":
        model.save_pretrained(str(out))
    else:
        model.save(str(out))
