"""A missing input is its own state (issue #32): an expected-scores check reports entries whose
data is not on this machine as "not run: data missing" with how to get it (never "drifted"),
checks every input before computing anything, and a leaderboard refuses up front, naming every
missing input, instead of computing one dataset and failing on the next."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rankify_lite.cli.main import main
from rankify_lite.leaderboard import check_expected, load_config, load_expected, run_leaderboard
from rankify_lite.leaderboard.expected import failure_report, missing_report


def _tiny_folder(folder: Path) -> Path:
    """A BEIR folder (3 docs, 2 queries) shipping one run, ``r``."""
    (folder / "qrels").mkdir(parents=True)
    (folder / "runs").mkdir()
    docs = {"d1": "cells divide", "d2": "proteins fold", "d3": "genes express"}
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": d, "title": "", "text": t}) + "\n" for d, t in docs.items()))
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "cell division"}) + "\n"
        + json.dumps({"_id": "q2", "text": "protein folding"}) + "\n")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    (folder / "runs" / "run.r.trec").write_text(
        "q1 Q0 d1 1 3.0 r\nq1 Q0 d2 2 2.0 r\nq2 Q0 d3 1 3.0 r\nq2 Q0 d2 2 2.0 r\n")
    return folder


@pytest.fixture
def no_data(monkeypatch, tmp_path):
    """A machine without ../shared/data and a package that bundles only SciFact (which ships
    no runs): the bundled TREC DL sets are taken away so that one dataset is missing."""
    from rankify_lite.datasets import registry

    monkeypatch.setenv("RANKIFY_LITE_DATA", str(tmp_path / "no-data-here"))
    monkeypatch.setattr(registry, "BUNDLED", {"beir/scifact": registry.BUNDLED["beir/scifact"]})
    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "cache"))


def _expected(tmp_path, folder: Path, ndcg: float) -> Path:
    path = tmp_path / "expected.yaml"
    path.write_text(yaml.safe_dump({"entries": [
        {"id": "here", "dataset": str(folder), "first_stage": {"run": "r"},
         "scores": {"ndcg@10": ndcg}, "ci": True},
        {"id": "dl19-gone", "dataset": "trec-dl/dl19-passage",
         "first_stage": {"run": "bm25.top100"}, "scores": {"ndcg@10": 0.5058}, "ci": True},
        {"id": "scifact-run-gone", "dataset": "beir/scifact",
         "first_stage": {"run": "anserini-bm25-flat.top1000"}, "scores": {"ndcg@10": 0.6789},
         "ci": True}]}))
    return path


def test_missing_data_is_not_drift(no_data, tmp_path, capsys):
    folder = _tiny_folder(tmp_path / "tiny")
    probe = check_expected(load_expected(_expected(tmp_path, folder, 0.0)), log=None)
    got = probe[0].got["ndcg@10"]
    path = _expected(tmp_path, folder, got)
    results = check_expected(load_expected(path), log=None)
    assert [r.status for r in results] == ["ok", "missing", "missing"]
    assert not failure_report(results)
    gone = missing_report(results)
    assert "not run: data missing for 2 of 3 entries" in gone
    assert "unknown dataset 'trec-dl/dl19-passage' (not on this machine)" in gone
    assert "RANKIFY_LITE_DATA" in gone and "bundled copy of 'beir/scifact'" in gone
    assert main(["leaderboard", "--check", str(path), "--ci-only"]) == 0
    out = capsys.readouterr().out
    assert "drifted" not in out and "all 1 entries run match" in out and "2 not run" in out
    # the same check where every input must be present fails, saying why
    assert main(["leaderboard", "--check", str(path), "--require-data"]) == 1
    assert "--require-data" in capsys.readouterr().err


def test_a_drift_is_still_a_failure_and_missing_entries_are_listed_apart(no_data, tmp_path,
                                                                         capsys):
    path = _expected(tmp_path, _tiny_folder(tmp_path / "tiny"), 0.01)
    assert main(["leaderboard", "--check", str(path)]) == 1
    captured = capsys.readouterr()
    assert "EXPECTED-SCORE CHECK FAILED: 1 of 1 entries drifted" in captured.err
    assert "dl19-gone" not in captured.err and "dl19-gone" in captured.out


def test_nothing_runnable_is_not_a_pass(no_data, tmp_path, capsys):
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump({"entries": [
        {"id": "dl19-gone", "dataset": "trec-dl/dl19-passage",
         "first_stage": {"run": "bm25.top100"}, "scores": {"ndcg@10": 0.5}}]}))
    assert main(["leaderboard", "--check", str(path)]) == 1
    assert "no entry could run" in capsys.readouterr().err


def test_a_wrong_run_name_on_a_full_folder_is_a_mistake_not_missing_data(no_data, tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump({"entries": [
        {"id": "typo", "dataset": str(_tiny_folder(tmp_path / "tiny")),
         "first_stage": {"run": "rr"}, "scores": {"ndcg@10": 0.5}}]}))
    (result,) = check_expected(load_expected(path), log=None)
    assert result.status == "error" and "use one of: r" in result.error


def test_a_leaderboard_checks_every_input_before_computing(no_data, tmp_path, capsys):
    folder = _tiny_folder(tmp_path / "tiny")
    path = tmp_path / "lb.yaml"
    path.write_text(yaml.safe_dump({
        "name": "lb", "datasets": [str(folder), "trec-dl/dl19-passage", "trec-dl/dl20-passage"],
        "first_stages": [{"name": "r", "run": "r", "datasets": [str(folder)]},
                         {"name": "bm25", "run": "bm25.top100",
                          "datasets": ["trec-dl/dl19-passage", "trec-dl/dl20-passage"]}],
        "rerankers": []}))
    seen: list[str] = []
    with pytest.raises(Exception) as err:
        run_leaderboard(load_config(path), cache=tmp_path / "runs", progress=False,
                        log=seen.append)
    text = str(err.value)
    assert "2 input(s)" in text and "nothing was computed" in text
    assert "trec-dl/dl19-passage" in text and "trec-dl/dl20-passage" in text
    assert seen == [] and not list((tmp_path / "runs").glob("*"))  # the tiny set never ran
    assert main(["leaderboard", str(path), "--output", str(tmp_path / "out")]) == 2
    err_line = capsys.readouterr().err.strip()
    assert len(err_line.splitlines()) == 1 and "Fix:" in err_line
    assert not (tmp_path / "out").exists()


def test_a_model_whose_weights_cannot_be_had_is_missing_not_an_error(no_data, tmp_path,
                                                                      monkeypatch):
    """With the hub off limits, an entry whose reranker's weights are in no local folder or
    cache is "not run" with how to get them (a fresh clone without the offline weights)."""
    folder = _tiny_folder(tmp_path / "tiny")
    path = tmp_path / "expected.yaml"
    path.write_text(yaml.safe_dump({"entries": [
        {"id": "weights-gone", "dataset": str(folder), "first_stage": {"run": "r"},
         "reranker": {"family": "bi-encoder", "model": "no-such-org/no-such-model"},
         "scores": {"ndcg@10": 0.5}, "ci": True},
        {"id": "no-model", "dataset": str(folder), "first_stage": {"run": "r"},
         "reranker": {"family": "identity"}, "scores": {"ndcg@10": 0.0}, "ci": True}]}))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    results = check_expected(load_expected(path), log=None)
    assert results[0].status == "missing"
    assert "weights of 'no-such-org/no-such-model' are not on this machine" in results[0].missing
    assert "huggingface-cli download no-such-org/no-such-model" in missing_report(results)
    assert results[1].status != "missing"
    # with the hub allowed, the same entry is tried (and would download): not reported missing
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    from rankify_lite.leaderboard.inputs import Inputs

    assert Inputs().missing_model(str(folder), "no-such-org/no-such-model") is None
