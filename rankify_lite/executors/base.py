"""The executor seam: the pipeline hands reranking batches and corpus encoding to an executor.

Reranking goes through the one batch driver (:func:`rankify_lite.rerankers.driver.drive`): it
slices, resumes, times and records; an executor only decides *where* each batch's compute runs
(``map_batches``). :class:`LocalExecutor` computes them in this process; a sharding executor
sends the *same* batches to workers, so every batch is computed with the same composition and
the run file and its metadata are the same (only measured seconds differ). Encoding: the
encoder's length-sorted tokenisation chunks are the units (see encode_plan.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from rankify_lite.rerankers.base import Checkpoint, Reranker
from rankify_lite.rerankers.driver import Batch, BatchOutput, drive, in_process
from rankify_lite.types import Corpus, Queries, Run


class Executor(Protocol):
    def map_batches(self, reranker: Reranker, batches: Sequence[Batch], depth: int
                    ) -> Iterable[tuple[Batch, BatchOutput]]: ...

    def prepare_index(self, retriever: Any, corpus: Corpus) -> None: ...

    def describe(self) -> dict[str, Any]: ...


class LocalExecutor:
    """Everything in this process (the default)."""

    def map_batches(self, reranker: Reranker, batches: Sequence[Batch], depth: int
                    ) -> Iterable[tuple[Batch, BatchOutput]]:
        return in_process(reranker, batches, depth)

    def prepare_index(self, retriever: Any, corpus: Corpus) -> None:
        """Nothing to do: the retriever encodes its corpus itself in ``index``."""

    def describe(self) -> dict[str, Any]:
        return {"executor": "local"}

    def rerank(self, reranker: Reranker, queries: Queries, candidates: Run, corpus: Corpus,
               depth: int, checkpoint: Checkpoint | None = None,
               progress: Callable[[int], None] | None = None) -> Run:
        return rerank(self, reranker, queries, candidates, corpus, depth, checkpoint, progress)


def rerank(executor: Any, reranker: Reranker, queries: Queries, candidates: Run, corpus: Corpus,
           depth: int, checkpoint: Checkpoint | None = None,
           progress: Callable[[int], None] | None = None, name: str | None = None) -> Run:
    """``reranker`` on ``candidates`` through the batch driver, batches computed by
    ``executor`` (None: this process)."""
    mapper = (executor or LocalExecutor()).map_batches
    return drive(reranker, queries, candidates, corpus, depth, map_batches=mapper,
                 checkpoint=checkpoint, progress=progress, name=name)
