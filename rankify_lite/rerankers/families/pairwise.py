"""Pairwise Ranking Prompting (PRP; Qin et al. 2024, arXiv 2306.17563).

The model is asked which of two passages is more relevant (``prompts/prp_pairwise.yaml``) and
the answer is read from the logits of the single tokens " A" and " B" after the pre-filled
"Passage" (no generation): ``P(A) = softmax([A, B])[A]``. Every comparison runs in both
orders, and the two readings are averaged to cancel position bias::

    pref(i > j) = ( P(A | i as A, j as B) + P(B | j as A, i as B) ) / 2

so ``pref(j > i) == 1 - pref(i > j)`` exactly and a comparison is never asked twice (results
are kept per query). Two variants (``method=``):

* ``"sliding"`` (default, PRP-Sliding-K): ``top_k`` bubble-sort passes from the bottom of the
  list to the top; a pair is swapped when the lower passage is preferred (``pref > 0.5``).
  After k passes the top k are in order; the rest keep their relative order below.
  Scores are rank-based.
* ``"allpairs"`` (PRP-Allpair): every pair is compared; a passage's score is its number of wins,
  ``sum_j pref(i > j)`` (``aggregate="soft"``, default) or ``sum_j 1[pref > 0.5] + 0.5 *
  1[pref == 0.5]`` (``aggregate="hard"``, the paper's counting). Ties keep first-stage order.

Cost goes to ``run.metadata["llm_stats"]``: ``forward_passes`` (= ``prompts``: one per prompt,
two per comparison), ``comparisons`` (distinct pairs asked), ``model_calls`` (batched backend
calls). Comparisons of every query in a batch go to the backend together; in the sliding
variant, step s of every query's bubble sort is one call.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import RerankItem, Scored
from rankify_lite.rerankers.engines.llm_backend import single_token_ids
from rankify_lite.rerankers.llm.base import LLMReranker, truncate_words
from rankify_lite.rerankers.prompts.clean import fix_text
from rankify_lite.rerankers.prompts.presets import describe
from rankify_lite.rerankers.prompts.templates import load_prompt
from rankify_lite.types import Document, Query

METHODS = ("sliding", "allpairs")
AGGREGATES = ("soft", "hard")
DEFAULT_PROMPT = "prp_pairwise"


class _QueryState:
    """One query's bubble sort: current order, where it is, and the preferences asked so far."""

    def __init__(self, item: RerankItem, passes: int) -> None:
        self.item = item
        self.order = list(range(len(item.documents)))
        n = len(self.order)
        # (pass, position) steps of PRP-Sliding-K: positions n-2 .. pass, bottom up
        self.steps = [(p, pos) for p in range(min(passes, n - 1))
                      for pos in range(n - 2, p - 1, -1)]
        self.step = 0
        self.pref: dict[tuple[int, int], float] = {}

    def current_pair(self) -> tuple[int, int] | None:
        if self.step >= len(self.steps):
            return None
        _, pos = self.steps[self.step]
        return self.order[pos], self.order[pos + 1]

    def preference(self, a: int, b: int) -> float | None:
        """pref(a > b) if asked before (either order), else None."""
        if (a, b) in self.pref:
            return self.pref[(a, b)]
        if (b, a) in self.pref:
            return 1.0 - self.pref[(b, a)]
        return None

    def advance(self, pref_upper: float) -> None:
        _, pos = self.steps[self.step]
        if pref_upper < 0.5:                         # the lower passage is preferred: swap
            self.order[pos], self.order[pos + 1] = self.order[pos + 1], self.order[pos]
        self.step += 1


