"""What the LLM reranker families share: the backend, BOS handling, the invocation log, per-run
statistics, and (for listwise families) the sliding-window driver with reference prompts.

Listwise prompts are built as rank_llm 0.25.7 builds them (``RankListwiseOSLLM.create_prompt``):
messages from the template (:mod:`listwise_prompt`) with cleaned passages (:mod:`prompts.clean`),
the tokenizer's chat template, ``ftfy.fix_text`` over the result, and a word budget per passage
of ``300 * 20 / window`` that shrinks, as the reference shrinks it, until the prompt plus the
answer fits ``context_size`` (4096 by default, as in rank_llm).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import Reranker, RerankItem, Scored
from rankify_lite.rerankers.engines.llm_backend import LLMBackend, TransformersBackend, continuation_ids
from rankify_lite.rerankers.llm import listwise_prompt as lp
from rankify_lite.rerankers.llm.windows import TOP_WINDOWS, apply_permutation, check_window, window_spans
from rankify_lite.rerankers.prompts.clean import cut_words, fix_text, passage_words, replace_number
from rankify_lite.rerankers.prompts.presets import describe, resolve_prompt
from rankify_lite.types import Document, Query

#: how prompt text becomes token ids (the ``bos=`` option of every LLM reranker)
BOS_MODES = {
    "reference": "tokenizer(text): the tokenizer's special tokens, as vLLM and the FIRST "
                 "trainer add them (a BOS where the tokenizer adds one)",
    "single": "as 'reference', but no second BOS when the chat template already wrote one",
    "none": "tokenizer(text, add_special_tokens=False): exactly the rendered text",
}
#: rank_llm's default context size for open-source listwise models
REFERENCE_CONTEXT = 4096


def truncate_words(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words])


def shrink_to_fit(render: Callable[[float], tuple[str, int]], words: float, budget: int,
                  smaller: Callable[[float, int], float],
                  too_long: Callable[[], InputError]) -> tuple[str, float]:
    """(prompt text, words per passage) for the largest passage budget that fits.

    ``render(words)`` gives the prompt with passages cut to ``words`` words and its length in
    tokens; while that exceeds ``budget``, ``smaller(words, used)`` gives the next budget. When
    it cannot shrink any further (below one word, or not smaller), ``too_long()`` is raised.
    """
    while True:
        text, used = render(words)
        if used <= budget:
            return text, words
        nxt = smaller(words, used)
        if int(nxt) < 1 or nxt >= words:
            raise too_long()
        words = nxt


@dataclass(frozen=True)
class WindowPrompt:
    """One window's prompt: the text, the token ids the model runs, how it was made to fit."""

    text: str
    ids: list[int]
    passage_words: int
    messages: list[dict[str, str]]


