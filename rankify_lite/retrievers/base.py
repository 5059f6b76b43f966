"""The interface every first stage implements."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any

from rankify_lite.types import Corpus, Queries, RankedList, Run, _canonical


class Retriever(ABC):
    """Index a corpus once (cached on disk by content hash), then retrieve for many queries.

    Subclasses implement :meth:`_index` and :meth:`_retrieve`; :meth:`config` returns every
    setting that changes the output (it keys caches and is written into run metadata).
    """

    name: str = "retriever"

    def __init__(self) -> None:
        self._corpus: Corpus | None = None
        self.timings: dict[str, float] = {}

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """All settings that affect the output, JSON-able."""

    @abstractmethod
    def _index(self, corpus: Corpus) -> None:
        """Build or open the index for ``corpus``."""

    @abstractmethod
    def _retrieve(self, queries: Queries, k: int) -> dict[str, list[tuple[str, float]]]:
        """Top-``k`` (doc id, score) per query for the indexed corpus."""

    def index(self, corpus: Corpus) -> Retriever:
        """Build (or open from cache) the index for ``corpus``. Idempotent."""
        if self._corpus is not None and self._corpus.content_hash() == corpus.content_hash():
            return self
        start = time.perf_counter()
        self._index(corpus)
        self._corpus = corpus
        self.timings["index_s"] = time.perf_counter() - start
        return self

    def retrieve(self, queries: Queries, k: int = 100, exclude_self_hits: bool = False,
                 corpus: Corpus | None = None) -> Run:
        """Top-``k`` per query as a Run. ``exclude_self_hits`` drops doc id == query id
        (BEIR's ArguAna/Quora rule) while still returning ``k`` documents."""
        if corpus is not None:
            self.index(corpus)
        if self._corpus is None:
            from rankify_lite.errors import InputError

            raise InputError(f"{type(self).__name__}.retrieve() called before index().",
                             fix="call retriever.index(corpus) first, or pass corpus=...")
        start = time.perf_counter()
        hits = self._retrieve(queries, k + 1 if exclude_self_hits else k)
        lists = {}
        removed = 0
        for qid in queries:
            pairs = hits.get(qid, [])
            if exclude_self_hits:
                kept = [(d, s) for d, s in pairs if d != qid]
                removed += len(pairs) - len(kept)
                pairs = kept
            ids, scores = _canonical(dict(pairs).items())  # trec_eval order, built once
            lists[qid] = RankedList(ids[:k], scores[:k])
        self.timings["retrieve_s"] = time.perf_counter() - start
        return Run(lists, name=self.name, metadata={"retriever": self.config(), "k": k,
                                                    "exclude_self_hits": exclude_self_hits,
                                                    "self_hits_removed": removed})
