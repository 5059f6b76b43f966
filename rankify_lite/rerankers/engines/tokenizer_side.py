"""The tokenizer half of the LLM backend protocol, for engines that run the model elsewhere.

vLLM and OpenAI-compatible servers receive token ids; the ids are built here, by the same
Hugging Face tokenizer and chat template as :class:`TransformersBackend`, so every engine runs
exactly the same ids for the same prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rankify_lite.errors import InputError, require
from rankify_lite.rerankers.llm_backend import Messages, render_with_template


def load_tokenizer(tokenizer: Any, *, revision: str | None = None, engine: str) -> Any:
    """``tokenizer`` as given (an object), or loaded from a Hugging Face id / local folder."""
    if not isinstance(tokenizer, str):
        return tokenizer
    transformers = require("transformers", extra="llm", feature=f"the {engine} LLM engine")
    try:
        return transformers.AutoTokenizer.from_pretrained(tokenizer, revision=revision)
    except OSError as exc:
        raise InputError(f"cannot load the tokenizer {tokenizer!r} for the {engine} engine: {exc}",
                         fix="pass tokenizer= a Hugging Face id in the local cache (or "
                             "reachable) or a local folder with the served model's tokenizer."
                         ) from exc


class TokenizerSide:
    """``render_chat`` / ``encode`` / ``decode`` exactly as :class:`TransformersBackend` has them."""

    tokenizer: Any

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def render_chat(self, messages: Messages, chat_template: str | None = None,
                    enable_thinking: bool | None = None) -> str:
        return render_with_template(self.tokenizer, self.has_chat_template, messages,
                                    chat_template, enable_thinking)

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)


def check_prompts(prompts: Sequence[Sequence[int]]) -> list[list[int]]:
    out = []
    for i, ids in enumerate(prompts):
        if not len(ids):
            raise InputError(f"prompt {i} has no tokens.", fix="check the prompt template.")
        out.append([int(t) for t in ids])
    return out
