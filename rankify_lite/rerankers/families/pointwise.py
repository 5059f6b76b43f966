"""Pointwise LLM relevance: score = log P(yes) normalised over {yes, no}.

One prompt per (query, passage), read at the first generated position (one forward pass, no
generation). All pairs of a batch of queries go to the backend together; it sorts them by
length and left-pads. Answer words that are single tokens for the tokenizer right after the
prompt are pooled per class with log-sum-exp ("yes", " yes", "Yes", " Yes", "YES", " YES", and
the same for no), then ``score = log_softmax([yes, no])[yes]``. Passages are cleaned with
``ftfy.fix_text`` (``clean_text=False`` to skip) and the BOS follows the ``bos=`` option.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import RerankItem, Scored
from rankify_lite.rerankers.engines.llm_backend import yes_no_ids
from rankify_lite.rerankers.families._scoring import split_per_query
from rankify_lite.rerankers.llm.base import LLMReranker
from rankify_lite.rerankers.prompts.presets import describe, resolve_prompt
from rankify_lite.types import Document, Query


def _logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


class PointwiseReranker(LLMReranker):
    """``load_reranker("pointwise", model=..., batch_size=8)``."""

    family = "pointwise"
    default_model = "HuggingFaceTB/SmolLM2-135M-Instruct"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "passage_words", "prompt", "clean_text"))

    def __init__(self, model: str | Any | None = None, *, passage_words: int = 300,
                 prompt: str | Path | None = None, clean_text: bool = True,
                 **kwargs: Any) -> None:
        required = ("system", "user", "assistant_prefix", "yes_words", "no_words")
        if prompt is not None:  # a bad template fails here, before the model loads
            resolve_prompt(self.family, "", prompt, required=required)
        super().__init__(model, **kwargs)
        if passage_words < 1:
            raise InputError(f"passage_words must be >= 1, got {passage_words}.",
                             fix="use e.g. passage_words=300.")
        self.passage_words = passage_words
        self.clean_text = clean_text
        self.template, self.prompt_rule = resolve_prompt(self.family, self.model_id, prompt,
                                                         required=required)
        context = self._render("x")
        self.yes_ids, self.no_ids = yes_no_ids(self.backend, self.template, context)

    def config(self) -> dict[str, Any]:
        return {**self._base_config(), "passage_words": self.passage_words,
                "clean_text": self.clean_text,
                "prompt": describe(self.template, self.prompt_rule),
                "yes_token_ids": self.yes_ids, "no_token_ids": self.no_ids}

    def _render(self, user: str) -> str:
        return self.backend.render_chat(
            [{"role": "system", "content": self.template.text("system")},
             {"role": "user", "content": user}]) + self.template.text("assistant_prefix")

    def prompt(self, query: Query, doc: Document) -> str:
        def too_long() -> InputError:
            return InputError(f"the prompt for query {query.id!r} does not fit the model's "
                              f"context of {self.backend.max_context} tokens.",
                              fix="use a shorter query or a longer-context model.")

        return self.pair_prompt(query, doc, self.backend.max_context - 1, too_long)

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        pairs = [(it, d) for it in items for d in it.documents]
        prompts = [self.prompt(it.query, d) for it, d in pairs]
        ids = self.yes_ids + self.no_ids
        out = self.backend.next_token_logits([self.prompt_ids(p) for p in prompts], ids)
        self._count(model_calls=1, prompts=len(prompts), input_tokens=sum(out.input_tokens))
        logits = out.logits.astype(np.float64)
        yes = _logsumexp(logits[:, :len(self.yes_ids)])
        no = _logsumexp(logits[:, len(self.yes_ids):])
        scores = yes - np.logaddexp(yes, no)          # log P(yes | {yes, no})
        self._log([{"qid": it.query.id, "doc_id": d.id, "prompt": p,
                    "logits": {"yes": float(y), "no": float(n)}, "score": float(s),
                    "input_tokens": t, "output_tokens": 0}
                   for (it, d), p, y, n, s, t in zip(pairs, prompts, yes, no, scores,
                                                     out.input_tokens, strict=True)])
        return split_per_query(items, scores)
