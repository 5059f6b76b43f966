"""SPLADE first stage: learned sparse vectors, quantised impacts, a scipy inverted index.

Document weights are quantised to integer impacts (``round(w * quantization)``, 100 by
default, as Anserini's impact indexes do) and stored as a term x document CSR matrix: row t is
the posting list of term t. A query's score for every document is one sparse product
(queries x terms) @ (terms x docs), accumulated per block of queries, then the top-k is taken
with ``argpartition``. The matrix is cached as ``.npz`` by (corpus content hash, config).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from rankify_lite.cache import cache_dir, content_key
from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.retrievers.base import Retriever
from rankify_lite.retrievers.checks import require_documents
from rankify_lite.types import Corpus, Queries

#: "mlm": a masked-LM SPLADE checkpoint; "causal-echo": any causal LM, echo embeddings
#: (Mistral-SPLADE; :mod:`rankify_lite.models.echo_splade`)
ARCHITECTURES = ("mlm", "causal-echo")
QUERY_BLOCK = 64  # queries scored together (dense score block: QUERY_BLOCK x n_docs floats)


def quantize(mat, scale: int):
    """float CSR -> int32 CSR impacts ``round(w * scale)``, zeros dropped."""
    out = mat.copy()
    out.data = np.rint(out.data * scale).astype(np.int32)
    out.eliminate_zeros()
    return out


class Splade(Retriever):
    """``Splade("rasyosef/splade-tiny")``; any masked-LM SPLADE checkpoint (naver/splade-*).

    Scores are integer impact dot products divided by ``quantization**2`` (≈ the float dot
    product of the SPLADE vectors). ``architecture="causal-echo"`` makes any causal LM a SPLADE
    encoder (Mistral-SPLADE's echo embeddings: the text twice, the second copy's LM-head logits).
    """

    name = "splade"
    #: a spec saved before backend="auto" was the default ran on torch
    legacy_spec_defaults = {"backend": "torch"}

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "doc_max_length", "query_max_length",
                                      "quantization", "batch_size", "device", "dtype", "revision",
                                      "progress", "architecture", "backend"),
                                python=("encoder",))

    def __init__(self, model: str = "rasyosef/splade-tiny", *, doc_max_length: int = 512,
                 query_max_length: int = 128, quantization: int = 100, batch_size: int = 32,
                 device: str | None = None, dtype: str | None = None,
                 revision: str | None = None, progress: bool = True, encoder=None,
                 architecture: str = "mlm", backend: str = "auto") -> None:
        super().__init__()
        if quantization < 1:
            raise InputError(f"quantization must be >= 1, got {quantization}")
        if architecture not in ARCHITECTURES:
            raise InputError(f"unknown SPLADE architecture {architecture!r}",
                             fix=f"use one of {ARCHITECTURES}")
        if encoder is None and architecture == "causal-echo":
            from rankify_lite.models.echo_splade import EchoSpladeEncoder

            encoder = EchoSpladeEncoder(model, doc_max_length=doc_max_length,
                                        query_max_length=query_max_length,
                                        batch_size=min(batch_size, 8), device=device,
                                        dtype=dtype, revision=revision, progress=progress)
        if encoder is None:
            from rankify_lite.models.splade_encoder import SpladeEncoder

            encoder = SpladeEncoder(model, doc_max_length=doc_max_length,
                                    query_max_length=query_max_length, batch_size=batch_size,
                                    device=device, dtype=dtype, revision=revision,
                                    progress=progress, backend=backend)
            from rankify_lite.models.backends import record_choice

            record_choice(self, encoder)
        self.encoder = encoder
        self.quantization = int(quantization)
        self.name = f"splade-{str(encoder.config()['model']).rstrip('/').split('/')[-1]}"
        self.stats: dict[str, Any] = {}
        self._inverted = None  # (vocab, n_docs) int32 CSR
        self._doc_ids: list[str] = []

    def config(self) -> dict[str, Any]:
        enc = self.encoder.config()
        return {"family": "splade", **{k: v for k, v in enc.items() if k != "revision"},
                "model_revision": enc.get("revision"), "quantization": self.quantization}

    def doc_matrix(self, corpus: Corpus):
        """(n_docs, vocab) int32 CSR impacts, from the cache or encoded now and cached."""
        import scipy.sparse as sp

        key = content_key(corpus.content_hash(), self.config())
        path = cache_dir("splade") / f"{key}.npz"
        if path.is_file():
            self.stats["cached"] = True
            return sp.load_npz(path).tocsr()
        mat, truncated = self._encode_chunks(corpus)
        self.stats.update(cached=False, truncated_documents=truncated)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        sp.save_npz(tmp, mat, compressed=False)
        os.replace(tmp, path)
        return mat

    def _encode_chunks(self, corpus: Corpus):
        """Encode ``ENCODE_CHUNK`` documents per call (texts built one chunk at a time, never
        a list of every text), quantise each chunk's rows and stack them; one progress bar
        over the corpus. A corpus of one chunk is encoded exactly as one call always was."""
        import itertools

        import scipy.sparse as sp

        from rankify_lite.models._batching import progress_bar
        from rankify_lite.retrievers.dense import ENCODE_CHUNK  # one chunk size for both

        encoder, n = self.encoder, len(corpus)
        own = getattr(encoder, "progress", None)
        bar = progress_bar(n, bool(own) and n > ENCODE_CHUNK, "SPLADE corpus")
        docs, parts, truncated = iter(corpus.values()), [], 0
        try:
            if own is not None and n > ENCODE_CHUNK:
                encoder.progress = False
            with bar:
                for start in range(0, max(n, 1), ENCODE_CHUNK):
                    size = min(ENCODE_CHUNK, n - start)
                    texts = [d.full_text(" ") for d in itertools.islice(docs, size)]
                    parts.append(quantize(encoder.encode_documents(texts), self.quantization))
                    truncated += int(getattr(encoder, "last_truncated", 0))
                    bar.update(size)
        finally:
            if own is not None:
                encoder.progress = own
        mat = parts[0] if len(parts) == 1 else sp.vstack(parts, format="csr")
        return mat, truncated

    def _index(self, corpus: Corpus) -> None:
        require_documents(corpus)
        docs = self.doc_matrix(corpus)
        inverted = docs.T.tocsr()  # term -> postings (doc, impact)
        inverted.sort_indices()
        self._inverted = inverted
        self._doc_ids = list(corpus.keys())
        nbytes = inverted.data.nbytes + inverted.indices.nbytes + inverted.indptr.nbytes
        self.stats.update(nnz=int(inverted.nnz), index_mb=nbytes / 2**20,
                          avg_doc_terms=inverted.nnz / max(1, len(self._doc_ids)),
                          terms=int((np.diff(inverted.indptr) > 0).sum()))

    def search_vectors(self, query_mat, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (doc indices, scores) per row of a (n_q, vocab) int impact CSR matrix."""
        n_docs = self._inverted.shape[1]
        k = min(k, n_docs)
        all_idx = np.empty((query_mat.shape[0], k), dtype=np.int64)
        all_scores = np.empty((query_mat.shape[0], k), dtype=np.float64)
        for b0 in range(0, query_mat.shape[0], QUERY_BLOCK):
            block = (query_mat[b0:b0 + QUERY_BLOCK] @ self._inverted).toarray()
            if k < n_docs:
                part = np.argpartition(-block, k - 1, axis=1)[:, :k]
            else:
                part = np.tile(np.arange(n_docs), (block.shape[0], 1))
            vals = np.take_along_axis(block, part, axis=1)
            order = np.argsort(-vals, axis=1, kind="stable")
            all_idx[b0:b0 + len(block)] = np.take_along_axis(part, order, axis=1)
            all_scores[b0:b0 + len(block)] = np.take_along_axis(vals, order, axis=1)
        return all_idx, all_scores

    def _retrieve(self, queries: Queries, k: int) -> dict[str, list[tuple[str, float]]]:
        qids = list(queries.keys())
        if not qids:
            return {}
        t0 = time.perf_counter()
        q = quantize(self.encoder.encode_queries([queries[x].text for x in qids]),
                     self.quantization).astype(np.int64)
        t1 = time.perf_counter()
        idx, scores = self.search_vectors(q, k)
        t2 = time.perf_counter()
        self.stats.update(encode_ms_per_query=1000 * (t1 - t0) / len(qids),
                          search_ms_per_query=1000 * (t2 - t1) / len(qids))
        scale = float(self.quantization) ** 2
        out = {}
        for i, qid in enumerate(qids):
            # documents sharing no term with the query (score 0) are not retrieved
            out[qid] = [(self._doc_ids[j], s / scale)
                        for j, s in zip(idx[i], scores[i], strict=True) if s > 0]
        return out
