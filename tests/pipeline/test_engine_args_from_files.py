"""vLLM's free-form ``engine_args`` (a download folder, a tokenizer path, a plugin: anything the
engine takes) are on the shared-file allow-list as ``python``: never from a file (issue #38,
item 7). Each route a shared file takes refuses them in one line naming the file and the
field, whatever the user consented to: a leaderboard YAML (a reranker entry, a reranker nested
in a first stage's options), a saved result's meta.json through ``rerun`` (its spec, or the
config of a result saved before specs) and ``pipeline_from_meta`` (the PyTerrier loader)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.small_data import saved_identity_result

from rankify_lite.cli.main import main
from rankify_lite.errors import InputError
from rankify_lite.file_policy import PYTHON, Consent, declared_kinds
from rankify_lite.leaderboard import parse_config
from rankify_lite.pipeline.rebuild import pipeline_from_meta
from rankify_lite.rerankers.engines import ENGINE_OPTIONS

ARGS = {"download_dir": "/", "tokenizer": "/etc"}
CONSENT = Consent(trust_remote_code=True, servers=("http://127.0.0.1:1/v1",))


def test_engine_args_are_declared_python_and_no_engine_declares_them_otherwise():
    from rankify_lite.rerankers.registry import family_info

    assert ENGINE_OPTIONS["vllm"]["engine_args"] == PYTHON
    assert {t.get("engine_args", PYTHON) for t in ENGINE_OPTIONS.values()} == {PYTHON}
    for family in ("pointwise", "first", "listwise", "setwise"):
        assert declared_kinds(family_info(family).cls())["engine_args"] == PYTHON, family


def _board(entry: dict, first_stage: dict | None = None) -> dict:
    return {"name": "t", "datasets": ["trec-dl/dl19-passage"],
            "first_stages": [first_stage or {"name": "bm25", "run": "bm25.top100"}],
            "rerankers": [entry]}


@pytest.mark.parametrize("board, field", [
    (_board({"name": "llm", "family": "pointwise", "model": "m",
             "options": {"engine": "vllm", "engine_args": ARGS}}), "rerankers[0]"),
    (_board({"name": "llm", "family": "first", "model": "m",
             "options": {"engine_args": ARGS}}), "rerankers[0]"),
])
def test_a_leaderboard_yaml_cannot_set_them(board, field):
    for consent in (None, CONSENT):
        with pytest.raises(InputError) as err:
            parse_config(board, consent=consent)
        message = str(err.value)
        assert "engine_args" in message and "only Python may set" in message, message
        assert field in message and "\n" not in message


@pytest.fixture
def saved(shared_data, tmp_path) -> Path:
    return saved_identity_result(shared_data, tmp_path, depth=2)


def _with_spec(meta: dict) -> None:
    meta["pipeline"]["rerankers"][0]["spec"] = {
        "kind": "reranker", "family": "pointwise", "rebuildable": True,
        "options": {"model": "m", "engine": "vllm", "engine_args": ARGS}}


def _config_only(meta: dict) -> None:  # a result saved before specs were recorded
    record = meta["pipeline"]["rerankers"][0]
    record.pop("spec")
    record.pop("name")
    record.update({"family": "pointwise", "model": "m", "engine": "vllm", "engine_args": ARGS})
    meta["pipeline"].pop("systems")


def _nested_in_the_first_stage(meta: dict) -> None:  # a reranker inside a retriever's options
    meta["pipeline"]["first_stage"] = {
        "kind": "retriever", "family": "reranker-feedback", "rebuildable": True, "options": {
            "first_stage": {"$spec": {"kind": "retriever", "family": "bm25", "options": {}}},
            "reranker": "pointwise",
            "reranker_options": {"engine": "vllm", "engine_args": ARGS}}}


@pytest.mark.parametrize("edit, field", [
    (_with_spec, "rerankers[0].spec.options.engine_args"),
    (_config_only, "rerankers[0].engine_args"),
    (_nested_in_the_first_stage, "first_stage.options.reranker_options.engine_args")])
def test_a_saved_result_cannot_set_them(saved, tmp_path, capsys, edit, field):
    meta = json.loads(saved.read_text())
    edit(meta)
    saved.write_text(json.dumps(meta))
    assert main(["rerun", str(saved), "--trust-remote-code", "--output",
                 str(tmp_path / "again")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(saved) in line and field in line and "only Python may set" in line
    assert not (tmp_path / "again").exists()
    for consent in (None, CONSENT):  # the Python loader a PyTerrier user takes
        with pytest.raises(InputError, match="only Python may set") as err:
            pipeline_from_meta(meta, saved.parent, source=str(saved), consent=consent)
        assert field in str(err.value)
