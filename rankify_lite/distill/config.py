"""What a distillation run is configured with: the student's architecture, the loss, how teacher
scores become labels and training examples, the validation split, and the trainer's settings.
Plain data (no torch), recorded in the student's metadata."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.io.numbers import COUNT, NON_NEGATIVE, POSITIVE, SEED, Number


@dataclass(frozen=True)
class LossSpec:
    """One sentence-transformers loss and the training examples it reads."""

    class_name: str      # in the student kind's sentence-transformers losses module
    examples: str        # "triplets": (query, positive, negative) + margin; "lists": (query, docs)
    #                      + labels; "ways": (query, positive, negative_1..n) + teacher scores
    labels: str          # label transform used when the config says "auto"
    reference: str


#: The architectures a student can have (``student_kind``) and what it loads back as.
STUDENT_KINDS: dict[str, str] = {
    "cross-encoder": "load_reranker('cross-encoder', model=folder)",
    "bi-encoder": "Dense(folder) / load_reranker('bi-encoder', model=folder)",
    "splade": "Splade(folder)",
}

#: Cross-encoder losses: explicit names -> sentence-transformers losses (never reimplemented).
LOSSES: dict[str, LossSpec] = {
    "margin-mse": LossSpec("MarginMSELoss", "triplets", "zscore",
                           "Hofstaetter et al. 2020, Margin-MSE"),
    "ranknet": LossSpec("RankNetLoss", "lists", "zscore", "Burges et al. 2005; Rank-DistiLLM"),
    "listnet": LossSpec("ListNetLoss", "lists", "zscore", "Cao et al. 2007"),
    "lambda": LossSpec("LambdaLoss", "lists", "minmax", "Wang et al. 2018, LambdaLoss"),
    "adr-mse": LossSpec("ADRMSELoss", "lists", "zscore",
                        "Schlatt et al. 2024, Rank-DistiLLM (ADR-MSE)"),
}

#: Bi-encoder losses (sentence_transformers.sentence_transformer.losses); scores are the
#: student's dot products (cosine for normalised encoders such as all-MiniLM-L6-v2).
BI_ENCODER_LOSSES: dict[str, LossSpec] = {
    "margin-mse": LossSpec("MarginMSELoss", "triplets", "zscore",
                           "Hofstaetter et al. 2020, Margin-MSE (cross-architecture)"),
    "distill-kl": LossSpec("DistillKLDivLoss", "ways", "zscore",
                           "listwise KL to the teacher's softmax over (positive, negatives)"),
}

#: SPLADE losses (sentence_transformers.sparse_encoder.losses), each wrapped in ``SpladeLoss``
#: with the FLOPS regulariser on documents and queries (Formal et al. 2021, SPLADE v2).
SPLADE_LOSSES: dict[str, LossSpec] = {
    "margin-mse": LossSpec("SparseMarginMSELoss", "triplets", "zscore",
                           "Formal et al. 2021, SPLADE v2 / SPLADE++ (Margin-MSE + FLOPS)"),
    "distill-kl": LossSpec("SparseDistillKLDivLoss", "ways", "zscore",
                           "Formal et al. 2022, SPLADE++ (KL distillation + FLOPS)"),
}

LOSSES_BY_KIND: dict[str, dict[str, LossSpec]] = {
    "cross-encoder": LOSSES, "bi-encoder": BI_ENCODER_LOSSES, "splade": SPLADE_LOSSES}

#: How training pairs are drawn from the teacher's top ``depth``: "random" (any two documents,
#: the higher-ranked one is the positive), "hard" (the positive from the teacher's top
#: ``positives``, the negative from its ranks below them: hard negatives of the teacher itself)
#: or "judged" (GPL: the positive is a judged-relevant document of the query -- a pseudo-query's
#: source passage -- and the negatives are the pool's other documents; the label is still the
#: teacher's margin, so a negative the teacher scores above the positive gives a negative
#: margin). "judged" needs the training queries' qrels (``distill(..., qrels=...)``).
NEGATIVES = ("random", "hard", "judged")
#: What picks the kept checkpoint on the validation queries: the loss on their examples, or
#: nDCG@10 of the student reranking their teacher pools against qrels given to ``distill``.
VALIDATION_METRICS = ("loss", "ndcg@10")

#: How a query's teacher scores over its top ``depth`` become training labels.
#: raw: as given; zscore: (s - mean) / std per query; minmax: scaled to [0, 1] per query
#: (LambdaLoss reads labels as gains 2^l - 1, so they must be >= 0); reciprocal-rank: 1 / rank
#: (for teachers whose scores are only an order, e.g. listwise LLM rerankers).
LABEL_TRANSFORMS = ("raw", "zscore", "minmax", "reciprocal-rank")


_SHARE = Number(low=0, high=1, high_open=True)
#: the rule of every numeric setting (None, where a setting allows it, is not checked)
NUMBERS: dict[str, Number] = {
    "depth": COUNT, "label_scale": POSITIVE, "positives": COUNT, "ways": COUNT,
    "temperature": POSITIVE, "pairs_per_query": COUNT, "list_size": Number(whole=True, low=2),
    "lists_per_query": COUNT, "epochs": POSITIVE, "max_steps": COUNT, "batch_size": COUNT,
    "mini_batch_size": COUNT, "learning_rate": POSITIVE, "warmup_ratio": _SHARE,
    "weight_decay": NON_NEGATIVE, "max_length": Number(whole=True, low=8), "seed": SEED,
    "save_steps": COUNT, "save_total_limit": COUNT, "validation_queries": _SHARE,
    "validation_depth": COUNT, "eval_steps": COUNT, "patience": COUNT,
    "validation_examples": COUNT, "splade_document_weight": NON_NEGATIVE,
    "splade_query_weight": NON_NEGATIVE,
}
NUMBER_FIXES = {
    "label_scale": "pass a scale > 0, or leave it unset for the kind's default.",
    "temperature": "e.g. temperature=0.05 for a cosine bi-encoder.",
    "validation_queries": "e.g. 0.2 (a fifth held out), or 0 for none.",
    "list_size": "a listwise example needs at least two documents, e.g. 16.",
    "max_length": "pass e.g. max_length=256.",
    "max_steps": "pass max_steps >= 1, or leave it unset to train for `epochs`.",
    "warmup_ratio": "e.g. 0.1.",
}


@dataclass(frozen=True)
class DistillConfig:
    """Settings of one distillation run (all recorded in ``rankify_lite_distill.json``).

    Args:
        student_kind: a key of :data:`STUDENT_KINDS`.
        loss: a key of the kind's losses (:data:`LOSSES_BY_KIND`).
        depth: the teacher's top ``depth`` candidates per query are the training pool.
        labels: one of :data:`LABEL_TRANSFORMS`, or "auto" (the loss's default).
        label_scale: labels are multiplied by this after the transform (a temperature); None:
            1 for cross-encoders and SPLADE; for bi-encoders the spread of the student's own
            initial scores over the teacher's pools (a cosine student cannot produce margins
            of z-scored size: its scores lie in [-1, 1]).
        negatives, positives: see :data:`NEGATIVES`.
        ways: negatives per example of the "ways" losses (distill-kl).
        temperature: distill-kl only: student scores and teacher labels are both divided by it
            before their softmaxes (sentence-transformers' ``temperature``; None: the loss's
            default, 1 for bi-encoders, 2 for SPLADE). A cosine bi-encoder with labels on its
            own score spread needs a small one (e.g. 0.05), else both distributions are
            nearly uniform.
        validation_queries: this share of the teacher's queries (seeded) is held out: its
            examples give the validation loss / nDCG@10 every ``eval_steps`` steps; the best
            checkpoint by ``validation_metric`` is the student kept. 0: no validation.
        validation_depth: nDCG@10 validation reranks each validation query's teacher top
            ``validation_depth`` (None: ``depth``).
        validation_examples: training-style examples per validation query that the
            validation loss is computed on (the nDCG@10 validation does not use them).
        patience: stop after this many evaluations without improvement (None: never).
        bf16: train under bfloat16 autocast (weights and optimiser stay float32): about twice
            the training speed on CPUs with avx512_bf16 / AMX and on recent GPUs.
        splade_document_weight, splade_query_weight: FLOPS regulariser weights (SPLADE only).
        pairs_per_query: Margin-MSE triplets sampled per query (the higher-ranked document of a
            random pair of the pool is the "positive"; the label is the teacher's margin).
        list_size, lists_per_query: listwise losses get ``lists_per_query`` random lists of
            ``list_size`` documents per query (sampled without replacement from the pool).
        batch_size: examples per optimiser step (a list counts as one example).
        mini_batch_size: listwise losses score at most this many (query, passage) pairs per
            forward pass (memory; None = all pairs of the batch in one pass).
        max_steps: stop after this many steps (None: ``epochs`` full passes).
        save_steps, save_total_limit: trainer checkpoints (what ``resume`` continues from).
    """

    loss: str = "margin-mse"
    student_kind: str = "cross-encoder"
    depth: int = 100
    labels: str = "auto"
    label_scale: float | None = None
    negatives: str = "random"
    positives: int = 3
    ways: int = 7
    temperature: float | None = None
    pairs_per_query: int = 64
    list_size: int = 16
    lists_per_query: int = 8
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 16
    mini_batch_size: int | None = None
    learning_rate: float = 3e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 256
    seed: int = 42
    save_steps: int = 50
    save_total_limit: int = 2
    validation_queries: float = 0.0
    validation_metric: str = "loss"
    validation_depth: int | None = None
    eval_steps: int = 50
    patience: int | None = None
    validation_examples: int = 8
    bf16: bool = False
    splade_document_weight: float = 3e-5
    splade_query_weight: float = 5e-5

    def __post_init__(self) -> None:
        if self.student_kind not in STUDENT_KINDS:
            raise InputError(f"unknown student kind {self.student_kind!r}.",
                             fix=f"use one of: {', '.join(STUDENT_KINDS)}.")
        losses = LOSSES_BY_KIND[self.student_kind]
        if self.loss not in losses:
            raise InputError(f"unknown distillation loss {self.loss!r} for a "
                             f"{self.student_kind} student.",
                             fix=f"use one of: {', '.join(losses)}.")
        if self.negatives not in NEGATIVES:
            raise InputError(f"unknown negatives {self.negatives!r}.",
                             fix=f"use one of: {', '.join(NEGATIVES)}.")
        if self.negatives == "judged" and self.spec.examples == "lists":
            raise InputError(f"negatives='judged' picks a positive and negatives; the "
                             f"{self.loss!r} loss reads whole lists.",
                             fix="use loss='margin-mse' or 'distill-kl' with negatives='judged'.")
        if self.validation_metric not in VALIDATION_METRICS:
            raise InputError(f"unknown validation metric {self.validation_metric!r}.",
                             fix=f"use one of: {', '.join(VALIDATION_METRICS)}.")
        for name, kind in NUMBERS.items():  # every number by its declared rule
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, kind.check(value, name, fix=NUMBER_FIXES.get(
                    name, f"pass {name} as {kind.describe()} (or leave it out).")))
        if self.temperature is not None:
            if self.spec.examples != "ways":
                raise InputError(f"temperature is a setting of the distill-kl loss, not of "
                                 f"{self.loss!r}.", fix="leave temperature unset, or use "
                                                       "loss='distill-kl'.")
        if self.labels != "auto" and self.labels not in LABEL_TRANSFORMS:
            raise InputError(f"unknown label transform {self.labels!r}.",
                             fix=f"use auto or one of: {', '.join(LABEL_TRANSFORMS)}.")

    @property
    def spec(self) -> LossSpec:
        return LOSSES_BY_KIND[self.student_kind][self.loss]

    @property
    def label_transform(self) -> str:
        """The transform actually applied ("auto" resolved)."""
        return self.spec.labels if self.labels == "auto" else self.labels

    def resolved(self) -> DistillConfig:
        """"auto" labels resolved; label_scale None -> 1 except for bi-encoders, whose scale is
        measured on the student by the trainer (see ``label_scale``)."""
        scale = self.label_scale
        if scale is None and self.student_kind != "bi-encoder":
            scale = 1.0
        return replace(self, labels=self.label_transform, label_scale=scale)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.resolved())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DistillConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown distillation settings: {', '.join(unknown)}.",
                             fix=f"use only: {', '.join(sorted(known))}.")
        return cls(**data)
