"""How a reranker's tied scores are ordered before its scores are made strictly decreasing.

Evaluators sort a run by score, so a run with tied scores is scored in the evaluator's tie
order, not in the order it was written. trec_eval (and pytrec_eval, ranx via it, every peer's
published number) sorts by score descending, then by document id descending (``strcmp``; for
UTF-8 text that is code point order, which Python's string order is). The default rule orders
a reranker's tied scores exactly so: our run then evaluates exactly as the raw scores would.
``first-stage`` keeps tied documents in their first-stage order instead (the order before
issue #23). A :class:`~rankify_lite.cascade.Stage` owns the rule the batch driver applies; a
reranker's ``ties`` (:func:`with_ties`, ``load_reranker(..., ties=...)``) is the rule a stage
takes by default. The rule is part of the reranker's config (it changes the run) and of its spec.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

from rankify_lite.errors import InputError, RankifyError

TREC_EVAL = "trec_eval"
FIRST_STAGE = "first-stage"
RULES = (TREC_EVAL, FIRST_STAGE)
DEFAULT = TREC_EVAL


def check_rule(rule: Any) -> str:
    """``rule`` when it is a known tie rule; otherwise a one-line refusal."""
    if rule not in RULES:
        raise InputError(f"tie rule {rule!r} is unknown.",
                         fix=f"use ties='{TREC_EVAL}' (the default: score, then doc id "
                             f"descending, as trec_eval sorts) or ties='{FIRST_STAGE}'.")
    return rule


def order(head: Sequence[str], scores: Mapping[str, float], rule: str = DEFAULT,
          query: str | None = None) -> list[str]:
    """``head`` (the candidates in first-stage order) best first by ``scores``, ties by
    ``rule``. Every score must be finite: a NaN compares false with everything, so sorting
    would leave it (and the documents around it) wherever it happened to be, silently; the
    refusal names ``query`` and the first such document."""
    bad = next((d for d in head if not math.isfinite(scores[d])), None)
    if bad is not None:
        where = f"query {query!r}, " if query is not None else ""
        raise RankifyError(f"the model scored {where}document {bad!r} {scores[bad]!r}, not a "
                           "finite number; a ranking cannot be made from it. Fix: check the model's dtype "
                           "and inputs (a float16 overflow?), or report the family's bug")
    if rule == FIRST_STAGE:
        position = {d: i for i, d in enumerate(head)}
        return sorted(head, key=lambda d: (-scores[d], position[d]))
    check_rule(rule)
    by_id = sorted(head, reverse=True)             # doc id descending ...
    return sorted(by_id, key=lambda d: -scores[d])  # ... kept within equal scores (stable)


def with_ties(reranker: Any, rule: str) -> Any:
    """``reranker`` ordering ties by ``rule`` (a shallow copy: the model is shared); the rule
    is recorded in its spec, so ``rerun`` rebuilds it with the same rule."""
    check_rule(rule)
    if rule == getattr(reranker, "ties", DEFAULT):
        return reranker
    other = copy.copy(reranker)
    other.ties = rule
    options = getattr(other, "_spec_options", None)
    if options is not None:
        other._spec_options = {**options, "ties": rule}
    return other
