"""A deterministic, deliberately slow reranker used by the kill -9 / resume tests."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

from rankify_lite.rerankers.base import Reranker, RerankItem, Scored


class HashReranker(Reranker):
    """Scores = a hash of (query, doc): a fixed, arbitrary reordering; optional delay per query."""

    family = "hash-test"
    query_batch_size = 1

    def __init__(self, delay: float = 0.0, fail_on: str | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on

    def config(self) -> dict:
        return {"family": self.family}

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        out = []
        for it in items:
            if it.query.id == self.fail_on:
                raise RuntimeError("model exploded")
            time.sleep(self.delay)
            out.append([(d.id, int(hashlib.sha256(f"{it.query.id}/{d.id}".encode()).hexdigest()[:8],
                                   16) / 2**32) for d in it.documents])
        return out
