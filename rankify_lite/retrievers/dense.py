"""Dense first stage: a Hugging Face encoder, embeddings cached on disk, a faiss index.

Document embeddings are cached by (corpus content hash, encoder config) as a ``.npy`` file,
written in chunks into a memory map and renamed into place when complete, then opened with
``np.load(mmap_mode="r")``: encoding a corpus needs RAM for one chunk only, and a cached
matrix is paged in by the OS. The exact index (faiss ``IndexFlatIP``, the default) holds its
own copy of the vectors in RAM (n x dim x 4 bytes: 1.5 GB for 1M x 384); HNSW adds the graph.
``index="mmap"`` searches exactly by streaming over the memory-mapped matrix block by block
(numpy, no copy), for corpora whose embeddings do not fit in RAM: slower, but bounded memory.

Encoding is resumable (:class:`rankify_lite.io.resumable.ResumableMatrix`): after each chunk of
``ENCODE_CHUNK`` documents its rows are flushed and recorded, so a killed job (Ctrl-C, kill -9)
run again starts at its first missing chunk, and the file is byte-identical to one never
stopped (chunks keep their boundaries). Texts are built one chunk at a time; one progress bar
with an ETA spans the corpus; a lock keeps two processes from encoding the same file at once.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.cache import cache_dir, content_key
from rankify_lite.errors import InputError, require
from rankify_lite.file_policy import FileOptions
from rankify_lite.io.resumable import ResumableMatrix, exclusive
from rankify_lite.models._batching import progress_bar
from rankify_lite.retrievers.base import Retriever
from rankify_lite.retrievers.checks import require_documents
from rankify_lite.types import Corpus, Queries

INDEXES = ("flat", "hnsw", "mmap")
SEARCH_BLOCK = 65536  # documents scored per step by the "mmap" (streaming exact) search
ENCODE_CHUNK = 16384  # documents encoded per memory-map write


def doc_text(doc) -> str:
    """Title and text joined, as BEIR's dense baselines do."""
    return doc.full_text(" ")


