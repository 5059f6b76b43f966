"""A fake LLM backend with crafted logits, for testing the LLM rerankers without a model.

Passages carry their true relevance in their text ("... rel=7.5 ..."). The fake reads a prompt
the way a perfect ranker would: next-token logits of identifier ``X`` = relevance of passage
[X]; for yes/no (true/false) prompts, logit(yes) = relevance and logit(no) = 0. Generation returns what a
``writer`` function makes of the window (perfect by default). Every call is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rankify_lite.rerankers.engines.llm_backend import Generation, NextTokenLogits
from rankify_lite.rerankers.llm.windows import window_spans
from rankify_lite.types import Corpus, Document, Queries, Run

_TOKEN = re.compile(r"\s+|[A-Za-z0-9]+|\S")
_PASSAGE = re.compile(r"^\[([A-Z]|[0-9]+)\] (.*)$", re.M)
BOS = "<bos>"
_REL = re.compile(r"rel=(-?[0-9.]+)")


def rel(text: str) -> float:
    m = _REL.search(text)
    return float(m.group(1)) if m else 0.0


def docs_with_relevance(scores: Sequence[float], words: int = 5) -> list[Document]:
    filler = " ".join(f"w{k}" for k in range(words))
    return [Document(f"d{i}", f"passage rel={s} {filler}") for i, s in enumerate(scores)]


def perfect_writer(window: list[tuple[str, float]]) -> str:
    ranked = sorted(window, key=lambda x: -x[1])
    return " > ".join(f"[{c}]" for c, _ in ranked)


class FakeLM:
    """Implements the LLMBackend protocol. Tokens are word runs, single characters and
    whitespace runs, so ``decode(encode(text)) == text``; ``add_special_tokens`` adds a BOS
    token when ``adds_bos``. Calls record the decoded prompts."""

    def __init__(self, max_context: int = 100_000, multi_token: Sequence[str] = (),
                 writer: Callable[[list[tuple[str, float]]], str] = perfect_writer,
                 adds_bos: bool = True) -> None:
        self.max_context = max_context
        self.multi_token = set(multi_token)
        self.writer = writer
        self.adds_bos = adds_bos
        self.vocab: dict[str, int] = {BOS: 0}
        self.logit_calls: list[list[str]] = []
        self.generate_calls: list[list[str]] = []
        self.generate_args: list[tuple[int, int]] = []

    def config(self) -> dict[str, Any]:
        return {"backend": "fake", "model": "fake-lm"}

    def render_chat(self, messages, chat_template=None, enable_thinking=None) -> str:
        empty_think = "<think> </think> " if enable_thinking is False else ""
        return "".join(f"<{m['role']}> {m['content']} </{m['role']}>\n" for m in messages) + \
            "<asst> " + empty_think

    def _id(self, piece: str) -> int:
        return self.vocab.setdefault(piece, len(self.vocab))

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        ids = [0] if add_special_tokens and self.adds_bos else []
        for tok in _TOKEN.findall(text):
            if tok in self.multi_token:                     # e.g. "K" -> two tokens
                ids += [self._id(tok + "#1"), self._id(tok + "#2")]
            else:
                ids.append(self._id(tok))
        return ids

    def _piece(self, token_id: int) -> str:
        return next(p for p, i in self.vocab.items() if i == token_id)

    def decode(self, ids: Sequence[int]) -> str:
        pieces = [self._piece(i) for i in ids]
        return "".join("" if p.endswith("#2") else p.removesuffix("#1") for p in pieces)

    def next_token_logits(self, prompt_ids: Sequence[Sequence[int]],
                          token_ids: Sequence[int]) -> NextTokenLogits:
        prompts = [self.decode(p) for p in prompt_ids]
        self.logit_calls.append(list(prompts))
        pieces = [self._piece(t) for t in token_ids]
        out = np.full((len(prompts), len(token_ids)), -100.0, dtype=np.float32)
        for row, prompt in enumerate(prompts):
            passages = dict(_PASSAGE.findall(prompt))
            doc = re.search(r"(?:Document|Passage): (.*)", prompt)
            for col, piece in enumerate(pieces):
                if piece in passages:
                    out[row, col] = rel(passages[piece])
                elif doc and piece.lower() in ("yes", "true"):
                    out[row, col] = rel(doc.group(1))
                elif doc and piece.lower() in ("no", "false"):
                    out[row, col] = 0.0
        return NextTokenLogits(out, tuple(len(p) for p in prompt_ids))

    def generate(self, prompt_ids: Sequence[Sequence[int]], max_new_tokens: int,
                 min_new_tokens: int = 0) -> list[Generation]:
        prompts = [self.decode(p) for p in prompt_ids]
        self.generate_calls.append(list(prompts))
        self.generate_args.append((max_new_tokens, min_new_tokens))
        gens = []
        for prompt, ids in zip(prompts, prompt_ids, strict=True):
            window = [(c, rel(t)) for c, t in _PASSAGE.findall(prompt)]
            text = self.writer(window)
            gens.append(Generation(text, len(ids), len(self.encode(text))))
        return gens


def rerank_inputs(per_query: dict[str, list[float]]):
    """(queries, first-stage run, corpus): one query per key, its documents carrying the
    relevances given (in first-stage order)."""
    docs, ranking = [], {}
    for q, scores in per_query.items():
        ds = [d.__class__(f"{q}-{d.id}", d.text) for d in docs_with_relevance(scores)]
        docs += ds
        ranking[q] = [d.id for d in ds]
    queries = Queries.from_dict({q: f"query {q}" for q in per_query})
    return queries, Run.from_rankings(ranking, name="bm25"), Corpus.from_documents(docs)


def sliding_reference(scores: list[float], w: int, s: int) -> list[int]:
    """Independent sliding-window simulation with a perfect window sorter."""
    order = list(range(len(scores)))
    for a, b in window_spans(len(scores), w, s):
        order[a:b] = sorted(order[a:b], key=lambda i: -scores[i])
    return order
