"""Metric-name parsing is a leaf: measure_names imports nothing of the evaluator (no import
circle, not even inside a function), and the evaluator re-exports the names from it."""

from __future__ import annotations

import ast
from pathlib import Path

import rankify_lite.evaluation.measure_names as names
import rankify_lite.evaluation.metrics as metrics


def _imported_modules(module) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def test_measure_names_imports_no_evaluation_module():
    inside = {m for m in _imported_modules(names) if m.startswith("rankify_lite.evaluation")}
    assert inside == set()


def test_the_evaluator_takes_the_names_from_the_leaf():
    for name in ("Metric", "parse_metric", "cutoff", "check_rel_level", "DEFAULT_METRICS"):
        assert getattr(metrics, name) is getattr(names, name)
    assert names.parse_metric("R(rel=2)@1000") == names.Metric("recall", 1000, 2)
    assert names.parse_metric("nDCG@10").name == "ndcg@10"
