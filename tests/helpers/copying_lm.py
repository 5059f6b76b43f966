"""A fake LLM engine that writes a pseudo-query by copying words of the passage in its prompt
(tests of rankify_lite.distill.pseudo_queries and .gpl)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rankify_lite.rerankers.engines.llm_backend import Generation

_PIECE = re.compile(r"\s+|[^\s]+")


class CopyingLM:
    """A backend that answers with the first ``words`` words of the last passage in its prompt
    (then a line break and more text, as a few-shot model runs on); its tokenizer is exact
    (pieces <-> ids), so passages cut to a token budget are cut at piece boundaries."""

    def __init__(self, words: int = 6, fail_after: int | None = None, empty_every: int = 0):
        self.vocab: dict[str, int] = {}
        self.pieces: list[str] = []
        self.calls = 0
        self.prompts: list[str] = []
        self.words, self.fail_after, self.empty_every = words, fail_after, empty_every

    def config(self) -> dict[str, Any]:
        return {"backend": "copying-fake", "words": self.words}

    def render_chat(self, messages, chat_template=None, enable_thinking=None) -> str:
        return "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in messages) + "<a>"

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        ids = []
        for piece in _PIECE.findall(text):
            if piece not in self.vocab:
                self.vocab[piece] = len(self.pieces)
                self.pieces.append(piece)
            ids.append(self.vocab[piece])
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.pieces[i] for i in ids)

    def generate(self, prompts, max_new_tokens: int, min_new_tokens: int = 0):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt("killed")
        out = []
        for ids in prompts:
            text = self.decode(ids)
            self.prompts.append(text)
            passage = re.split(r"Document: |Passage: ", text)[-1]
            words = passage.split()[:self.words]
            n = len(self.prompts)
            answer = ("   \n" if self.empty_every and n % self.empty_every == 0
                      else f" \"{' '.join(words)}\"\n\nExample 5:")
            out.append(Generation(answer, len(ids), min(max_new_tokens, 12)))
        return out
