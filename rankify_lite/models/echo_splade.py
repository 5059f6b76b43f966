"""SPLADE weights from any causal LM with echo embeddings (Mistral-SPLADE, Doshi et al. 2024;
echo embeddings, Springer et al. 2024).

A causal LM's token at position i sees only tokens <= i, so the first copy of a text cannot see
what follows it. Echo feeds the text twice, ``[bos] text text``, and reads only the *second*
copy, whose every token has seen the whole text once. Its LM-head logits become SPLADE weights:

    weight(term) = max over the second copy's tokens t of log(1 + ReLU(logit(t, term)))

Same interface as :class:`rankify_lite.models.splade_encoder.SpladeEncoder` (texts -> scipy CSR
(n, vocab)), so ``Splade(model, architecture="causal-echo")`` retrieves with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rankify_lite.errors import InputError, require
from rankify_lite.models import loader
from rankify_lite.models._batching import progress_bar


def echo_ids(tokenizer: Any, text: str, max_length: int) -> tuple[list[int], int, bool]:
    """(token ids ``[bos] t t``, index where the second copy starts, truncated?) for one text;
    each copy holds at most ``(max_length - 1) // 2`` tokens."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    room = max(1, (max_length - 1) // 2)
    cut = len(ids) > room
    ids = ids[:room] or [tokenizer.eos_token_id or 0]
    head = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    return head + ids + ids, len(head) + len(ids), cut


class EchoSpladeEncoder:
    """Texts -> scipy CSR (n, vocab) float32 SPLADE weights from a causal LM (echo pooling)."""

    def __init__(self, model: str, *, doc_max_length: int = 512, query_max_length: int = 128,
                 batch_size: int = 8, device: str | None = None, dtype: str | None = None,
                 revision: str | None = None, progress: bool = True) -> None:
        torch = require("torch", extra="splade", feature="SPLADE encoding")
        transformers = require("transformers", extra="splade", feature="SPLADE encoding")
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        self.model_id, self.batch_size, self.progress = model, batch_size, progress
        loaded = loader.load(transformers.AutoModelForCausalLM, model, revision=revision,
                             device=device, dtype=dtype, attention=None)
        self.tokenizer, self.model, self.device = loaded.tokenizer, loaded.model, loaded.device
        self.dtype, self.revision = loaded.dtype, loaded.revision
        self.adapter = loaded.adapter  # a merged PEFT adapter, or None
        self._torch = torch
        self.vocab_size = int(self.model.config.vocab_size)
        self.doc_max_length, self.query_max_length = int(doc_max_length), int(query_max_length)
        self.last_truncated = 0

    def config(self) -> dict[str, Any]:
        from rankify_lite.models.adapters import provenance

        return {"model": self.model_id, "revision": self.revision,
                **provenance(self.adapter), "architecture": "causal-echo",
                "doc_max_length": self.doc_max_length,
                "query_max_length": self.query_max_length, "dtype": loader.dtype_name(self.dtype)}

    def vocabulary(self) -> list[str]:
        return self.tokenizer.convert_ids_to_tokens(list(range(self.vocab_size)))

    def encode_queries(self, texts: list[str]):
        return self._encode(texts, self.query_max_length, "queries")

    def encode_documents(self, texts: list[str]):
        return self._encode(texts, self.doc_max_length, "documents")

    def weights(self, texts: list[str], max_length: int) -> np.ndarray:
        """(n, vocab) dense float32 weights (for a few texts; :meth:`_encode` is the CSR path)."""
        torch = self._torch
        rows = [echo_ids(self.tokenizer, t, max_length) for t in texts]
        self.last_truncated += sum(cut for _, _, cut in rows)
        width = max(len(ids) for ids, _, _ in rows)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        second = torch.zeros((len(rows), width), dtype=torch.bool)
        for r, (seq, start, _) in enumerate(rows):   # right padding: causal, so pads come last
            ids[r, :len(seq)] = torch.tensor(seq)
            mask[r, :len(seq)] = 1
            second[r, start:len(seq)] = True
        with torch.inference_mode():
            logits = self.model(input_ids=ids.to(self.device),
                                attention_mask=mask.to(self.device)).logits
            logits = logits.float().masked_fill(~second.to(self.device).unsqueeze(-1),
                                                float("-inf"))
            return torch.log1p(torch.relu(logits.amax(dim=1))).cpu().numpy()

    def _encode(self, texts: list[str], max_length: int, what: str):
        import scipy.sparse as sp

        if isinstance(texts, str):
            raise InputError("expected a list of texts, got one string",
                             fix="wrap it in a list: [text]")
        self.last_truncated = 0
        order = np.argsort([-len(t) for t in texts], kind="stable")
        parts = []
        bar = progress_bar(len(texts), self.progress and len(texts) > self.batch_size,
                           f"echo SPLADE {what}")
        with bar:
            for b0 in range(0, len(order), self.batch_size):
                idx = order[b0:b0 + self.batch_size]
                w = self.weights([texts[i] for i in idx], max_length)
                r, c = np.nonzero(w)
                parts.append((idx[r], c.astype(np.int32), w[r, c]))
                bar.update(len(idx))
        rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
        cols = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int32)
        vals = np.concatenate([p[2] for p in parts]).astype(np.float32) if parts else \
            np.zeros(0, np.float32)
        mat = sp.csr_matrix((vals, (rows, cols)), shape=(len(texts), self.vocab_size),
                            dtype=np.float32)
        mat.sum_duplicates()
        mat.sort_indices()
        return mat
