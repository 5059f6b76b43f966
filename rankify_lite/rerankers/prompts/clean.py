"""Passage and query cleaning as rank_llm does it before text reaches a listwise LLM.

rank_llm (0.25.7, ``BaseInferenceHandler._convert_doc_to_prompt_content``) builds a passage as
``"Title: <title> Content: <text>"`` (just the text when there is no title), strips it, repairs
mojibake with ``ftfy.fix_text`` (DL19's BM25 top-100 has "Â¼-inch" and the like), keeps the
first ``max_words`` whitespace-separated words, and rewrites bracketed numbers "[12]" to "(12)"
so they cannot be mistaken for passage identifiers. The query gets the same rewrite. After
the chat template is applied, ``fix_text`` runs once more over the whole prompt.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from rankify_lite.errors import require
from rankify_lite.types import Document

_BRACKETED_NUMBER = re.compile(r"\[(\d+)\]")


@cache
def _ftfy() -> Any:
    return require("ftfy", extra="llm", feature="LLM prompt cleaning")


def fix_text(text: str) -> str:
    """``ftfy.fix_text`` with its default settings (what the reference calls)."""
    return _ftfy().fix_text(text)


def replace_number(text: str) -> str:
    """"[12]" -> "(12)", so passage text cannot imitate an identifier."""
    return _BRACKETED_NUMBER.sub(r"(\1)", text)


def passage_words(doc: Document) -> list[str]:
    """The passage's words after the reference's title format, strip and ``fix_text``."""
    content = f"Title: {doc.title} Content: {doc.text}" if doc.title else doc.text
    return fix_text(content.strip()).split()


def cut_words(words: list[str], max_words: float) -> str:
    """The first ``max_words`` words with "[12]" -> "(12)", as the reference cuts them."""
    return replace_number(" ".join(words[:int(max_words)]))


def passage_content(doc: Document, max_words: float) -> str:
    """The passage as the reference puts it in a prompt (title, ftfy, word cut, numbers)."""
    return cut_words(passage_words(doc), max_words)

