"""The BEIR suite (issue #34): benchmarks/leaderboards/beir.yaml and benchmarks/expected/beir.yaml
are valid offline. Every dataset name is a known collection; the topics and qrels in
../shared/data/beir-topics-qrels load with the official counts; the expected file covers every
public dataset with BM25 flat and multifield; ``--check --ci-only`` runs SciFact and names every
other dataset once as "not run: data missing"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rankify_lite.cli.main import main as cli
from rankify_lite.leaderboard import check_expected, load_config, load_expected
from rankify_lite.leaderboard.expected import missing_report

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "benchmarks" / "leaderboards" / "beir.yaml"
EXPECTED = ROOT / "benchmarks" / "expected" / "beir.yaml"

FORUMS = ("android", "english", "gaming", "gis", "mathematica", "physics", "programmers",
          "stats", "tex", "unix", "webmasters", "wordpress")
PUBLIC = ("trec-covid", "nfcorpus", "nq", "hotpotqa", "fiqa", "arguana", "webis-touche2020",
          *(f"cqadupstack-{f}" for f in FORUMS), "quora", "dbpedia-entity", "scidocs", "fever",
          "climate-fever", "scifact")
NOT_PUBLIC = ("bioasq", "signal1m", "trec-news", "robust04")

# Official test-split counts: (queries, qrels rows), counted in Anserini's own topic and qrels
# files, castorini/anserini-tools@5b819c1a45c8a0a3ec9426f476694f44a29dfaf3
# topics/topics.beir-v1.0.0-<name>.test.tsv.gz (lines) and qrels/qrels.beir-v1.0.0-<name>.test.txt
# (lines). Robust04's qrels file is not in that snapshot: only its query count is asserted.
OFFICIAL = {
    "trec-covid": (50, 66334), "nfcorpus": (323, 12334), "nq": (3452, 4201),
    "hotpotqa": (7405, 14810), "fiqa": (648, 1706), "arguana": (1406, 1406),
    "webis-touche2020": (49, 932), "quora": (10000, 15675), "dbpedia-entity": (400, 43515),
    "scidocs": (1000, 29928), "fever": (6666, 7937), "climate-fever": (1535, 4681),
    "cqadupstack-android": (699, 1696), "cqadupstack-english": (1570, 3765),
    "cqadupstack-gaming": (1595, 2263), "cqadupstack-gis": (885, 1114),
    "cqadupstack-mathematica": (804, 1358), "cqadupstack-physics": (1039, 1933),
    "cqadupstack-programmers": (876, 1675), "cqadupstack-stats": (652, 913),
    "cqadupstack-tex": (2906, 5154), "cqadupstack-unix": (1072, 1693),
    "cqadupstack-webmasters": (506, 1395), "cqadupstack-wordpress": (541, 744),
    "bioasq": (500, 2359), "signal1m": (97, 1899), "trec-news": (57, 15655),
    "robust04": (249, None),
}


def test_the_config_loads_with_every_public_dataset_and_both_bm25s():
    config = load_config(CONFIG)
    assert [d.name for d in config.datasets] == [f"beir/{n}" for n in PUBLIC]
    assert {(f.name, f.retriever) for f in config.first_stages} == {
        ("bm25", "bm25"), ("bm25-multifield", "bm25-multifield")}
    assert config.k == 1000 and config.metrics == ("ndcg@10", "recall@100")
    assert config.average == "beir"  # the summary's BEIR-average column
    assert config.rerankers and all(r.depth == 100 for r in config.rerankers)
    assert {r.family for r in config.rerankers} == {"bi-encoder", "cross-encoder"}
    text = CONFIG.read_text()
    assert "needs weights from the hub" in text
    assert all(f"beir/{n}" in text for n in NOT_PUBLIC)  # named as not public, in a comment


@pytest.mark.parametrize("name", [*PUBLIC, *NOT_PUBLIC, "cqadupstack"])
def test_every_name_is_a_known_collection(name):
    from rankify_lite.datasets.rules import known_collections, lookup

    rules = lookup(f"beir/{name}")
    if name == "cqadupstack":  # a group of the 12 forums, each a known collection
        assert rules is None and all(f"beir/cqadupstack-{f}" in known_collections()
                                     for f in FORUMS)
        return
    assert rules is not None and rules.collection == f"beir/{name}"


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_topics_and_qrels_load_with_the_official_counts(shared_data, name):
    from rankify_lite.datasets import load_dataset

    folder = shared_data / "beir-topics-qrels" / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    ds = load_dataset(f"beir/{name}", with_corpus=False)
    queries, qrels = OFFICIAL[name]
    assert len(ds.queries) == queries
    if qrels is not None:
        assert ds.qrels.num_judgments == qrels


def test_the_cqadupstack_group_is_its_12_forums(shared_data):
    from rankify_lite.datasets import DatasetGroup, load_dataset

    group = load_dataset("beir/cqadupstack", with_corpus=False)
    assert isinstance(group, DatasetGroup)
    assert [len(p.queries) for p in group.parts] == [OFFICIAL[f"cqadupstack-{f}"][0]
                                                      for f in FORUMS]
    assert sum(len(p.queries) for p in group.parts) == 13145


def test_the_expected_file_covers_every_public_dataset_flat_and_multifield():
    entries = load_expected(EXPECTED)
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids))
    got = {(e.dataset, e.first_stage.retriever) for e in entries}
    for name in (*PUBLIC, *NOT_PUBLIC):
        assert {(f"beir/{name}", "bm25"), (f"beir/{name}", "bm25-multifield")} <= got, name
    assert all(set(e.scores) == {"ndcg@10", "recall@100"} and e.k == 1000 for e in entries)
    assert {e.dataset for e in entries if e.ci} == {"beir/scifact"}
    by_id = {e.id: e for e in entries}
    assert by_id["scifact-bm25-flat"].scores == {"ndcg@10": 0.6789, "recall@100": 0.9253}
    assert by_id["scifact-bm25-multifield"].scores == {"ndcg@10": 0.6647, "recall@100": 0.9076}
    assert all("not public" in e.note for e in entries if e.dataset[5:] in NOT_PUBLIC)
    assert all("not public" not in e.note for e in entries if e.dataset[5:] in PUBLIC)


def _topics_only(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "cells"}) + "\n")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    return folder


def test_a_dataset_without_its_corpus_is_missing_for_a_retriever_not_for_a_run(tmp_path,
                                                                              monkeypatch):
    from rankify_lite.leaderboard.inputs import Inputs

    monkeypatch.setenv("RANKIFY_LITE_DATA", str(tmp_path))
    _topics_only(tmp_path / "beir-topics-qrels" / "trec-covid")
    inputs = Inputs()
    gone = inputs.missing("beir/trec-covid", needs_corpus=True)
    assert gone is not None and gone.what == "corpus"
    assert "'beir/trec-covid' is here as queries and qrels only" in gone.line()
    assert "$RANKIFY_LITE_DATA/beir/trec-covid" in gone.line()
    assert inputs.missing("beir/trec-covid") is None  # nothing asked of the corpus


def test_ci_only_lists_what_it_cannot_run_without_downloading(tmp_path, monkeypatch):
    """--ci-only looks for the other entries' data on this machine only: an ir_datasets id is
    named as missing, never fetched."""
    from rankify_lite.datasets import irds
    from rankify_lite.leaderboard.expected import parse_expected

    monkeypatch.setenv("RANKIFY_LITE_DATA", str(tmp_path / "nothing"))
    monkeypatch.setattr(irds, "load", lambda *a, **k: pytest.fail("downloaded"))
    _topics_only(tmp_path / "here")
    entries = parse_expected({"entries": [
        {"id": "covid", "dataset": "beir/trec-covid", "first_stage": {"retriever": "bm25"},
         "scores": {"ndcg@10": 0.5947}},
        {"id": "folder", "dataset": str(tmp_path / "here"), "first_stage": {"retriever": "bm25"},
         "scores": {"ndcg@10": 0.1}}]})
    results = check_expected(entries, ci_only=True, log=None)
    assert [(r.entry.id, r.status) for r in results] == [("covid", "missing"),
                                                          ("folder", "missing")]
    report = missing_report(results)
    assert "unknown dataset 'beir/trec-covid' (not on this machine)" in report
    assert "this check downloads nothing" in report
    assert "is here as queries and qrels only" in report


@pytest.mark.slow
def test_check_ci_only_runs_scifact_and_names_every_other_dataset_once(shared_data, capsys):
    """SciFact's flat and multifield BM25 reproduce Anserini; the rest is one line each."""
    assert cli(["leaderboard", "--check", str(EXPECTED), "--ci-only"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"ok +scifact-bm25-flat: ndcg@10 0\.6789", out)
    assert re.search(r"ok +scifact-bm25-multifield: ndcg@10 0\.6647", out)
    lines = [ln for ln in out.splitlines() if ln.startswith("  - ")]
    named = [re.search(r"'beir/([^']+)'", ln).group(1) for ln in lines]
    assert sorted(named) == sorted(n for n in (*PUBLIC, *NOT_PUBLIC) if n != "scifact")
    assert "all 2 entries run match their expected scores; 56 not run" in out


def _tiny_corpus(folder: Path) -> Path:
    _topics_only(folder)
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": d, "title": "", "text": t}) + "\n"
        for d, t in {"d1": "cells divide", "d2": "proteins fold"}.items()))
    return folder


