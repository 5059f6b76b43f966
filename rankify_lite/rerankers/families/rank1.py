"""Rank1: pointwise reranking by reasoning first, then reading true/false after the think block.

Weller et al. 2025, "Rank1: Test-Time Compute for Reranking in Information Retrieval"
(``jhu-clsp/rank1-7b`` and siblings). For each (query, passage) the prompt opens a think block;
the model reasons greedily for at most ``reasoning_token_budget`` tokens; the prompt is then
extended with its reasoning and ``</think>`` (the model's own close, or a forced one after the
last full sentence when the budget ran out, as Rank1's fix-up does) and tokenized whole, as
Rank1 tokenizes its forced prompt, and one forward pass reads
the true/false logits at the next position: ``score = log P(true | {true, false})``, each class
pooled over its single-token spellings (the template's ``yes_words`` / ``no_words``).

``thinking=False`` skips the generation: the think block is closed at once (empty) and scored.
All pairs of a batch of queries go to the backend together (one generation call, one scoring
call), so this runs on every engine through the two protocol calls (see :mod:`reasoning`).
``run.metadata["llm_stats"]`` counts generated tokens (``output_tokens``), forced closes and
queries. Passages are cut (in words) so that prompt + budget + close fit the model's context.
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
from rankify_lite.rerankers.llm.reasoning import Reasoning, check_budget, think
from rankify_lite.rerankers.prompts.templates import load_prompt
from rankify_lite.types import Document, Query

REQUIRED = ("chat", "user", "think_open", "think_close", "closed", "forced", "yes_words",
            "no_words")
#: tokens kept free after the prompt for the close marker and the answer position
CLOSE_RESERVE = 16


def _logsumexp(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True))).squeeze(-1)


class Rank1Reranker(LLMReranker):
    """``load_reranker("rank1", model=..., reasoning_token_budget=1024, thinking=True)``."""

    family = "rank1"
    default_model = "jhu-clsp/rank1-7b"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "thinking", "reasoning_token_budget",
                                      "passage_words", "prompt", "clean_text"))

    def __init__(self, model: str | Any | None = None, *, thinking: bool = True,
                 reasoning_token_budget: int = 1024, passage_words: int = 300,
                 prompt: str | Path | None = None, clean_text: bool = True,
                 **kwargs: Any) -> None:
        check_budget(thinking, reasoning_token_budget)
        if passage_words < 1:
            raise InputError(f"passage_words must be >= 1, got {passage_words}.",
                             fix="use e.g. passage_words=300.")
        template = load_prompt(prompt or "rank1", required=REQUIRED)  # fails before the model
        super().__init__(model, **kwargs)
        self.thinking = thinking
        self.reasoning_token_budget = int(reasoning_token_budget)
        self.passage_words = passage_words
        self.clean_text = clean_text
        self.template = template
        self.prompt_rule = "explicit" if prompt is not None else "family default"
        context = self._render("x") + self.template.text("closed", reasoning="")
        self.yes_ids, self.no_ids = yes_no_ids(self.backend, self.template, context,
                                               after="after the think block")

    def config(self) -> dict[str, Any]:
        return {**self._base_config(), "thinking": self.thinking,
                "reasoning_token_budget": self.reasoning_token_budget,
                "passage_words": self.passage_words, "clean_text": self.clean_text,
                "prompt": {**self.template.describe(), "source": self.prompt_rule},
                "true_token_ids": self.yes_ids, "false_token_ids": self.no_ids,
                "decoding": "greedy"}

    # -- prompts ---------------------------------------------------------------------------------
    def _render(self, user: str) -> str:
        system = str(self.template.fields.get("system") or "")
        if self.template.get("chat"):
            messages = ([{"role": "system", "content": system}] if system else []) + \
                [{"role": "user", "content": user}]
            head = self.backend.render_chat(messages)
        else:
            head = (system + "\n" if system else "") + user
        return head + self.template.text("think_open")

    def prompt(self, query: Query, doc: Document) -> str:
        """The prompt text for one pair, its passage cut so that the reasoning budget fits."""
        room = self.reasoning_token_budget if self.thinking else 0

        def too_long() -> InputError:
            return InputError(f"the prompt for query {query.id!r} and a reasoning budget of "
                              f"{room} tokens do not fit the model's context of "
                              f"{self.backend.max_context} tokens.",
                              fix="use a smaller reasoning_token_budget, a shorter query or a "
                                  "longer-context model.")

        return self.pair_prompt(query, doc, self.backend.max_context - room - CLOSE_RESERVE,
                                too_long)

    def ending(self, thought: Reasoning | None) -> str:
        """What follows the prompt before the answer position: the closed think block."""
        if thought is None:                                   # thinking off: empty block
            return self.template.text("forced", reasoning="")
        key = "closed" if thought.closed else "forced"
        return self.template.text(key, reasoning=thought.text)

    # -- scoring ---------------------------------------------------------------------------------
    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        pairs = [(it, d) for it in items for d in it.documents]
        texts = [self.prompt(it.query, d) for it, d in pairs]
        thoughts = think(self, texts)
        endings = [self.ending(t) for t in thoughts]
        # the whole extended text is tokenized, as Rank1 builds its forced prompt
        extended = [self.prompt_ids(t + e) for t, e in zip(texts, endings, strict=True)]
        out = self.backend.next_token_logits(extended, self.yes_ids + self.no_ids)
        self._count(model_calls=1, prompts=len(extended), input_tokens=sum(out.input_tokens),
                    queries=len(items))
        logits = out.logits.astype(np.float64)
        yes = _logsumexp(logits[:, :len(self.yes_ids)])
        no = _logsumexp(logits[:, len(self.yes_ids):])
        scores = yes - np.logaddexp(yes, no)              # log P(true | {true, false})
        self._log([{"qid": it.query.id, "doc_id": d.id, "prompt": p, "ending": e,
                    "closed": None if t is None else t.closed,
                    "logits": {"true": float(y), "false": float(n)}, "score": float(s),
                    "output_tokens": 0 if t is None else t.output_tokens}
                   for (it, d), p, e, t, y, n, s in zip(pairs, texts, endings, thoughts, yes, no,
                                                        scores, strict=True)])
        return split_per_query(items, scores)

    def _reset_stats(self) -> None:
        super()._reset_stats()
        self.stats.update(queries=0, forced_closes=0)
