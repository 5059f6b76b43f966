"""Bi-encoder reranking: score candidates by the similarity of dense embeddings.

The candidates of a batch of queries are embedded once per unique document (queries of a
batch often share candidates), with the shared :class:`~rankify_lite.models.dense_encoder.
DenseEncoder`; the score is the dot product, i.e. the cosine when the encoder normalises (as
sentence-transformers models with a Normalize module do).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import Reranker, RerankItem, Scored

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class BiEncoderReranker(Reranker):
    """Rerank with a dense encoder: ``load_reranker("bi-encoder", model="org/name")``.

    Args:
        model: Hugging Face id or local folder of an encoder (sentence-transformers folders:
            pooling, normalisation, max length and prompts are read from it).
        batch_size: texts per forward pass.
        max_length, pooling, normalize, query_prefix, doc_prefix, device, dtype, revision,
        backend ("auto" (default; see rankify_lite.models.backends), "torch", "onnx",
        "onnx-int8", "openvino" or "openvino-int8"), calibration,
        base_model (the base a PEFT adapter ``model`` is merged into; default: the one its
        adapter_config.json names): passed to :class:`~rankify_lite.models.dense_encoder.DenseEncoder`.
        query_batch_size: queries whose candidates are embedded together (each unique
            document once per batch).
    """

    family = "bi-encoder"
    #: a spec saved before backend="auto" was the default ran on torch
    legacy_spec_defaults = {"backend": "torch"}
    #: 8 queries per call: the candidates they share are embedded once, and a killed run
    #: keeps every finished batch (DL19's 43 queries are 6 checkpoints, not one)
    query_batch_size = 8

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "batch_size", "max_length", "pooling", "normalize",
                                      "query_prefix", "doc_prefix", "device", "dtype", "revision",
                                      "query_batch_size", "backend", "calibration",
                                      "base_model"))

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 64,
                 max_length: int | None = None, pooling: str | None = None,
                 normalize: bool | None = None, query_prefix: str = "", doc_prefix: str = "",
                 device: str | None = None, dtype: str | None = None,
                 revision: str | None = None, query_batch_size: int | None = None,
                 backend: str = "auto", calibration: list[str] | None = None,
                 base_model: str | None = None) -> None:
        from rankify_lite.models.backends import record_choice
        from rankify_lite.models.dense_encoder import DenseEncoder

        self.encoder = DenseEncoder(model, pooling=pooling, normalize=normalize,
                                    query_prefix=query_prefix, doc_prefix=doc_prefix,
                                    max_length=max_length, batch_size=batch_size,
                                    device=device, dtype=dtype, revision=revision,
                                    progress=False, backend=backend, calibration=calibration,
                                    base_model=base_model)
        record_choice(self, self.encoder)
        if query_batch_size is not None:
            self.query_batch_size = max(1, int(query_batch_size))

    def config(self) -> dict[str, Any]:
        return {"family": self.family, **self.encoder.config(),
                "similarity": "cosine" if self.encoder.normalize else "dot",
                "query_batch_size": self.query_batch_size}

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        position: dict[str, int] = {}
        texts: list[str] = []
        for it in items:
            for d in it.documents:
                if d.id not in position:
                    position[d.id] = len(texts)
                    texts.append(d.full_text())
        doc_vecs = self.encoder.encode_documents(texts)
        query_vecs = self.encoder.encode_queries([it.query.text for it in items])
        out: list[Scored] = []
        for qv, it in zip(query_vecs, items, strict=True):
            rows = np.fromiter((position[d.id] for d in it.documents), dtype=np.int64,
                               count=len(it.documents))
            scores = doc_vecs[rows].astype(np.float64) @ qv.astype(np.float64)
            out.append(list(zip((d.id for d in it.documents), scores.tolist(), strict=True)))
        return out
