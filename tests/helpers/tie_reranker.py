"""A registered test family whose scores tie often: each (query, doc) falls in one of ``levels``
buckets, so the tie rule, the depth and ``levels`` (a model option) all change its run."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import Reranker, RerankItem, Scored

FAMILY = "bucket-test"


class BucketReranker(Reranker):
    family = FAMILY
    query_batch_size = 2
    file_options = FileOptions(data=("levels", "model"))

    def __init__(self, levels: int = 2, model: str | None = None) -> None:
        self.levels = levels
        self.model = model  # a name only (a leaderboard entry always passes one)

    def config(self) -> dict:
        return {"family": self.family, "levels": self.levels, "model": self.model}

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        def bucket(q: str, d: str) -> float:
            return float(int(hashlib.sha256(f"{q}/{d}".encode()).hexdigest()[:8], 16)
                         % self.levels)
        return [[(d.id, bucket(it.query.id, d.id)) for d in it.documents] for it in items]


@contextlib.contextmanager
def registered() -> Iterator[str]:
    """``bucket-test`` registered while the block runs, then removed again (tests that walk
    every registered family must not meet it)."""
    from rankify_lite.rerankers.registry import _REGISTRY, register

    register(FAMILY, "helpers.tie_reranker:BucketReranker")
    try:
        yield FAMILY
    finally:
        _REGISTRY.pop(FAMILY, None)


def tie_dataset(folder: Path, queries: int = 4, docs: int = 8) -> Path:
    """A dataset folder whose first-stage run (``run:first``) ranks ``d0`` above ``d1`` ... (doc
    id ascending, so the first-stage tie order is the reverse of trec_eval's)."""
    (folder / "qrels").mkdir(parents=True)
    (folder / "runs").mkdir()
    with open(folder / "corpus.jsonl", "w") as fh:
        for d in range(docs):
            fh.write(json.dumps({"_id": f"d{d}", "title": "", "text": f"passage {d}"}) + "\n")
    with open(folder / "queries.jsonl", "w") as fh:
        for q in range(queries):
            fh.write(json.dumps({"_id": f"q{q}", "text": f"question {q}"}) + "\n")
    qrels = ["query-id\tcorpus-id\tscore"]
    run = []
    for q in range(queries):
        qrels += [f"q{q}\td{(q + 1) % docs}\t1", f"q{q}\td{(q + 4) % docs}\t2"]
        run += [f"q{q} Q0 d{d} {d + 1} {docs - d} first" for d in range(docs)]
    (folder / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n")
    (folder / "runs" / "first.trec").write_text("\n".join(run) + "\n")
    return folder
