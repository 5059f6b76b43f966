"""Metric names, ours and ir_measures', read and written by our evaluator (a leaf module:
the evaluator in :mod:`~rankify_lite.evaluation.metrics` imports it, never the reverse).

Ours: ``ndcg@10``, ``recall@100-l2``, ``map``, ``mrr@10``, ``p@10`` (:func:`parse_metric`).
Names the ir_measures way (``nDCG@10``, ``R(rel=2)@1000``, ``AP(rel=2)``, ``RR@10``, ``P@10``,
and ir_measures' measure objects themselves, whose ``str()`` is that name) are accepted
wherever our names are (``ndcg@10``, ``recall@1000-l2``, ...). Names without parameters are
already ours (matching is case-insensitive); this module reads the parenthesised parameters.

One convention differs on purpose: a name *without* ``rel=`` uses the evaluation's relevance
level (the collection rules: 2 on TREC DL), exactly as our own names do, while ir_measures itself
would use 1. Write ``R(rel=1)@100`` to force level 1. :func:`ir_measures_name` gives the
ir_measures name that computes what we compute, with the level spelled out.

Only what our evaluator computes is accepted: nDCG (log2 discount, graded gains), AP, R, RR and
P, with ``cutoff`` and ``rel``; ``judged_only=True``, custom ``gains`` or ``dcg='exp-log2'`` are
refused with the fix, never silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rankify_lite.errors import InputError
from rankify_lite.io.numbers import CUTOFF, REL_LEVEL
from rankify_lite.metric_defaults import DEFAULT_METRICS, PIPELINE_METRICS  # noqa: F401

_FAMILIES = {
    "ndcg": ("ndcg", "nDCG"), "ndcg_cut": ("ndcg", "nDCG"),
    "recall": ("recall", "R"), "r": ("recall", "R"),
    "map": ("map", "MAP"), "ap": ("map", "MAP"),
    "mrr": ("mrr", "MRR"), "rr": ("mrr", "MRR"), "recip_rank": ("mrr", "MRR"),
    "precision": ("precision", "P"), "p": ("precision", "P"),
}
_PATTERN = re.compile(r"^([a-z_]+)(?:[@_.]([0-9]+))?(?:-l([0-9]+))?$")


@dataclass(frozen=True, slots=True)
class Metric:
    family: str            # ndcg | recall | map | mrr | precision
    k: int                 # 0 = whole list
    rel_level: int | None  # None = the evaluation's default level

    @property
    def name(self) -> str:
        base = self.family + (f"@{self.k}" if self.k else "")
        return base + (f"-l{self.rel_level}" if self.rel_level is not None else "")

    @property
    def label(self) -> str:
        """Display label as papers write it: nDCG@10, R@100, MAP@1000."""
        short = _FAMILIES[self.family][1]
        level = f" (rel>={self.rel_level})" if self.rel_level is not None else ""
        return short + (f"@{self.k}" if self.k else "") + level

    def __str__(self) -> str:
        return self.name


def parse_metric(text: str | Metric) -> Metric:
    """Parse 'ndcg@10', 'nDCG@10', 'R@100', 'recall_1000', 'map', 'mrr@10-l2', ... and the
    ir_measures names 'R(rel=2)@1000', 'AP(rel=2)', 'RR@10' (see measure_names)."""
    if isinstance(text, Metric):
        return text
    if "(" in str(text):  # an ir_measures name with parameters: R(rel=2)@1000, AP(rel=2)
        return parse_ir_measures(str(text))
    m = _PATTERN.match(str(text).strip().lower())
    if not m or m.group(1) not in _FAMILIES:
        names = ("ndcg@k, recall@k, map[@k], mrr[@k], precision@k (suffix -lN for a level), "
                 "or ir_measures names: nDCG@10, R(rel=2)@1000, AP(rel=2), RR@10, P@10")
        raise InputError(f"unknown metric {text!r}.", fix=f"use one of: {names}.")
    family = _FAMILIES[m.group(1)][0]
    k = 0 if m.group(2) is None else cutoff(m.group(2), text, f"{family}@10")
    level = None if m.group(3) is None else REL_LEVEL.parse(m.group(3), f"metric {text!r}: level")
    return Metric(family, k, level)


def cutoff(digits: str, text: str, example: str) -> int:
    """The cut-off ``digits`` of metric ``text`` (the one bound for every metric name): a
    whole number in [1, 10^7]; 0 (``ndcg@0``) and huge ones are refused with the fix."""
    if digits.strip("0") == "":
        raise InputError(f"metric {text!r} has cut-off 0.",
                         fix=f"use a cut-off >= 1 (e.g. {example}), or no cut-off for the "
                             "whole list.")
    return CUTOFF.parse(digits, f"metric {text!r}: cut-off",
                        fix=f"use a cut-off in [1, {CUTOFF.high:,}], e.g. {example}.")




def check_rel_level(level: object) -> int:
    """``level`` if it is a whole number >= 0 (trec_eval ``-l``), else an InputError."""
    return REL_LEVEL.check(level, "relevance level", fix=(
        "binary metrics count grades >= the level: 1 by default, 2 for TREC DL "
        "(trec_eval -l 2)."))


#: ir_measures name (lower case; aliases included) -> our family
FAMILIES = {"ndcg": "ndcg", "ap": "map", "map": "map", "r": "recall", "recall": "recall",
            "rr": "mrr", "mrr": "mrr", "p": "precision", "precision": "precision"}
#: our family -> the ir_measures name written by ir_measures_name()
NAMES = {"ndcg": "nDCG", "map": "AP", "recall": "R", "mrr": "RR", "precision": "P"}
_NEEDS_CUTOFF = {"recall", "precision"}
_SHAPE = re.compile(r"^\s*([A-Za-z_]+)\s*\(([^()]*)\)\s*(?:@\s*([0-9]+))?\s*$")
_PARAM = re.compile(r"^\s*([a-z_]+)\s*=\s*(.+?)\s*$")
SUPPORTED = "nDCG@k, AP[@k], R@k, RR[@k], P@k, with (rel=N) on AP, R, RR and P"


def is_ir_measures_name(text: str) -> bool:
    """True for a parenthesised ir_measures name (``R(rel=2)@100``); the plain ones are ours too."""
    return "(" in text


def parse_ir_measures(text: str) -> Metric:
    """The :class:`~rankify_lite.evaluation.metrics.Metric` of an ir_measures name."""
    m = _SHAPE.match(text)
    if not m or m.group(1).lower() not in FAMILIES:
        raise InputError(f"unknown ir_measures measure {text!r}.",
                         fix=f"use one of: {SUPPORTED} (or our names: ndcg@10, recall@100-l2).")
    family = FAMILIES[m.group(1).lower()]
    example = f"{NAMES[family]}@10"
    k = cutoff(m.group(3), text, example) if m.group(3) is not None else 0
    level: int | None = None
    params = [p for p in m.group(2).split(",") if p.strip()]
    for raw in params:
        pm = _PARAM.match(raw)
        if not pm:
            raise InputError(f"measure {text!r}: cannot read parameter {raw.strip()!r}.",
                             fix="write parameters as name=value, e.g. R(rel=2)@100.")
        key, value = pm.group(1), pm.group(2).strip().strip("'\"")
        if key == "rel" and family != "ndcg":
            level = REL_LEVEL.parse(value, f"measure {text!r}: rel", fix="write e.g. rel=2.")
        elif key == "cutoff":
            if not value.isascii() or not value.isdigit():
                raise InputError(f"measure {text!r}: cutoff={value!r} is not a whole number >= 1.",
                                 fix="write e.g. cutoff=10 (or @10).")
            if k and k != int(value):
                raise InputError(f"measure {text!r} gives two different cut-offs.",
                                 fix="give the cut-off once, e.g. @10.")
            k = cutoff(value, text, example)
        elif key == "judged_only" and value.lower() in ("false", "0"):
            continue
        elif key == "dcg" and family == "ndcg" and value == "log2":
            continue
        else:
            raise InputError(
                f"measure {text!r}: parameter {key}={value} is not computed by our evaluator.",
                fix=f"we compute {SUPPORTED} (judged_only=False, nDCG with graded gains and the "
                    "log2 discount); use ir_measures directly for the others.")
    if family in _NEEDS_CUTOFF and not k:
        raise InputError(f"measure {text!r} needs a cut-off (ir_measures requires one for "
                         f"{NAMES[family]}).", fix=f"write e.g. {NAMES[family]}@100.")
    return parse_metric(Metric(family, k, level))


def ir_measures_name(metric: str | Metric, rel_level: int = 1) -> str:
    """The ir_measures name that computes ``metric`` as our evaluator does at ``rel_level``
    (``recall@100`` at level 2 -> ``R(rel=2)@100``; nDCG's graded gains need no level)."""
    metric = parse_metric(metric)
    name = NAMES[metric.family]
    level = metric.rel_level if metric.rel_level is not None else rel_level
    if metric.family == "ndcg":
        if metric.rel_level not in (None, 1):
            raise InputError(f"{metric.name} (nDCG counting only grades >= {metric.rel_level}) "
                             "has no plain ir_measures name.",
                             fix="use ndcg@k without a level for ir_measures' nDCG@k.")
    elif level != 1:
        name += f"(rel={level})"
    return name + (f"@{metric.k}" if metric.k else "")
