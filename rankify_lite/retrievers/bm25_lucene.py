"""Lucene BM25 through pyserini's Anserini jar, on the Java 21 set up by :mod:`.java`.

Indexing runs Anserini's ``IndexCollection`` in-process over a JsonCollection we write, exactly
as Anserini's BEIR regressions do:

- ``flat``: one ``contents`` field holding ``title + " " + text``;
- ``multifield``: ``contents`` (text) plus a ``title`` field (``-fields title``), searched with
  equal weights ``{"contents": 1.0, "title": 1.0}``.

Analysis is Anserini's default (Lucene StandardTokenizer, English possessives, Lucene's English
stopwords, Porter stemmer), so the scores are Anserini's. Search uses
``io.anserini.search.SimpleSearcher`` (the class pyserini's ``LuceneSearcher`` wraps) directly:
same results, without importing pyserini's Python search stack (torch, faiss).

Note (Anserini's rule): a document whose ``contents`` is empty after stripping is not indexed,
so it can never be retrieved; in ``multifield`` mode that includes a document with a title but
no text.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from rankify_lite.retrievers.java import ensure_jvm
from rankify_lite.types import Corpus

FIELD_WEIGHTS = {"contents": 1.0, "title": 1.0}
_SHARD_DOCS = 50_000


def _quiet_java_logs() -> None:
    """Anserini logs every indexing step at INFO. A JVM we started sends them to the Java log
    file (see java_logs); one started by other code keeps warnings only."""
    import jnius

    from rankify_lite.retrievers.java_logs import configured

    if configured():
        return
    try:
        configurator = jnius.autoclass("org.apache.logging.log4j.core.config.Configurator")
        level = jnius.autoclass("org.apache.logging.log4j.Level")
        configurator.setRootLevel(level.WARN)
        configurator.setAllLevels("io.anserini", level.WARN)
    except Exception:  # pragma: no cover - logging is cosmetic
        pass


def lucene_version_info() -> dict[str, str]:
    from importlib.metadata import version

    from rankify_lite.retrievers.java import anserini_jar

    jar = anserini_jar()  # a clear MissingDependencyError when pyserini is absent
    return {"pyserini": version("pyserini"), "anserini_jar": jar.name}


def _doc_json(doc, fields: str) -> str:
    if fields == "flat":
        return json.dumps({"id": doc.id, "contents": doc.full_text()}, ensure_ascii=False)
    return json.dumps({"id": doc.id, "title": doc.title, "contents": doc.text}, ensure_ascii=False)


def indexable(doc, fields: str) -> bool:
    """Whether Anserini will index this document (it skips empty ``contents``)."""
    text = doc.full_text() if fields == "flat" else doc.text
    return bool(text.strip())


def build_index(corpus: Corpus, folder: Path, fields: str, threads: int,
                progress: bool, parts: Path | None = None) -> dict[str, Any]:
    """Index ``corpus`` into ``folder/lucene``; returns facts for the cache marker.

    The corpus is indexed in batches of ``threads * _SHARD_DOCS`` documents (corpus order),
    each batch one ``IndexCollection`` call over a JsonCollection of up to ``threads`` files,
    into its own Lucene index under ``parts`` (default: ``folder/parts``), marked done when
    complete. A killed build run again with the same ``parts`` folder (the caller keys it by
    corpus content and settings) skips the batches already done. The batches are then merged
    with Lucene's ``IndexWriter.addIndexes`` (segments copied as they are: the same postings,
    norms and doc values, so the same scores; ties are broken by the ``id`` doc value, not by
    Lucene's internal order). A corpus of one batch is indexed exactly as before, one call.
    Only one batch's texts are ever in a file at a time, none held in RAM.
    """
    import itertools
    import shutil

    from tqdm.auto import tqdm

    from rankify_lite.io.resumable import exclusive

    ensure_jvm()
    _quiet_java_logs()
    parts = Path(parts) if parts is not None else folder / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    n = len(corpus)
    per_batch = max(1, threads) * _SHARD_DOCS
    plan = {"documents": n, "batch_docs": per_batch, "fields": fields}
    lock = parts.with_name(parts.name + ".lock")  # kept: unlinking it would let a waiter
    with exclusive(lock, "indexing the corpus"):  # and a newcomer lock different files
        plan_file = parts / "PLAN.json"
        if plan_file.is_file() and _read_json(plan_file) != plan:
            shutil.rmtree(parts)  # another batching (threads changed): start over
            parts.mkdir(parents=True)
        plan_file.write_text(json.dumps(plan))
        starts = list(range(0, n, per_batch))
        done = {b for b in range(len(starts)) if (parts / f"batch-{b:04d}" / "DONE.json").is_file()}
        skipped = sum(min(per_batch, n - starts[b]) for b in done)
        docs = iter(corpus.values())
        with tqdm(total=n, initial=skipped, disable=not progress, unit="doc",
                  desc="BM25 (lucene): indexing") as bar:
            if skipped:
                bar.set_postfix_str(f"resumed: {len(done)} of {len(starts)} batches done")
            for b, s0 in enumerate(starts):
                size = min(per_batch, n - s0)
                batch = itertools.islice(docs, size)
                if b in done:
                    for _ in batch:  # skip its documents without touching their text
                        pass
                    continue
                _index_batch(batch, size, parts / f"batch-{b:04d}", fields, threads)
                bar.update(size)
        indexed = _merge([parts / f"batch-{b:04d}" / "lucene" for b in range(len(starts))],
                         folder / "lucene")
        expected = sum(_read_json(parts / f"batch-{b:04d}" / "DONE.json")["indexed"]
                       for b in range(len(starts)))
        if indexed != expected:
            raise RuntimeError(f"Anserini indexed {indexed} documents, expected {expected}; "
                               f"the index in {folder} is not used.")
        shutil.rmtree(parts, ignore_errors=True)
    return {"documents": n, "indexed": indexed, "fields": fields, "batches": len(starts)}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _index_batch(docs, size: int, out: Path, fields: str, threads: int) -> None:
    """One ``IndexCollection`` call over ``docs`` into ``out/lucene``, then ``out/DONE.json``;
    built in ``out.tmp`` and renamed, so a kill leaves no half batch behind."""
    import shutil

    import jnius

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    collection = tmp / "collection"
    collection.mkdir(parents=True)
    shards = max(1, min(threads, math.ceil(size / _SHARD_DOCS)))
    per_shard = math.ceil(size / shards)
    files = [open(collection / f"part-{i:03d}.jsonl", "w", encoding="utf-8")  # noqa: SIM115
             for i in range(shards)]
    expected = 0
    try:
        for i, doc in enumerate(docs):
            files[i // per_shard].write(_doc_json(doc, fields) + "\n")
            expected += indexable(doc, fields)
    finally:
        for f in files:
            f.close()
    args = ["-collection", "JsonCollection", "-input", str(collection),
            "-index", str(tmp / "lucene"), "-generator", "DefaultLuceneDocumentGenerator",
            "-threads", str(shards), "-quiet"]
    if fields == "multifield":
        args += ["-fields", "title"]
    jnius.autoclass("io.anserini.index.IndexCollection").main(args)
    shutil.rmtree(collection)
    indexed = num_docs(tmp / "lucene") if expected else 0
    if indexed != expected:
        raise RuntimeError(f"Anserini indexed {indexed} documents, expected {expected}; "
                           f"the index in {tmp} is not used.")
    (tmp / "DONE.json").write_text(json.dumps({"documents": size, "indexed": indexed}))
    os.replace(tmp, out)


def _merge(batches: list[Path], target: Path) -> int:
    """One batch: moved into place. Several: merged with ``IndexWriter.addIndexes``."""
    import shutil

    batches = [b for b in batches if b.is_dir()]
    if len(batches) == 1:
        shutil.move(str(batches[0]), str(target))
        return num_docs(target)
    import jnius

    auto = jnius.autoclass
    paths = auto("java.nio.file.Paths")
    fs_dir = auto("org.apache.lucene.store.FSDirectory")
    config = auto("org.apache.lucene.index.IndexWriterConfig")(
        auto("io.anserini.index.IndexCollection").DEFAULT_ANALYZER)
    config.setOpenMode(auto("org.apache.lucene.index.IndexWriterConfig$OpenMode").CREATE)
    writer = auto("org.apache.lucene.index.IndexWriter")(fs_dir.open(paths.get(str(target))),
                                                          config)
    try:
        writer.addIndexes(*[fs_dir.open(paths.get(str(b))) for b in batches])  # Java varargs
        writer.commit()
    finally:
        writer.close()
    return num_docs(target)


def num_docs(index_dir: Path) -> int:
    ensure_jvm()
    import jnius

    paths = jnius.autoclass("java.nio.file.Paths")
    fs_dir = jnius.autoclass("org.apache.lucene.store.FSDirectory")
    reader_cls = jnius.autoclass("org.apache.lucene.index.DirectoryReader")
    reader = reader_cls.open(fs_dir.open(paths.get(str(index_dir))))
    try:
        return int(reader.numDocs())
    finally:
        reader.close()


class LuceneSearch:
    """Anserini's BM25 search, driven query by query from Python without per-hit round trips.

    Each query runs exactly what ``SimpleSearcher.search`` / ``search_fields`` run: Anserini's
    ``BagOfWordsQueryGenerator`` with the default analyzer, Lucene's ``IndexSearcher`` with
    ``BM25Similarity(k1, b)``, score ties broken by the ``id`` doc value, then
    ``ScoredDocs.fromTopDocs`` and Anserini's ``ScoreTiesAdjusterReranker`` (scores rounded to
    1e-4, ties nudged by 1e-6). The difference is the way back to Python: ``SimpleSearcher``
    returns one ``ScoredDoc`` Java object per hit, and reading ``docid`` and ``score`` off each
    costs two JNI calls per hit (most of the time at depth 1000); here the two arrays
    ``ScoredDocs.docids`` and ``ScoredDocs.scores`` cross in one call each. Results are
    identical (tests compare with ``SimpleSearcher`` and with Anserini's runs).
    """

    def __init__(self, index_dir: Path, k1: float, b: float, fields: str) -> None:
        ensure_jvm()
        import jnius

        _quiet_java_logs()
        self._jnius = jnius
        auto = jnius.autoclass
        paths = auto("java.nio.file.Paths")
        reader = auto("org.apache.lucene.index.DirectoryReader").open(
            auto("org.apache.lucene.store.FSDirectory").open(paths.get(str(index_dir))))
        self._reader = reader
        searcher = auto("org.apache.lucene.search.IndexSearcher")(
            jnius.cast("org.apache.lucene.index.IndexReader", reader))
        searcher.setSimilarity(
            auto("org.apache.lucene.search.similarities.BM25Similarity")(float(k1), float(b)))
        self._searcher = searcher
        sort_field = auto("org.apache.lucene.search.SortField")
        string_val = auto("org.apache.lucene.search.SortField$Type").STRING_VAL
        # SimpleSearcher.BREAK_SCORE_TIES_BY_DOCID
        self._sort = auto("org.apache.lucene.search.Sort")(sort_field.FIELD_SCORE,
                                                           sort_field("id", string_val))
        self._analyzer = auto("io.anserini.index.IndexCollection").DEFAULT_ANALYZER
        self._generator = auto("io.anserini.search.query.BagOfWordsQueryGenerator")()
        self._scored_docs = auto("io.anserini.search.ScoredDocs")
        self._ties = auto("io.anserini.rerank.lib.ScoreTiesAdjusterReranker")()
        self.fields = fields
        self._field_map = None
        if fields == "multifield":
            jfloat = auto("java.lang.Float")
            self._field_map = auto("java.util.HashMap")()
            for name, weight in FIELD_WEIGHTS.items():
                self._field_map.put(name, jfloat(weight))

    def search(self, text: str, k: int) -> list[tuple[str, float]]:
        """(doc id, score) pairs of one non-empty query, Anserini's order and scores."""
        if self._field_map is not None:
            query = self._generator.buildQuery(self._field_map, self._analyzer, text)
        else:
            query = self._generator.buildQuery("contents", self._analyzer, text)
        top = self._searcher.search(query, int(k), self._sort, True)
        hits = self._ties.rerank(self._scored_docs.fromTopDocs(top, self._searcher), None)
        return list(zip(hits.docids, hits.scores, strict=True))

    def batch(self, texts: list[str], qids: list[str], k: int,
              threads: int) -> dict[str, list[tuple[str, float]]]:
        """(doc id, score) lists, Lucene's order, for one batch of non-empty queries, searched
        on ``threads`` Python threads (pyjnius releases the GIL inside Java calls)."""
        threads = max(1, min(int(threads), len(texts)))
        if threads == 1:
            return {q: self.search(t, k) for t, q in zip(texts, qids, strict=True)}
        import threading

        # Thread safety: pyjnius stores the target object on the shared method descriptor, so
        # workers call instance methods only on the objects every worker shares (searcher,
        # query generator, ties adjuster); ScoredDocs fields are read per object.
        out: dict[str, list[tuple[str, float]]] = {}
        jobs = iter(range(len(texts)))
        lock = threading.Lock()
        errors: list[BaseException] = []

        def work() -> None:
            try:
                while not errors:
                    with lock:
                        i = next(jobs, None)
                    if i is None:
                        return
                    out[qids[i]] = self.search(texts[i], k)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                errors.append(exc)
            finally:
                self._jnius.detach()

        workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        if errors:
            raise errors[0]
        return out

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
            self._searcher = None