class Dense(Retriever):
    """``Dense("sentence-transformers/all-MiniLM-L6-v2")``; any Hugging Face encoder.

    Encoder options are those of :class:`rankify_lite.models.DenseEncoder`. ``index="flat"`` is
    exact inner product; ``"hnsw"`` is approximate (``hnsw_m`` links, ``ef_search`` beam);
    ``"mmap"`` is exact, streaming over the on-disk embeddings (larger-than-RAM corpora).
    Scores are inner products (cosine when the encoder normalises).
    """

    name = "dense"
    #: a spec saved before backend="auto" was the default ran on torch
    legacy_spec_defaults = {"backend": "torch"}

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "index", "hnsw_m", "ef_search", "ef_construction",
                                      "pooling", "normalize", "query_prefix", "doc_prefix",
                                      "max_length", "batch_size", "device", "dtype", "revision",
                                      "progress", "use_gpu_index", "backend"),
                                python=("encoder",))

    def __init__(self, model: str = "sentence-transformers/all-MiniLM-L6-v2", *,
                 index: str = "flat", hnsw_m: int = 32, ef_search: int = 128,
                 ef_construction: int = 200, pooling: str | None = None,
                 normalize: bool | None = None, query_prefix: str = "", doc_prefix: str = "",
                 max_length: int | None = None, batch_size: int = 64,
                 device: str | None = None, dtype: str | None = None,
                 revision: str | None = None, progress: bool = True,
                 use_gpu_index: bool | None = None, encoder=None,
                 backend: str = "auto") -> None:
        super().__init__()
        if index not in INDEXES:
            raise InputError(f"unknown dense index {index!r}", fix=f"use one of {INDEXES}")
        if encoder is None:
            from rankify_lite.models.dense_encoder import DenseEncoder

            encoder = DenseEncoder(model, pooling=pooling, normalize=normalize,
                                   query_prefix=query_prefix, doc_prefix=doc_prefix,
                                   max_length=max_length, batch_size=batch_size, device=device,
                                   dtype=dtype, revision=revision, progress=progress,
                                   backend=backend)
            from rankify_lite.models.backends import record_choice

            record_choice(self, encoder)
        self.encoder = encoder
        self.index_type = index
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.ef_construction = ef_construction
        self.use_gpu_index = use_gpu_index
        self.name = f"dense-{str(encoder.config()['model']).rstrip('/').split('/')[-1]}"
        self.embeddings_path: Path | None = None
        self.stats: dict[str, Any] = {}
        self._doc_ids: list[str] = []
        self._faiss_index = None
        self._mmap = None

    def config(self) -> dict[str, Any]:
        enc = self.encoder.config()
        cfg = {"family": "dense", **{k: v for k, v in enc.items() if k != "revision"},
               "model_revision": enc.get("revision"), "index": self.index_type}
        if self.index_type == "hnsw":
            cfg.update(hnsw_m=self.hnsw_m, ef_search=self.ef_search,
                       ef_construction=self.ef_construction)
        return cfg

    # ------------------------------------------------------------------ embeddings
    def embed_corpus(self, corpus: Corpus) -> np.ndarray:
        """Document embeddings for ``corpus`` (n, dim) float32, read-only memory map, from the
        cache or encoded now and cached."""
        key = content_key(corpus.content_hash(), self.encoder.config())
        path = cache_dir("embeddings") / f"{key}.npy"
        self.embeddings_path = path
        if path.is_file():
            emb = np.load(path, mmap_mode="r")
            if emb.shape == (len(corpus), self.encoder.dim):
                self.stats["embeddings_cached"] = True
                return emb
        with exclusive(path.with_name(f".{path.stem}.lock"), "encoding the corpus"):
            if path.is_file():  # another process finished it while we waited for the lock
                emb = np.load(path, mmap_mode="r")
                if emb.shape == (len(corpus), self.encoder.dim):
                    self.stats["embeddings_cached"] = True
                    return emb
            self._encode_resumable(corpus, path)
        return np.load(path, mmap_mode="r")

    def _encode_resumable(self, corpus: Corpus, path: Path) -> None:
        """Encode chunk by chunk into a :class:`ResumableMatrix`: a killed run resumes at its
        first missing chunk; texts are built one chunk at a time; one bar (with an ETA) spans
        the whole corpus, the encoder's own per-call bar is off meanwhile."""
        matrix = ResumableMatrix(path, len(corpus), self.encoder.dim)
        for note in matrix.notes:
            print(f"rankify-lite: {note}", file=sys.stderr, flush=True)
        start = resumed_at = matrix.done
        truncated = int(matrix.extra.get("truncated", 0))
        encoder = self.encoder
        shown = bool(getattr(encoder, "progress", True)) and len(corpus) > ENCODE_CHUNK // 16
        bar = progress_bar(len(corpus), shown, "encoding corpus")
        bar.update(start)
        if start:
            bar.set_postfix_str(f"resumed at {start:,}")
        docs = itertools.islice(iter(corpus.values()), start, None)
        own = getattr(encoder, "progress", None)
        feeds = hasattr(encoder, "progress_to")  # our encoders advance the bar batch by batch
        try:
            if own is not None:
                encoder.progress = False
            if feeds:
                encoder.progress_to = bar
            with bar:
                while start < len(corpus):
                    stop = min(start + ENCODE_CHUNK, len(corpus))
                    texts = [doc_text(d) for d in itertools.islice(docs, stop - start)]
                    encoder.encode_documents(texts, out=matrix.rows[start:stop])
                    truncated += int(getattr(encoder, "last_truncated", 0))
                    matrix.commit(stop, truncated=truncated)
                    if not feeds:
                        bar.update(stop - start)
                    start = stop
        finally:
            if own is not None:
                encoder.progress = own
            if feeds:
                encoder.progress_to = None
        matrix.finish()
        self.stats.update(embeddings_cached=False, truncated_documents=truncated,
                          resumed_at=resumed_at)

    # ------------------------------------------------------------------ index / search
    def _index(self, corpus: Corpus) -> None:
        require_documents(corpus)
        emb = self.embed_corpus(corpus)
        self._doc_ids = list(corpus.keys())
        dim = emb.shape[1]
        self.stats["index_bytes"] = int(len(emb) * dim * 4)
        if self.index_type == "mmap":
            self._faiss_index, self._mmap = None, emb
            return
        faiss = require("faiss", extra="dense", feature="Dense retrieval")
        if self.index_type == "hnsw":
            index = faiss.IndexHNSWFlat(dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.ef_construction
            index.hnsw.efSearch = self.ef_search
        else:
            index = faiss.IndexFlatIP(dim)
        for start in range(0, len(emb), ENCODE_CHUNK):  # chunks: never a 2nd full copy in RAM
            index.add(np.ascontiguousarray(emb[start:start + ENCODE_CHUNK], dtype=np.float32))
        gpu = self.use_gpu_index
        if gpu is None:
            gpu = hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0
        if gpu and self.index_type == "flat":
            index = faiss.index_cpu_to_all_gpus(index)
        self._faiss_index = index

    def _search_mmap(self, vecs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        emb = self._mmap
        best_s = np.full((len(vecs), 0), -np.inf, dtype=np.float32)
        best_i = np.zeros((len(vecs), 0), dtype=np.int64)
        for start in range(0, len(emb), SEARCH_BLOCK):
            block = np.asarray(emb[start:start + SEARCH_BLOCK], dtype=np.float32)
            s = np.concatenate([best_s, vecs @ block.T], axis=1)
            i = np.concatenate([best_i, np.broadcast_to(
                np.arange(start, start + len(block)), (len(vecs), len(block)))], axis=1)
            if s.shape[1] > k:
                part = np.argpartition(-s, k - 1, axis=1)[:, :k]
                s, i = np.take_along_axis(s, part, 1), np.take_along_axis(i, part, 1)
            best_s, best_i = s, i
        order = np.argsort(-best_s, axis=1, kind="stable")
        return np.take_along_axis(best_s, order, 1), np.take_along_axis(best_i, order, 1)

    def _retrieve(self, queries: Queries, k: int) -> dict[str, list[tuple[str, float]]]:
        qids = list(queries.keys())
        if not qids:
            return {}
        vecs = self.encoder.encode_queries([queries[q].text for q in qids])
        return dict(zip(qids, self.search_vectors(vecs, k), strict=True))

    def search_vectors(self, vecs: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """Top-``k`` (doc id, score) per row of ``vecs`` (n, dim) over the indexed corpus (used
        by first stages that move query vectors, e.g. reranker feedback)."""
        qids = range(len(vecs))
        k = min(k, len(self._doc_ids))
        vecs = np.ascontiguousarray(vecs, np.float32)
        if self._faiss_index is None:
            scores, idx = self._search_mmap(vecs, k)
        else:
            scores, idx = self._faiss_index.search(vecs, k)
        return [[(self._doc_ids[j], float(s)) for j, s in zip(idx[qi], scores[qi], strict=True)
                 if j >= 0] for qi in qids]
