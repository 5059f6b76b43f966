"""What a distillation run is configured with: the loss, how teacher scores become labels, and
the trainer's settings. Plain data (no torch), recorded in the student's metadata."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from rankify_lite.errors import InputError


@dataclass(frozen=True)
class LossSpec:
    """One sentence-transformers cross-encoder loss and the training examples it reads."""

    class_name: str      # in sentence_transformers.cross_encoder.losses
    examples: str        # "triplets": (query, positive, negative) + margin; "lists": (query, docs) + labels
    labels: str          # label transform used when the config says "auto"
    reference: str


#: Explicit names -> sentence-transformers losses (never reimplemented here).
LOSSES: dict[str, LossSpec] = {
    "margin-mse": LossSpec("MarginMSELoss", "triplets", "zscore",
                           "Hofstaetter et al. 2020, Margin-MSE"),
    "ranknet": LossSpec("RankNetLoss", "lists", "zscore", "Burges et al. 2005; Rank-DistiLLM"),
    "listnet": LossSpec("ListNetLoss", "lists", "zscore", "Cao et al. 2007"),
    "lambda": LossSpec("LambdaLoss", "lists", "minmax", "Wang et al. 2018, LambdaLoss"),
    "adr-mse": LossSpec("ADRMSELoss", "lists", "zscore",
                        "Schlatt et al. 2024, Rank-DistiLLM (ADR-MSE)"),
}

#: How a query's teacher scores over its top ``depth`` become training labels.
#: raw: as given; zscore: (s - mean) / std per query; minmax: scaled to [0, 1] per query
#: (LambdaLoss reads labels as gains 2^l - 1, so they must be >= 0); reciprocal-rank: 1 / rank
#: (for teachers whose scores are only an order, e.g. listwise LLM rerankers).
LABEL_TRANSFORMS = ("raw", "zscore", "minmax", "reciprocal-rank")


@dataclass(frozen=True)
class DistillConfig:
    """Settings of one distillation run (all recorded in ``rankify_lite_distill.json``).

    Args:
        loss: a key of :data:`LOSSES`.
        depth: the teacher's top ``depth`` candidates per query are the training pool.
        labels: one of :data:`LABEL_TRANSFORMS`, or "auto" (the loss's default).
        label_scale: labels are multiplied by this after the transform (a temperature).
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
    depth: int = 100
    labels: str = "auto"
    label_scale: float = 1.0
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

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise InputError(f"unknown distillation loss {self.loss!r}.",
                             fix=f"use one of: {', '.join(LOSSES)}.")
        if self.labels != "auto" and self.labels not in LABEL_TRANSFORMS:
            raise InputError(f"unknown label transform {self.labels!r}.",
                             fix=f"use auto or one of: {', '.join(LABEL_TRANSFORMS)}.")
        positive = {"depth": self.depth, "pairs_per_query": self.pairs_per_query,
                    "lists_per_query": self.lists_per_query, "batch_size": self.batch_size,
                    "save_steps": self.save_steps, "save_total_limit": self.save_total_limit}
        for name, value in positive.items():
            if int(value) < 1:
                raise InputError(f"{name} must be >= 1, got {value}.", fix=f"pass a positive {name}.")
        if self.list_size < 2:
            raise InputError(f"list_size must be >= 2, got {self.list_size}.",
                             fix="a listwise example needs at least two documents, e.g. 16.")
        if self.max_length < 8:
            raise InputError(f"max_length must be >= 8, got {self.max_length}.",
                             fix="pass e.g. max_length=256.")
        if self.max_steps is not None and self.max_steps < 1:
            raise InputError(f"max_steps must be >= 1 or None, got {self.max_steps}.",
                             fix="leave it unset to train for `epochs`.")
        if self.epochs <= 0 or self.learning_rate <= 0:
            raise InputError("epochs and learning_rate must be > 0.",
                             fix="e.g. epochs=1, learning_rate=3e-5.")
        if not 0 <= self.warmup_ratio < 1:
            raise InputError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}.",
                             fix="e.g. 0.1.")

    @property
    def spec(self) -> LossSpec:
        return LOSSES[self.loss]

    @property
    def label_transform(self) -> str:
        """The transform actually applied ("auto" resolved)."""
        return self.spec.labels if self.labels == "auto" else self.labels

    def resolved(self) -> DistillConfig:
        return replace(self, labels=self.label_transform)

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
