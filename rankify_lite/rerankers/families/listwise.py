"""Listwise reranking by generation: the model writes the whole permutation "[2] > [1] > ...".

Same windows and reference prompts as FIRST, but the template comes from the model table (the
default, as in rank_llm, is RankZephyr's numeric [1]..[20]; FIRST's model keeps its letters)
and there is no pre-fill: the model writes the answer from its first token. Greedy decoding
produces exactly the token count of "[1] > [2] > ... > [n]" as rank_llm counts it
(``min_tokens == max_tokens``). The output is parsed robustly: identifiers are read in order
(multi-digit numbers too; a last "[20" cut off by the budget still counts), repeats and
unknown identifiers are dropped, missing ones are appended in their current order. Every
window whose output needed any of that is counted as malformed in
``run.metadata["llm_stats"]`` (and in the invocation log).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.llm.base import WindowedLLMReranker

_ID = re.compile(r"\[\s*([A-Za-z]+|[0-9]+)\s*(?:\]|$)")


@dataclass(frozen=True, slots=True)
class ParsedPermutation:
    order: list[int]          # a full permutation of range(size), best first
    repeats: int              # identifiers given more than once
    unknown: int              # bracketed identifiers outside the window
    missing: int              # window identifiers never given (appended in current order)

    @property
    def malformed(self) -> bool:
        return bool(self.repeats or self.unknown or self.missing)


def _key(token: str) -> str:
    return str(int(token)) if token.isdigit() else token.upper()


def parse_permutation(text: str, identifiers: Sequence[str]) -> ParsedPermutation:
    """Read "[C] > [A] > [B]" or "[12] > [3] ..." (or anything messier) into a permutation."""
    index = {_key(c): k for k, c in enumerate(identifiers)}
    seen: list[int] = []
    repeats = unknown = 0
    for token in _ID.findall(text):
        k = index.get(_key(token)) if (token.isdigit() or len(token) == 1) else None
        if k is None:
            unknown += 1
        elif k in seen:
            repeats += 1
        else:
            seen.append(k)
    missing = [k for k in range(len(identifiers)) if k not in seen]
    return ParsedPermutation(seen + missing, repeats, unknown, len(missing))


class ListwiseReranker(WindowedLLMReranker):
    """``load_reranker("listwise", model=..., window_size=20, stride=10)``.

    ``max_new_tokens=None`` generates rank_llm's answer length for each window size;
    ``min_new_tokens=None`` equals it (the reference's ``min_tokens == max_tokens``).
    """

    family = "listwise"
    default_model = "castorini/rank_zephyr_7b_v1_full"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "max_new_tokens", "min_new_tokens"))

    def __init__(self, model: str | Any | None = None, *, max_new_tokens: int | None = None,
                 min_new_tokens: int | None = None, **kwargs: Any) -> None:
        for name, v in (("max_new_tokens", max_new_tokens), ("min_new_tokens", min_new_tokens)):
            if v is not None and v < 0:
                raise InputError(f"{name} must be >= 0, got {v}.",
                                 fix=f"leave {name}=None for the reference's answer length.")
        self.max_new_tokens = max_new_tokens
        self.min_new_tokens = min_new_tokens
        super().__init__(model, **kwargs)

    def generation_budget(self, size: int) -> tuple[int, int]:
        """(max_new_tokens, min_new_tokens) for a window of ``size`` passages."""
        most = self.max_new_tokens if self.max_new_tokens is not None \
            else self.answer_tokens(size)
        least = most if self.min_new_tokens is None else min(self.min_new_tokens, most)
        return most, least

    def answer_tokens(self, size: int) -> int:
        if self.max_new_tokens is not None:
            return self.max_new_tokens
        return super().answer_tokens(size)

    def config(self) -> dict[str, Any]:
        most, least = self.generation_budget(self.window_size)
        return {**super().config(), "max_new_tokens": most, "min_new_tokens": least,
                "decoding": "greedy"}

    def _reset_stats(self) -> None:
        super()._reset_stats()
        self.stats.update(malformed_windows=0, repeated_ids=0, unknown_ids=0, missing_ids=0)

    def parse(self, output: str, size: int) -> ParsedPermutation:
        """The permutation a window's generation gives (after the pre-fill, if any)."""
        return parse_permutation(self.prefill + output, self.identifiers[:size])

    def _order_windows(self, prompts: Sequence[Sequence[int]],
                       sizes: Sequence[int]) -> tuple[list[list[int]], list[dict[str, Any]]]:
        gens: list[Any] = [None] * len(prompts)
        for size in sorted(set(sizes)):                    # one call per answer length
            idx = [k for k, s in enumerate(sizes) if s == size]
            most, least = self.generation_budget(size)
            for k, g in zip(idx, self.backend.generate([prompts[k] for k in idx], most, least),
                            strict=True):
                gens[k] = g
            self._count(model_calls=1)
        self._count(prompts=len(prompts), input_tokens=sum(g.input_tokens for g in gens),
                    output_tokens=sum(g.output_tokens for g in gens))
        perms, records = [], []
        for gen, size in zip(gens, sizes, strict=True):
            parsed = self.parse(gen.text, size)
            self._count(malformed_windows=int(parsed.malformed), repeated_ids=parsed.repeats,
                        unknown_ids=parsed.unknown, missing_ids=parsed.missing)
            perms.append(parsed.order)
            records.append({"output": gen.text, "malformed": parsed.malformed,
                            "repeats": parsed.repeats, "unknown": parsed.unknown,
                            "missing": parsed.missing, "input_tokens": gen.input_tokens,
                            "output_tokens": gen.output_tokens})
        return perms, records
