"""Corpus encoding cut into the units the single-process encoders compute, and reassembled.

The dense and SPLADE encoders sort a call's texts by character length, cut the sorted order
into tokenisation chunks of ``batch_size * chunk_batches`` texts and batch each chunk by token
length (models/_batching.py). A chunk's batches depend only on the texts of that chunk, in that
order. So a worker given one chunk's texts, in chunk order, forms exactly the batches the single
process forms: the vectors are byte-identical. Dense and SPLADE encode ``ENCODE_CHUNK`` documents
per call (retrievers/dense.py, retrievers/splade.py); units follow the same calls.

The driver writes the result into the retriever's own cache file (same key, same format), so
``retriever.index(corpus)`` then finds it cached.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.cache import cache_dir, content_key
from rankify_lite.types import Corpus


def _chunk_batches() -> int:
    from rankify_lite.models._batching import batches

    return int(inspect.signature(batches).parameters["chunk_batches"].default)


def units(lengths, batch_size: int, call_size: int | None) -> list[np.ndarray]:
    """Global positions of each unit, in the order the encoder sees them; ``lengths`` are the
    texts' character lengths (all the encoder's length sort looks at)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    chunk = max(1, batch_size * _chunk_batches())
    call_size = call_size or max(1, len(lengths))
    out = []
    for s0 in range(0, len(lengths), call_size):
        order = np.argsort(-lengths[s0:s0 + call_size], kind="stable")
        out.extend(s0 + order[c0:c0 + chunk] for c0 in range(0, len(order), chunk))
    return out


def kind_of(retriever: Any) -> str | None:
    """"dense" / "splade" for the retrievers whose corpus encoding can be sharded, else None."""
    from rankify_lite.retrievers.dense import Dense
    from rankify_lite.retrievers.splade import Splade

    if isinstance(retriever, Dense):
        return "dense"
    if isinstance(retriever, Splade):
        return "splade"
    return None


def text_of(doc) -> str:
    from rankify_lite.retrievers.dense import doc_text

    return doc_text(doc)  # SPLADE uses the same full_text(" ")


def lengths_of(docs: list) -> np.ndarray:
    """Character length of every document's text, without keeping the texts: the driver
    plans its units from these and builds each unit's texts only when it sends them."""
    return np.fromiter((len(text_of(d)) for d in docs), dtype=np.int64, count=len(docs))


def cache_path(kind: str, retriever: Any, corpus: Corpus) -> Path:
    """The file the retriever itself reads (dense: embed_corpus; SPLADE: doc_matrix)."""
    if kind == "dense":
        key = content_key(corpus.content_hash(), retriever.encoder.config())
        return cache_dir("embeddings") / f"{key}.npy"
    key = content_key(corpus.content_hash(), retriever.config())
    return cache_dir("splade") / f"{key}.npz"


def call_size(kind: str) -> int | None:
    """Documents per encoder call in the single process (dense and SPLADE alike)."""
    from rankify_lite.retrievers.dense import ENCODE_CHUNK

    return ENCODE_CHUNK


def encoder_recipe(kind: str, encoder: Any) -> tuple[str, Any]:
    """("config", (class path, kwargs)) for the package's own encoders, else ("pickle", obj)."""
    from rankify_lite.models.dense_encoder import DenseEncoder
    from rankify_lite.models.splade_encoder import SpladeEncoder

    cfg = encoder.config()
    if type(encoder) is DenseEncoder:
        keys = ("pooling", "normalize", "query_prefix", "doc_prefix", "max_length", "dtype",
                "revision")
        kwargs = {k: cfg[k] for k in keys}
        return "config", ("rankify_lite.models.dense_encoder:DenseEncoder", cfg["model"],
                          {**kwargs, "batch_size": encoder.batch_size, "progress": False})
    if type(encoder) is SpladeEncoder:
        keys = ("doc_max_length", "query_max_length", "dtype", "revision")
        kwargs = {k: cfg[k] for k in keys}
        return "config", ("rankify_lite.models.splade_encoder:SpladeEncoder", cfg["model"],
                          {**kwargs, "batch_size": encoder.batch_size, "progress": False,
                           "max_logits": encoder.max_logits})
    return "pickle", encoder


def build_encoder(kind: str, payload: Any, expected_config: dict[str, Any]) -> Any:
    from rankify_lite.errors import InputError

    if kind == "config":
        import importlib

        target, model, kwargs = payload
        module, name = target.split(":")
        encoder = getattr(importlib.import_module(module), name)(model, **kwargs)
    else:
        encoder = payload
    if encoder.config() != expected_config:
        raise InputError(f"the encoder rebuilt in a worker differs from the driver's: "
                         f"{encoder.config()} vs {expected_config}.",
                         fix="make sure every worker sees the same model files and versions.")
    return encoder


class DenseWriter:
    """Rows arrive in any order; written into a memory map renamed into place when complete."""

    def __init__(self, path: Path, n: int, dim: int) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
        self.out = np.lib.format.open_memmap(self.tmp, mode="w+", dtype=np.float32,
                                             shape=(n, dim))

    def add(self, positions: np.ndarray, rows: np.ndarray) -> None:
        self.out[positions] = rows

    def finish(self) -> None:
        self.out.flush()
        del self.out
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)


class SpladeWriter:
    """Collects (row, term, weight) triples; builds the CSR exactly as SpladeEncoder does,
    quantises it as Splade.doc_matrix does and saves it under the same name."""

    def __init__(self, path: Path, n: int, vocab: int, quantization: int) -> None:
        self.path, self.n, self.vocab, self.quantization = path, n, vocab, quantization
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []

    def add(self, positions: np.ndarray, mat: Any) -> None:
        coo = mat.tocoo()
        self.rows.append(positions[coo.row])
        self.cols.append(coo.col.astype(np.int32))
        self.vals.append(coo.data.astype(np.float32))

    def finish(self) -> None:
        import scipy.sparse as sp

        from rankify_lite.retrievers.splade import quantize

        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, np.int64)
        cols = np.concatenate(self.cols) if self.cols else np.zeros(0, np.int32)
        vals = np.concatenate(self.vals) if self.vals else np.zeros(0, np.float32)
        mat = sp.csr_matrix((vals, (rows, cols)), shape=(self.n, self.vocab), dtype=np.float32)
        mat.sum_duplicates()
        mat.sort_indices()
        mat = quantize(mat, self.quantization)
        tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.tmp.npz")
        sp.save_npz(tmp, mat, compressed=False)
        os.replace(tmp, self.path)

    def abort(self) -> None:
        pass
