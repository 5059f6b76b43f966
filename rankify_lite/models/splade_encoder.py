"""SPLADE text encoder: sparse vocabulary-sized vectors from a masked-LM head.

weight(term) = max over non-padding tokens of log(1 + ReLU(logit(token, term))). Since log1p
and ReLU are monotone, the max is taken over the raw logits first (pads set to -inf) and the
activation applied once to the (batch, vocab) result. The (rows, length, vocab) logits tensor is
the memory peak, so rows are fed through the model in slices bounded by ``max_logits``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rankify_lite.errors import InputError, require
from rankify_lite.models import loader
from rankify_lite.models._batching import Tokenize, batches, progress_bar


class SpladeEncoder:
    """Texts -> scipy CSR (n, vocab) float32 SPLADE weights.

    ``backend`` "auto" (default: the fastest faithful path for the machine,
    :mod:`rankify_lite.models.backends`), "torch" (the reference path), "openvino" (fp32, or bf16 with
    ``dtype="bf16"``) or "openvino-int8" (static int8 calibrated with NNCF on ``calibration`` texts,
    default a sample of the first texts encoded); the OpenVINO graph includes the max-pooling, so only
    (batch, vocab) weights leave it (:mod:`.openvino_backend`).
    """

    def __init__(self, model: str = "rasyosef/splade-tiny", *, doc_max_length: int = 512,
                 query_max_length: int = 128, batch_size: int = 32, device: str | None = None,
                 dtype: str | None = None, revision: str | None = None, progress: bool = True,
                 max_logits: int = 1 << 26, backend: str = "auto",
                 calibration: list[str] | None = None) -> None:
        torch = require("torch", extra="splade", feature="SPLADE encoding")
        transformers = require("transformers", extra="splade", feature="SPLADE encoding")
        from rankify_lite.models import backends

        self.backend_choice = backends.resolve(backend, dtype, device,
                                               adapter=backends.is_adapter(model, None))
        backend, dtype = self.backend_choice.backend, self.backend_choice.dtype
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        self.model_id = model
        self.batch_size = batch_size
        self.progress = progress
        self.max_logits = max_logits
        self.backend = backend
        self._calibration = None if calibration is None else list(calibration)
        self._torch = torch
        self._runner = None
        if backend == "torch":
            loaded = loader.load(transformers.AutoModelForMaskedLM, model, revision=revision,
                                 device=device, dtype=dtype, attention=None)
            self.tokenizer, self.model, self.device = loaded.tokenizer, loaded.model, \
                loaded.device
            self.dtype, self.revision = loaded.dtype, loaded.revision
            self.adapter = loaded.adapter  # a merged PEFT adapter, or None
            hf_config = self.model.config
        else:
            self.tokenizer, hf_config, self._runner, self.revision, self.dtype = \
                backends.load_runner(transformers.AutoModelForMaskedLM, model,
                                     revision=revision, backend=backend, task="splade",
                                     device=device, dtype=dtype)
            self.model, self.device, self.adapter = None, "cpu", None
        self.vocab_size = int(hf_config.vocab_size)
        self._decoder = self._split_head() if self._runner is None else None
        limit = getattr(hf_config, "max_position_embeddings", 512) or 512
        self.doc_max_length = min(int(doc_max_length), limit)
        self.query_max_length = min(int(query_max_length), limit)
        self._tok_doc = Tokenize(self.tokenizer, self.doc_max_length)
        self._tok_query = Tokenize(self.tokenizer, self.query_max_length)
        self.last_truncated = 0
        backends.note_choice(f"SPLADE encoder {model}", self.backend_choice,
                             loader.dtype_name(self.dtype))

    def config(self) -> dict[str, Any]:
        from rankify_lite.models.adapters import provenance

        return {"model": self.model_id, "revision": self.revision,
                **provenance(self.adapter),
                "doc_max_length": self.doc_max_length,
                "query_max_length": self.query_max_length, "dtype": loader.dtype_name(self.dtype),
                **({"backend": self.backend} if self.backend != "torch" else {}),
                **self._calibration_note()}

    def _calibration_note(self) -> dict[str, Any]:
        from rankify_lite.models.backends import calibration_note

        return calibration_note(self.backend, None if self._calibration is None
                                else len(self._calibration), self._runner)

    def _calibrate(self, texts: list[str], tokenize: Tokenize) -> None:
        """openvino-int8: quantize on the given texts, else a sample of these, first."""
        from rankify_lite.models import backends

        if not backends.needs_calibration(self._runner):
            return
        from rankify_lite.models.openvino_backend import CALIBRATION_BATCH

        if self._calibration:
            texts, tokenize = self._calibration, self._tok_doc
        sample = backends.calibration_sample(list(texts))
        self._runner.calibrate([backends.feeds_of(b) for b, _ in
                                batches(sample, tokenize, CALIBRATION_BATCH)])

    def vocabulary(self) -> list[str]:
        """Term string per vocabulary id (for inspecting expansions)."""
        return self.tokenizer.convert_ids_to_tokens(list(range(self.vocab_size)))

    def encode_queries(self, texts: list[str]):
        return self._encode(texts, self._tok_query, "queries")

    def encode_documents(self, texts: list[str]):
        return self._encode(texts, self._tok_doc, "documents")

    def _encode(self, texts: list[str], tokenize: Tokenize, what: str):
        import scipy.sparse as sp

        if isinstance(texts, str):
            raise InputError("expected a list of texts, got one string",
                             fix="wrap it in a list: [text]")
        torch = self._torch
        n = len(texts)
        rows_parts, cols_parts, vals_parts = [], [], []
        self.last_truncated = 0
        bar = progress_bar(n, self.progress and n > self.batch_size, f"SPLADE {what}")
        if self._runner is not None and n:
            self._calibrate(list(texts), tokenize)
        with torch.inference_mode(), bar:
            for batch, truncated in batches(list(texts), tokenize, self.batch_size):
                self.last_truncated += truncated
                weights = self._weights(batch.input_ids, batch.attention_mask)
                r, c = np.nonzero(weights)
                rows_parts.append(batch.positions[r])
                cols_parts.append(c.astype(np.int32))
                vals_parts.append(weights[r, c])
                bar.update(len(batch.positions))
        if rows_parts:
            rows = np.concatenate(rows_parts)
            cols = np.concatenate(cols_parts)
            vals = np.concatenate(vals_parts).astype(np.float32)
        else:
            rows = cols = np.zeros(0, np.int32)
            vals = np.zeros(0, np.float32)
        mat = sp.csr_matrix((vals, (rows, cols)), shape=(n, self.vocab_size), dtype=np.float32)
        mat.sum_duplicates()
        mat.sort_indices()
        return mat

    def _split_head(self):
        """Make the model stop before its vocabulary projection (a Linear: hidden -> vocab),
        so the projection runs here over a few hundred tokens at a time with a running max,
        never holding (batch, length, vocab) logits. None if the head has another shape."""
        decoder = self.model.get_output_embeddings()
        torch = self._torch
        if not isinstance(decoder, torch.nn.Linear) or decoder.out_features != self.vocab_size:
            return None
        weight, bias = decoder.weight, decoder.bias
        decoder.forward = lambda x: x  # this encoder owns its model instance
        with torch.inference_mode():
            probe = self.model(input_ids=torch.tensor([[self.tokenizer.cls_token_id or 0]],
                                                      device=self.device)).logits
        if probe.shape[-1] != decoder.in_features:  # the Linear was not the last step
            del decoder.forward
            return None
        return weight, bias

    def _weights(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """(b, vocab) float32 weights for one padded batch."""
        if self._runner is not None:
            return self._weights_runner(input_ids, attention_mask)
        if self._decoder is not None:
            return self._weights_split(input_ids, attention_mask)
        torch = self._torch
        b, width = input_ids.shape
        step = max(1, self.max_logits // max(1, width * self.vocab_size))
        out = np.empty((b, self.vocab_size), dtype=np.float32)
        for s in range(0, b, step):
            ids = torch.from_numpy(input_ids[s:s + step]).to(self.device)
            mask = torch.from_numpy(attention_mask[s:s + step]).to(self.device)
            logits = self.model(input_ids=ids, attention_mask=mask).logits
            logits = logits.masked_fill(mask.unsqueeze(-1) == 0, float("-inf"))
            pooled = torch.log1p(torch.relu(logits.amax(dim=1)))
            out[s:s + step] = pooled.float().cpu().numpy()
        return out

    def _weights_runner(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        b, width = input_ids.shape
        step = max(1, self.max_logits // max(1, width * self.vocab_size))
        out = np.empty((b, self.vocab_size), dtype=np.float32)
        for s in range(0, b, step):
            out[s:s + step] = self._runner({"input_ids": input_ids[s:s + step],
                                            "attention_mask": attention_mask[s:s + step]})
        return out

    def _weights_split(self, input_ids: np.ndarray, attention_mask: np.ndarray,
                       token_chunk: int = 256) -> np.ndarray:
        torch = self._torch
        weight, bias = self._decoder
        ids = torch.from_numpy(input_ids).to(self.device)
        mask = torch.from_numpy(attention_mask).to(self.device)
        hidden = self.model(input_ids=ids, attention_mask=mask).logits  # (b, L, hidden)
        lengths = attention_mask.sum(1)
        out = torch.empty((len(lengths), self.vocab_size), dtype=hidden.dtype,
                          device=hidden.device)
        wt = weight.t()
        for r, n in enumerate(lengths):
            best = None
            for t0 in range(0, int(n), token_chunk):
                h = hidden[r, t0:min(int(n), t0 + token_chunk)]
                logits = torch.addmm(bias, h, wt) if bias is not None else h @ wt
                m = logits.amax(0)
                best = m if best is None else torch.maximum(best, m)
            out[r] = best
        return torch.log1p(torch.relu(out)).float().cpu().numpy()
