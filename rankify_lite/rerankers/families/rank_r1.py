"""Rank-R1: setwise reranking that reasons first (Zhuang et al. 2025, arXiv 2503.06034).

The ``setwise`` family's heap sort (or bubble sort) over sets of ``num_child + 1`` passages, each
comparison asked the way ielab/llm-rankers' ``Rank-R1/run_setwise.py`` (``R1SetwiseLlmRanker``,
commit b36517b) asks it:

* the prompt is the authors' ``prompt_setwise-R1.toml`` (``prompts/rank_r1.yaml``; the v0.2 file
  is ``prompt="rank_r1_v02"``): a system and a user turn through the model's chat template, the
  passages as ``"[1]: text"`` lines; passages (title + text) cut to ``passage_tokens`` (512) and
  the query to ``query_tokens`` (32) tokens, as the authors' TREC DL runs cut them;
* the set is shown in a shuffled order, as theirs is (``random.sample`` with
  ``num_permutation=1``): a ``random.Random(shuffle_seed)`` per query (929, the authors' seed;
  theirs is one process-wide generator, so their shuffles of a query also depend on the queries
  ranked before it); ``shuffle_seed=None`` shows the set in heap order;
* greedy generation of at most ``reasoning_token_budget`` tokens (2048, the package class
  ``RankR1SetwiseLlmRanker``'s ``max_tokens``; ``run_setwise.py`` allows 8000), and the answer
  read with the authors' pattern ``<think>.*?</think>\\s*<answer>(.*?)</answer>`` (DOTALL) on
  the lower-cased completion, stripped; it must be the label of a passage of the set (``[k]``,
  ``1 <= k <= len(set)``).

An answer that does not match, or names no passage of the set, counts in ``malformed`` and keeps
the set's first passage (the authors' "Unexpected voting." fallback in ``heapify``). Ours, not
theirs: when the budget runs out before an answer (``force_close=True``, the default), the
prompt is extended with the reasoning (up to its ``</think>``, or cut after its last full
sentence) and the template's ``forced`` close (``"\\n</think>\\n<answer>"``), and
``answer_tokens`` more tokens are generated, whose text up to ``</answer>`` is the answer (the
template's ``forced_pattern``); with ``force_close=False`` such an answer is malformed, as in
the authors' code. Only generation
scoring exists (the authors refuse ``likelihood`` too). The published checkpoints are LoRA
adapters over Qwen2.5-{3B,7B,14B}-Instruct (``ielabgroup/Rank-R1-7B-v0.1``, ...); an adapter id
loads its base and merges (``rankify_lite.models.adapters``).

``run.metadata["llm_stats"]``: the ``setwise`` counts (``comparisons``, ``prompts``,
``forward_passes``, ``input_tokens``, ``output_tokens``, ``malformed``, ``model_calls``) plus
``forced_closes`` and ``queries``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import RerankItem, Scored
from rankify_lite.rerankers.engines.llm_backend import continuation_ids
from rankify_lite.rerankers.families.setwise import SetwiseReranker
from rankify_lite.rerankers.llm.reasoning import check_budget, last_sentence_cut
from rankify_lite.types import Document, Query

#: tokens kept free after the prompt for the forced close
CLOSE_RESERVE = 8


def parse_answer(completion: str, pattern: str) -> str | None:
    """The answer in a completion, as the authors read it: ``pattern``'s group 1 on the
    lower-cased text (DOTALL), stripped; None when it does not match."""
    match = re.search(pattern, completion.lower(), re.DOTALL)
    return match.group(1).strip() if match else None


def forced_reasoning(text: str, close: str = "</think>") -> str:
    """What a budget-cut completion keeps before the forced close: its text up to its own
    ``close`` (the answer was cut), else the text cut after its last full sentence."""
    at = text.lower().find(close)
    return text[:at].rstrip() if at >= 0 else last_sentence_cut(text)


class RankR1Reranker(SetwiseReranker):
    """``load_reranker("rank-r1", model=..., num_child=19, k=10, reasoning_token_budget=2048)``."""

    family = "rank-r1"
    default_model = "ielabgroup/Rank-R1-7B-v0.1"
    default_prompt = "rank_r1"
    prompt_fields = ("system", "user", "passage", "passage_separator", "label", "max_set",
                     "pattern", "forced", "forced_pattern")

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "method", "num_child", "k", "passage_tokens",
                                      "query_tokens", "prompt", "reasoning_token_budget",
                                      "force_close", "answer_tokens", "shuffle_seed"))

    def __init__(self, model: str | Any | None = None, *, method: str = "heapsort",
                 scoring: str = "generation", num_child: int = 19, k: int = 10,
                 passage_tokens: int = 512, query_tokens: int = 32,
                 reasoning_token_budget: int = 2048, force_close: bool = True,
                 answer_tokens: int = 16, shuffle_seed: int | None = 929,
                 prompt: str | Path | None = None, **kwargs: Any) -> None:
        if scoring != "generation":
            raise InputError(f"rank-r1 reads generated answers only, not scoring={scoring!r}.",
                             fix="use scoring='generation' (or the 'setwise' family).")
        check_budget(True, reasoning_token_budget)
        if not isinstance(force_close, bool):
            raise InputError(f"force_close must be True or False, got {force_close!r}.",
                             fix="pass force_close=True (close and answer when the budget "
                                 "runs out) or False (the authors': malformed).")
        if int(answer_tokens) < 1:
            raise InputError(f"answer_tokens must be >= 1, got {answer_tokens}.",
                             fix="use e.g. answer_tokens=16.")
        if shuffle_seed is not None and not isinstance(shuffle_seed, int):
            raise InputError(f"shuffle_seed must be an integer or None, got {shuffle_seed!r}.",
                             fix="use shuffle_seed=929 (the authors' seed) or None.")
        super().__init__(model, method=method, scoring=scoring, num_child=num_child, k=k,
                         passage_tokens=passage_tokens, query_tokens=query_tokens,
                         prompt=prompt, **kwargs)
        if self.seq2seq:
            raise InputError("rank-r1 runs chat (causal) models; this is an encoder-decoder.",
                             fix="use a causal LM such as Qwen/Qwen2.5-7B-Instruct, or the "
                                 "'setwise' family for T5 models.")
        self.reasoning_token_budget = int(reasoning_token_budget)
        self.force_close, self.answer_tokens = force_close, int(answer_tokens)
        self.shuffle_seed = shuffle_seed
        self.pattern = str(self.template.get("pattern"))
        self.forced_pattern = str(self.template.get("forced_pattern"))
        for regex in (self.pattern, self.forced_pattern):
            try:
                re.compile(regex)
            except re.error as exc:
                raise InputError(f"prompt pattern {regex!r} is not a regular expression: {exc}.",
                                 path=self.template.path, fix="fix the template's pattern.") from exc
        self._rngs: dict[int, random.Random | None] = {}

    @staticmethod
    def _labels(template: Any) -> list[str]:
        return [template.text("label", num=i + 1) for i in range(int(template.get("max_set")))]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "reasoning_token_budget": self.reasoning_token_budget,
                "force_close": self.force_close, "answer_tokens": self.answer_tokens,
                "shuffle_seed": self.shuffle_seed, "decoding": "greedy"}

    # -- prompts -------------------------------------------------------------------------------
    def _render(self, query: Query, docs: Sequence[Document]) -> str:
        t = self.template
        passages = t.text("passage_separator").join(
            t.text("passage", num=i + 1, text=self.truncate(d.full_text(), self.passage_tokens))
            for i, d in enumerate(docs))
        user = t.text("user", query=self.truncate(query.text, self.query_tokens), docs=passages)
        return self.backend.render_chat([{"role": "system", "content": t.text("system")},
                                         {"role": "user", "content": user}])

    # -- comparisons ---------------------------------------------------------------------------
    def _shown(self, item: RerankItem, size: int) -> list[int]:
        """The order the set is shown in (positions in the set), from the query's generator."""
        rng = self._rngs.get(id(item))
        return rng.sample(range(size), size) if rng is not None else list(range(size))

    def _generate(self, ids: list[list[int]]) -> list[Any]:
        """Greedy generations within the budget (cut to the context), one call per budget."""
        ctx = self.backend.max_context
        budgets = [max(1, min(self.reasoning_token_budget,
                              ctx - len(p) - self.answer_tokens - CLOSE_RESERVE)) for p in ids]
        out: list[Any] = [None] * len(ids)
        for b in sorted(set(budgets)):
            idx = [r for r, x in enumerate(budgets) if x == b]
            for r, g in zip(idx, self.backend.generate([ids[r] for r in idx], b), strict=True):
                out[r] = (g, b)
            self._count(model_calls=1)
        return out

    def _close(self, ids: list[int], text: str) -> tuple[str, Any]:
        """The forced close of one budget-cut completion: (the forced text, the answer's
        generation)."""
        ext = self.template.text("forced", reasoning=forced_reasoning(text))
        tail = continuation_ids(self.backend, self.backend.decode(ids), ext)
        tail = self.backend.encode(ext) if any(t < 0 for t in tail) else tail
        gen = self.backend.generate([ids + tail], self.answer_tokens)[0]
        self._count(model_calls=1, prompts=1, forward_passes=1, forced_closes=1,
                    input_tokens=gen.input_tokens, output_tokens=gen.output_tokens)
        return ext, gen

    def _choose(self, asks: Sequence[tuple[RerankItem, list[int]]]) -> list[int]:
        """The winner's position in each set (0 for an unusable answer)."""
        best = [0] * len(asks)
        self._count(comparisons=len(asks))
        shown = [self._shown(it, len(s)) for it, s in asks]   # every set draws, as theirs
        todo = [n for n, (_, s) in enumerate(asks) if len(s) > 1]
        if not todo:
            return best
        texts = [self.prompt(asks[n][0].query, [asks[n][0].documents[asks[n][1][p]]
                                                for p in shown[n]]) for n in todo]
        ids = [self.prompt_ids(t) for t in texts]
        gens = self._generate(ids)
        self._count(prompts=len(todo), forward_passes=len(todo),
                    input_tokens=sum(g.input_tokens for g, _ in gens),
                    output_tokens=sum(g.output_tokens for g, _ in gens))
        records = []
        for r, n in enumerate(todo):
            gen, budget = gens[r]
            read, answer, after = gen.text, parse_answer(gen.text, self.pattern), None
            if answer is None and self.force_close and gen.output_tokens >= budget:
                ext, tail = self._close(ids[r], gen.text)
                read, after = ext + tail.text, tail.text
                answer = parse_answer(after, self.forced_pattern)
            labels = self.labels[:len(shown[n])]
            if answer in labels:
                best[n] = shown[n][labels.index(answer)]
            else:
                self._count(malformed=1)
            it, s = asks[n]
            records.append({"qid": it.query.id, "doc_ids": [it.documents[j].id for j in s],
                            "shown": shown[n], "prompt": texts[r], "completion": gen.text,
                            "read": read, "answer": answer, "forced_close": after is not None,
                            "after_close": after,
                            "choice": best[n], "input_tokens": int(gen.input_tokens),
                            "output_tokens": int(gen.output_tokens)})
        self._log(records)
        return best

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        for it in items:  # one generator per query, so batching never changes a shuffle
            self._rngs[id(it)] = (random.Random(self.shuffle_seed)
                                  if self.shuffle_seed is not None else None)
        self._count(queries=len(items))
        try:
            return super()._rerank_batch(items)
        finally:
            for it in items:
                self._rngs.pop(id(it), None)

    def _reset_stats(self) -> None:
        super()._reset_stats()
        self.stats.update(forced_closes=0, queries=0)
