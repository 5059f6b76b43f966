"""ReasonRank: listwise reranking that reasons first, then writes the permutation.

Liu et al. 2025 (``liuwenhan/reasonrank-7B`` / ``-32B``), as rank_llm runs it:
``RankListwiseOSLLM(is_thinking=True, reasoning_token_budget=..., prompt_template_path=
reasonrank_template.yaml)``. Same sliding windows, passage cleaning and shrink-to-fit as the
``listwise`` family; the chat template gets ``enable_thinking=thinking`` (as rank_llm passes it);
greedy generation of at most ``reasoning_token_budget`` tokens and at least rank_llm's answer
length (``min_tokens = num_output_tokens``, ``max_tokens = reasoning_token_budget``). The
permutation is read after the last ``</think>`` (rank_llm's rule) with the ``listwise`` family's
robust parser (missing / repeated / unknown identifiers and extra text tolerated, counted as
malformed). Unlike rank_llm, a window whose generation ended without closing the think block
(the budget ran out, or the model stopped) is not parsed from its reasoning: its prompt is
extended with the reasoning (cut after its last full sentence) and a forced ``</think>``, and
the answer is generated from there (rank_llm's answer length), so the ids written while thinking
never become the ranking.

``thinking=False`` renders the template with ``enable_thinking=False`` and generates the answer
length only (the plain ``listwise`` behaviour with this prompt). Presets: ``reasonrank`` (the
default; rank_llm's ReasonRank template) and ``qwen_thinking`` (rank_llm 0.25.7's template for
thinking models). ``llm_stats`` counts generated tokens (``output_tokens``, reasoning and
answers), ``forced_closes`` and queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import RerankItem, Scored
from rankify_lite.rerankers.engines.llm_backend import continuation_ids
from rankify_lite.rerankers.families.listwise import ListwiseReranker, parse_permutation
from rankify_lite.rerankers.llm.reasoning import Reasoning, check_budget, reason
from rankify_lite.rerankers.prompts.clean import fix_text

REQUIRED = ("method", "identifiers", "think_close", "forced_close")


class ReasonRankReranker(ListwiseReranker):
    """``load_reranker("reasonrank", model=..., reasoning_token_budget=3072, thinking=True)``."""

    family = "reasonrank"
    default_model = "liuwenhan/reasonrank-7B"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "thinking", "reasoning_token_budget"))

    def __init__(self, model: str | Any | None = None, *, thinking: bool = True,
                 reasoning_token_budget: int = 3072, **kwargs: Any) -> None:
        check_budget(thinking, reasoning_token_budget)
        self.thinking = thinking
        self.reasoning_token_budget = int(reasoning_token_budget)
        super().__init__(model, **kwargs)
        for key in REQUIRED[2:]:
            self.template.get(key)              # a template without them fails here

    def config(self) -> dict[str, Any]:
        return {**super().config(), "thinking": self.thinking,
                "reasoning_token_budget": self.reasoning_token_budget}

    def render(self, messages: list[dict[str, str]]) -> str:
        text = self.backend.render_chat(messages, self.template.fields.get("chat_template"),
                                        enable_thinking=self.thinking)
        return fix_text(text) if self.clean_text else text

    def _reset_stats(self) -> None:
        super()._reset_stats()
        self.stats.update(queries=0, forced_closes=0)

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        self._count(queries=len(items))
        return super()._rerank_batch(items)

    # -- one step of windows ---------------------------------------------------------------------
    def _generate(self, prompts: Sequence[Sequence[int]], sizes: Sequence[int]) -> list[Reasoning]:
        """Reasoning per window (thinking off: the answer, as if after a closed block), one call
        per answer length; the budget is cut to what the context leaves after the prompt."""
        close = self.template.text("think_close")
        outs: list[Any] = [None] * len(prompts)
        for size in sorted(set(sizes)):
            idx = [k for k, s in enumerate(sizes) if s == size]
            most, least = self.generation_budget(size)
            budget = self.reasoning_token_budget if self.thinking else most
            room = min(self.backend.max_context - len(prompts[k]) for k in idx)
            budget = max(1, min(budget, room))
            batch = [prompts[k] for k in idx]
            if self.thinking:
                got = reason(self.backend, batch, budget, close, least)
            else:
                got = [Reasoning("", True, g.text, g.input_tokens, g.output_tokens)
                       for g in self.backend.generate(batch, budget, min(least, budget))]
            for k, g in zip(idx, got, strict=True):
                outs[k] = g
            self._count(model_calls=1)
        return outs

    def _order_windows(self, prompts: Sequence[Sequence[int]],
                       sizes: Sequence[int]) -> tuple[list[list[int]], list[dict[str, Any]]]:
        thoughts = self._generate(prompts, sizes)
        self._count(prompts=len(prompts), input_tokens=sum(t.input_tokens for t in thoughts),
                    output_tokens=sum(t.output_tokens for t in thoughts))
        answers = [t.answer for t in thoughts]
        forced = [k for k, t in enumerate(thoughts) if not t.closed]
        if forced:
            self._force_close(prompts, sizes, thoughts, forced, answers)
        close = self.template.text("think_close")
        perms, records = [], []
        for t, answer, size in zip(thoughts, answers, sizes, strict=True):
            # rank_llm reads the answer after the last close marker
            parsed = parse_permutation(answer.split(close)[-1], self.identifiers[:size])
            self._count(malformed_windows=int(parsed.malformed), repeated_ids=parsed.repeats,
                        unknown_ids=parsed.unknown, missing_ids=parsed.missing)
            perms.append(parsed.order)
            records.append({"reasoning": t.text, "closed": t.closed if self.thinking else None,
                            "output": answer, "malformed": parsed.malformed,
                            "repeats": parsed.repeats, "unknown": parsed.unknown,
                            "missing": parsed.missing, "input_tokens": t.input_tokens,
                            "output_tokens": t.output_tokens})
        return perms, records

    def _force_close(self, prompts: Sequence[Sequence[int]], sizes: Sequence[int],
                     thoughts: list[Reasoning], forced: list[int], answers: list[str]) -> None:
        """Close the think block of windows that ran out of budget and generate their answer."""
        suffix = self.template.text("forced_close")
        for size in sorted({sizes[k] for k in forced}):
            idx = [k for k in forced if sizes[k] == size]
            extended = [list(prompts[k]) + self._continuation(prompts[k], thoughts[k].text + suffix)
                        for k in idx]
            most, least = self.generation_budget(size)
            gens = self.backend.generate(extended, most, least)
            for k, g in zip(idx, gens, strict=True):
                answers[k] = g.text
            self._count(model_calls=1, prompts=len(idx),
                        input_tokens=sum(g.input_tokens for g in gens),
                        output_tokens=sum(g.output_tokens for g in gens), forced_closes=len(idx))

    def _continuation(self, prompt: Sequence[int], text: str) -> list[int]:
        """Ids of ``text`` right after the prompt's ids (in context, as a pre-fill is)."""
        tail = continuation_ids(self.backend, self.backend.decode(prompt), text)
        return self.backend.encode(text) if any(t < 0 for t in tail) else tail
