"""FIRST: listwise reranking from the logits of the first generated identifier token.

Reddy et al. 2024 ("FIRST: Faster Improved Listwise Reranking with Single Token Decoding");
reproduced by Chen, Pradeep and Lin 2024 in rank_llm (``RankListwiseOSLLM(use_logits=True,
use_alpha=True)``). Each window of passages [A], [B], ... is sent to the model once with the
reference prompt; the assistant turn is pre-filled with "[" (rank_llm lets the model generate
that token and reads the next one), so the next token is an identifier, and the identifier
logits at that one position order the window. The logits are read in fp32 (the backend
projects the final hidden state onto the identifier rows of the LM head), so bf16 rounding
cannot create ties. There is no generation and no fallback to it: if the identifiers are not
single tokens the reranker refuses to start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.engines.llm_backend import single_token_ids
from rankify_lite.rerankers.llm.base import WindowedLLMReranker
from rankify_lite.types import Query


class FirstReranker(WindowedLLMReranker):
    """``load_reranker("first", model=..., window_size=20, stride=10)``."""

    family = "first"
    default_model = "castorini/first_mistral"
    prefill = "["

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model",))

    def __init__(self, model: str | Any | None = None, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        # the identifiers must each be ONE token right after the pre-filled "["
        context = self.render(self.messages(Query("q", "x"), [], 1)) + self.prefill
        self.identifier_ids = single_token_ids(
            self.backend, context, self.identifiers, what="identifier",
            fix="FIRST reads one token per identifier; use a model whose tokenizer has "
                "single-token capital letters (and a template with 'identifiers: alpha'), or "
                "the 'listwise' family (full generation).")

    def config(self) -> dict[str, Any]:
        return {**super().config(), "identifier_token_ids": list(self.identifier_ids)}

    def _order_windows(self, prompts: Sequence[Sequence[int]],
                       sizes: Sequence[int]) -> tuple[list[list[int]], list[dict[str, Any]]]:
        out = self.backend.next_token_logits(prompts, self.identifier_ids)
        self._count(model_calls=1, prompts=len(prompts), input_tokens=sum(out.input_tokens))
        perms, records = [], []
        for k, size in enumerate(sizes):
            logits = [float(x) for x in out.logits[k, :size]]
            # highest logit first; equal logits keep the window's current order
            perms.append(sorted(range(size), key=lambda j, lg=logits: (-lg[j], j)))
            records.append({"logits": dict(zip(self.identifiers[:size], logits, strict=True)),
                            "input_tokens": out.input_tokens[k], "output_tokens": 0})
        return perms, records
