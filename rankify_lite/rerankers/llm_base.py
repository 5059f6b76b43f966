"""What the LLM reranker families share: the backend, the invocation log, per-run statistics,
and (for listwise families) the sliding-window driver with prompt building and truncation.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from rankify_lite.errors import InputError
from rankify_lite.rerankers.base import Reranker, RerankItem, Scored
from rankify_lite.rerankers.llm_backend import LLMBackend, TransformersBackend
from rankify_lite.rerankers.prompts_io import PromptTemplate, load_prompt
from rankify_lite.rerankers.windows import apply_permutation, check_window, window_spans
from rankify_lite.types import Document, Query, Run

IDENTIFIERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def truncate_words(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words])


class LLMReranker(Reranker):
    """Backend construction, invocation log and run statistics for every LLM family."""

    default_model: ClassVar[str] = ""

    def __init__(self, model: str | Any | None = None, *, backend: LLMBackend | None = None,
                 tokenizer: Any = None, device: str | None = None, dtype: str | None = None,
                 revision: str | None = None, max_context: int | None = None,
                 batch_size: int = 8, query_batch_size: int = 16,
                 log_path: str | Path | None = None) -> None:
        if backend is None:
            backend = TransformersBackend(model or self.default_model, tokenizer, device=device,
                                          dtype=dtype, revision=revision,
                                          max_context=max_context, batch_size=batch_size)
        elif model is not None:
            raise InputError("both model= and backend= were given.",
                             fix="pass one: a model id/folder, or a ready backend.")
        self.backend = backend
        self.query_batch_size = max(1, int(query_batch_size))
        self.log_path = Path(log_path) if log_path is not None else None
        self._log_lock = threading.Lock()
        self.stats: dict[str, int] = {}
        self._reset_stats()

    # -- statistics and log --------------------------------------------------------------------
    def _reset_stats(self) -> None:
        self.stats = {"prompts": 0, "model_calls": 0, "input_tokens": 0, "output_tokens": 0}

    def _count(self, **deltas: int) -> None:
        for k, v in deltas.items():
            self.stats[k] = self.stats.get(k, 0) + int(v)

    def _log(self, records: Sequence[dict[str, Any]]) -> None:
        if self.log_path is None or not records:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_lock, self.log_path.open("a", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps({"family": self.family, **r}, ensure_ascii=False) + "\n")

    def rerank(self, *args: Any, **kwargs: Any) -> Run:
        """As :meth:`Reranker.rerank`; adds ``metadata["llm_stats"]`` (calls, tokens, ...)."""
        self._reset_stats()
        run = super().rerank(*args, **kwargs)
        return run.with_metadata(llm_stats=dict(self.stats))

    def _base_config(self) -> dict[str, Any]:
        return {"family": self.family, **self.backend.config()}


class WindowedLLMReranker(LLMReranker):
    """Listwise over sliding windows (bottom up); subclasses order one batch of windows."""

    default_prompt: ClassVar[str] = "rank_zephyr_alpha"
    #: tokens kept free after the prompt (for the output)
    reserve_tokens: int = 1

    def __init__(self, model: str | Any | None = None, *, window_size: int = 20,
                 stride: int = 10, passage_words: int = 300,
                 prompt: str | Path | None = None, **kwargs: Any) -> None:
        check_window(window_size, stride)
        if window_size > len(IDENTIFIERS):
            raise InputError(f"window_size {window_size} is larger than the identifier alphabet "
                             f"([A]..[Z], {len(IDENTIFIERS)} passages).",
                             fix=f"use window_size <= {len(IDENTIFIERS)} (20 is the default).")
        if passage_words < 1:
            raise InputError(f"passage_words must be >= 1, got {passage_words}.",
                             fix="use e.g. passage_words=300.")
        super().__init__(model, **kwargs)
        self.window_size = window_size
        self.stride = stride
        self.passage_words = passage_words
        self.template: PromptTemplate = load_prompt(
            prompt or self.default_prompt,
            required=("system", "prefix", "passage", "suffix", "assistant_prefix"))
        self.identifiers = IDENTIFIERS[:window_size]

    def config(self) -> dict[str, Any]:
        return {**self._base_config(), "window_size": self.window_size, "stride": self.stride,
                "passage_words": self.passage_words, "prompt": self.template.describe(),
                "identifiers": self.identifiers}

    # -- prompts ---------------------------------------------------------------------------------
    def _user_text(self, query: Query, docs: Sequence[Document], words: int) -> str:
        t = self.template
        body = "".join(t.text("passage", id=self.identifiers[k],
                              passage=truncate_words(d.full_text(), words))
                       for k, d in enumerate(docs))
        return (t.text("prefix", num=len(docs), query=query.text) + body
                + t.text("suffix", num=len(docs), query=query.text))

    def window_prompt(self, query: Query, docs: Sequence[Document]) -> tuple[str, int]:
        """The prompt for one window and the per-passage word budget that made it fit."""
        words = self.passage_words
        system = self.template.text("system")
        prefix = self.template.text("assistant_prefix")
        limit = self.backend.max_context - self.reserve_tokens
        while True:
            text = self.backend.render_chat(
                [{"role": "system", "content": system},
                 {"role": "user", "content": self._user_text(query, docs, words)}]) + prefix
            n = len(self.backend.encode(text, add_special_tokens=True))
            if n <= limit:
                return text, words
            if words == 1:
                raise InputError(f"a window of {len(docs)} passages does not fit the model's "
                                 f"context of {self.backend.max_context} tokens even at one word "
                                 f"per passage (query {query.id!r}).",
                                 fix="use a smaller window_size or a longer-context model.")
            # shrink in proportion to the overflow, at least by one word
            words = max(1, min(words - 1, int(words * limit / n * 0.95)))

    # -- the sliding-window driver ---------------------------------------------------------------
    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        orders = [list(range(len(it.documents))) for it in items]
        plans = [window_spans(len(o), self.window_size, self.stride) for o in orders]
        steps = max((len(p) for p in plans), default=0)
        for step in range(steps):
            # window `step` of every query that has one, in one batch (windows of one query
            # stay in order: step k+1 sees the reordering of step k)
            active = [i for i in range(len(items)) if step < len(plans[i])]
            prompts, sizes, meta = [], [], []
            for i in active:
                lo, hi = plans[i][step]
                docs = [items[i].documents[j] for j in orders[i][lo:hi]]
                text, words = self.window_prompt(items[i].query, docs)
                prompts.append(text)
                sizes.append(len(docs))
                meta.append({"qid": items[i].query.id, "window": step, "span": [lo, hi],
                             "passage_words": words, "doc_ids": [d.id for d in docs]})
            ids = [self.backend.encode(p, add_special_tokens=True) for p in prompts]
            perms, records = self._order_windows(ids, sizes)
            for i, perm in zip(active, perms, strict=True):
                apply_permutation(orders[i], plans[i][step], perm)
            self._count(windows=len(active))
            self._log([{**m, "prompt": p, **r} for m, p, r in zip(meta, prompts, records,
                                                                  strict=True)])
        return [[(it.documents[j].id, float(len(order) - r)) for r, j in enumerate(order)]
                for it, order in zip(items, orders, strict=True)]

    def _order_windows(self, prompts: Sequence[str],
                       sizes: Sequence[int]) -> tuple[list[list[int]], list[dict[str, Any]]]:
        """A permutation per window (best first, as indices into the window) and a log record."""
        raise NotImplementedError
