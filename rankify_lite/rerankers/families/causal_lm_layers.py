"""The layer cut-off of bge-reranker-v2-minicpm-layerwise, for transformers causal LMs.

FlagEmbedding's ``LayerWiseMiniCPMModel`` with ``cutoff_layers=[k]`` stops after ``k`` decoder
layers, applies the final norm to that hidden state and reads the score from it at the last
position (``k`` = the number of layers gives the full model). Here the same is done for any
transformers causal LM whose logits are a linear head over its decoder's normed output: only the
first ``k`` layers run (the point of the option: a cheaper score), then the final norm, then
the LM head's row of the true token (FlagEmbedding's ``head_type="raw"``), or, for a
minicpm-layerwise checkpoint (:mod:`minicpm_layerwise`), that layer's own score head.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rankify_lite.errors import InputError


class LayerScorer:
    """Scores token-id prompts from the hidden state after ``cutoff`` decoder layers."""

    def __init__(self, backend: Any, cutoff: int, heads: dict[int, Any] | None = None) -> None:
        parts = backend._decoder_and_head() if hasattr(backend, "_decoder_and_head") else None
        if parts is None or not hasattr(parts[0], "layers") or not hasattr(parts[0], "norm"):
            raise InputError("cutoff_layers needs a transformers decoder with .layers, .norm "
                             "and a linear LM head.", fix="drop cutoff_layers for this model.")
        self.backend = backend
        self.decoder, self.head = parts
        n = len(self.decoder.layers)
        lo = min(heads) if heads else 1
        if not lo <= cutoff <= n:
            raise InputError(f"cutoff_layers={cutoff} is outside this model's {lo}..{n} layers.",
                             fix=f"use a value in {lo}..{n}.")
        self.cutoff = cutoff
        self.num_layers = n
        #: the checkpoint's own score head for this layer (minicpm-layerwise), else None
        self.row = None if heads is None else heads[cutoff]

    def hidden(self, ids: Any, mask: Any, pos: Any) -> Any:
        """Final-normed hidden states after the first ``cutoff`` layers (the rest never run)."""
        import torch

        decoder = self.decoder
        layers = decoder.layers
        try:
            decoder.layers = torch.nn.ModuleList(list(layers)[:self.cutoff])
            return decoder(input_ids=ids, attention_mask=mask, position_ids=pos,
                           use_cache=False).last_hidden_state
        finally:
            decoder.layers = layers

    def true_logits(self, prompts: Sequence[Sequence[int]], true_id: int) -> np.ndarray:
        """The true token's logit at each prompt's last position (float64)."""
        import torch

        out = np.zeros(len(prompts), dtype=np.float64)
        if self.row is None:
            w, b = self.backend._head_rows(self.head, [true_id])
        else:
            w, b = self.row.detach().float().reshape(1, -1).to(self.backend.device), None
        with torch.inference_mode():
            for idx, ids, mask, pos in self.backend._batches(prompts):
                last = self.hidden(ids, mask, pos)[:, -1, :].float().to(w.device)
                logit = last @ w.T
                if b is not None:
                    logit = logit + b
                logit = self.backend._postprocess(logit)[:, 0].double().cpu().numpy()
                for row, i in enumerate(idx):
                    out[i] = logit[row]
        return out
