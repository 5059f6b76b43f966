"""The CLI's help names the defaults the commands actually use (rankify_lite.metric_defaults)."""

from __future__ import annotations

import re

import pytest

from rankify_lite.cli.main import main
from rankify_lite.metric_defaults import DEFAULT_METRICS, PIPELINE_METRICS


def _help(capsys, command: str) -> str:
    try:
        assert main([command, "--help"]) in (0, None)
    except SystemExit as done:
        assert done.code in (0, None)
    return re.sub(r"\s+", " ", capsys.readouterr().out)


@pytest.mark.parametrize("command", ["eval", "compare"])
def test_eval_help_names_the_default_metrics(capsys, command):
    assert f"(default: {' '.join(DEFAULT_METRICS)})" in _help(capsys, command)


def test_run_help_names_the_pipeline_default_metrics(capsys):
    text = _help(capsys, "run")
    assert f"the dataset's rules, else {' '.join(PIPELINE_METRICS)})" in text
