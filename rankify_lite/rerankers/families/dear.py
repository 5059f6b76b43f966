"""DeAR-L: listwise chain-of-thought reranking as DeAR's own pipeline runs it.

Abdallah et al. 2025 (DataScienceUIBK/DeAR-Reranking, ``listwise_rerank/``; checkpoints
``abdoelsayed/dear-8b-reranker-listwise-v1`` and its ``-lora-v1`` adapter over Llama-3.1-8B).
The ``listwise`` family's sliding windows (DeAR's defaults: window 20, step 10, bottom up) with
DeAR's prompt (preset ``dear_listwise``: the RankGPT-style multi-turn chat of its
``prompts.py``, through the model's chat template) and DeAR's reading of the answer:

* each passage is ``Title: {title} Content: {text}`` (the text alone when untitled), whitespace
  collapsed, cut to its first ``passage_words=300`` words; neither passages nor query are
  cleaned (no ftfy, no "[12]" rewrite), and the prompt is never shrunk (``context_size`` is the
  model's own);
* up to ``max_new_tokens=1024`` tokens are generated (the model reasons, then ranks);
* the answer is the text after the first ``</think>`` when there is one, else all of it; every
  number in it is an identifier, in order; repeats and numbers outside the window are dropped,
  missing passages appended in their current order (``parse_answer``, counted as malformed in
  ``llm_stats`` as the ``listwise`` family counts them).

Two deliberate differences: DeAR samples (temperature 0.5, top-p 0.9), this family decodes
greedily, so a run is reproducible (``config()["decoding"]``); and DeAR's window loop stops
before a window it would have to clip at the top (none at all when the depth is below the
window), where this family clips it as rank_llm does. At DeAR's settings (depth 30 or 20, window
20, step 10) the windows are the same. ``dear-p % 100 >> dear-l % 20``
is the paper's cascade (DeAR-P reorders the top 100, DeAR-L the top 20 of that).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.families.listwise import ListwiseReranker, ParsedPermutation
from rankify_lite.types import Document

_AFTER_THINK = re.compile(r"</think>\s*(.*)", flags=re.DOTALL | re.IGNORECASE)
_NUMBER = re.compile(r"[0-9]+")

#: the context DeAR-L assumes (Llama-3.1's); capped by the model's own
DEAR_CONTEXT = 131072


def answer_text(output: str) -> str:
    """The part of a generation that holds the ranking: after the first ``</think>``, if any."""
    m = _AFTER_THINK.search(output)
    return m.group(1).strip() if m else output.strip()


def parse_answer(output: str, size: int) -> ParsedPermutation:
    """DeAR's parse: every number of the answer is a 1-based identifier, in order; repeats and
    numbers outside 1..size are dropped, missing passages appended in their current order."""
    seen: list[int] = []
    repeats = unknown = 0
    for token in _NUMBER.findall(answer_text(output)):
        k = int(token) - 1
        if not 0 <= k < size:
            unknown += 1
        elif k in seen:
            repeats += 1
        else:
            seen.append(k)
    missing = [k for k in range(size) if k not in seen]
    return ParsedPermutation(seen + missing, repeats, unknown, len(missing))


def passage_content(doc: Document) -> str:
    """The passage as DeAR's run files hold it (``Title: ... Content: ...``, spaces collapsed)."""
    content = f"Title: {doc.title} Content: {doc.text}" if doc.title else doc.text
    return " ".join(content.split())


class DeArListwiseReranker(ListwiseReranker):
    """``load_reranker("dear-l", model=..., window_size=20, stride=10, max_new_tokens=1024)``."""

    family = "dear-l"
    default_model = "abdoelsayed/dear-8b-reranker-listwise-v1"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "max_new_tokens", "min_new_tokens",
                                      "passage_words", "clean_text", "context_size"))

    def __init__(self, model: str | Any | None = None, *, max_new_tokens: int | None = 1024,
                 min_new_tokens: int | None = 0, passage_words: int | None = 300,
                 clean_text: bool = False, context_size: int = DEAR_CONTEXT,
                 **kwargs: Any) -> None:
        super().__init__(model, max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens,
                         passage_words=passage_words, clean_text=clean_text,
                         context_size=context_size, **kwargs)

    def _words(self, docs: Sequence[Document]) -> list[list[str]]:
        if self.clean_text:  # rank_llm's cleaning instead of DeAR's plain text
            return super()._words(docs)
        return [passage_content(d).split() for d in docs]

    def parse(self, output: str, size: int) -> ParsedPermutation:
        return parse_answer(output, size)
