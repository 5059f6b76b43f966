"""The default metrics have one copy (rankify_lite.metric_defaults): the evaluator, the
comparison, the collection rules, a leaderboard without ``metrics:`` and the CLI's help all
read it (issue #33: they were set in three places and the help said a fourth thing)."""

from __future__ import annotations

import inspect
import json

from rankify_lite.cli.main import main
from rankify_lite.datasets.rules import CollectionRules
from rankify_lite.evaluation import DEFAULT_METRICS, compare, evaluate
from rankify_lite.leaderboard.config import LeaderboardConfig, parse_config
from rankify_lite.metric_defaults import PIPELINE_METRICS


def test_every_default_is_the_one_constant():
    assert inspect.signature(evaluate).parameters["metrics"].default is DEFAULT_METRICS
    assert inspect.signature(compare).parameters["metrics"].default is DEFAULT_METRICS
    assert LeaderboardConfig.__dataclass_fields__["metrics"].default is DEFAULT_METRICS
    assert CollectionRules().metrics is PIPELINE_METRICS
    assert PIPELINE_METRICS[:len(DEFAULT_METRICS)] == DEFAULT_METRICS


def test_a_leaderboard_without_metrics_scores_the_defaults():
    board = parse_config({"datasets": ["d"], "first_stages": [{"run": "r"}], "rerankers": []})
    assert board.metrics == DEFAULT_METRICS


def test_eval_without_metrics_reports_the_defaults(tmp_path, capsys):
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q1 0 d1 1\nq1 0 d2 0\nq2 0 d3 2\n")
    run = tmp_path / "run.trec"
    run.write_text("q1 Q0 d1 1 2.0 r\nq1 Q0 d2 2 1.0 r\nq2 Q0 d2 1 3.0 r\nq2 Q0 d3 2 1.0 r\n")
    assert main(["eval", "--qrels", str(qrels), "--run", str(run), "--json"]) == 0
    mean = json.loads(capsys.readouterr().out)[0]["mean"]
    assert tuple(mean) == DEFAULT_METRICS
