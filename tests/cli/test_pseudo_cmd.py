"""``rankify-lite pseudo-queries`` and ``distill --pseudo-queries``: a tiny random Llama writes
queries for bundled SciFact passages, the set is saved as a BEIR folder, and a tiny bi-encoder
student trains on it end to end (GPL: judged positives, BM25's negatives)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")
pytest.importorskip("datasets")
pytest.importorskip("accelerate")
from helpers.tiny import tiny_bert_folder, tiny_llm_folder

from rankify_lite import load_dataset
from rankify_lite.cli.main import main
from rankify_lite.distill import load_metadata


@pytest.fixture(scope="module")
def llm(tmp_path_factory) -> str:
    return tiny_llm_folder(tmp_path_factory.mktemp("llm") / "tiny-llama")


@pytest.fixture(scope="module")
def scifact_folder(scifact):
    from rankify_lite.datasets.registry import BUNDLED

    return str(BUNDLED["beir/scifact"])


def test_pseudo_queries_command_writes_a_set_load_dataset_reads(llm, scifact_folder, tmp_path,
                                                                 capsys):
    out = tmp_path / "pq"
    code = main(["pseudo-queries", "--dataset", scifact_folder, "--output", str(out),
                 "--generator", llm, "--passages", "5", "--max-new-tokens", "4",
                 "--max-passage-tokens", "32"])
    assert code == 0
    text = capsys.readouterr().out
    spec = json.loads((out / "pseudo_queries.json").read_text())
    c = spec["counts"]
    assert c["passages"] == 5 and c["generated"] + c["dropped_empty"] == 5
    assert f"5 passages -> {c['generated']} queries" in text
    ds = load_dataset(str(out))
    assert len(ds.queries) == c["generated"]
    assert all(len(ds.qrels[q]) == 1 for q in ds.queries)
    assert spec["generator"]["model"] == llm and spec["config"]["passages"] == 5
    # the same command again: refused without --overwrite, then read from the cache
    assert main(["pseudo-queries", "--dataset", scifact_folder, "--output", str(out),
                 "--generator", llm, "--passages", "5", "--max-new-tokens", "4",
                 "--max-passage-tokens", "32"]) == 2
    assert "already holds a pseudo-query set" in capsys.readouterr().err
    assert main(["pseudo-queries", "--dataset", scifact_folder, "--output", str(out),
                 "--generator", llm, "--passages", "5", "--max-new-tokens", "4",
                 "--max-passage-tokens", "32", "--overwrite"]) == 0
    assert "; cached" in capsys.readouterr().out
    # a random model's queries never find their passages: the filter keeps none, and says so
    assert main(["pseudo-queries", "--dataset", scifact_folder, "--output", str(tmp_path / "f"),
                 "--generator", llm, "--passages", "5", "--max-new-tokens", "4",
                 "--max-passage-tokens", "32", "--filter-retriever", "bm25",
                 "--filter-k", "1"]) == 2
    assert "the filter (bm25 top 1) kept none of 5" in capsys.readouterr().err


def test_distill_with_pseudo_queries_end_to_end(llm, scifact_folder, tmp_path, capsys):
    student = tiny_bert_folder(tmp_path / "student-base")
    out = tmp_path / "student"
    code = main(["distill", "--corpus", scifact_folder, "--pseudo-queries", "6",
                 "--generator", llm, "--max-new-tokens", "6", "--max-passage-tokens", "32",
                 "--teacher-retriever", "bm25", "--teacher-k", "20", "--depth", "21",
                 "--teacher-reranker", "identity",
                 "--student", student, "--student-kind", "bi-encoder", "--loss", "margin-mse",
                 "--output", str(out), "--max-steps", "2", "--batch-size", "2",
                 "--pairs-per-query", "2", "--max-length", "32", "--device", "cpu",
                 "--validation-queries", "0"])
    assert code == 0, capsys.readouterr().err
    meta = load_metadata(out)
    assert meta["config"]["negatives"] == "judged" and meta["training"]["steps"] == 2
    pq = load_dataset(str(tmp_path / "student-pseudo-queries"))
    assert meta["data"]["queries_hash"] == pq.queries.content_hash()
    assert meta["teacher"]["name"] == "bm25-lucene-flat>>identity"
    # without the reranker, BM25 never retrieves a random model's sources: refused, with why
    assert main(["distill", "--corpus", scifact_folder, "--pseudo-queries", "6",
                 "--generator", llm, "--max-new-tokens", "6", "--max-passage-tokens", "32",
                 "--teacher-k", "20", "--depth", "20", "--student", student,
                 "--student-kind", "bi-encoder", "--output", str(tmp_path / "s2"),
                 "--max-steps", "1", "--max-length", "32", "--device", "cpu",
                 "--validation-queries", "0"]) == 2
    assert "gives a judged example: no judged-relevant document among its candidates" in \
        capsys.readouterr().err


def test_distill_refuses_a_run_teacher_with_pseudo_queries_and_no_teacher_at_all(
        scifact_folder, tmp_path, capsys):
    assert main(["distill", "--corpus", scifact_folder, "--pseudo-queries", "3",
                 "--teacher", "run:x", "--output", str(tmp_path / "s")]) == 2
    assert "with --pseudo-queries the candidates come from --teacher-retriever" in \
        capsys.readouterr().err
    assert main(["distill", "--dataset", scifact_folder, "--output", str(tmp_path / "s")]) == 2
    assert "distill needs a teacher" in capsys.readouterr().err
