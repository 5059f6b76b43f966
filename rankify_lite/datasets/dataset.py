"""The Dataset value object: a corpus, its queries and their relevance judgments."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rankify_lite.datasets.rules import CollectionRules
from rankify_lite.types import Corpus, Qrels, Queries, Run


@dataclass(frozen=True)
class Dataset:
    """One test collection.

    ``corpus`` is None for sets shipped as topics + qrels only (evaluate runs, don't retrieve).
    ``runs`` maps names of first-stage runs shipped with the data to their files (or to the
    Run itself, when it was read with the data: a pre-retrieved file's).
    ``rules`` says how the collection is evaluated (relevance level of binary metrics, BEIR's
    self-hit rule, default metrics and split): read from the folder's ``collection.yaml`` or the
    table of known collections, never guessed from the name (see :mod:`rankify_lite.datasets.rules`).
    """

    name: str
    corpus: Corpus | None
    queries: Queries
    qrels: Qrels
    runs: Mapping[str, Path | Run] = field(default_factory=dict)
    rules: CollectionRules = field(default_factory=CollectionRules)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rel_level(self) -> int:
        """Grade from which binary metrics (recall, MAP, MRR) count a document as relevant:
        2 for TREC DL, as published DL recall/MAP figures use (trec_eval -l 2)."""
        return self.rules.rel_level

    @property
    def remove_self_hits(self) -> bool:
        """BEIR's rule: a query never retrieves the document with its own id."""
        return self.rules.remove_self_hits

    def input_hash(self) -> str:
        """Hash of what retrieval and reranking read (corpus and queries, not the qrels)."""
        h = hashlib.sha256()
        for part in (self.corpus, self.queries):
            h.update(b"-" if part is None else part.content_hash().encode())
        return h.hexdigest()

    def __repr__(self) -> str:
        nd = len(self.corpus) if self.corpus is not None else 0
        return (f"Dataset({self.name!r}: {nd} docs, {len(self.queries)} queries, "
                f"{self.qrels.num_judgments} qrels)")

    def content_hash(self) -> str:
        h = hashlib.sha256()
        for part in (self.corpus, self.queries, self.qrels):
            h.update(b"-" if part is None else part.content_hash().encode())
        return h.hexdigest()

    def subset(self, query_ids: Iterable[str]) -> Dataset:
        """The same collection with only these queries (in this order) and their judgments;
        the rules stay the collection's, and the metadata says it is a subset."""
        from rankify_lite.errors import InputError

        ids = list(dict.fromkeys(str(q) for q in query_ids))
        missing = [q for q in ids if q not in self.queries]
        if missing:
            raise InputError(f"dataset {self.name!r} has no queries {missing[:5]}"
                             f"{' ...' if len(missing) > 5 else ''}.",
                             fix="pick ids from dataset.queries.")
        if not ids:
            raise InputError("a subset needs at least one query id.", fix="e.g. ds.head(5).")
        return replace(self, queries=Queries({q: self.queries[q] for q in ids}),
                       qrels=self.qrels.restrict(ids),
                       metadata={**dict(self.metadata),
                                 "subset": {"of_queries": len(self.queries), "queries": len(ids)}})

    def head(self, n: int) -> Dataset:
        """The first ``n`` queries (in the dataset's order): ``ds.head(5)``."""
        from rankify_lite.errors import InputError

        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"head(n) needs a positive integer, got {n!r}.", fix="e.g. ds.head(5)")
        return self.subset(list(self.queries)[:n])

    def load_run(self, name: str):
        """Load a first-stage run shipped with the dataset (see ``runs``)."""
        from rankify_lite.errors import InputError
        from rankify_lite.io.trec import read_run

        if name not in self.runs:
            raise InputError(f"dataset {self.name!r} ships no run named {name!r}.",
                             fix=f"use one of: {', '.join(sorted(self.runs)) or '(none)'}.")
        source = self.runs[name]
        if isinstance(source, Run):  # read with the data (a pre-retrieved file's own run)
            return source
        return read_run(source, name=name)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "docs": len(self.corpus) if self.corpus is not None else 0,
                "queries": len(self.queries), "qrels": self.qrels.num_judgments,
                "rel_level": self.rel_level, "content_hash": self.content_hash(),
                "rules": self.rules.as_dict(), **dict(self.metadata)}


@dataclass(frozen=True)
class DatasetGroup:
    """Several datasets scored separately and averaged (CQADupStack's 12 forums)."""

    name: str
    parts: tuple[Dataset, ...]

    def __repr__(self) -> str:
        return f"DatasetGroup({self.name!r}: {len(self.parts)} parts)"

    def content_hash(self) -> str:
        h = hashlib.sha256()
        for p in self.parts:
            h.update(p.content_hash().encode())
        return h.hexdigest()