class LLMReranker(Reranker):
    """Backend construction, BOS handling, invocation log and run statistics for LLM families."""

    default_model: ClassVar[str] = ""

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "tokenizer", "device", "dtype", "revision",
                                      "max_context", "batch_size", "query_batch_size", "bos",
                                      "engine"),
                                python=("backend", "log_path"))

    def __init__(self, model: str | Any | None = None, *, backend: LLMBackend | None = None,
                 tokenizer: Any = None, device: str | None = None, dtype: str | None = None,
                 revision: str | None = None, max_context: int | None = None,
                 batch_size: int = 8, query_batch_size: int = 16, bos: str = "reference",
                 log_path: str | Path | None = None, engine: str = "transformers",
                 **engine_options: Any) -> None:
        if bos not in BOS_MODES:
            raise InputError(f"unknown bos mode {bos!r}.",
                             fix=f"use one of {sorted(BOS_MODES)}: " + "; ".join(
                                 f"{k} = {v}" for k, v in BOS_MODES.items()))
        if backend is None and (engine != "transformers" or engine_options):
            from rankify_lite.rerankers.engines import build_backend  # vllm / openai / options

            backend = build_backend(engine, model or self.default_model, tokenizer=tokenizer,
                                    revision=revision, max_context=max_context, device=device,
                                    dtype=dtype, batch_size=batch_size, **engine_options)
        elif backend is None:
            backend = TransformersBackend(model or self.default_model, tokenizer, device=device,
                                          dtype=dtype, revision=revision,
                                          max_context=max_context, batch_size=batch_size)
        elif model is not None:
            raise InputError("both model= and backend= were given.",
                             fix="pass one: a model id/folder, or a ready backend.")
        self.backend = backend
        self.bos = bos
        self.query_batch_size = max(1, int(query_batch_size))
        self.log_path = Path(log_path) if log_path is not None else None
        self._log_lock = threading.Lock()
        self.stats: dict[str, int] = {}
        self._reset_stats()

    @property
    def model_id(self) -> str:
        return str(self.backend.config().get("model", ""))

    # -- text -> token ids -----------------------------------------------------------------------
    def prompt_ids(self, text: str) -> list[int]:
        """The token ids the model runs for prompt ``text`` (see ``BOS_MODES``)."""
        if self.bos == "none":
            return self.backend.encode(text, add_special_tokens=False)
        ids = self.backend.encode(text, add_special_tokens=True)
        if self.bos == "single" and len(ids) >= 2 and ids[0] == ids[1]:
            plain = self.backend.encode(text, add_special_tokens=False)
            if ids[1:] == plain:
                return plain
        return ids

    def prefilled_ids(self, text: str, prefill: str) -> list[int]:
        """Ids of ``text`` followed by an assistant pre-fill, as if the model had generated it:
        the prompt's own ids, then the pre-fill's ids in context (standalone if it merges)."""
        ids = self.prompt_ids(text)
        if not prefill:
            return ids
        tail = continuation_ids(self.backend, text, prefill)
        if any(t < 0 for t in tail):
            tail = self.backend.encode(prefill)
        return ids + tail

    # -- statistics and log --------------------------------------------------------------------
    def pair_prompt(self, query: Query, doc: Document, limit: int,
                    too_long: Callable[[], InputError]) -> str:
        """The pointwise prompt for one (query, passage): the passage cleaned (``clean_text``),
        cut to ``passage_words`` and then in proportion to the overflow (5% margin, at least
        one word per step) until the prompt is at most ``limit`` tokens; ``too_long()`` when
        it cannot fit. The subclass provides ``_render(user_text)`` and ``template``."""
        if limit < 1:
            raise too_long()
        passage = fix_text(doc.full_text().strip()) if self.clean_text else doc.full_text()

        def render(words: float) -> tuple[str, int]:
            text = self._render(self.template.text("user", query=query.text,
                                                   passage=truncate_words(passage, int(words))))
            return text, len(self.prompt_ids(text))

        text, _ = shrink_to_fit(
            render, self.passage_words, limit,
            lambda w, used: max(1, min(w - 1, int(w * limit / used * 0.95))), too_long)
        return text

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

    def _base_config(self) -> dict[str, Any]:
        return {"family": self.family, **self.backend.config(), "bos": self.bos}


