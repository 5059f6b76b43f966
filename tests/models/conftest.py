"""Fixtures for the shared model wrappers: real cached models (skip if absent) and tiny
random-weight models the tests build from a config."""

from __future__ import annotations

import pytest
from helpers.tiny import WORDS, _cached_or_skip, tiny_bert_folder  # noqa: F401


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    return tiny_bert_folder(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_bert_mlm(tmp_path_factory) -> str:
    return tiny_bert_folder(tmp_path_factory.mktemp("tiny-bert-mlm"), mlm=True)


@pytest.fixture(scope="session")
def cached_or_skip():
    """``cached_or_skip(repo_id)``: the id if the model is in the HF cache, else skip."""
    return _cached_or_skip


@pytest.fixture(scope="session")
def words() -> tuple[str, ...]:
    return tuple(WORDS)
