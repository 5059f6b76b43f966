"""Reasoning within a token budget, then a forced close: the shared step of the reasoning families.

Both reasoning rerankers (``rank1`` pointwise, ``reasonrank`` listwise) let the model think first
and read its answer after the think block. The step is two calls of the LLM backend protocol,
so it runs unchanged on every engine (transformers, vLLM, an OpenAI-compatible server):

1. ``backend.generate(prompts, budget)``: greedy reasoning, at most ``budget`` new tokens;
2. each prompt is extended with what the model wrote up to its own ``</think>`` -- or, when the
   generation ended without it (the budget ran out, or the model stopped), with the reasoning
   cut after its last full sentence and a forced
   ``</think>`` -- and the extended prompts are scored (``next_token_logits``, pointwise) or
   continued (``generate`` of the answer, listwise).

The extension is text (the generated text, cut, plus the template's close marker), as Rank1's
own fix-up builds its forced prompt by string concatenation; each family says how it becomes
token ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.rerankers.engines.llm_backend import Generation, LLMBackend


@dataclass(frozen=True, slots=True)
class Reasoning:
    """What the model wrote in its think block for one prompt."""

    text: str            # the reasoning, without the close marker (cut when forced)
    closed: bool         # True: the model closed the block itself; False: the close was forced
    answer: str          # anything it wrote after its own close marker ("" when forced)
    input_tokens: int
    output_tokens: int   # tokens generated (the whole budget when forced)


def check_budget(thinking: bool, reasoning_token_budget: int) -> None:
    if not isinstance(thinking, bool):
        raise InputError(f"thinking must be True or False, got {thinking!r}.",
                         fix="pass thinking=True (reason first) or thinking=False.")
    if int(reasoning_token_budget) < 1:
        raise InputError(f"reasoning_token_budget must be >= 1, got {reasoning_token_budget}.",
                         fix="pass e.g. reasoning_token_budget=1024 (or thinking=False).")


def last_sentence_cut(text: str) -> str:
    """The text up to its last '.', '!' or '?' (all of it when it has none), stripped: what
    Rank1 keeps of a reasoning chain the budget cut off mid-sentence."""
    text = text.rstrip()
    if not text.endswith((".", "!", "?")):
        end = max(text.rfind("."), text.rfind("!"), text.rfind("?"))
        if end != -1:
            text = text[:end + 1]
    return text.strip()


def split_reasoning(gen: Generation, close: str) -> Reasoning:
    """Split a generation at the first ``close`` marker (a budget cut when there is none)."""
    head, sep, tail = gen.text.partition(close)
    if sep:
        return Reasoning(head, True, tail, gen.input_tokens, gen.output_tokens)
    return Reasoning(last_sentence_cut(gen.text), False, "", gen.input_tokens,
                     gen.output_tokens)


def reason(backend: LLMBackend, prompts: Sequence[Sequence[int]], budget: int, close: str,
           min_new_tokens: int = 0) -> list[Reasoning]:
    """Step 1: reason within ``budget`` tokens, one greedy generation per prompt."""
    gens = backend.generate(prompts, int(budget), int(min(min_new_tokens, budget)))
    return [split_reasoning(g, close) for g in gens]


def think(reranker: Any, texts: Sequence[str]) -> list[Reasoning | None]:
    """Step 1 of a pointwise reasoning family (Rank1, ERank): one bounded reasoning per prompt
    text, counted in the reranker's statistics; ``None`` for every prompt when thinking is off.
    ``reranker`` has ``thinking``, ``reasoning_token_budget``, a ``template`` with
    ``think_close``, ``prompt_ids``, ``backend`` and ``_count``."""
    if not reranker.thinking:
        return [None] * len(texts)
    thoughts = reason(reranker.backend, [reranker.prompt_ids(t) for t in texts],
                      reranker.reasoning_token_budget, reranker.template.text("think_close"))
    reranker._count(model_calls=1, prompts=len(texts),
                    input_tokens=sum(t.input_tokens for t in thoughts),
                    output_tokens=sum(t.output_tokens for t in thoughts),
                    forced_closes=sum(not t.closed for t in thoughts))
    return thoughts
