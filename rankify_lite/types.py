"""Value objects: Query, Document, Corpus, Queries, Qrels, Run.

They are never mutated: every operation returns a new object. A Run keeps, per query, a ranked
list whose scores never increase down the list; ties are broken deterministically the way
trec_eval breaks them (higher score first, then doc id in *descending* string order), so the
order we store is the order every evaluator sees.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from rankify_lite.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass(frozen=True, slots=True)
class Query:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    text: str
    title: str = ""

    def full_text(self, sep: str = " ") -> str:
        """Title and text joined (BEIR's "flat" convention); just the text when untitled."""
        return f"{self.title}{sep}{self.text}" if self.title else self.text


class _FrozenMap(Mapping):
    """A read-only mapping with a cached content hash."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping) -> None:
        self._data = dict(data)
        self._hash: str | None = None

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key) -> bool:
        return key in self._data

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} entries, hash={self.content_hash()[:12]})"

    def _hash_parts(self) -> Iterable[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def content_hash(self) -> str:
        """sha256 of the content, in insertion order; equal content gives an equal hash."""
        if self._hash is None:
            h = hashlib.sha256()
            for part in self._hash_parts():
                h.update(part.encode("utf-8"))
                h.update(b"\x1f")
            self._hash = h.hexdigest()
        return self._hash


class Corpus(_FrozenMap):
    """doc id -> Document."""

    @classmethod
    def from_documents(cls, docs: Iterable[Document]) -> Corpus:
        data: dict[str, Document] = {}
        for d in docs:
            if d.id in data:
                raise InputError(f"duplicate document id {d.id!r}.",
                                 fix="give every document a unique id.")
            data[d.id] = d
        return cls(data)

    def _hash_parts(self) -> Iterable[str]:
        for d in self._data.values():
            yield d.id
            yield d.title
            yield d.text


class Queries(_FrozenMap):
    """query id -> Query."""

    @classmethod
    def from_dict(cls, texts: Mapping[str, str]) -> Queries:
        return cls({str(k): Query(str(k), v) for k, v in texts.items()})

    def texts(self) -> dict[str, str]:
        return {q.id: q.text for q in self._data.values()}

    def _hash_parts(self) -> Iterable[str]:
        for q in self._data.values():
            yield q.id
            yield q.text


class Qrels(_FrozenMap):
    """query id -> {doc id: graded relevance (int)}. Judged non-relevant docs keep grade 0."""

    def __init__(self, data: Mapping[str, Mapping[str, int]]) -> None:
        super().__init__({str(q): MappingProxyType({str(d): int(r) for d, r in docs.items()})
                          for q, docs in data.items()})

    @property
    def num_judgments(self) -> int:
        return sum(len(v) for v in self._data.values())

    def relevant(self, qid: str, min_rel: int = 1) -> set[str]:
        return {d for d, r in self._data.get(qid, {}).items() if r >= min_rel}

    def to_dict(self, min_rel: int | None = None) -> dict[str, dict[str, int]]:
        """Plain dicts; with ``min_rel`` only judgments >= min_rel are kept (trec_eval -l)."""
        if min_rel is None:
            return {q: dict(v) for q, v in self._data.items()}
        return {q: {d: r for d, r in v.items() if r >= min_rel} for q, v in self._data.items()}

    def restrict(self, qids: Iterable[str]) -> Qrels:
        """Only the judgments of the queries in ``qids``."""
        keep = set(qids)
        return Qrels({q: v for q, v in self._data.items() if q in keep})

    def to_dataframe(self) -> pd.DataFrame:
        import pandas as pd

        rows = [(q, d, r) for q, v in self._data.items() for d, r in v.items()]
        return pd.DataFrame(rows, columns=["qid", "docid", "rel"])

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame) -> Qrels:
        data: dict[str, dict[str, int]] = {}
        for q, d, r in zip(df["qid"], df["docid"], df["rel"], strict=True):
            data.setdefault(str(q), {})[str(d)] = int(r)
        return cls(data)

    def to_ranx(self, min_rel: int = 1):
        """A ranx.Qrels. Grades below ``min_rel`` are dropped (ranx then treats them as 0)."""
        from ranx import Qrels as RanxQrels

        data = {q: {d: r for d, r in v.items() if r >= min_rel and r > 0}
                for q, v in self._data.items()}
        return RanxQrels({q: v for q, v in data.items() if v})

    def _hash_parts(self) -> Iterable[str]:
        for q, docs in self._data.items():
            for d, r in docs.items():
                yield f"{q}\t{d}\t{r}"


def _canonical(pairs: Iterable[tuple[str, float]]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Sort by score descending, ties by doc id descending (trec_eval's order)."""
    items = sorted(pairs, key=lambda p: p[0], reverse=True)
    items.sort(key=lambda p: p[1], reverse=True)  # stable: keeps doc-id-descending on ties
    return tuple(p[0] for p in items), tuple(p[1] for p in items)


@dataclass(frozen=True, slots=True)
class RankedList:
    """One query's ranking: doc ids best first, scores never increasing."""

    doc_ids: tuple[str, ...]
    scores: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.doc_ids) != len(self.scores):
            raise InputError(f"{len(self.doc_ids)} doc ids but {len(self.scores)} scores.")
        for i in range(1, len(self.scores)):
            if self.scores[i] > self.scores[i - 1]:
                raise InputError(
                    f"scores must not increase down a ranking: {self.doc_ids[i]!r} at rank "
                    f"{i + 1} scores {self.scores[i]} > {self.scores[i - 1]} at rank {i}.",
                    fix="build the run with Run.from_scores (which sorts) or Run.from_rankings.")
        if len(set(self.doc_ids)) != len(self.doc_ids):
            raise InputError("a document appears twice in one ranking.",
                             fix="rank each document at most once per query.")

    def __len__(self) -> int:
        return len(self.doc_ids)

    def top(self, k: int) -> RankedList:
        return RankedList(self.doc_ids[:k], self.scores[:k])


