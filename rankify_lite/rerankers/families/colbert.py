"""ColBERT late-interaction reranking: MaxSim between query and passage token embeddings.

``score(q, d) = sum over query tokens of max over passage tokens of <q_i, d_j>`` with the
token vectors of :class:`~rankify_lite.models.colbert_encoder.ColBERTEncoder` (markers, query
augmentation with mask tokens, projection, normalisation, punctuation skiplist: as PyLate;
scores equal ``pylate.rank.rerank`` on the same weights, ``tests/rerankers/families/test_colbert.py``).

Passage embeddings are computed once per unique passage text and kept (``doc_cache``):

* ``"memory"`` (default): for the life of the reranker, across batches and runs;
* ``"disk"``: also on disk, one float32 ``.npy`` per passage under the rankify cache
  (``colbert/<encoder config key>/``), written atomically, so a later process reuses them;
* ``"off"``: per batch only (candidates shared by queries of a batch are still encoded once).

Counts in ``run.metadata["llm_stats"]``: ``documents_encoded`` (passages run through the
encoder), ``document_cache_hits``, ``queries_encoded``, ``forward_passes`` (texts encoded).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import Reranker, RerankItem, Scored

DEFAULT_MODEL = "answerdotai/answerai-colbert-small-v1"
DOC_CACHES = ("memory", "disk", "off")


class ColBERTReranker(Reranker):
    """``load_reranker("colbert", model="colbert-ir/colbertv2.0", doc_cache="disk")``; the
    ColBERT settings (lengths, markers, ``attend_to_expansion_tokens``) default to the
    checkpoint's and are overridden as in PyLate (see :class:`ColBERTEncoder`)."""

    family = "colbert"
    query_batch_size = 8

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "batch_size", "query_length", "document_length",
                                      "query_prefix", "document_prefix",
                                      "attend_to_expansion_tokens", "doc_cache", "device", "dtype",
                                      "revision", "query_batch_size"),
                                code=("trust_remote_code",))

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 32,
                 query_length: int | None = None, document_length: int | None = None,
                 query_prefix: str | None = None, document_prefix: str | None = None,
                 attend_to_expansion_tokens: bool | None = None,
                 doc_cache: str = "memory", device: str | None = None,
                 dtype: str | None = None, revision: str | None = None,
                 query_batch_size: int | None = None, trust_remote_code: bool = False) -> None:
        if doc_cache not in DOC_CACHES:
            raise InputError(f"unknown doc_cache {doc_cache!r}.", fix=f"use one of {DOC_CACHES}.")
        from rankify_lite.models.colbert_encoder import ColBERTEncoder

        self.encoder = ColBERTEncoder(model, query_length=query_length,
                                      document_length=document_length,
                                      query_prefix=query_prefix, document_prefix=document_prefix,
                                      attend_to_expansion_tokens=attend_to_expansion_tokens,
                                      batch_size=batch_size,
                                      device=device, dtype=dtype, revision=revision,
                                      trust_remote_code=trust_remote_code)
        self.doc_cache = doc_cache
        if query_batch_size is not None:
            self.query_batch_size = max(1, int(query_batch_size))
        self._memory: dict[str, np.ndarray] = {}
        self._disk: Path | None = None
        if doc_cache == "disk":
            from rankify_lite.cache import cache_dir, content_key

            self._disk = cache_dir("colbert", content_key(self.encoder.config()))
        self.stats: dict[str, int] = {"documents_encoded": 0, "document_cache_hits": 0,
                                      "queries_encoded": 0, "forward_passes": 0}

    def config(self) -> dict[str, Any]:
        return {"family": self.family, **self.encoder.config(), "similarity": "maxsim",
                "query_batch_size": self.query_batch_size}

    # -- passage embeddings, once per unique text ----------------------------------------------
    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def _cached(self, key: str) -> np.ndarray | None:
        if key in self._memory:
            return self._memory[key]
        if self._disk is not None:
            path = self._disk / key[:2] / f"{key}.npy"
            if path.is_file():
                try:
                    emb = np.load(path)
                except (OSError, ValueError):  # a damaged file: encode again
                    return None
                self._memory[key] = emb
                return emb
        return None

    def _store(self, key: str, emb: np.ndarray) -> None:
        if self.doc_cache == "off":
            return
        self._memory[key] = emb
        if self._disk is not None:
            folder = self._disk / key[:2]
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{key}.{os.getpid()}.tmp.npy"
            np.save(tmp, emb)
            os.replace(tmp, folder / f"{key}.npy")

    def document_embeddings(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token embeddings of each text, encoding only texts not seen before."""
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        todo: dict[str, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k in found or k in todo:
                continue
            hit = self._cached(k)
            if hit is not None:
                found[k] = hit
                self.stats["document_cache_hits"] += 1
            else:
                todo[k] = t
        if todo:
            embs = self.encoder.encode_documents(list(todo.values()))
            for k, e in zip(todo, embs, strict=True):
                found[k] = e
                self._store(k, e)
            self.stats["documents_encoded"] += len(todo)
            self.stats["forward_passes"] += len(todo)
        return [found[k] for k in keys]

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        from rankify_lite.models.colbert_encoder import maxsim

        queries = self.encoder.encode_queries([it.query.text for it in items])
        self.stats["queries_encoded"] += len(items)
        self.stats["forward_passes"] += len(items)
        docs = self.document_embeddings([d.full_text() for it in items for d in it.documents])
        out: list[Scored] = []
        pos = 0
        for q, it in zip(queries, items, strict=True):
            n = len(it.documents)
            out.append([(d.id, maxsim(q, e)) for d, e in zip(it.documents, docs[pos:pos + n],
                                                             strict=True)])
            pos += n
        return out
