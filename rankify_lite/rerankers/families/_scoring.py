"""Helpers for families that score all (query, document) pairs of a batch as one flat list."""

from __future__ import annotations

from collections.abc import Sequence

from rankify_lite.errors import InputError
from rankify_lite.rerankers.base import RerankItem, Scored


def split_per_query(items: Sequence[RerankItem], scores: Sequence[float]) -> list[Scored]:
    """``scores`` holds one value per pair, items' documents in order (as built by
    ``[(it, d) for it in items for d in it.documents]``); cut it back into one
    ``[(doc id, score), ...]`` list per item."""
    total = sum(len(it.documents) for it in items)
    if len(scores) != total:
        raise InputError(f"{len(scores)} scores for {total} (query, document) pairs.",
                         fix="this is a bug in the reranker family: report it.")
    out: list[Scored] = []
    start = 0
    for it in items:
        n = len(it.documents)
        out.append([(d.id, float(s)) for d, s in zip(it.documents, scores[start:start + n],
                                                      strict=True)])
        start += n
    return out
