"""GroupRank: one prompt per group of candidates, an integer score per document parsed from the output.

Sun et al. 2025, "GroupRank: A Groupwise Reranking Paradigm Driven by Reinforcement Learning"
(arXiv 2511.11653; ``AQ-MedAI/Diver-GroupRank-7B`` / ``-32B``), as the authors' inference code
runs it (``GroupReranker`` in github.com/AQ-MedAI/Diver, ``Reranker/rerank_groupwise.py``,
commit 95b111b):

* **groups across the depth**: for each of ``repeats`` rounds the query's candidates are
  shuffled (in place, so round 2 shuffles round 1's order) by a query's own
  ``random.Random(shuffle_seed)`` and cut into groups ``order[i:i + group_size]`` for ``i`` in
  ``range(0, n, interval)``; the authors' BRIGHT run uses ``group_size=20, interval=20, repeats=6`` (the
  defaults here) and seeds Python's global generator with 666 once per process -- so a query's
  groups here equal the authors' for a run over that query alone;
* **the prompt** (``prompts/grouprank.yaml``, their strings byte for byte): their system and user
  turns through the chat template with the generation prompt; each document is its text with
  newline runs replaced by a space, cut to ``max_doc_chars`` (3000) characters, as
  ``"[k]. text\\n\\n"``;
* **the parse** (:func:`parse_scores`): the ``<answer>`` span when there is one, the last
  fenced ``json`` block in it (else the last ``{...}``), the authors' two repairs (``"[7]]"`` ->
  ``"[7]"``, a missing closing brace), ``json.loads``; each key ``"[k]"`` names the group's
  k-th document and its value divided by 10 is its score;
* **the final score**: the mean of a document's scores over the groups that scored it.

Malformed and missing scores (counted in ``run.metadata["llm_stats"]``): a group whose output
does not parse, names a document outside ``1..group length``, or gives a value that is not a
finite number is *malformed*: every document of that group gets 0 from it (the authors' rule;
``malformed_groups``). A document absent from a well-formed answer gets nothing from that group
(``missing_scores``); values outside 0..10 are kept as the authors keep them
(``out_of_range_scores``). A document no group scored (the authors leave it out of their
output) is ranked below every scored document, in first-stage order (``unscored_docs``).

Differences from the authors' run, stated: decoding is greedy (they sample with temperature 0.3,
top_p 0.8) with ``max_new_tokens`` (8000, theirs) cut to what the context leaves; ``"[0]"`` or a
negative id is malformed here (their list indexing would score the group's last documents); the
0.6 / 0.4 interpolation with first-stage scores they report beside the plain reranker is not
applied (fuse runs for it).
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import RerankItem, Scored
from rankify_lite.rerankers.llm.base import LLMReranker
from rankify_lite.rerankers.prompts.templates import load_prompt
from rankify_lite.types import Document, Query

REQUIRED = ("system", "user", "passage")
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_FENCED = re.compile(r"(?:```json\s*)([\s\S]+?)(?:\s*```)")
_BRACES = re.compile(r"\{[\s\S]*?\}")
_DOUBLE_BRACKET = re.compile(r"(\[\d+\])\]")


@dataclass(frozen=True, slots=True)
class GroupParse:
    """What one group's output gave: ``scores[k]`` for the group's k-th document (0-based) that
    the answer scored (value / 10); ``malformed`` (then every document gets 0.0)."""

    scores: dict[int, float]
    malformed: bool
    reason: str
    out_of_range: int


def _malformed(size: int, reason: str) -> GroupParse:
    return GroupParse({k: 0.0 for k in range(size)}, True, reason, 0)


def parse_scores(output: str, size: int) -> GroupParse:
    """One group's scores from the model's ``output`` (``size`` documents), the authors' way."""
    answer = _ANSWER.search(output)
    text = answer.group(1).strip() if answer else output
    fenced = _FENCED.findall(text)
    if fenced:
        block = fenced[-1].strip()
    else:
        braces = _BRACES.findall(text)
        if not braces:
            return _malformed(size, "no JSON object")
        block = braces[-1]
    block = _DOUBLE_BRACKET.sub(r"\1", block.strip())
    if block.count("{") > block.count("}"):
        block += "}"
    block = re.sub(r"\s+", " ", block).strip()
    try:
        pairs = dict(json.loads(block))
    except (ValueError, TypeError):
        return _malformed(size, "not a JSON object")
    scores: dict[int, float] = {}
    out_of_range = 0
    for key, value in pairs.items():
        try:
            k = int(str(key).strip().strip("[]"))
        except ValueError:
            return _malformed(size, f"key {key!r} is not a document id")
        if not 1 <= k <= size:
            return _malformed(size, f"document [{k}] is not in the group of {size}")
        if not isinstance(value, int | float) or not math.isfinite(value):
            return _malformed(size, f"score {value!r} is not a finite number")
        out_of_range += not 0 <= value <= 10
        scores[k - 1] = value / 10
    return GroupParse(scores, False, "", out_of_range)


def groups_of(n: int, group_size: int, interval: int, repeats: int, seed: int) -> list[list[int]]:
    """The groups (candidate positions) for a query of ``n`` candidates: ``repeats`` rounds of an
    in-place shuffle by one ``random.Random(seed)``, each cut every ``interval`` positions into
    groups of at most ``group_size``."""
    rng = random.Random(seed)
    order = list(range(n))
    out: list[list[int]] = []
    for _ in range(repeats):
        rng.shuffle(order)
        out += [order[i:i + group_size] for i in range(0, n, interval)]
    return out


