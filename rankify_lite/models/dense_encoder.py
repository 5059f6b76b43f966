"""A dense text encoder over any Hugging Face encoder (sentence-transformers folders included).

Loads with plain ``transformers`` (``AutoModel`` / ``AutoTokenizer``), reads a
sentence-transformers folder's pooling, normalisation and max length when present, and encodes
in length-sorted batches padded per batch. Gives the same vectors as
``SentenceTransformer.encode`` for sentence-transformers models (tested to 1e-5).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from rankify_lite.errors import InputError, require
from rankify_lite.models import loader
from rankify_lite.models._batching import Tokenize, batches, progress_bar
from rankify_lite.models.adapters import check_backend as check_adapter_backend

POOLINGS = ("mean", "cls", "last")


def backends_note(backend: str, calibration: list[str] | None,
                  runner: Any = None) -> dict[str, Any]:
    from rankify_lite.models.backends import calibration_note

    return calibration_note(backend, None if calibration is None else len(calibration), runner)


def _st_settings(model: str, revision: str | None) -> dict[str, Any]:
    """Pooling / normalise / max length / prompts from a sentence-transformers folder."""
    out: dict[str, Any] = {}
    modules = loader.model_json(model, "modules.json", revision) or []
    for m in modules:
        kind = str(m.get("type", ""))
        if kind.endswith("Pooling"):
            cfg = loader.model_json(model, f"{m.get('path', '')}/config.json".lstrip("/"),
                                  revision) or {}
            mode = cfg.get("pooling_mode")
            if mode in ("mean", "cls", "lasttoken"):
                out["pooling"] = {"lasttoken": "last"}.get(mode, mode)
            elif cfg.get("pooling_mode_cls_token"):
                out["pooling"] = "cls"
            elif cfg.get("pooling_mode_lasttoken"):
                out["pooling"] = "last"
            elif cfg.get("pooling_mode_mean_tokens"):
                out["pooling"] = "mean"
            else:
                out["pooling_unsupported"] = cfg
        elif kind.endswith("Normalize"):
            out["normalize"] = True
    if modules:
        out.setdefault("normalize", False)
        bert_cfg = loader.model_json(model, "sentence_bert_config.json", revision) or {}
        if bert_cfg.get("max_seq_length"):
            out["max_length"] = int(bert_cfg["max_seq_length"])
        st_cfg = loader.model_json(model, "config_sentence_transformers.json", revision) or {}
        prompts = st_cfg.get("prompts") or {}
        out["query_prefix"] = prompts.get("query", "")
        out["doc_prefix"] = prompts.get("document", prompts.get("passage", ""))
    return out


class DenseEncoder:
    """Texts -> float32 vectors with a Hugging Face encoder.

    ``pooling`` None reads the sentence-transformers pooling config (else "mean"); ``normalize``
    None is True when the folder has a Normalize module; prefixes are prepended to every text
    (E5: ``"query: "`` / ``"passage: "``; BGE: an instruction on queries only); ``max_length``
    None is the sentence-transformers ``max_seq_length``, else the tokenizer's limit (<= 512).
    ``backend`` "auto" (default: the fastest faithful path for the machine,
    :mod:`rankify_lite.models.backends`), "torch" (the reference path), "onnx" (ONNX Runtime, fp32) or
    "onnx-int8" (ONNX Runtime, dynamic int8 weights; the exported model is cached, see
    :mod:`.onnx_backend`), "openvino" (fp32; ``dtype="bf16"`` for bf16 on CPUs with native bf16) or
    "openvino-int8" (static int8, NNCF-calibrated on ``calibration`` texts, default a sample of the first
    texts encoded; see :mod:`.openvino_backend`); these run on the CPU and need
    ``pip install 'rankify-lite[onnx]'`` / ``'rankify-lite[openvino]'``.
    """

    def __init__(self, model: str = "sentence-transformers/all-MiniLM-L6-v2", *,
                 pooling: str | None = None, normalize: bool | None = None,
                 query_prefix: str = "", doc_prefix: str = "", max_length: int | None = None,
                 batch_size: int = 64, device: str | None = None, dtype: str | None = None,
                 revision: str | None = None, progress: bool = True,
                 backend: str = "auto", calibration: list[str] | None = None,
                 base_model: str | None = None) -> None:
        torch = require("torch", extra="dense", feature="Dense encoding")
        transformers = require("transformers", extra="dense", feature="Dense encoding")
        from rankify_lite.models import backends

        self.backend_choice = backends.resolve(backend, dtype, device,
                                               adapter=backends.is_adapter(model, base_model))
        backend, dtype = self.backend_choice.backend, self.backend_choice.dtype
        if pooling is not None and pooling not in POOLINGS:
            raise InputError(f"unknown pooling {pooling!r}", fix=f"use one of {POOLINGS}")
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        self.model_id = model
        check_adapter_backend(model, base_model, backend)
        st = _st_settings(model, revision)
        if not st and backend == "torch":  # an adapter: its base's sentence-transformers files
            from rankify_lite.models.adapters import find

            adapter = find(model, revision, base_model)
            st = _st_settings(adapter.base_model, adapter.base_revision) if adapter else {}
        if pooling is None and "pooling_unsupported" in st:
            raise InputError(f"{model}: sentence-transformers pooling {st['pooling_unsupported']}"
                             " is not supported", fix=f"pass pooling= one of {POOLINGS}")
        self.pooling = pooling or st.get("pooling", "mean")
        self.normalize = bool(st.get("normalize", False)) if normalize is None else normalize
        self.query_prefix = query_prefix or st.get("query_prefix", "")
        self.doc_prefix = doc_prefix or st.get("doc_prefix", "")
        self.batch_size = batch_size
        self.progress = progress
        self.backend = backend
        self._onnx = None
        self._calibration = None if calibration is None else list(calibration)
        if backend == "torch":
            loaded = loader.load(transformers.AutoModel, model, revision=revision,
                                 device=device, dtype=dtype, attention="sdpa",
                                 base_model=base_model)
            self.adapter = loaded.adapter
            self.tokenizer, self.model, self.device = loaded.tokenizer, loaded.model, loaded.device
            self.dtype, self.revision = loaded.dtype, loaded.revision
            self.hf_config = self.model.config
        else:  # ONNX Runtime / OpenVINO on the CPU; torch weights only load to export once
            self.tokenizer, self.hf_config, self._onnx, self.revision, self.dtype = \
                backends.load_runner(transformers.AutoModel, model, revision=revision,
                                     backend=backend, task="feature-extraction", device=device,
                                     dtype=dtype)
            self.model, self.device, self.adapter = None, "cpu", None
        limit = getattr(self.hf_config, "max_position_embeddings", 512) or 512
        tok_max = getattr(self.tokenizer, "model_max_length", 512) or 512
        default = st.get("max_length") or min(tok_max, limit, 512)
        self.max_length = int(max_length or default)
        if self.max_length < 2:
            raise InputError(f"max_length must be >= 2, got {self.max_length}")
        self._tokenize = Tokenize(self.tokenizer, self.max_length)
        self._torch = torch
        backends.note_choice(f"dense encoder {model}", self.backend_choice,
                             loader.dtype_name(self.dtype))
        self.last_truncated = 0  # texts cut to max_length in the last encode call
        self.progress_to = None  # a caller's bar (e.g. a whole corpus's) advanced per batch

    # ------------------------------------------------------------------ public API
    @property
    def dim(self) -> int:
        return int(self.hf_config.hidden_size)

    def config(self) -> dict[str, Any]:
        from rankify_lite.models.adapters import provenance

        return {"model": self.model_id, "revision": self.revision, **provenance(self.adapter),
                "pooling": self.pooling,
                "normalize": self.normalize, "query_prefix": self.query_prefix,
                "doc_prefix": self.doc_prefix, "max_length": self.max_length,
                "dtype": loader.dtype_name(self.dtype),
                **({"backend": self.backend} if self.backend != "torch" else {}),
                **backends_note(self.backend, self._calibration, self._onnx)}

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """float32 (n, dim) query vectors (query prefix applied)."""
        return self._encode(texts, self.query_prefix, "queries")

    def encode_documents(self, texts: list[str], out: np.ndarray | None = None) -> np.ndarray:
        """float32 (n, dim) document vectors (doc prefix applied). ``out`` may be a
        preallocated (n, dim) array, e.g. a memory map, to write into."""
        return self._encode(texts, self.doc_prefix, "documents", out)

    # ------------------------------------------------------------------ internals
    def _encode(self, texts: list[str], prefix: str, what: str,
                out: np.ndarray | None = None) -> np.ndarray:
        if isinstance(texts, str):
            raise InputError("expected a list of texts, got one string",
                             fix="wrap it in a list: [text]")
        texts = [prefix + t for t in texts] if prefix else list(texts)
        if out is None:
            out = np.empty((len(texts), self.dim), dtype=np.float32)
        elif out.shape != (len(texts), self.dim):
            raise InputError(f"out has shape {out.shape}, expected {(len(texts), self.dim)}")
        torch = self._torch
        self.last_truncated = 0
        outer = getattr(self, "progress_to", None)
        bar = outer if outer is not None else progress_bar(
            len(texts), self.progress and len(texts) > self.batch_size, f"encoding {what}")
        closing = contextlib.nullcontext() if outer is not None else bar
        if self._onnx is not None:
            self._calibrate(texts if not self._calibration else
                            [self.doc_prefix + t for t in self._calibration])
            with closing:
                for batch, truncated in batches(texts, self._tokenize, self.batch_size):
                    self.last_truncated += truncated
                    out[batch.positions] = self._onnx_vectors(batch)
                    bar.update(len(batch.positions))
            return out
        with torch.inference_mode(), closing:
            for batch, truncated in batches(texts, self._tokenize, self.batch_size):
                self.last_truncated += truncated
                ids = torch.from_numpy(batch.input_ids).to(self.device)
                mask = torch.from_numpy(batch.attention_mask).to(self.device)
                hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
                vecs = self._pool(hidden, mask, batch.lengths).float()
                if self.normalize:
                    vecs = torch.nn.functional.normalize(vecs, p=2, dim=1)
                out[batch.positions] = vecs.cpu().numpy()
                bar.update(len(batch.positions))
        return out

    def _calibrate(self, texts: list[str]) -> None:
        """openvino-int8: quantize on (a sample of) ``texts`` before the first forward."""
        from rankify_lite.models import backends

        if not backends.needs_calibration(self._onnx):
            return
        from rankify_lite.models.openvino_backend import CALIBRATION_BATCH

        sample = backends.calibration_sample(texts)
        self._onnx.calibrate([backends.feeds_of(b) for b, _ in
                              batches(sample, self._tokenize, CALIBRATION_BATCH)])

    def _pool(self, hidden, mask, lengths: np.ndarray):
        torch = self._torch
        if self.pooling == "cls":
            return hidden[:, 0]
        if self.pooling == "last":  # right-padded: the last real token of each row
            rows = torch.arange(hidden.shape[0], device=hidden.device)
            return hidden[rows, torch.as_tensor(lengths - 1, device=hidden.device)]
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)

    def _onnx_vectors(self, batch) -> np.ndarray:
        """Pooled (and normalised) float32 vectors of one batch from the ONNX Runtime model."""
        feeds = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask,
                 "token_type_ids": np.zeros_like(batch.input_ids)}
        hidden = self._onnx(feeds).astype(np.float32, copy=False)
        if self.pooling == "cls":
            vecs = hidden[:, 0]
        elif self.pooling == "last":
            vecs = hidden[np.arange(len(hidden)), batch.lengths - 1]
        else:
            m = batch.attention_mask[..., None].astype(np.float32)
            vecs = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        if self.normalize:
            vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return vecs
