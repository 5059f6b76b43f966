import json
import subprocess
import sys

import pytest

from rankify_lite.cli.main import main


def test_eval_scifact_flat(shared_data, capsys):
    folder = shared_data / "beir" / "scifact"
    code = main(["eval", "--qrels", str(folder / "qrels" / "test.tsv"),
                 "--run", str(folder / "runs" / "anserini-bm25-flat.top1000.trec.gz"),
                 "-m", "ndcg@10", "-m", "recall@100", "-m", "recall@1000", "--json"])
    assert code == 0
    mean = json.loads(capsys.readouterr().out)[0]["mean"]
    assert [round(mean[m], 4) for m in ("ndcg@10", "recall@100", "recall@1000")] == \
        [0.6789, 0.9253, 0.9767]


@pytest.mark.parametrize("name,expected", [("dl19", 0.5058), ("dl20", 0.4796)])
def test_eval_dl_with_dataset_qrels(shared_data, capsys, name, expected):
    run = shared_data / "trec-dl" / f"{name}-passage" / "runs" / "run.bm25.top100.trec"
    assert main(["eval", "--dataset", name, "--run", str(run), "-m", "ndcg@10"]) == 0
    out = capsys.readouterr().out
    assert f"{expected:.4f}" in out


def test_compare_command_markdown(shared_data, capsys):
    runs = shared_data / "trec-dl" / "dl19-passage" / "runs"
    code = main(["compare", "--dataset", "dl19", "--run", str(runs / "run.bm25.top100.trec"),
                 "--run", str(runs / "run.splade-pp-ed.top100.trec"), "--format", "markdown"])
    assert code == 0
    assert "0.7308<sup>a</sup>" in capsys.readouterr().out


