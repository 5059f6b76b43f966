"""The cache keys of pipeline stages: one place, one version.

A key names exactly what computed its entry: the input (dataset content, or the key of the
stage before), the component's ``config()``, and every setting the stage applies outside that
config (depth, queries per call, the tie rule the batch driver orders tied scores by). The
Pipeline, the leaderboard and the PyTerrier layer all key through here.

:data:`KEY_VERSION` enters every key. When a fix changes what a key's computation produces
(a wrapper that dropped an option, a changed tie order), bump it: entries written before the
fix are then never found, so a wrong result cannot outlive its bug.
"""

from __future__ import annotations

from typing import Any

from rankify_lite.cache import content_key

#: 2: LazyReranker computed with the default tie rule under the key of the one asked for (#38)
KEY_VERSION = 2


def stage_key(kind: str, *parts: Any) -> str:
    """The cache key of a stage of ``kind`` ("first", "rerank", "pt-first", ...) over ``parts``."""
    return content_key(KEY_VERSION, kind, *parts)


def reranker_parts(reranker: Any, depth: int) -> tuple[Any, ...]:
    """What a reranking stage's output depends on besides its input: the reranker's config, the
    tie rule the driver applies (read where the driver reads it), the depth and the queries per
    call (a batch's composition can change a listwise model's output)."""
    return (reranker.config(), {"ties": reranker.ties}, depth, reranker.queries_per_call(depth))


def rerank_key(source_key: str, reranker: Any, depth: int) -> str:
    """The key of ``reranker`` at ``depth`` over the run keyed ``source_key``."""
    return stage_key("rerank", source_key, *reranker_parts(reranker, depth))
