"""``rankify-lite distill``: a shipped run, a run file, or a reranker's output (through the
cached pipeline) as the teacher; the student lands in --output with its metadata."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("sentence_transformers.cross_encoder")
pytest.importorskip("datasets")
pytest.importorskip("accelerate")
from helpers.synthetic import synthetic_task
from helpers.tiny import tiny_bert_folder

from rankify_lite.cli.main import main
from rankify_lite.distill import load_metadata
from rankify_lite.io.trec import write_run

FAST = ["--max-steps", "2", "--batch-size", "4", "--pairs-per-query", "4", "--max-length", "32",
        "--device", "cpu", "--validation-queries", "0"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The synthetic task as a BEIR folder with the teacher shipped as runs/run.count.trec."""
    queries, corpus, teacher = synthetic_task(n_queries=3, docs_per_query=6)
    root = tmp_path_factory.mktemp("ds") / "synthetic"
    (root / "qrels").mkdir(parents=True)
    (root / "runs").mkdir()
    (root / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": d.id, "title": "", "text": d.text}) + "\n" for d in corpus.values()))
    (root / "queries.jsonl").write_text("".join(
        json.dumps({"_id": q.id, "text": q.text}) + "\n" for q in queries.values()))
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{teacher[q].doc_ids[0]}\t1\n" for q in teacher))
    write_run(teacher, root / "runs" / "run.count.trec")
    return root


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> str:
    return tiny_bert_folder(tmp_path_factory.mktemp("enc") / "tiny-bert")


def test_shipped_run_as_teacher(folder, encoder, tmp_path, capsys):
    out = tmp_path / "student"
    code = main(["distill", "--dataset", str(folder), "--teacher", "run:count",
                 "--student", encoder, "--output", str(out), *FAST])
    assert code == 0
    text = capsys.readouterr().out
    assert "teacher count (3 queries, 12 triplets), loss margin-mse" in text
    assert f"--reranker cross-encoder --model {out}" in text
    meta = load_metadata(out)
    assert meta["teacher"]["name"] == "count" and meta["training"]["steps"] == 2
    assert meta["data"]["dataset"] == "synthetic"


def test_reranker_output_as_teacher_with_json(folder, encoder, tmp_path, capsys):
    out = tmp_path / "student"
    code = main(["distill", "--dataset", str(folder), "--teacher",
                 str(folder / "runs" / "run.count.trec"), "--teacher-reranker", "identity",
                 "--depth", "5", "--loss", "listnet", "--list-size", "3",
                 "--lists-per-query", "2", "--labels", "reciprocal-rank",
                 "--student", encoder, "--output", str(out), "--json", *FAST])
    assert code == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta == load_metadata(out)
    assert meta["teacher"]["name"].endswith(">>identity")
    assert meta["teacher"]["metadata"]["reranker"]["family"] == "identity"
    assert meta["teacher"]["depth"] == 5 and meta["config"]["labels"] == "reciprocal-rank"
    assert meta["data"] == {**meta["data"], "examples": 6, "example_kind": "lists"}


def test_bad_teacher_is_one_clear_line(folder, encoder, tmp_path, capsys):
    code = main(["distill", "--dataset", str(folder), "--teacher", "bm25",
                 "--student", encoder, "--output", str(tmp_path / "s"), *FAST])
    assert code == 2
    err = capsys.readouterr().err
    assert "neither run:NAME nor a run file" in err and "shipped: count" in err


def test_a_teacher_file_of_other_queries_names_both_sides(folder, encoder, tmp_path, capsys):
    _, _, teacher = synthetic_task(n_queries=3, docs_per_query=6)
    path = tmp_path / "other.trec"
    write_run(type(teacher)({f"dl-{q}": rl for q, rl in teacher.items()}, name="other"), path)
    code = main(["distill", "--dataset", str(folder), "--teacher", str(path),
                 "--student", encoder, "--output", str(tmp_path / "s"), *FAST])
    assert code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "shares no query id" in line and "['dl-q0', 'dl-q1', 'dl-q2']" in line
    assert "['q0', 'q1', 'q2']" in line and not (tmp_path / "s").exists()


def test_bi_encoder_student_with_held_out_validation(folder, encoder, tmp_path, capsys):
    out = tmp_path / "bi"
    fast = [a for a in FAST if a not in ("--validation-queries", "0")]
    code = main(["distill", "--dataset", str(folder), "--teacher", "run:count",
                 "--student-kind", "bi-encoder", "--negatives", "hard",
                 "--validation-metric", "ndcg@10", "--eval-steps", "1",
                 "--student", encoder, "--output", str(out), *fast])
    assert code == 0
    text = capsys.readouterr().out
    assert "teacher count (2 queries, 8 triplets)" in text        # one of 3 held out
    assert f"--retriever dense --retriever-model {out}" in text
    meta = load_metadata(out)
    assert meta["student"]["kind"] == "bi-encoder" and len(meta["data"]["validation_queries"]) == 1
    assert [r["step"] for r in meta["validation"]["curve"]][:3] == [0, 1, 2]
    assert all("ndcg@10" in r for r in meta["validation"]["curve"])


def test_listwise_kl_temperature_and_bf16_from_the_command_line(folder, encoder, tmp_path, capsys):
    out = tmp_path / "kl"
    code = main(["distill", "--dataset", str(folder), "--teacher", "run:count",
                 "--student-kind", "bi-encoder", "--loss", "distill-kl", "--ways", "3",
                 "--temperature", "0.05", "--bf16", "--student", encoder, "--output", str(out),
                 *FAST])
    assert code == 0
    meta = load_metadata(out)
    assert meta["config"]["bf16"] is True
    assert meta["config"]["temperature"] == 0.05
    assert meta["loss"]["config"]["temperature"] == 0.05
    assert meta["loss"]["class"].endswith("DistillKLDivLoss")


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_folder_of_the_users_is_never_written_into(folder, encoder, tmp_path, capsys,
                                                     overwrite):
    """The output-folder rule (issue #38 item 3): a student's config.json and weights never
    replace a user's files, with or without --overwrite; refused before training."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "config.json").write_text("my config")
    code = main(["distill", "--dataset", str(folder), "--teacher", "run:count",
                 "--student", encoder, "--output", str(out), *FAST, *overwrite])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "never replaced" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]
    assert (out / "config.json").read_text() == "my config"