def test_errors_are_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.trec"
    bad.write_text("q Q0 d 1 1.0\n")
    qrels = tmp_path / "q.tsv"
    qrels.write_text("q\td\t1\n")
    assert main(["eval", "--qrels", str(qrels), "--run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1:" in err and "6 columns" in err and "Traceback" not in err


def test_datasets_lists_bundled(capsys):
    assert main(["datasets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert any(r["name"] == "beir/scifact" and r["where"] == "bundled" for r in rows)


def test_entry_point_installed():
    out = subprocess.run([sys.executable, "-m", "rankify_lite.cli.main", "--version"],
                         capture_output=True, text=True, check=True)
    assert "rankify-lite" in out.stdout


def test_run_then_rerun_reproduces_the_files(shared_data, tmp_path, capsys):
    folder = str(shared_data / "beir" / "scifact")
    out1, out2 = tmp_path / "a", tmp_path / "b"
    assert main(["run", "--dataset", folder, "--retriever", "run:anserini-bm25-flat.top1000",
                 "--reranker", "identity", "--depth", "50", "--output", str(out1)]) == 0
    text = capsys.readouterr().out
    assert "0.6789" in text and "0.9253" in text and "0.9767" in text
    assert main(["rerun", str(out1 / "meta.json"), "--output", str(out2)]) == 0
    for f in sorted(out1.glob("*.trec")):
        assert (out2 / f.name).read_bytes() == f.read_bytes()


def test_rerankers_listing(capsys):
    assert main(["rerankers", "--json"]) == 0
    rows = {r["family"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"identity", "cross-encoder", "bi-encoder", "first", "listwise", "pointwise"} <= set(rows)
    assert rows["cross-encoder"]["default_model"] == "cross-encoder/ms-marco-MiniLM-L6-v2"


def test_each_reranker_is_configured_alone_and_chains_run(shared_data, tmp_path, capsys):
    """Two cross-encoders with different models, and a cascade, in one run: kept apart in the
    table and the files, and rerun byte for byte."""
    from helpers.ray_helpers import tiny_cross_encoder

    ce_a = tiny_cross_encoder(tmp_path / "ce-a")
    ce_b = tiny_cross_encoder(tmp_path / "ce-b")
    folder = str(shared_data / "trec-dl" / "dl19-passage")
    out1, out2 = tmp_path / "a", tmp_path / "b"
    assert main(["run", "--dataset", folder, "--retriever", "run:bm25.top100",
                 "--reranker", f"cross-encoder model={ce_a} depth=5",
                 "--reranker", f"cross-encoder model={ce_b} depth=5",
                 "--reranker", f"identity depth=20 >> cross-encoder model={ce_a} depth=5",
                 "--output", str(out1), "--no-cache"]) == 0
    text = capsys.readouterr().out
    for name in ("bm25.top100 » cross-encoder(ce-a)", "bm25.top100 » cross-encoder(ce-b)",
                 "bm25.top100 » identity » cross-encoder(ce-a)"):
        assert name in text
    files = json.loads((out1 / "meta.json").read_text())["files"]
    assert len(files) == 4 and len(set(files.values())) == 4
    assert main(["rerun", str(out1 / "meta.json"), "--output", str(out2)]) == 0
    for f in sorted(out1.glob("*.trec")):
        assert (out2 / f.name).read_bytes() == f.read_bytes()


def test_reranker_values_parse_into_stages():
    from rankify_lite.cli.system_spec import parse_system
    from rankify_lite.errors import InputError

    (ce, first) = parse_system("cross-encoder model=org/ce name=ce depth=100 batch_size=8 >> "
                               "first depth=20 window_size=20 fp16=true")
    assert (ce.family, ce.model, ce.name, ce.depth, ce.options) == \
        ("cross-encoder", "org/ce", "ce", 100, {"batch_size": 8})
    assert (first.family, first.depth, first.options) == \
        ("first", 20, {"window_size": 20, "fp16": True})
    for bad, match in (("depth=3", "starts with a family"), ("identity depth=0", "depth .0. is out of range"),
                       ("identity >> ", "starts with a family"), ("identity x", "KEY=VALUE")):
        with pytest.raises(InputError, match=match):
            parse_system(bad)


def test_stages_are_split_at_unquoted_separators_only(capsys):
    """'>>' inside quotes is part of a value, not a stage boundary (issue #38, item 7): no
    shlex error; a name holding it is refused by the name rule in one line."""
    from rankify_lite.cli.system_spec import parse_system, split_stages
    from rankify_lite.errors import InputError

    assert split_stages("a >> b>>c") == ["a ", " b", "c"]
    assert split_stages("x p='q>>r' >> y") == ["x p='q>>r' ", " y"]
    assert split_stages('x p="q>>r" >> y') == ['x p="q>>r" ', " y"]
    assert split_stages("x p=\\'q >> y") == ["x p=\\'q ", " y"]  # an escaped quote
    assert split_stages("x p='a\\' >> y") == ["x p='a\\' ", " y"]  # no escape in '...'
    (st,) = parse_system("identity prompt='a >> b'")
    assert st.options == {"prompt": "a >> b"}
    (a, b) = parse_system('identity v="1>>2" >> identity name=\'n 2\'')
    assert a.options == {"v": "1>>2"} and b.name == "n 2"
    with pytest.raises(InputError, match="opened at character 15 is never closed"):
        parse_system("identity name='a>>b")
    for bad in ("identity name='a>>b'", 'identity name="x >> y" >> identity'):
        assert main(["run", "--reranker", bad, "--no-cache"]) == 2  # the name rule refuses it
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "'>>'" in err[0] and "name" in err[0], err
        assert "quotation" not in err[0] and "quote" not in err[0]


def test_retriever_options_reach_the_first_stage(capsys):
    """--retriever-option configures the first stage (here BM25's k1/b on bundled SciFact);
    an unknown option is one clear line before anything is indexed."""
    pytest.importorskip("pyserini")
    assert main(["run", "--retriever", "bm25", "--retriever-option", "k1=0.9",
                 "--retriever-option", "b=0.4", "--no-cache", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pipeline"]["retriever"]["k1"] == 0.9 and out["pipeline"]["retriever"]["b"] == 0.4
    assert main(["run", "--retriever", "bm25", "--retriever-option", "k9=1"]) == 2
    err = capsys.readouterr().err
    assert "has no option 'k9'" in err and "k1" in err
