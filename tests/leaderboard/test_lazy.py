"""LazyReranker's memo of a reranker's config is keyed on everything that config can depend
on (issue #32): a change in models/ (tokenisation, pooling), the prompts, spec.py or the
engines invalidates it; the bundled data, reports and the CLI do not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rankify_lite
from rankify_lite.leaderboard.lazy import _sources_fingerprint, fingerprint_of

PACKAGE = Path(rankify_lite.__file__).parent


@pytest.fixture
def package(tmp_path) -> Path:
    root = tmp_path / "rankify_lite"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__", "*.xz"))
    return root


@pytest.mark.parametrize("changed", ["models/dense_encoder.py", "rerankers/prompts/new.yaml",
                                     "spec.py", "rerankers/engines/tokenizer_side.py",
                                     "cache.py"])
def test_a_change_the_config_can_depend_on_invalidates_the_memo(package, changed):
    before = fingerprint_of(package, "1.0")
    path = package / changed
    path.write_text((path.read_text() if path.exists() else "") + "\n# changed\n")
    assert fingerprint_of(package, "1.0") != before


@pytest.mark.parametrize("changed", ["report/html.py", "cli/main.py", "data/scifact/new.txt"])
def test_data_reports_and_the_cli_do_not(package, changed):
    before = fingerprint_of(package, "1.0")
    path = package / changed
    path.write_text((path.read_text() if path.exists() else "") + "\n# changed\n")
    assert fingerprint_of(package, "1.0") == before


def test_the_version_counts_and_the_live_package_is_fingerprinted():
    assert fingerprint_of(PACKAGE, "1.0") != fingerprint_of(PACKAGE, "1.1")
    assert _sources_fingerprint() == fingerprint_of(PACKAGE, rankify_lite.__version__)