@dataclass(frozen=True)
class Run(Mapping):
    """query id -> RankedList, plus a name and free-form metadata. Never mutated.

    Build one with :meth:`from_scores` (any order in, canonical order out) or
    :meth:`from_rankings` (an explicit order; scores are assigned strictly decreasing).
    """

    lists: Mapping[str, RankedList]
    name: str = "run"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lists", MappingProxyType(dict(self.lists)))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_scores(cls, scores: Mapping[str, Mapping[str, float]], name: str = "run",
                    metadata: Mapping[str, Any] | None = None) -> Run:
        lists = {}
        for qid, docs in scores.items():
            for d, s in docs.items():
                if not isinstance(s, (int, float)) or not math.isfinite(s):
                    raise InputError(f"query {qid!r}, document {d!r}: score {s!r} is not a "
                                     "finite number.",
                                     fix="give every candidate a finite numeric score.")
            ids, ss = _canonical((str(d), float(s)) for d, s in docs.items())
            lists[str(qid)] = RankedList(ids, ss)
        return cls(lists, name, metadata or {})

    @classmethod
    def from_rankings(cls, rankings: Mapping[str, Iterable[str]], name: str = "run",
                      metadata: Mapping[str, Any] | None = None) -> Run:
        """Explicit orders in; scores n, n-1, ..., 1 out (strictly decreasing)."""
        lists = {}
        for qid, docs in rankings.items():
            ids = tuple(str(d) for d in docs)
            if len(set(ids)) != len(ids):
                dup = next(d for d in ids if ids.count(d) > 1)
                raise InputError(f"query {qid!r} ranks document {dup!r} twice.",
                                 fix="rank each document at most once per query.")
            n = len(ids)
            lists[str(qid)] = RankedList(ids, tuple(float(n - i) for i in range(n)))
        return cls(lists, name, metadata or {})

    # -- mapping protocol ---------------------------------------------------------------
    def __getitem__(self, qid: str) -> RankedList:
        return self.lists[qid]

    def __iter__(self) -> Iterator[str]:
        return iter(self.lists)

    def __len__(self) -> int:
        return len(self.lists)

    def __repr__(self) -> str:
        n = sum(len(v) for v in self.lists.values())
        return f"Run(name={self.name!r}, queries={len(self)}, entries={n})"

    # -- derived runs -------------------------------------------------------------------
    def replace(self, *, name: str | None = None, metadata: Mapping[str, Any] | None = None,
                lists: Mapping[str, RankedList] | None = None) -> Run:
        return Run(self.lists if lists is None else lists,
                   self.name if name is None else name,
                   self.metadata if metadata is None else metadata)

    def with_metadata(self, **extra: Any) -> Run:
        return self.replace(metadata={**self.metadata, **extra})

    def top(self, k: int) -> Run:
        return self.replace(lists={q: rl.top(k) for q, rl in self.lists.items()})

    def restrict(self, qids: Iterable[str]) -> Run:
        """Only the queries in ``qids``, in the order of ``qids``."""
        return self.replace(lists={q: self.lists[q] for q in qids if q in self.lists})

    def count_self_hits(self) -> int:
        """How many lists contain their own query id as a document."""
        return sum(1 for q, rl in self.lists.items() if q in rl.doc_ids)

    def without_self_hits(self) -> Run:
        """Drop documents whose id equals the query id (BEIR's convention)."""
        lists = {}
        for q, rl in self.lists.items():
            if q in rl.doc_ids:
                keep = [i for i, d in enumerate(rl.doc_ids) if d != q]
                rl = RankedList(tuple(rl.doc_ids[i] for i in keep), tuple(rl.scores[i] for i in keep))
            lists[q] = rl
        return self.replace(lists=lists)

    # -- conversion ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, float]]:
        return {q: dict(zip(rl.doc_ids, rl.scores, strict=True)) for q, rl in self.lists.items()}

    def to_ranx(self):
        """A ranx.Run whose scores follow *our* order exactly (ties already resolved)."""
        from ranx import Run as RanxRun

        data = {q: {d: float(len(rl) - i) for i, d in enumerate(rl.doc_ids)}
                for q, rl in self.lists.items() if len(rl)}
        return RanxRun(data, name=self.name)

    @classmethod
    def from_ranx(cls, run, name: str | None = None) -> Run:
        return cls.from_scores(run.to_dict(), name=name or run.name or "run")

    def to_dataframe(self) -> pd.DataFrame:
        import pandas as pd

        rows = [(q, d, i + 1, s) for q, rl in self.lists.items()
                for i, (d, s) in enumerate(zip(rl.doc_ids, rl.scores, strict=True))]
        return pd.DataFrame(rows, columns=["qid", "docid", "rank", "score"])

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, name: str = "run") -> Run:
        scores: dict[str, dict[str, float]] = {}
        for q, d, s in zip(df["qid"], df["docid"], df["score"], strict=True):
            per = scores.setdefault(str(q), {})
            if str(d) in per:
                raise InputError(f"query {q!r} lists document {d!r} twice in the DataFrame.",
                                 fix="drop duplicate (qid, docid) rows.")
            per[str(d)] = float(s)
        return cls.from_scores(scores, name=name)

    def content_hash(self) -> str:
        h = hashlib.sha256()
        for q, rl in self.lists.items():
            for d, s in zip(rl.doc_ids, rl.scores, strict=True):
                h.update(f"{q}\t{d}\t{s!r}\n".encode())
        return h.hexdigest()
