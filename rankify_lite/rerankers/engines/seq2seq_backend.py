"""An encoder-decoder (T5) model behind the LLM backend protocol, with a fixed decoder prefix.

The prompt's token ids are the encoder input (``tokenizer(text)``, so T5's closing ``</s>``
is part of them with ``add_special_tokens=True``); the decoder starts from ``decoder_prefix``
(token ids, e.g. those of ``"<pad> Passage"``) instead of the bare start token.

* ``next_token_logits(prompts, token_ids)``: one encoder pass and one decoder pass per prompt,
  read at the decoder's last prefix position, restricted to ``token_ids`` (fp32);
* ``generate(prompts, max_new_tokens)``: greedy decoding after the prefix; ``text`` is the
  decoder's whole output, prefix included, decoded with special tokens skipped (what
  ``tokenizer.decode(model.generate(..., decoder_input_ids=prefix)[0])`` gives), and
  ``output_tokens`` counts only the new tokens (a closing ``</s>`` included).

Batches are right-padded (as T5 tokenizers pad) and sorted by length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rankify_lite.errors import InputError, require
from rankify_lite.rerankers.engines.llm_backend import (
    Generation,
    Messages,
    NextTokenLogits,
    TokenizerSide,
    plain_chat,
)


class Seq2SeqBackend(TokenizerSide):
    """``Seq2SeqBackend("google/flan-t5-large", decoder_prefix_text="<pad> Passage")``."""

    has_chat_template = False  # T5 prompts are plain text

    def __init__(self, model: Any, tokenizer: Any = None, *, decoder_prefix_text: str = "",
                 device: str | None = None, dtype: Any = None, revision: str | None = None,
                 max_context: int | None = None, batch_size: int = 8) -> None:
        require("torch", extra="llm", feature="T5 rerankers")
        transformers = require("transformers", extra="llm", feature="T5 rerankers")
        from rankify_lite.models import loader

        self.model_id = loader.model_name(model)
        tok_cls = transformers.T5Tokenizer if tokenizer is None else None
        loaded = loader.load(transformers.AutoModelForSeq2SeqLM, model, revision=revision,
                             device=device, dtype=dtype, attention=None, tokenizer=tokenizer,
                             tokenizer_cls=tok_cls)
        self.model, self.tokenizer = loaded.model, loaded.tokenizer
        self.device, self.revision = loaded.device, loaded.revision
        self.dtype = loader.dtype_name(loaded.dtype)
        self.adapter = loaded.adapter  # a merged PEFT adapter, or None
        self.batch_size = max(1, int(batch_size))
        limit = getattr(self.tokenizer, "model_max_length", 512) or 512
        self.max_context = int(min(max_context or 512, limit if limit < 10**6 else 512))
        self.decoder_prefix_text = decoder_prefix_text
        start = getattr(self.model.config, "decoder_start_token_id", None)
        start = self.model.config.pad_token_id if start is None else start
        prefix = self.tokenizer.encode(decoder_prefix_text, add_special_tokens=False) \
            if decoder_prefix_text else []
        self.decoder_prefix: list[int] = prefix or [int(start)]

    def config(self) -> dict[str, Any]:
        from rankify_lite.models.adapters import provenance

        return {"backend": "transformers-seq2seq", "model": self.model_id,
                "revision": self.revision, **provenance(self.adapter), "dtype": self.dtype,
                "max_context": self.max_context,
                "tokenizer": type(self.tokenizer).__name__,
                "decoder_prefix": self.decoder_prefix_text}

    # -- text <-> ids ---------------------------------------------------------------------------
    def render_chat(self, messages: Messages, chat_template: str | None = None,
                    enable_thinking: bool | None = None) -> str:
        return plain_chat(messages)  # T5 prompts are plain text

    # -- batching ------------------------------------------------------------------------------
    def _batches(self, prompts: Sequence[Sequence[int]]):
        import torch

        for i, ids in enumerate(prompts):
            if not len(ids):
                raise InputError(f"prompt {i} has no tokens.", fix="check the prompt template.")
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        pad = self.tokenizer.pad_token_id or 0
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            width = max(len(prompts[i]) for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                ids[row, :len(prompts[i])] = torch.tensor(list(prompts[i]), dtype=torch.long)
                mask[row, :len(prompts[i])] = 1
            dec = torch.tensor([self.decoder_prefix] * len(idx), dtype=torch.long)
            yield idx, ids.to(self.device), mask.to(self.device), dec.to(self.device)

    def next_token_logits(self, prompts: Sequence[Sequence[int]],
                          token_ids: Sequence[int]) -> NextTokenLogits:
        import torch

        out = np.zeros((len(prompts), len(token_ids)), dtype=np.float32)
        sel = torch.tensor(list(token_ids), dtype=torch.long, device=self.device)
        with torch.inference_mode():
            for idx, ids, mask, dec in self._batches(prompts):
                logits = self.model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec,
                                    use_cache=False).logits[:, -1, :]
                picked = logits.index_select(-1, sel).float().cpu().numpy()
                for row, i in enumerate(idx):
                    out[i] = picked[row]
        return NextTokenLogits(out, tuple(len(p) for p in prompts))

    def generate(self, prompts: Sequence[Sequence[int]], max_new_tokens: int,
                 min_new_tokens: int = 0,
                 stop_when: Callable[[str], bool] | None = None) -> list[Generation]:
        # stop_when is not checked here: decoding goes on to max_new_tokens (the protocol)
        import torch

        results: list[Generation | None] = [None] * len(prompts)
        eos = self.tokenizer.eos_token_id
        with torch.inference_mode():
            for idx, ids, mask, dec in self._batches(prompts):
                out = self.model.generate(input_ids=ids, attention_mask=mask,
                                          decoder_input_ids=dec, max_new_tokens=max_new_tokens,
                                          min_new_tokens=min(min_new_tokens, max_new_tokens),
                                          do_sample=False)
                new = out[:, dec.shape[1]:].cpu().tolist()
                for row, i in enumerate(idx):
                    toks = new[row]
                    if eos is not None and eos in toks:
                        toks = toks[:toks.index(eos) + 1]
                    text = self.tokenizer.decode(self.decoder_prefix + toks,
                                                 skip_special_tokens=True)
                    results[i] = Generation(text, len(prompts[i]), len(toks))
        return [r for r in results if r is not None]
