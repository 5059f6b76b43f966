"""Listwise prompt messages from a template, the way rank_llm's inference handlers build them.

Single-turn templates (``method: singleturn_listwise``: rank_zephyr, rank_zephyr_alpha,
rank_vicuna) give ``[system, user]`` with the user turn ``prefix + body per passage + suffix``.
Multi-turn templates (``multiturn_listwise``: rank_gpt) give ``system, user prefix, assistant
acknowledgement``, then one user / assistant pair per passage, then the user suffix. Passages
arrive already cleaned (:mod:`prompts.clean`); identifiers are letters or numbers from 1.
"""

from __future__ import annotations

from collections.abc import Sequence

from rankify_lite.errors import InputError
from rankify_lite.rerankers.prompts.templates import PromptTemplate

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def identifier_kind(template: PromptTemplate) -> str:
    kind = str(template.get("identifiers"))
    if kind not in ("alpha", "numeric"):
        raise InputError(f"prompt template {template.name!r}: identifiers must be 'alpha' or "
                         f"'numeric', not {kind!r}.", path=template.path or None,
                         fix="write 'identifiers: alpha' ([A], [B], ...) or "
                             "'identifiers: numeric' ([1], [2], ...).")
    return kind


def identifiers(kind: str, n: int) -> list[str]:
    """The first ``n`` identifiers: A, B, ... or 1, 2, ..."""
    if kind == "alpha":
        if n > len(ALPHABET):
            raise InputError(f"a window of {n} passages is larger than the identifier alphabet "
                             f"([A]..[Z], {len(ALPHABET)} passages).",
                             fix=f"use window_size <= {len(ALPHABET)} (20 is the default), or a "
                                 "template with numeric identifiers.")
        return list(ALPHABET[:n])
    return [str(k + 1) for k in range(n)]


def ranking_string(ids: Sequence[str]) -> str:
    """"[A] > [B] > ..." -- the answer format (its token count sizes the generation)."""
    return " > ".join(f"[{i}]" for i in ids)


def _fmt(template: PromptTemplate, key: str, **values: object) -> str:
    return template.text(key, **values) if template.fields.get(key) else ""


def build_messages(template: PromptTemplate, query: str,
                   contents: Sequence[str], ids: Sequence[str]) -> list[dict[str, str]]:
    """Chat messages for one window; ``query`` and ``contents`` already cleaned."""
    num = len(contents)
    messages = []
    if template.fields.get("system_message"):
        messages.append({"role": "system", "content": template.text("system_message")})
    if template.get("method") == "multiturn_listwise":
        prefix = _fmt(template, "prefix_user", num=num, query=query)
        if prefix:
            messages += [{"role": "user", "content": prefix},
                         {"role": "assistant", "content": _fmt(template, "prefix_assistant",
                                                               num=num, query=query)}]
        suffix = _fmt(template, "suffix_user", num=num, query=query)
        if template.fields.get("body_assistant"):
            for rank, content in zip(ids, contents, strict=True):
                messages += [{"role": "user", "content": _fmt(template, "body_user", rank=rank,
                                                              candidate=content)},
                             {"role": "assistant",
                              "content": _fmt(template, "body_assistant", rank=rank)}]
            if suffix:
                messages.append({"role": "user", "content": suffix})
        else:
            body = "".join(_fmt(template, "body_user", rank=r, candidate=c)
                           for r, c in zip(ids, contents, strict=True))
            messages.append({"role": "user", "content": body + suffix})
        return messages
    text = (_fmt(template, "prefix", num=num, query=query)
            + "".join(template.text("body", rank=r, candidate=c)
                      for r, c in zip(ids, contents, strict=True))
            + _fmt(template, "suffix", num=num, query=query))
    messages.append({"role": "user", "content": text})
    return messages