def _here_and_gone(tmp_path):
    """A suite of two datasets: "Here" (a tiny corpus) and "Gone" (queries and qrels only)."""
    import yaml

    here, gone = _tiny_corpus(tmp_path / "here"), _topics_only(tmp_path / "gone")
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({
        "average": "beir", "metrics": ["ndcg@10"],
        "datasets": [{"name": str(here), "label": "Here"}, {"name": str(gone), "label": "Gone"}],
        "first_stages": [{"name": "bm25", "retriever": "bm25"}]}))
    return path, here


def test_a_leaderboard_skips_a_dataset_without_its_corpus_in_one_line(tmp_path, monkeypatch,
                                                                     capsys):
    """--skip-missing: the datasets that cannot run are named, one line each; the rest runs.
    Without it the leaderboard refuses up front, naming the missing corpus."""
    from rankify_lite.errors import InputError
    from rankify_lite.leaderboard import run_leaderboard

    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "cache"))
    path, here = _here_and_gone(tmp_path)
    config = load_config(path)
    with pytest.raises(InputError, match="is here as queries and qrels only"):
        run_leaderboard(config, log=None, progress=False)
    result = run_leaderboard(config, log=None, progress=False, skip_missing=True)
    assert [d.label for d in result.datasets] == ["Here"]
    assert len(result.notes) == 1 and result.notes[0].startswith("not run (data missing): Gone:")
    assert cli(["leaderboard", str(path), "--skip-missing", "--no-plots",
                "--output", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("not run (data missing)") == 1
    table = (tmp_path / "out" / "table.md").read_text()
    assert "## Not run" in table and "Gone:" in table and "| BEIR avg |" in table


def test_offline_the_suite_can_run_scifact_and_names_every_other_dataset(shared_data):
    """What `leaderboard beir.yaml --skip-missing` leaves out here, found before computing."""
    from rankify_lite.leaderboard.inputs import Inputs

    config = load_config(CONFIG)
    gone = Inputs().all_missing((d.name, fs.run) for d in config.datasets
                                for fs in config.first_stages)
    assert sorted({m.dataset for m in gone}) == sorted(f"beir/{n}" for n in PUBLIC
                                                       if n != "scifact")
    assert {m.what for m in gone} == {"corpus"}


def test_datasets_filter_runs_only_the_named_datasets(tmp_path, monkeypatch, capsys):
    """--datasets keeps the named datasets (by name or label), in config order; an unknown name
    is refused with the config's list."""
    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "cache"))
    path, here = _here_and_gone(tmp_path)
    only = load_config(path).only_datasets(["Here"])
    assert [d.label for d in only.datasets] == ["Here"]
    assert cli(["leaderboard", str(path), "--datasets", "Here", "--no-plots",
                "--output", str(tmp_path / "out")]) == 0  # Gone is not even looked at
    assert "Gone" not in (tmp_path / "out" / "table.md").read_text()
    capsys.readouterr()
    assert cli(["leaderboard", str(path), "--datasets", "Nope", "--no-plots",
                "--output", str(tmp_path / "out2")]) != 0
    err = capsys.readouterr().err
    assert "--datasets Nope: not a dataset of" in err and str(here) in err
    full = load_config(CONFIG).only_datasets(["beir/scifact", "beir/nfcorpus"])
    assert [d.name for d in full.datasets] == ["beir/nfcorpus", "beir/scifact"]
