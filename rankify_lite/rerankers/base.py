"""The interface every reranker family implements.

A family implements :meth:`Reranker._rerank_batch` for a batch of queries (batching *across*
queries is the family's job) and :meth:`Reranker.config`. The batch driver
(:mod:`rankify_lite.rerankers.driver`) does the rest, the same way for every family and every
executor:

* takes the top ``depth`` candidates of each query; documents below ``depth`` stay below, in
  their first-stage order;
* turns what the family returns into scores that strictly decrease down the final ranking
  (tied model scores in trec_eval's order, or the first stage's: see ``ties.py``), so
  evaluators see the new order;
* times every batch and spreads the time over its queries, and sums the family's counters
  (``self.stats``: prompts, tokens, ...) into the run's typed statistics;
* resumes: with a ``checkpoint`` it skips query batches already done and records each new query;
  batches are fixed slices of the candidate order, so a resumed run is byte-identical.

What the driver reads from a reranker is declared in :class:`~rankify_lite.rerankers.driver.Scorer`.
A reranker runs as a :class:`~rankify_lite.cascade.Stage` of a pipeline, which owns the depth,
the tie rule and the name; the reranker's :attr:`ties` (``load_reranker(..., ties=...)``) and
:attr:`given_name` (:meth:`named`, ``load_reranker(..., name=...)``; otherwise the pipeline
derives one) are the defaults a stage takes. ``reranker % depth`` / ``a >> b`` build cascades
(the :class:`~rankify_lite.cascade.Cascadable` mixin).
"""

from __future__ import annotations

import copy
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

from rankify_lite.cascade import Cascadable
from rankify_lite.names import check_name
from rankify_lite.rerankers.driver import (
    Checkpoint,
    RerankBatchError,
    RerankItem,
    Scored,
    Scorer,
    drive,
)
from rankify_lite.spec import Recorded
from rankify_lite.systems import SystemId
from rankify_lite.types import Corpus, Queries, Run

#: the old name of the batch error (it names the batch's queries)
RerankQueryError = RerankBatchError

__all__ = ["Checkpoint", "RerankBatchError", "RerankItem", "RerankQueryError", "Reranker",
           "Scored", "Scorer"]


def _recording_ties(config: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """``config`` that also records a non-default tie rule (it changes the run)."""
    @functools.wraps(config)
    def wrapped(self: Any) -> dict[str, Any]:
        out = config(self)
        rule = getattr(self, "ties", "trec_eval")
        return out if rule == "trec_eval" else {**out, "ties": rule}

    wrapped.records_ties = True  # type: ignore[attr-defined]
    return wrapped


class Reranker(Recorded, Cascadable, ABC):
    """Base class of every family. Construction is recorded: :meth:`spec` gives the family and
    the exact options the reranker was built with, which is what ``rerun`` rebuilds it from
    (``config()`` is the provenance record, with resolved values such as revisions and hashes)."""

    family: ClassVar[str] = ""
    spec_kind: ClassVar[str] = "reranker"

    #: how many queries go to one _rerank_batch call
    query_batch_size: int = 16
    #: when set, queries per call = max(1, max_pairs_per_call // depth) instead (pair scorers:
    #: a call then holds about this many (query, document) pairs, whatever the depth)
    max_pairs_per_call: int | None = None
    #: how tied model scores are ordered (:mod:`rankify_lite.ties`) by a stage of this reranker
    #: that sets no rule of its own: trec_eval's order
    ties: str = "trec_eval"
    #: the family's counters (prompts, tokens, ...); families that count set their own dict
    stats: Mapping[str, int] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("config")
        if own is not None and not getattr(own, "records_ties", False):
            cls.config = _recording_ties(own)  # a non-default tie rule keys caches, is recorded

    def queries_per_call(self, depth: int) -> int:
        """How many queries one :meth:`_rerank_batch` call gets at this depth."""
        if self.max_pairs_per_call:
            return max(1, self.max_pairs_per_call // max(1, depth))
        return max(1, self.query_batch_size)

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Every setting that changes the output (model id, revision, prompt hash, ...)."""

    @abstractmethod
    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        """Score or order the candidates of several queries; one result per item."""

    # -- the stage's name and cascades ------------------------------------------------------
    #: the name given with named() / load_reranker(name=...); None: the pipeline derives one
    given_name: str | None = None

    def named(self, name: str) -> Reranker:
        """This reranker under another stage name (a shallow copy: the model is shared)."""
        checked = check_name(name, "the stage name", example="reranker.named('minilm-l12')")
        other = copy.copy(self)
        other.given_name = checked
        return other

    @property
    def name(self) -> str:
        """The stage name: the given one, else the family (a pipeline tells two of one family
        apart, see :mod:`rankify_lite.pipeline.naming`)."""
        return self.given_name or self.family or self.spec_family()

    def stage_label(self, input_name: str) -> str:
        """The label of this reranker's output over the run named ``input_name``."""
        return SystemId.from_label(input_name).then(self.name, None).label

    # -- reranking ---------------------------------------------------------------------------
    def rerank(self, queries: Queries, candidates: Run, corpus: Corpus, depth: int = 100,
               checkpoint: Checkpoint | None = None,
               progress: Callable[[int], None] | None = None) -> Run:
        """A new Run: the top ``depth`` of ``candidates`` reordered by this reranker, computed
        in this process (executors call the same driver with their own ``map_batches``)."""
        return drive(self, queries, candidates, corpus, depth, checkpoint=checkpoint,
                     progress=progress)