class PairwiseReranker(LLMReranker):
    """``load_reranker("pairwise", model=..., method="sliding", top_k=10)``."""

    family = "pairwise"
    default_model = "HuggingFaceTB/SmolLM2-135M-Instruct"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "method", "top_k", "aggregate", "passage_words",
                                      "prompt", "clean_text"))

    def __init__(self, model: str | Any | None = None, *, method: str = "sliding",
                 top_k: int = 10, aggregate: str = "soft", passage_words: int = 100,
                 prompt: str | Path | None = None, clean_text: bool = True,
                 **kwargs: Any) -> None:
        if method not in METHODS:
            raise InputError(f"unknown pairwise method {method!r}.",
                             fix=f"use one of {list(METHODS)}.")
        if aggregate not in AGGREGATES:
            raise InputError(f"unknown aggregate {aggregate!r}.",
                             fix=f"use one of {list(AGGREGATES)}.")
        if top_k < 1 or passage_words < 1:
            raise InputError(f"top_k and passage_words must be >= 1, got {top_k}, "
                             f"{passage_words}.", fix="use e.g. top_k=10, passage_words=100.")
        super().__init__(model, **kwargs)
        self.method, self.top_k, self.aggregate = method, int(top_k), aggregate
        self.passage_words, self.clean_text = int(passage_words), clean_text
        self.template = load_prompt(prompt or DEFAULT_PROMPT,
                                    required=("system", "user", "assistant_prefix",
                                              "answer_a", "answer_b"))
        self.prompt_rule = "explicit" if prompt is not None else "family default"
        context = self._render(Query("q", "x"), "x", "x")
        self.answer_ids = single_token_ids(
            self.backend, context,
            [self.template.text("answer_a"), self.template.text("answer_b")],
            what="answer label",
            fix="use a template whose answer_a / answer_b are single tokens for this model "
                "right after assistant_prefix.")

    def config(self) -> dict[str, Any]:
        cfg = {**self._base_config(), "method": self.method, "passage_words": self.passage_words,
               "clean_text": self.clean_text,
               "prompt": describe(self.template, self.prompt_rule),
               "answer_token_ids": list(self.answer_ids)}
        if self.method == "sliding":
            cfg["top_k"] = self.top_k
        else:
            cfg["aggregate"] = self.aggregate
        return cfg

    # -- prompts -------------------------------------------------------------------------------
    def _render(self, query: Query, a: str, b: str) -> str:
        messages = []
        system = self.template.text("system")
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": self.template.text(
            "user", query=query.text, passage_a=a, passage_b=b)})
        return self.backend.render_chat(messages) + self.template.text("assistant_prefix")

    def _passage(self, doc: Document) -> str:
        text = doc.full_text().strip()
        return fix_text(text) if self.clean_text else text

    def prompt(self, query: Query, a: Document, b: Document) -> str:
        """The prompt with ``a`` as Passage A and ``b`` as Passage B, cut to fit the context."""
        pa, pb = self._passage(a), self._passage(b)
        words, limit = self.passage_words, self.backend.max_context - 1
        while True:
            text = self._render(query, truncate_words(pa, words), truncate_words(pb, words))
            n = len(self.prompt_ids(text))
            if n <= limit:
                return text
            if words == 1:
                raise InputError(f"the pairwise prompt for query {query.id!r} does not fit the "
                                 f"model's context of {self.backend.max_context} tokens.",
                                 fix="use a shorter query or a longer-context model.")
            words = max(1, min(words - 1, int(words * limit / n * 0.95)))

    # -- comparisons ---------------------------------------------------------------------------
    def _compare(self, asks: Sequence[tuple[RerankItem, int, int]]) -> list[float]:
        """pref(a > b) for each (item, a, b): both orders in one backend call."""
        if not asks:
            return []
        texts = []
        for it, a, b in asks:
            da, db = it.documents[a], it.documents[b]
            texts += [self.prompt(it.query, da, db), self.prompt(it.query, db, da)]
        out = self.backend.next_token_logits([self.prompt_ids(t) for t in texts],
                                             self.answer_ids)
        self._count(model_calls=1, prompts=len(texts), forward_passes=len(texts),
                    comparisons=len(asks), input_tokens=sum(out.input_tokens))
        lg = out.logits.astype(np.float64)
        p_a = 1.0 / (1.0 + np.exp(lg[:, 1] - lg[:, 0]))           # softmax([A, B])[A]
        prefs = [float((p_a[2 * k] + (1.0 - p_a[2 * k + 1])) / 2.0) for k in range(len(asks))]
        self._log([{"qid": it.query.id, "doc_a": it.documents[a].id,
                    "doc_b": it.documents[b].id, "prompts": texts[2 * k:2 * k + 2],
                    "p_a_first": float(p_a[2 * k]), "p_b_swapped": float(1.0 - p_a[2 * k + 1]),
                    "preference": prefs[k],
                    "input_tokens": int(out.input_tokens[2 * k] + out.input_tokens[2 * k + 1]),
                    "output_tokens": 0}
                   for k, (it, a, b) in enumerate(asks)])
        return prefs

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        if self.method == "allpairs":
            return self._allpairs(items)
        return self._sliding(items)

    def _allpairs(self, items: Sequence[RerankItem]) -> list[Scored]:
        asks = [(it, a, b) for it in items
                for a, b in itertools.combinations(range(len(it.documents)), 2)]
        prefs = iter(self._compare(asks))
        result: list[Scored] = []
        for it in items:
            n = len(it.documents)
            wins = [0.0] * n
            for a, b in itertools.combinations(range(n), 2):
                p = next(prefs)
                if self.aggregate == "hard":
                    p = 1.0 if p > 0.5 else 0.0 if p < 0.5 else 0.5
                wins[a] += p
                wins[b] += 1.0 - p
            result.append([(d.id, wins[i]) for i, d in enumerate(it.documents)])
        return result

    def _sliding(self, items: Sequence[RerankItem]) -> list[Scored]:
        states = [_QueryState(it, self.top_k) for it in items]
        while True:
            asks, waiting = [], []
            for st in states:
                # settle every step whose pair was compared before, then ask the next one
                while (pair := st.current_pair()) is not None:
                    known = st.preference(*pair)
                    if known is None:
                        asks.append((st.item, *pair))
                        waiting.append(st)
                        break
                    self._count(cache_hits=1)
                    st.advance(known)
            if not asks:
                break
            for st, (_, a, b), p in zip(waiting, asks, self._compare(asks), strict=True):
                st.pref[(a, b)] = p
                st.advance(p)
        return [[(st.item.documents[j].id, float(len(st.order) - r))
                 for r, j in enumerate(st.order)] for st in states]

    def _reset_stats(self) -> None:
        super()._reset_stats()
        self.stats.update(forward_passes=0, comparisons=0, cache_hits=0)
