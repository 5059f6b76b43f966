"""A synthetic dataset folder small enough to run a whole pipeline in a test in well under a
second: 3 queries, 12 passages, graded qrels and a first-stage run file of 4 passages each."""

from __future__ import annotations

import json
from pathlib import Path


def tiny_folder(folder: Path) -> tuple[Path, Path]:
    """(dataset folder, first-stage run file) written under ``folder``; the run is also the
    dataset's shipped run ``run:first``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    queries = {f"q{q}": f"query {q} words" for q in range(3)}
    docs = {f"q{q}-d{d}": f"passage {d} about query {q}" for q in range(3) for d in range(4)}
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"_id": q, "text": t}) + "\n" for q, t in queries.items()))
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": d, "title": "", "text": t}) + "\n" for d, t in docs.items()))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"q{q}\tq{q}-d{d}\t{d % 3}\n" for q in range(3) for d in range(4)))
    (folder / "runs").mkdir(exist_ok=True)
    run = folder / "runs" / "run.first.trec"   # also shipped with the dataset: run:first
    run.write_text("".join(f"q{q} Q0 q{q}-d{d} {d + 1} {10 - d} first\n"
                           for q in range(3) for d in range(4)))
    return folder, run
