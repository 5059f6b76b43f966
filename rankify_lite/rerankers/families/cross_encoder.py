"""Cross-encoder reranking: any Hugging Face sequence-classification ranker on (query, passage).

Scores equal ``sentence_transformers.CrossEncoder(model).predict(pairs)`` on the same weights
(same tokenisation, ``longest_first`` truncation of the pair, same activation), but faster:

* all pairs of a batch of queries are tokenised in one fast-tokenizer call, without padding;
* pairs are sorted by token length and grouped into batches bounded by ``batch_size`` pairs
  *and* ``max_tokens`` padded tokens, so each batch is padded only to its own longest pair;
* padding is vectorised (no Python loop per pair), the forward runs under ``inference_mode``
  with SDPA attention; on GPU the weights run in bf16 (fp16 where bf16 is unsupported);
* a CUDA out-of-memory error halves the batch and carries on (and keeps the smaller budget);
* ``backend="onnx-int8"`` (or ``"onnx"``) runs the forward pass with ONNX Runtime on the CPU,
  int8 weights from ONNX Runtime's dynamic quantizer, exported once and cached
  (:mod:`rankify_lite.models.onnx_backend`); ``backend="openvino"`` / ``"openvino-int8"`` with
  OpenVINO (static int8 calibrated with NNCF on the collection's own pairs,
  :mod:`rankify_lite.models.openvino_backend`); everything else above stays the same.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from rankify_lite.errors import InputError, require
from rankify_lite.file_policy import FileOptions
from rankify_lite.models import loader
from rankify_lite.models.adapters import check_backend as check_adapter_backend
from rankify_lite.rerankers.base import Reranker, RerankItem, Scored
from rankify_lite.rerankers.families._scoring import split_per_query

log = logging.getLogger(__name__)

DEFAULT_MODEL = "cross-encoder/ms-marco-MiniLM-L6-v2"
_ACTIVATIONS = ("auto", "none", "sigmoid")


def _is_oom(exc: BaseException) -> bool:
    import torch

    oom = getattr(torch.cuda, "OutOfMemoryError", ())
    return isinstance(exc, oom) or (isinstance(exc, RuntimeError)
                                    and "out of memory" in str(exc).lower())


class CrossEncoderReranker(Reranker):
    """Rerank with a cross-encoder: ``load_reranker("cross-encoder", model="org/name")``.

    Args:
        model: Hugging Face id or local folder of a sequence-classification model.
        batch_size: most pairs in one forward pass.
        max_tokens: most padded tokens in one forward pass (``batch_size * max_length`` when
            None); short pairs then go in larger batches, long ones in smaller.
        max_length: truncate each pair to this many tokens (default: the tokenizer's
            ``model_max_length`` capped at the model's position embeddings, as in
            sentence-transformers). The passage is cut first (``longest_first``).
        activation: "auto" (what ``CrossEncoder.predict`` applies: the model's saved
            activation, else sigmoid for one label), "none" (raw logits) or "sigmoid".
            Models with several labels score by the log-softmax of the last label.
        query_batch_size: queries scored together (their pairs are length-sorted as one pool);
            default: about 4,096 pairs per call at the given depth.
        backend: "auto" (default: the fastest faithful path for the machine, see
            :mod:`rankify_lite.models.backends`; recorded in the spec), "torch" (the reference
            path), "onnx" (ONNX Runtime fp32) or "onnx-int8" (ONNX Runtime,
            dynamic int8; CPU only, ``pip install 'rankify-lite[onnx]'``), "openvino" (fp32, or
            bf16 with ``dtype="bf16"``) or "openvino-int8" (static int8; ``pip install
            'rankify-lite[openvino]'``).
        calibration: openvino-int8 only: (query, passage) pairs to calibrate on (default: an
            evenly spaced sample of the first call's pairs, i.e. the collection's own).
        base_model: for a PEFT adapter ``model`` (a folder or id holding
            ``adapter_config.json``): the base to merge it into (default: the one the adapter
            config names; ``pip install 'rankify-lite[peft]'``).
    """

    family = "cross-encoder"
    #: a spec saved before backend="auto" was the default ran on torch
    legacy_spec_defaults = {"backend": "torch"}
    max_pairs_per_call = 4096

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "batch_size", "max_tokens", "max_length", "device",
                                      "dtype", "revision", "activation", "query_batch_size",
                                      "backend", "calibration", "base_model"),
                                code=("trust_remote_code",))

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 32,
                 max_tokens: int | None = None, max_length: int | None = None,
                 device: str | None = None, dtype: str | None = None,
                 revision: str | None = None, activation: str = "auto",
                 query_batch_size: int | None = None, trust_remote_code: bool = False,
                 backend: str = "auto",
                 calibration: Sequence[tuple[str, str]] | None = None,
                 base_model: str | None = None) -> None:
        torch = require("torch", extra="rerank", feature="the cross-encoder reranker")
        transformers = require("transformers", extra="rerank", feature="the cross-encoder reranker")
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}.", fix="pass e.g. 32.")
        if activation not in _ACTIVATIONS:
            raise InputError(f"unknown activation {activation!r}.",
                             fix=f"use one of {', '.join(_ACTIVATIONS)}.")
        from rankify_lite.models import backends

        self.model_name = str(model)
        self.backend_choice = backends.resolve(
            backend, dtype, device, adapter=backends.is_adapter(self.model_name, base_model),
            remote_code=trust_remote_code)
        backend, dtype = self.backend_choice.backend, self.backend_choice.dtype
        self.backend = backend
        check_adapter_backend(self.model_name, base_model, backend)
        self._onnx = None
        self._calibration = None if calibration is None else [tuple(p) for p in calibration]
        if backend == "torch":
            loaded = loader.load(transformers.AutoModelForSequenceClassification,
                                 self.model_name, revision=revision, device=device, dtype=dtype,
                                 attention="sdpa", trust_remote_code=trust_remote_code,
                                 base_model=base_model)
            self.adapter = loaded.adapter
            self.tokenizer, self.model, self.device = loaded.tokenizer, loaded.model, loaded.device
            self.dtype, self.revision = loaded.dtype, loaded.revision
            self.hf_config = self.model.config
        else:  # ONNX Runtime / OpenVINO on the CPU; torch weights only load to export once
            self.tokenizer, self.hf_config, self._onnx, self.revision, self.dtype = \
                backends.load_runner(transformers.AutoModelForSequenceClassification,
                                     self.model_name, revision=revision, backend=backend,
                                     task="sequence-classification", device=device, dtype=dtype)
            self.model, self.device, self.adapter = None, "cpu", None
        cfg = self.hf_config
        self.num_labels = int(getattr(cfg, "num_labels", 1) or 1)
        self.max_length = self._resolve_max_length(max_length)
        self.batch_size = int(batch_size)
        self.max_tokens = int(max_tokens) if max_tokens else self.batch_size * self.max_length
        if self.max_tokens < self.max_length:
            raise InputError(f"max_tokens={self.max_tokens} is smaller than one pair "
                             f"(max_length={self.max_length}).",
                             fix="raise max_tokens or lower max_length.")
        self.activation = self._resolve_activation(activation)
        self._use_token_types = "token_type_ids" in self.tokenizer.model_input_names
        self._pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None \
            else 0
        if query_batch_size is not None:
            self.query_batch_size = max(1, int(query_batch_size))
            self.max_pairs_per_call = None
        self._torch = torch
        backends.note_choice(f"cross-encoder {self.model_name}", self.backend_choice,
                             loader.dtype_name(self.dtype))
        backends.record_choice(self, self)

    def _resolve_max_length(self, max_length: int | None) -> int:
        if max_length is not None:
            if max_length < 2:
                raise InputError(f"max_length must be >= 2, got {max_length}.",
                                 fix="pass e.g. max_length=512.")
            return int(max_length)
        limit = int(min(self.tokenizer.model_max_length, 1_000_000))
        positions = getattr(self.hf_config, "max_position_embeddings", -1)
        if positions is not None and positions != -1:
            limit = min(limit, int(positions))
        return limit

    def _resolve_activation(self, activation: str) -> str:
        if activation != "auto":
            return activation
        cfg = self.hf_config
        path = None
        st = getattr(cfg, "sentence_transformers", None)
        if isinstance(st, dict) and st.get("activation_fn"):
            path = st["activation_fn"]
        elif getattr(cfg, "sbert_ce_default_activation_function", None):
            path = cfg.sbert_ce_default_activation_function
        if path is not None:
            name = str(path).rsplit(".", 1)[-1].lower()
            if name in ("identity", "sigmoid"):
                return "none" if name == "identity" else "sigmoid"
            log.warning("activation %s of %s is not supported; using raw logits",
                        path, self.model_name)
            return "none"
        return "sigmoid" if self.num_labels == 1 else "none"

    def config(self) -> dict[str, Any]:
        from rankify_lite.models.adapters import provenance

        return {"family": self.family, "model": self.model_name,
                "revision": self.revision, **provenance(self.adapter),
                "max_length": self.max_length, "activation": self.activation,
                "num_labels": self.num_labels, "dtype": loader.dtype_name(self.dtype),
                **({"backend": self.backend} if self.backend != "torch" else {}),
                **self._calibration_note()}

    def _calibration_note(self) -> dict[str, Any]:
        from rankify_lite.models.backends import calibration_note

        return calibration_note(self.backend, None if self._calibration is None
                                else len(self._calibration), self._onnx)

    # ---- scoring ---------------------------------------------------------------------------
    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        queries = [it.query.text for it in items for _ in it.documents]
        passages = [d.full_text() for it in items for d in it.documents]
        return split_per_query(items, self.score_pairs(queries, passages))

    def predict(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Scores of (query, passage) pairs, like ``CrossEncoder.predict(pairs)``."""
        return self.score_pairs([p[0] for p in pairs], [p[1] for p in pairs])

    def _calibrate(self, queries: Sequence[str], passages: Sequence[str]) -> None:
        """openvino-int8: quantize on the given calibration pairs, else on a sample of these."""
        from rankify_lite.models import backends

        if not backends.needs_calibration(self._onnx):
            return
        from rankify_lite.models.openvino_backend import CALIBRATION_BATCH

        pairs = self._calibration or backends.calibration_sample(
            list(zip(queries, passages, strict=True)))
        self._onnx.calibrate(self.score_pairs([p[0] for p in pairs], [p[1] for p in pairs],
                                              calibrating=CALIBRATION_BATCH))

    def score_pairs(self, queries: Sequence[str], passages: Sequence[str],
                    calibrating: int = 0) -> Any:
        """One score per (queries[i], passages[i]), float64, in input order. (With
        ``calibrating=n``: the padded model inputs in length-sorted batches of n, unscored.)"""
        if len(queries) != len(passages):
            raise InputError(f"{len(queries)} queries but {len(passages)} passages.",
                             fix="give one query per passage.")
        if not queries:
            return np.zeros(0, dtype=np.float64)
        if not calibrating:
            self._calibrate(queries, passages)
        enc = self.tokenizer(list(queries), list(passages), truncation="longest_first",
                             max_length=self.max_length, padding=False,
                             return_attention_mask=False,
                             return_token_type_ids=self._use_token_types)
        ids = enc["input_ids"]
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat_ids = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64,
                               count=int(offsets[-1]))
        flat_tt = None
        if self._use_token_types:
            flat_tt = np.fromiter(itertools.chain.from_iterable(enc["token_type_ids"]),
                                  dtype=np.int64, count=int(offsets[-1]))
        order = np.argsort(-lengths, kind="stable")
        if calibrating:
            return [self._inputs(order[i:i + calibrating], lengths, offsets, flat_ids, flat_tt)
                    for i in range(0, len(order), calibrating)]
        logits = np.empty(len(ids), dtype=np.float64)
        pending = list(self._batches(lengths[order]))
        while pending:
            lo, hi = pending.pop(0)
            rows = order[lo:hi]
            try:
                logits[rows] = self._forward(rows, lengths, offsets, flat_ids, flat_tt)
            except Exception as exc:
                if not _is_oom(exc) or hi - lo <= 1:
                    raise
                self._shrink_after_oom(hi - lo, int(lengths[rows].max()))
                mid = lo + (hi - lo) // 2
                pending[:0] = [(lo, mid), (mid, hi)]
        return self._activate(logits)

    def _batches(self, sorted_lengths: np.ndarray):
        """(start, end) slices over length-sorted (longest first) pairs, within both budgets."""
        n = len(sorted_lengths)
        start = 0
        while start < n:
            width = int(sorted_lengths[start])  # the longest pair of this batch
            size = max(1, min(self.batch_size, self.max_tokens // max(1, width)))
            end = min(n, start + size)
            yield start, end
            start = end

    def _shrink_after_oom(self, batch: int, width: int) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        new_budget = max(width, (batch * width) // 2)
        log.warning("out of memory on a batch of %d pairs x %d tokens; halving to %d tokens",
                    batch, width, new_budget)
        self.max_tokens = min(self.max_tokens, new_budget)
        self.batch_size = max(1, min(self.batch_size, batch // 2))

    def _inputs(self, rows: np.ndarray, lengths: np.ndarray, offsets: np.ndarray,
                flat_ids: np.ndarray, flat_tt: np.ndarray | None) -> dict[str, np.ndarray]:
        """Right-padded numpy model inputs of the pairs ``rows``."""
        lens = lengths[rows]
        width = int(lens.max())
        cols = np.arange(width, dtype=np.int64)
        mask = cols[None, :] < lens[:, None]
        gather = np.where(mask, offsets[rows][:, None] + cols[None, :], 0)
        inputs = {"input_ids": np.where(mask, flat_ids[gather], self._pad_id),
                  "attention_mask": mask.astype(np.int64)}
        if flat_tt is not None:
            inputs["token_type_ids"] = np.where(mask, flat_tt[gather], 0)
        return inputs

    def _forward(self, rows: np.ndarray, lengths: np.ndarray, offsets: np.ndarray,
                 flat_ids: np.ndarray, flat_tt: np.ndarray | None) -> np.ndarray:
        torch = self._torch
        inputs = self._inputs(rows, lengths, offsets, flat_ids, flat_tt)
        if self._onnx is not None:
            out = self._onnx(inputs).astype(np.float64)
            if self.num_labels == 1:
                return out[:, 0]
            shifted = out - out.max(axis=1, keepdims=True)
            return shifted[:, -1] - np.log(np.exp(shifted).sum(axis=1))
        tensors = {k: torch.from_numpy(v).to(self.device) for k, v in inputs.items()}
        with torch.inference_mode():
            out = self.model(**tensors).logits.float()
        if self.num_labels == 1:
            return out[:, 0].cpu().numpy()
        # several labels: log-probability of the last ("relevant") label
        return torch.log_softmax(out, dim=-1)[:, -1].cpu().numpy()

    def _activate(self, logits: np.ndarray) -> np.ndarray:
        if self.activation == "sigmoid" and self.num_labels == 1:
            # float64 keeps high logits apart (fp32 sigmoid saturates to 1.0 above ~17)
            return 1.0 / (1.0 + np.exp(-logits))
        return logits