class WindowedLLMReranker(LLMReranker):
    """Listwise over sliding windows (bottom up); subclasses order one batch of windows.

    ``passage_words=None`` is the reference budget, ``300 * 20 / len(window)`` words per
    passage before shrinking; an int fixes it. ``clean_text=False`` skips ftfy and the
    "[12]" -> "(12)" rewrite (not the reference). ``prompt`` is a preset name or a YAML path;
    by default the model-id table of :mod:`prompts.presets` chooses.
    """

    #: assistant turn pre-fill appended after the chat template (FIRST: "[")
    prefill: ClassVar[str] = ""

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "window_size", "stride", "passage_words", "prompt",
                                      "context_size", "top_window", "clean_text",
                                      "query_words"))

    def __init__(self, model: str | Any | None = None, *, window_size: int = 20,
                 stride: int = 10, passage_words: int | None = None,
                 prompt: str | Path | None = None, context_size: int = REFERENCE_CONTEXT,
                 top_window: str = "reference", clean_text: bool = True,
                 query_words: int | None = None, **kwargs: Any) -> None:
        check_window(window_size, stride)
        if query_words is not None and (isinstance(query_words, bool)
                                        or not isinstance(query_words, int) or query_words < 1):
            raise InputError(f"query_words must be a whole number >= 1, got {query_words!r}.",
                             fix="use e.g. query_words=64, or None to keep the whole query.")
        if top_window not in TOP_WINDOWS:
            raise InputError(f"unknown top_window {top_window!r}.",
                             fix=f"use one of {list(TOP_WINDOWS)}.")
        if passage_words is not None and passage_words < 1:
            raise InputError(f"passage_words must be >= 1, got {passage_words}.",
                             fix="use e.g. passage_words=300, or None for the reference budget.")
        if prompt is not None:  # a bad template fails here, before the model loads
            resolve_prompt(self.family, "", prompt, required=("method", "identifiers"))
        super().__init__(model, **kwargs)
        self.window_size = window_size
        self.stride = stride
        self.top_window = top_window
        self.passage_words = passage_words
        self.clean_text = clean_text
        self.query_words = query_words
        self.context_size = int(min(context_size, self.backend.max_context))
        self.template, self.prompt_rule = resolve_prompt(self.family, self.model_id, prompt,
                                                         required=("method", "identifiers"))
        self.identifier_kind = lp.identifier_kind(self.template)
        self.identifiers = lp.identifiers(self.identifier_kind, window_size)
        self._answer_tokens: dict[int, int] = {}

    def config(self) -> dict[str, Any]:
        return {**self._base_config(), "window_size": self.window_size, "stride": self.stride,
                "top_window": self.top_window, "context_size": self.context_size,
                "passage_words": self.passage_words if self.passage_words is not None
                else "reference (300 * 20 / window, shrunk to fit)",
                "clean_text": self.clean_text, "prefill": self.prefill,
                **({"query_words": self.query_words} if self.query_words is not None else {}),
                "prompt": describe(self.template, self.prompt_rule),
                "identifiers": "".join(self.identifiers) if self.identifier_kind == "alpha"
                else f"1..{self.window_size}"}

    def spans(self, n: int) -> list[tuple[int, int]]:
        return window_spans(n, self.window_size, self.stride, self.top_window)

    # -- prompts ---------------------------------------------------------------------------------
    def answer_tokens(self, size: int) -> int:
        """rank_llm's ``num_output_tokens``: tokens of "[A] > ... " for ``size`` passages,
        counted as ``len(tokenizer.encode(s)) - 1`` (exact for tokenizers that add one BOS)."""
        if size not in self._answer_tokens:
            text = lp.ranking_string(self.identifiers[:size])
            self._answer_tokens[size] = max(
                1, len(self.backend.encode(text, add_special_tokens=True)) - 1)
        return self._answer_tokens[size]

    def _words(self, docs: Sequence[Document]) -> list[list[str]]:
        """Each passage's words, cleaned once per window (the cut comes after cleaning)."""
        if self.clean_text:
            return [passage_words(d) for d in docs]
        return [d.full_text().split() for d in docs]

    def messages(self, query: Query, docs: Sequence[Document], words: float,
                 _cleaned: list[list[str]] | None = None) -> list[dict[str, str]]:
        """The chat messages for one window with ``words`` words per passage."""
        cleaned = _cleaned if _cleaned is not None else self._words(docs)
        text = query.text
        if self.query_words is not None:
            text = " ".join(text.split()[:self.query_words])
        if self.clean_text:
            query_text = replace_number(text)
            contents = [cut_words(w, words) for w in cleaned]
        else:
            query_text = text
            contents = [" ".join(w[:int(words)]) for w in cleaned]
        return lp.build_messages(self.template, query_text, contents,
                                 self.identifiers[:len(docs)])

    def render(self, messages: list[dict[str, str]]) -> str:
        text = self.backend.render_chat(messages, self.template.fields.get("chat_template"))
        return fix_text(text) if self.clean_text else text

    def window_prompt(self, query: Query, docs: Sequence[Document]) -> WindowPrompt:
        """The prompt for one window, shrunk as the reference shrinks it to fit the context."""
        n = len(docs)
        words: float = self.passage_words if self.passage_words is not None else 300 * (20 / n)
        budget = self.context_size - self.answer_tokens(n)
        cleaned = self._words(docs)
        last: dict[str, Any] = {"cut": None}

        def render(w: float) -> tuple[str, int]:
            # the same cut gives the same prompt: only re-render when some passage changes
            cut = tuple(min(len(x), int(w)) for x in cleaned)
            if cut != last["cut"]:
                messages = self.messages(query, docs, w, cleaned)
                text = self.render(messages)
                last.update(cut=cut, messages=messages, text=text,
                            used=len(self.prompt_ids(text)))
            return last["text"], last["used"]

        def too_long() -> InputError:
            def bare(q: Query) -> int:  # the prompt's tokens with empty passages
                return len(self.prompt_ids(self.render(self.messages(q, docs, 0, cleaned))))

            if bare(Query(query.id, "")) <= budget < bare(query):  # the query is what's long
                return InputError(
                    f"query {query.id!r} alone exceeds the context: its prompt with empty "
                    f"passages is {bare(query)} tokens, more than the {budget} of the "
                    f"{self.context_size}-token context left for the prompt.",
                    fix="truncate long queries with query_words=N (keeps their first N "
                        "words), or use a model with a larger context; a smaller window "
                        "can't make the query shorter.")
            return InputError(f"a window of {n} passages does not fit the context of "
                              f"{self.context_size} tokens even at one word per passage "
                              f"(query {query.id!r}).",
                              fix="use a smaller window_size or a larger context_size.")

        # rank_llm's rule: drop max(1, overflow // (4 * passages)) words per passage
        text, words = shrink_to_fit(
            render, words, budget, lambda w, used: w - max(1, (used - budget) // (n * 4)),
            too_long)
        return WindowPrompt(text + self.prefill, self.prefilled_ids(text, self.prefill),
                            int(words), last["messages"])

    # -- the sliding-window driver ---------------------------------------------------------------
    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        orders = [list(range(len(it.documents))) for it in items]
        plans = [self.spans(len(o)) for o in orders]
        steps = max((len(p) for p in plans), default=0)
        for step in range(steps):
            # window `step` of every query that has one, in one batch (windows of one query
            # stay in order: step k+1 sees the reordering of step k)
            active = [i for i in range(len(items)) if step < len(plans[i])]
            prompts, sizes, meta = [], [], []
            for i in active:
                lo, hi = plans[i][step]
                docs = [items[i].documents[j] for j in orders[i][lo:hi]]
                wp = self.window_prompt(items[i].query, docs)
                prompts.append(wp)
                sizes.append(len(docs))
                meta.append({"qid": items[i].query.id, "window": step, "span": [lo, hi],
                             "passage_words": wp.passage_words,
                             "doc_ids": [d.id for d in docs]})
            perms, records = self._order_windows([p.ids for p in prompts], sizes)
            for i, perm in zip(active, perms, strict=True):
                apply_permutation(orders[i], plans[i][step], perm)
            self._count(windows=len(active))
            self._log([{**m, "prompt": p.text, **r} for m, p, r in zip(meta, prompts, records,
                                                                       strict=True)])
        return [[(it.documents[j].id, float(len(order) - r)) for r, j in enumerate(order)]
                for it, order in zip(items, orders, strict=True)]

    def _order_windows(self, prompts: Sequence[Sequence[int]],
                       sizes: Sequence[int]) -> tuple[list[list[int]], list[dict[str, Any]]]:
        """A permutation per window (best first, as indices into the window) and a log record,
        from the windows' token-id prompts."""
        raise NotImplementedError
