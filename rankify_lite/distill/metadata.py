"""The record a distilled student carries in its folder (``rankify_lite_distill.json``), and
the spec an interrupted run leaves beside its checkpoints so a resume can check it continues
the same training."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.types import Corpus, Queries, Run

METADATA_FILE = "rankify_lite_distill.json"
SPEC_FILE = "rankify_lite_distill.spec.json"
VERSION = 1
# run metadata that says nothing about how the teacher ranked (and can be large)
_DROP_TEACHER_KEYS = ("timing",)


def describe_teacher(teacher: Run, depth: int) -> dict[str, Any]:
    """Name, content hash and recorded configuration of the teacher run."""
    meta = {k: v for k, v in teacher.metadata.items() if k not in _DROP_TEACHER_KEYS}
    return {"name": teacher.name, "content_hash": teacher.content_hash(),
            "queries": len(teacher), "depth": depth,
            "metadata": json.loads(json.dumps(meta, default=str))}


def training_spec(*, student: str, teacher: Run, queries: Queries, corpus: Corpus,
                  config: dict[str, Any], dataset: str | None) -> dict[str, Any]:
    """Everything that must match for a resume to continue the same training."""
    return {"rankify_lite_distill_version": VERSION, "student": student,
            "teacher_content_hash": teacher.content_hash(),
            "queries_hash": queries.content_hash(), "corpus_hash": corpus.content_hash(),
            "dataset": dataset, "config": config}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (a temporary file renamed into place)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def check_resume_spec(path: Path, spec: dict[str, Any]) -> None:
    """Refuse to resume checkpoints made with another student, teacher, data or config."""
    if not path.exists():
        raise InputError("the checkpoints have no record of the training they belong to.",
                         path=path.parent,
                         fix="delete the checkpoints folder to start again, or pass "
                             "resume=False / drop --resume.")
    saved = json.loads(path.read_text())
    diffs = [k for k in spec if saved.get(k) != spec[k]]
    if "config" in diffs:
        cfg_diff = sorted(k for k in spec["config"]
                          if saved.get("config", {}).get(k) != spec["config"][k])
        diffs = [d for d in diffs if d != "config"] + [f"config.{k}" for k in cfg_diff]
    if diffs:
        raise InputError(f"these checkpoints were made by a different training ({', '.join(diffs)} "
                         "differ), so resuming would mix two runs.", path=path,
                         fix="resume with the same settings, or use another output folder.")


def load_metadata(folder: str | Path) -> dict[str, Any]:
    """The distillation record of a student folder."""
    path = Path(folder) / METADATA_FILE
    if not path.exists():
        raise InputError(f"{folder} has no {METADATA_FILE}: it is not a distilled student.",
                         path=folder, fix="pass the output folder of `rankify-lite distill`.")
    return json.loads(path.read_text())
