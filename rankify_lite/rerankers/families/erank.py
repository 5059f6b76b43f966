"""ERank: pointwise reasoning that ends in an integer relevance score, weighted by its probability.

Cai et al. 2025, "ERank: Fusing Supervised Fine-Tuning and Reinforcement Learning for Effective
and Efficient Text Reranking" (arXiv 2509.00520; ``Alibaba-NLP/ERank-4B`` / ``-14B`` /
``-32B``, Qwen3 backbones; the authors' code, github.com/YZ-Cai/ERank, could not be read here).
For each (query, passage) the prompt (``prompts/erank.yaml``: the words of the paper's Figure 5
with the task ``instruction`` of its Table 7, through the chat template) asks for reasoning in
a think block and then ``<answer>`` with an integer from 0 to 10.
The paper's final ranking score is ``s * Pr(token = s)`` (Section 3.2): the integer the model
writes times the probability of that token. Here:

1. the model reasons greedily for at most ``reasoning_token_budget`` tokens; the prompt is
   extended with its text up to ``</think>`` and then up to where it writes the integer (its own
   ``<answer>`` and spacing), or ``<answer>`` when it wrote none; when the budget ran out the
   reasoning is cut after its last full sentence and ``</think><answer>`` is forced (as Rank1's
   fix-up does) -- see :mod:`rankify_lite.rerankers.llm.reasoning`;
2. one forward pass reads, at the integer's position, the logits of the first token of each
   integer 0..10 (:func:`score_tokens`); ``s`` is the most probable one (what greedy decoding
   writes) and ``Pr`` its probability normalised over those tokens (the engine seam gives logits
   restricted to chosen ids, not the full-vocabulary softmax -- stated difference);
3. an integer spelled with two tokens (``"10"`` as ``"1" "0"`` in digit-splitting tokenizers
   such as Qwen's) is decided by a second pass after its first token, between its second token
   and the first token of ``</answer>``; ``Pr`` is then the product of the two steps.

``thinking=False`` renders the chat template with ``enable_thinking=False`` (Qwen3's writes an
empty think block) and reads the integer right after ``<answer>``. A model that closed its block
but wrote no ``<answer>`` integer is still read after a written ``<answer>`` (the stated rule),
and counted. Queries and passages are cut to ``text_tokens`` tokens (2048, the paper's
truncation). ``run.metadata["llm_stats"]`` counts ``output_tokens``, ``forced_closes``,
``missing_answers`` (closed blocks without an integer answer), ``second_passes`` and queries.
Scores of 0 tie (0 times any probability), as in the paper; the stage's tie rule orders them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import RerankItem, Scored
from rankify_lite.rerankers.engines.llm_backend import LLMBackend, continuation_ids
from rankify_lite.rerankers.families._scoring import split_per_query
from rankify_lite.rerankers.llm.base import LLMReranker
from rankify_lite.rerankers.llm.reasoning import Reasoning, check_budget, think
from rankify_lite.rerankers.prompts.templates import load_prompt
from rankify_lite.types import Document, Query

REQUIRED = ("instruction", "user", "think_close", "forced", "answer_open", "answer_close")
SCORES = tuple(range(11))
#: tokens kept free after the prompt for the close marker, <answer> and the integer
CLOSE_RESERVE = 16


@dataclass(frozen=True)
class ScoreTokens:
    """How the integers 0..10 are read after ``<answer>``: ``first`` the distinct first tokens;
    ``single[t]`` the integer spelled by token ``t`` alone; ``pairs[t]`` the integers spelled
    ``t`` + a second token ({second id: integer}); ``close[t]`` the first token of the answer's
    close after ``t`` (for the second pass when ``t`` is also an integer by itself)."""

    first: list[int]
    single: dict[int, int]
    pairs: dict[int, dict[int, int]]
    close: dict[int, int]


def score_tokens(backend: LLMBackend, context: str, close: str) -> ScoreTokens:
    """The token ids of the integers 0..10 right after ``context`` (which ends at ``<answer>``);
    an integer of more than two tokens is refused."""
    single: dict[int, int] = {}
    pairs: dict[int, dict[int, int]] = {}
    first: list[int] = []
    for k in SCORES:
        toks = continuation_ids(backend, context, str(k))
        if any(t < 0 for t in toks) or not 1 <= len(toks) <= 2:
            raise InputError(f"the score {k} is {len(toks)} tokens after '<answer>' for this "
                             f"model's tokenizer ({toks}); ERank reads integers of one or two "
                             "tokens.", fix="use a model whose tokenizer spells 0..10 in at "
                                            "most two tokens.")
        if toks[0] not in first:
            first.append(toks[0])
        if len(toks) == 1:
            single[toks[0]] = k
        else:
            pairs.setdefault(toks[0], {})[toks[1]] = k
    closes = {}
    for t, k in single.items():
        if t in pairs:
            after = continuation_ids(backend, context + str(k), close)
            if not after or after[0] < 0 or after[0] in pairs[t]:
                raise InputError(f"'{close}' does not start with its own token after the score "
                                 f"{k}.", fix="use a template whose answer_close is a clean "
                                              "continuation after an integer.")
            closes[t] = after[0]
    return ScoreTokens(first, single, pairs, closes)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class ERankReranker(LLMReranker):
    """``load_reranker("erank", model=..., reasoning_token_budget=2048, thinking=True)``."""

    family = "erank"
    default_model = "Alibaba-NLP/ERank-4B"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "thinking", "reasoning_token_budget",
                                      "instruction", "text_tokens", "prompt"))

    def __init__(self, model: str | Any | None = None, *, thinking: bool = True,
                 reasoning_token_budget: int = 2048, instruction: str | None = None,
                 text_tokens: int = 2048, prompt: str | Path | None = None,
                 **kwargs: Any) -> None:
        check_budget(thinking, reasoning_token_budget)
        if isinstance(text_tokens, bool) or not isinstance(text_tokens, int) or text_tokens < 1:
            raise InputError(f"text_tokens must be a whole number >= 1, got {text_tokens!r}.",
                             fix="use e.g. text_tokens=2048 (the paper's truncation).")
        template = load_prompt(prompt or "erank", required=REQUIRED)  # fails before the model
        super().__init__(model, **kwargs)
        self.thinking = thinking
        self.reasoning_token_budget = int(reasoning_token_budget)
        self.text_tokens = text_tokens
        self.template = template
        self.instruction = template.text("instruction") if instruction is None else instruction
        self.prompt_rule = "explicit" if prompt is not None else "family default"
        context = (self._render("x") + template.text("forced", reasoning="") +
                   template.text("answer_open"))
        self.tokens = score_tokens(self.backend, context, template.text("answer_close"))

    def config(self) -> dict[str, Any]:
        return {**self._base_config(), "thinking": self.thinking,
                "reasoning_token_budget": self.reasoning_token_budget,
                "instruction": self.instruction, "text_tokens": self.text_tokens,
                "prompt": {**self.template.describe(), "source": self.prompt_rule},
                "score_token_ids": self.tokens.first, "decoding": "greedy",
                "score": "s * Pr(s), Pr normalised over the score tokens"}

    # -- prompts ---------------------------------------------------------------------------------
    def _render(self, user: str) -> str:
        return self.backend.render_chat([{"role": "user", "content": user}],
                                        enable_thinking=None if self.thinking else False)

    def _cut(self, text: str) -> str:
        ids = self.backend.encode(text)
        return text if len(ids) <= self.text_tokens else self.backend.decode(ids[:self.text_tokens])

    def prompt(self, query: Query, doc: Document) -> str:
        """The prompt text for one pair (query and passage cut to ``text_tokens``)."""
        text = self._render(self.template.text("user", instruction=self.instruction,
                                               query=self._cut(query.text),
                                               passage=self._cut(doc.full_text())))
        room = (self.reasoning_token_budget if self.thinking else 0) + CLOSE_RESERVE
        if len(self.prompt_ids(text)) + room > self.backend.max_context:
            raise InputError(f"the prompt for query {query.id!r} and a reasoning budget of "
                             f"{self.reasoning_token_budget} tokens do not fit the model's "
                             f"context of {self.backend.max_context} tokens.",
                             fix="use a smaller reasoning_token_budget or text_tokens.")
        return text

    def ending(self, thought: Reasoning | None) -> tuple[str, bool]:
        """What follows the prompt before the integer, and whether the model wrote an answer."""
        answer_open = self.template.text("answer_open")
        if thought is None:                                   # thinking off
            return answer_open, True
        if not thought.closed:
            return self.template.text("forced", reasoning=thought.text) + answer_open, False
        own = thought.text + self.template.text("think_close")
        m = re.match(r"\s*" + re.escape(answer_open) + r"\s*", thought.answer)
        if m is None:
            return own + answer_open, False
        wrote = re.match(r"\d", thought.answer[m.end():]) is not None
        return own + thought.answer[:m.end()], wrote

    # -- scoring ---------------------------------------------------------------------------------
    def read_scores(self, extended: Sequence[Sequence[int]]) -> tuple[list[int], np.ndarray]:
        """(integer, its probability) at the answer position of each extended prompt."""
        tk = self.tokens
        out = self.backend.next_token_logits(extended, tk.first)
        self._count(model_calls=1, prompts=len(extended), input_tokens=sum(out.input_tokens))
        p = _softmax(out.logits.astype(np.float64))
        best = p.argmax(axis=1)
        ints: list[int] = []
        probs = p[np.arange(len(extended)), best].copy()
        second: dict[int, list[int]] = {}
        for row, col in enumerate(best):
            t = tk.first[col]
            if t in tk.pairs and (t in tk.single or len(tk.pairs[t]) > 1):
                second.setdefault(t, []).append(row)
                ints.append(-1)
            else:
                ints.append(tk.single[t] if t in tk.single else next(iter(tk.pairs[t].values())))
        for t, rows in second.items():                       # e.g. "1" then "0" (10) or close
            cands = list(tk.pairs[t]) + ([tk.close[t]] if t in tk.single else [])
            got = self.backend.next_token_logits([list(extended[r]) + [t] for r in rows], cands)
            self._count(model_calls=1, prompts=len(rows), input_tokens=sum(got.input_tokens),
                        second_passes=len(rows))
            q = _softmax(got.logits.astype(np.float64))
            for r, qrow in zip(rows, q, strict=True):
                c = int(qrow.argmax())
                ints[r] = tk.pairs[t][cands[c]] if c < len(tk.pairs[t]) else tk.single[t]
                probs[r] *= qrow[c]
        return ints, probs

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        pairs = [(it, d) for it in items for d in it.documents]
        texts = [self.prompt(it.query, d) for it, d in pairs]
        thoughts = think(self, texts)
        endings = [self.ending(t) for t in thoughts]
        self._count(queries=len(items), missing_answers=sum(
            1 for t, (_, wrote) in zip(thoughts, endings, strict=True)
            if t is not None and t.closed and not wrote))
        # the whole extended text is tokenized, as the reasoning families build forced prompts
        extended = [self.prompt_ids(t + e) for t, (e, _) in zip(texts, endings, strict=True)]
        ints, probs = self.read_scores(extended)
        scores = np.asarray(ints, dtype=np.float64) * probs
        self._log([{"qid": it.query.id, "doc_id": d.id, "prompt": p, "ending": e,
                    "closed": None if t is None else t.closed, "integer": s, "probability": float(pr),
                    "score": float(v), "output_tokens": 0 if t is None else t.output_tokens}
                   for (it, d), p, (e, _), t, s, pr, v in zip(pairs, texts, endings, thoughts, ints,
                                                              probs, scores, strict=True)])
        return split_per_query(items, scores)

    def _reset_stats(self) -> None:
        super()._reset_stats()
        self.stats.update(queries=0, forced_closes=0, missing_answers=0, second_passes=0)
