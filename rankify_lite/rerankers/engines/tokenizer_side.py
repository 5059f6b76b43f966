"""The tokenizer half of the LLM backend protocol, for engines that run the model elsewhere.

vLLM and OpenAI-compatible servers receive token ids; the ids are built here, by the same
Hugging Face tokenizer and chat template as :class:`TransformersBackend`, so every engine runs
exactly the same ids for the same prompt.
"""

from __future__ import annotations

from typing import Any

from rankify_lite.errors import InputError, require
from rankify_lite.rerankers.engines.llm_backend import TokenizerSide, check_prompts

__all__ = ["TokenizerSide", "check_prompts", "load_tokenizer"]


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
