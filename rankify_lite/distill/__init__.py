"""Distil a teacher run (a first stage, a fusion, a reranker's output) into a student
cross-encoder, bi-encoder or SPLADE model with sentence-transformers' trainers and losses.

```python
from rankify_lite.distill import DistillConfig, distill

result = distill(teacher_run, ds.queries, ds.corpus, student="sentence-transformers/all-MiniLM-L6-v2",
                 output="students/minilm-splade", config=DistillConfig(loss="margin-mse"))
reranker = load_reranker("cross-encoder", model=str(result.folder))
# a bi-encoder student, the teacher's hard negatives, a fifth of the queries for validation
cfg = DistillConfig(student_kind="bi-encoder", negatives="hard", validation_queries=0.2)
dense = Dense(str(distill(teacher_run, ds.queries, ds.corpus, student=..., output=...,
                          config=cfg).folder))
```

Importing this package is light; torch, transformers and sentence-transformers load when
:func:`distill` runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DistillConfig": "rankify_lite.distill.config", "LOSSES": "rankify_lite.distill.config",
    "LABEL_TRANSFORMS": "rankify_lite.distill.config",
    "STUDENT_KINDS": "rankify_lite.distill.config", "LOSSES_BY_KIND": "rankify_lite.distill.config",
    "split_queries": "rankify_lite.distill.data",
    "build_examples": "rankify_lite.distill.data", "teacher_labels": "rankify_lite.distill.data",
    "TrainingExamples": "rankify_lite.distill.data",
    "load_metadata": "rankify_lite.distill.metadata",
    "METADATA_FILE": "rankify_lite.distill.metadata",
    "distill": "rankify_lite.distill.train", "DistillResult": "rankify_lite.distill.train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rankify_lite.distill' has no attribute {name!r}")
