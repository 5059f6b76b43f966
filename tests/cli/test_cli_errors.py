"""Every bad input on the command line: exit 2 and one line naming the problem and the fix."""

from __future__ import annotations

import json

import pytest

from rankify_lite.cli.main import main


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rankify-lite: error:") and "Traceback" not in err
    return err


def test_rel_level_zero_is_honoured_and_negative_refused(shared_data, capsys):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    folder = shared_data / "trec-dl" / "dl19-passage"
    run = folder / "runs" / "run.bm25.top100.trec"
    assert main(["eval", "--dataset", "dl19", "--run", str(run), "-m", "recall@100",
                 "--rel-level", "0", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)[0]["mean"]["recall@100"]
    from rankify_lite import load_dataset
    from rankify_lite.io.trec import read_run

    ds = load_dataset("dl19")
    # trec_eval -l 0 counts grade >= 0; pytrec_eval refuses level 0, so shift grades by one
    shifted = {q: {d: g + 1 for d, g in docs.items()} for q, docs in ds.qrels.to_dict().items()}
    per_q = pytrec_eval.RelevanceEvaluator(shifted, {"recall.100"}, relevance_level=1
                                           ).evaluate(read_run(run).to_dict())
    ref = sum(per_q[q]["recall_100"] for q in ds.qrels) / len(ds.qrels)
    assert got == pytest.approx(ref, abs=1e-9)
    assert got != pytest.approx(0.4910, abs=1e-3)  # not silently level 2 (or 1)
    # refused by argparse's type, in one line
    assert main(["eval", "--dataset", "dl19", "--run", str(run), "--rel-level", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "--rel-level '-1' is out of range: it must be a whole number >= 0" in err


def test_eval_prints_the_rules_it_used(shared_data, capsys):
    run = shared_data / "trec-dl" / "dl19-passage" / "runs" / "run.bm25.top100.trec"
    assert main(["eval", "--dataset", str(shared_data / "trec-dl" / "dl19-passage"),
                 "--run", str(run), "-m", "recall@100"]) == 0
    out = capsys.readouterr()
    assert "0.4910" in out.out
    assert "binary metrics count grade >= 2 (TREC DL convention)" in out.err


def test_missing_and_folder_paths(tmp_path, capsys):
    qrels = tmp_path / "q.tsv"
    qrels.write_text("q1\td1\t1\n")
    err = _error(capsys, ["eval", "--qrels", str(qrels), "--run", str(tmp_path / "none.trec")])
    assert "none.trec: run file does not exist" in err
    err = _error(capsys, ["eval", "--qrels", str(qrels), "--run", str(tmp_path)])
    assert "is a folder, not a file" in err


def test_ndcg_at_0_is_refused(tmp_path, capsys):
    qrels = tmp_path / "q.tsv"
    qrels.write_text("q1\td1\t1\n")
    run = tmp_path / "r.trec"
    run.write_text("q1 Q0 d1 1 1.0 t\n")
    assert "cut-off 0" in _error(capsys, ["eval", "--qrels", str(qrels), "--run", str(run),
                                          "-m", "ndcg@0"])


@pytest.mark.parametrize("content", [None, "{not json", "[1, 2]", '{"pipeline": {"depth": 3}}',
                                     '{"pipeline": {"retriever": 5}, "dataset": {}}'])
def test_rerun_with_missing_or_garbled_meta(tmp_path, capsys, content):
    meta = tmp_path / "meta.json"
    if content is not None:
        meta.write_text(content)
    err = _error(capsys, ["rerun", str(meta)])
    assert "meta.json" in err or "metadata" in err


def test_output_pointing_at_a_file_or_a_used_folder(shared_data, tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    args = ["run", "--dataset", "dl19", "--retriever", "run:bm25.top100", "--no-cache"]
    assert "is a file, not a folder" in _error(capsys, [*args, "--output", str(target)])
    assert target.read_text() == "keep me"
    out = tmp_path / "out"
    assert main([*args, "--output", str(out)]) == 0
    capsys.readouterr()
    assert "already holds a saved result" in _error(capsys, [*args, "--output", str(out)])
    assert main([*args, "--output", str(out), "--overwrite"]) == 0


def test_run_prints_rules_and_by_path_equals_by_name(shared_data, capsys):
    numbers = []
    for dataset in ("dl19", str(shared_data / "trec-dl" / "dl19-passage")):
        assert main(["run", "--dataset", dataset, "--retriever", "run:bm25.top100", "--no-cache",
                     "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        numbers.append(result["metrics"]["bm25.top100"])
        assert result["rules"]["rel_level"] == 2
    assert numbers[0] == numbers[1]
    assert round(numbers[0]["recall@100"], 4) == 0.4910
    assert main(["run", "--dataset", "dl19", "--retriever", "run:bm25.top100", "--no-cache"]) == 0
    assert "rules: binary metrics count grade >= 2 (TREC DL convention)" in capsys.readouterr().out
