"""monoT5 (Nogueira et al. 2020, "Document Ranking with a Pretrained Sequence-to-Sequence
Model"): a seq2seq pointwise ranker, score = P("true") against "false" at the first decoder step.

The model input is rank_llm 0.25.7's (``rank_llm/rerank/pointwise/monot5.py`` with
``monot5_template.yaml``), proven equal in ``tests/rerankers/families/test_monot5.py`` by running the
reference's own code:

* ``"Query: {query} Document: {passage} Relevant: "`` (``prompts/monot5.yaml``), where the
  query has "[12]" rewritten to "(12)" and the passage is rank_llm's prompt content ("Title:
  ... Content: ..." when titled, ``ftfy.fix_text``, number rewrite; :func:`passage_content`);
* the passage is cut to ``max_doc_tokens = context_size - 1 - len(tok("Query: {query}
  Document:  Relevant: ")) - 64`` words and then tokens (``tokenizer.encode(..., truncation=True,
  max_length=max_doc_tokens)``, decoded without special tokens); ``<unk>`` is removed;
* the tokenizer is the slow SentencePiece ``T5Tokenizer`` (as the reference loads it); the
  answer ids are the first token of ``encode("true")`` / ``encode("false")``;
* score = ``exp(t) / (exp(t) + exp(f))`` from the first-step logits, computed in float64.

One encoder + one decoder step per (query, passage) pair (no generation); pairs of all queries
in a batch are scored together in length-sorted batches of ``batch_size``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.errors import InputError, require
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import Reranker, RerankItem, Scored
from rankify_lite.rerankers.families._scoring import split_per_query
from rankify_lite.rerankers.prompts.clean import passage_content, replace_number
from rankify_lite.rerankers.prompts.presets import describe
from rankify_lite.rerankers.prompts.templates import load_prompt
from rankify_lite.types import Document, Query

#: rank_llm's room for the output, subtracted from the context (``reserved_for_output``)
RESERVED_FOR_OUTPUT = 64


class MonoT5Reranker(Reranker):
    """``load_reranker("monot5", model="castorini/monot5-base-msmarco-10k", batch_size=32)``."""

    family = "monot5"
    default_model = "castorini/monot5-base-msmarco-10k"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "tokenizer", "device", "dtype", "revision",
                                      "batch_size", "context_size", "query_batch_size", "prompt"))

    def __init__(self, model: str | Any | None = None, *, tokenizer: Any = None,
                 device: str | None = None, dtype: Any = "float32",
                 revision: str | None = None, batch_size: int = 32, context_size: int = 512,
                 query_batch_size: int = 16, prompt: str | Path | None = None) -> None:
        require("torch", extra="rerank", feature="monoT5")
        transformers = require("transformers", extra="rerank", feature="monoT5")
        from rankify_lite.models import loader

        if context_size <= RESERVED_FOR_OUTPUT + 8:
            raise InputError(f"context_size {context_size} leaves no room for the passage.",
                             fix="use context_size=512, as rank_llm does.")
        model = model or self.default_model
        self.model_id = loader.model_name(model)
        # the slow SentencePiece tokenizer, as the reference loads it
        loaded = loader.load(transformers.AutoModelForSeq2SeqLM, model, revision=revision,
                             device=device, dtype=dtype, attention=None, tokenizer=tokenizer,
                             tokenizer_cls=transformers.T5Tokenizer)
        self.model, self.tokenizer, self.device = loaded.model, loaded.tokenizer, loaded.device
        self.dtype, self.revision = loader.dtype_name(loaded.dtype), loaded.revision
        self.adapter = loaded.adapter  # a merged PEFT adapter, or None
        self.batch_size, self.context_size = max(1, int(batch_size)), int(context_size)
        self.query_batch_size = max(1, int(query_batch_size))
        self.stats: dict[str, int] = {"prompts": 0, "forward_passes": 0, "input_tokens": 0}
        self.template = load_prompt(prompt or "monot5",
                                    required=("body", "true_word", "false_word"))
        self.prompt_rule = "explicit" if prompt is not None else "family default"
        self.true_id = self._first_id(self.template.text("true_word"))
        self.false_id = self._first_id(self.template.text("false_word"))
        if self.true_id == self.false_id:
            raise InputError("the true and false answer words start with the same token.",
                             path=self.template.path, fix="use distinct answer words.")
        start = getattr(self.model.config, "decoder_start_token_id", None)
        self.decoder_start = self.model.config.pad_token_id if start is None else start
        self.stats: dict[str, int] = {}

    def _first_id(self, word: str) -> int:
        ids = self.tokenizer.encode(word, add_special_tokens=False)
        if not ids:
            raise InputError(f"the answer word {word!r} has no tokens.",
                             path=self.template.path, fix="use 'true' / 'false'.")
        return int(ids[0])

    def config(self) -> dict[str, Any]:
        from rankify_lite.models.adapters import provenance

        return {"family": self.family, "model": self.model_id, "revision": self.revision,
                **provenance(self.adapter), "dtype": self.dtype,
                "context_size": self.context_size,
                "tokenizer": type(self.tokenizer).__name__,
                "prompt": describe(self.template, self.prompt_rule),
                "true_token_id": self.true_id, "false_token_id": self.false_id,
                "score": "P(true) over {true, false} at the first decoder step"}

    # -- prompts -------------------------------------------------------------------------------
    def _num_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text))

    def prompt(self, query: Query, doc: Document) -> str:
        """The model input for one pair, built as rank_llm builds it."""
        query_tokens = self._num_tokens(f"Query: {query.text} Document:  Relevant: ")
        max_doc_tokens = (self.context_size - self._num_tokens("") - query_tokens
                          - RESERVED_FOR_OUTPUT)
        if max_doc_tokens < 1:
            raise InputError(f"query {query.id!r} leaves no room for a passage in a context "
                             f"of {self.context_size} tokens.",
                             fix="use a larger context_size or a shorter query.")
        raw = passage_content(doc, max_doc_tokens)
        ids = self.tokenizer.encode(raw, truncation=True, max_length=max_doc_tokens)
        passage = self.tokenizer.decode(ids, skip_special_tokens=True)
        text = self.template.text("body", query=replace_number(query.text), passage=passage)
        return text.replace("<unk>", "")

    # -- scoring -------------------------------------------------------------------------------
    def score_prompts(self, prompts: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        """P(true) per prompt (float64) and the prompts' lengths in tokens."""
        import torch

        enc = [self.tokenizer.encode(p, truncation=True, max_length=self.context_size)
               for p in prompts]
        scores = np.zeros(len(prompts), dtype=np.float64)
        pad = self.tokenizer.pad_token_id
        order = sorted(range(len(prompts)), key=lambda i: len(enc[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                width = max(len(enc[i]) for i in idx)
                ids = torch.full((len(idx), width), pad, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):           # right padding, as T5 tokenizers pad
                    ids[row, :len(enc[i])] = torch.tensor(enc[i])
                    mask[row, :len(enc[i])] = 1
                dec = torch.full((len(idx), 1), self.decoder_start, dtype=torch.long)
                logits = self.model(input_ids=ids.to(self.device),
                                    attention_mask=mask.to(self.device),
                                    decoder_input_ids=dec.to(self.device),
                                    use_cache=False).logits[:, 0, :]
                tf = logits[:, [self.true_id, self.false_id]].double().cpu().numpy()
                p_true = 1.0 / (1.0 + np.exp(tf[:, 1] - tf[:, 0]))
                for row, i in enumerate(idx):
                    scores[i] = p_true[row]
        return scores, [len(e) for e in enc]

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        pairs = [(it, d) for it in items for d in it.documents]
        scores, lengths = self.score_prompts([self.prompt(it.query, d) for it, d in pairs])
        for k, v in (("prompts", len(pairs)), ("forward_passes", len(pairs)),
                     ("input_tokens", sum(lengths))):
            self.stats[k] = self.stats.get(k, 0) + v
        return split_per_query(items, scores)
