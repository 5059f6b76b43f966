"""The executor seam: the pipeline hands reranking and corpus encoding to an executor.

:class:`LocalExecutor` is the single-process path (what the pipeline does without one). A
sharding executor cuts work into the *same* units the single-process path computes (reranking:
the fixed query batches of :meth:`Reranker.rerank`; encoding: the encoder's length-sorted
tokenisation chunks, see encode_plan.py), so every unit is computed with the same composition
and the results are byte-identical.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from rankify_lite.rerankers.base import Checkpoint, Reranker
from rankify_lite.types import Corpus, Queries, Run


class Executor(Protocol):
    def rerank(self, reranker: Reranker, queries: Queries, candidates: Run, corpus: Corpus,
               depth: int, checkpoint: Checkpoint | None = None,
               progress: Callable[[int], None] | None = None) -> Run: ...

    def prepare_index(self, retriever: Any, corpus: Corpus) -> None: ...


class LocalExecutor:
    """Everything in this process (the default)."""

    def rerank(self, reranker: Reranker, queries: Queries, candidates: Run, corpus: Corpus,
               depth: int, checkpoint: Checkpoint | None = None,
               progress: Callable[[int], None] | None = None) -> Run:
        return reranker.rerank(queries, candidates, corpus, depth, checkpoint=checkpoint,
                               progress=progress)

    def prepare_index(self, retriever: Any, corpus: Corpus) -> None:
        """Nothing to do: the retriever encodes its corpus itself in ``index``."""


def query_batches(candidates: Run, per_call: int) -> list[list[str]]:
    """The fixed query batches of :meth:`Reranker.rerank`: slices of the candidate order."""
    order = list(candidates)
    return [order[s:s + per_call] for s in range(0, len(order), per_call)]


def batch_inputs(queries: Queries, candidates: Run, corpus: Corpus, qids: list[str],
                 depth: int) -> tuple[Queries, Run, Corpus]:
    """The slice of the inputs one batch needs: its queries, their candidate lists (whole:
    the tail below ``depth`` is kept in the output) and the top-``depth`` documents."""
    from rankify_lite.errors import InputError

    missing = [q for q in qids if q not in queries]
    if missing:
        raise InputError(f"the candidate run has query {missing[0]!r}, which the queries lack.",
                         fix="rerank with the queries the run was retrieved for.")
    docs = {}
    for q in qids:
        for d in candidates[q].doc_ids[:depth]:
            if d in corpus:  # a missing id is reported by Reranker.rerank in the worker
                docs[d] = corpus[d]
    return (Queries({q: queries[q] for q in qids}),
            Run({q: candidates[q] for q in qids}, name=candidates.name), Corpus(docs))
