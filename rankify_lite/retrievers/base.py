"""The interface every first stage implements."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rankify_lite.spec import Recorded
from rankify_lite.stage_stats import FirstStageTiming
from rankify_lite.types import Corpus, Queries, RankedList, Run, _canonical


class Retriever(Recorded, ABC):
    """Index a corpus once (cached on disk by content hash), then retrieve for many queries.

    Subclasses implement :meth:`_index` and :meth:`_retrieve`; :meth:`config` returns every
    setting that changes the output (it keys caches and is written into run metadata).
    """

    name: str = "retriever"
    spec_kind: ClassVar[str] = "retriever"

    def spec_family(self) -> str:
        return str(self.config()["family"])

    def __init__(self) -> None:
        self._corpus: Corpus | None = None

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
        self._index(corpus)
        self._corpus = corpus
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
        return Run(lists, name=self.name, metadata={"retriever": self.config(), "k": k,
                                                    "exclude_self_hits": exclude_self_hits,
                                                    "self_hits_removed": removed})

    def first_stage(self, dataset: Any, k: int, executor: Any = None
                    ) -> tuple[Run, FirstStageTiming]:
        """(run, its typed timing) for ``dataset``: index its corpus (on ``executor``'s workers
        when given, for dense/SPLADE encoding), then retrieve the top ``k`` per query."""
        if dataset.corpus is None:
            from rankify_lite.errors import InputError

            raise InputError(f"dataset {dataset.name!r} has no corpus to retrieve from.",
                             fix="use a dataset with corpus.jsonl, or a shipped run.")
        t0 = time.perf_counter()
        if executor is not None:
            executor.prepare_index(self, dataset.corpus)
        self.index(dataset.corpus)
        index_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = self.retrieve(dataset.queries, k, exclude_self_hits=dataset.remove_self_hits)
        return run, FirstStageTiming(index_s, time.perf_counter() - t0)