def _positive(name: str, value: Any, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be a whole number >= 1, got {value!r}.",
                         fix=f"pass e.g. {name}={example}.")
    return value


class GroupRankReranker(LLMReranker):
    """``load_reranker("grouprank", model=..., group_size=20, interval=20, repeats=6)``."""

    family = "grouprank"
    default_model = "AQ-MedAI/Diver-GroupRank-7B"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "group_size", "interval", "repeats",
                                      "shuffle_seed", "max_doc_chars", "max_new_tokens",
                                      "prompt"))

    def __init__(self, model: str | Any | None = None, *, group_size: int = 20,
                 interval: int = 20, repeats: int = 6, shuffle_seed: int = 666,
                 max_doc_chars: int = 3000, max_new_tokens: int = 8000,
                 prompt: str | Path | None = None, **kwargs: Any) -> None:
        self.group_size = _positive("group_size", group_size, "20")
        self.interval = _positive("interval", interval, "20")
        self.repeats = _positive("repeats", repeats, "6")
        self.max_doc_chars = _positive("max_doc_chars", max_doc_chars, "3000")
        self.max_new_tokens = _positive("max_new_tokens", max_new_tokens, "8000")
        if isinstance(shuffle_seed, bool) or not isinstance(shuffle_seed, int):
            raise InputError(f"shuffle_seed must be a whole number, got {shuffle_seed!r}.",
                             fix="pass shuffle_seed=666 (the authors' seed).")
        self.shuffle_seed = shuffle_seed
        self.template = load_prompt(prompt or "grouprank", required=REQUIRED)
        self.prompt_rule = "explicit" if prompt is not None else "family default"
        super().__init__(model, **kwargs)

    def config(self) -> dict[str, Any]:
        return {**self._base_config(), "group_size": self.group_size, "interval": self.interval,
                "repeats": self.repeats, "shuffle_seed": self.shuffle_seed,
                "max_doc_chars": self.max_doc_chars,
                "max_new_tokens": self.max_new_tokens, "decoding": "greedy",
                "prompt": {**self.template.describe(), "source": self.prompt_rule}}

    def prompt(self, query: Query, docs: Sequence[Document]) -> str:
        """The chat-rendered prompt for one group (documents in group order)."""
        passages = "".join(
            self.template.text("passage", idx=k + 1,
                               text=re.sub("\n+", " ", d.full_text())[:self.max_doc_chars])
            for k, d in enumerate(docs))
        user = self.template.text("user", QUERY=query.text, PASSAGES=passages, TOPK=len(docs))
        return self.backend.render_chat([{"role": "system", "content": self.template.text("system")},
                                         {"role": "user", "content": user}])

    def _reset_stats(self) -> None:
        super()._reset_stats()
        self.stats.update(queries=0, groups=0, malformed_groups=0, missing_scores=0,
                          out_of_range_scores=0, unscored_docs=0)

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        jobs: list[tuple[int, list[int]]] = []      # (item index, candidate positions)
        for i, it in enumerate(items):
            jobs += [(i, g) for g in groups_of(len(it.documents), self.group_size, self.interval,
                                               self.repeats, self.shuffle_seed)]
        texts = [self.prompt(items[i].query, [items[i].documents[k] for k in g]) for i, g in jobs]
        ids = [self.prompt_ids(t) for t in texts]
        room = min((self.backend.max_context - len(p) for p in ids), default=1)
        if room < 1:
            raise InputError(f"a group prompt of {max(len(p) for p in ids)} tokens does not fit "
                             f"the model's context of {self.backend.max_context} tokens.",
                             fix="use a smaller group_size or max_doc_chars.")
        gens = self.backend.generate(ids, min(self.max_new_tokens, room)) if ids else []
        self._count(model_calls=int(bool(ids)), prompts=len(ids), groups=len(ids),
                    queries=len(items), input_tokens=sum(g.input_tokens for g in gens),
                    output_tokens=sum(g.output_tokens for g in gens))
        got: list[dict[int, list[float]]] = [{} for _ in items]
        records = []
        for (i, group), text, gen in zip(jobs, texts, gens, strict=True):
            parsed = parse_scores(gen.text, len(group))
            for k, s in parsed.scores.items():
                got[i].setdefault(group[k], []).append(float(s))
            self._count(malformed_groups=int(parsed.malformed),
                        missing_scores=len(group) - len(parsed.scores),
                        out_of_range_scores=parsed.out_of_range)
            records.append({"qid": items[i].query.id,
                            "doc_ids": [items[i].documents[k].id for k in group],
                            "prompt": text, "output": gen.text, "malformed": parsed.malformed,
                            "reason": parsed.reason,
                            "scores": {items[i].documents[group[k]].id: s
                                       for k, s in parsed.scores.items()}})
        finals = [self._finish(it, got[i]) for i, it in enumerate(items)]
        self._log(records + [{"qid": it.query.id, "final_scores": dict(f)}
                             for it, f in zip(items, finals, strict=True)])
        return finals

    def _finish(self, item: RerankItem, got: dict[int, list[float]]) -> list[tuple[str, float]]:
        """Mean score per scored document; unscored ones below all, in first-stage order."""
        means = {k: sum(v) / len(v) for k, v in got.items()}
        floor = min(means.values(), default=0.0) - 1.0
        unscored = [k for k in range(len(item.documents)) if k not in means]
        self._count(unscored_docs=len(unscored))
        n = len(unscored) + 1
        for rank, k in enumerate(unscored):
            means[k] = floor - rank / n
        return [(d.id, means[k]) for k, d in enumerate(item.documents)]
