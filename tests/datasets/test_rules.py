"""Collection rules are data: one collection, one set of rules, one number, by path or name."""

from __future__ import annotations

import shutil

import pytest

from rankify_lite import load_dataset
from rankify_lite.datasets.rules import known_collections, lookup
from rankify_lite.errors import InputError
from rankify_lite.evaluation import evaluate

BEIR_18 = ("trec-covid", "bioasq", "nfcorpus", "nq", "hotpotqa", "fiqa", "signal1m", "trec-news",
           "robust04", "arguana", "webis-touche2020", "quora", "dbpedia-entity", "scidocs",
           "fever", "climate-fever", "scifact")


def test_dl19_by_path_and_by_name_give_one_number(shared_data):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    by_path = load_dataset(str(shared_data / "trec-dl" / "dl19-passage"))
    by_name = load_dataset("dl19")
    assert by_path.rules == by_name.rules
    assert by_path.rel_level == by_name.rel_level == 2
    assert not by_path.remove_self_hits and not by_name.remove_self_hits
    assert "binary metrics count grade >= 2 (TREC DL convention)" in by_path.rules.describe()
    run = by_path.load_run("bm25.top100")
    recall = [evaluate(run, ds.qrels, ["recall@100"], ds.rel_level)["recall@100"]
              for ds in (by_path, by_name)]
    # trec_eval -c -l 2, through pytrec_eval with relevance_level=2
    ev = pytrec_eval.RelevanceEvaluator(by_name.qrels.to_dict(), {"recall.100"}, relevance_level=2)
    per_q = ev.evaluate(run.to_dict())
    ref = sum(per_q.get(q, {"recall_100": 0.0})["recall_100"] for q in by_name.qrels) / len(by_name.qrels)
    assert recall[0] == recall[1] == pytest.approx(ref, abs=1e-9)
    assert round(recall[0], 4) == 0.4910


def test_renamed_copy_of_a_known_collection_keeps_its_rules(shared_data, tmp_path):
    copy = tmp_path / "my-experiment"
    shutil.copytree(shared_data / "trec-dl" / "dl19-passage", copy,
                    ignore=shutil.ignore_patterns("runs", "corpus.jsonl"))
    ds = load_dataset(str(copy), with_corpus=False)
    assert ds.rel_level == 2 and not ds.remove_self_hits
    assert "matched by its query ids" in ds.rules.source


def test_unknown_folder_gets_documented_defaults(tmp_path):
    (tmp_path / "qrels").mkdir()
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "a query"}\n')
    (tmp_path / "qrels" / "test.tsv").write_text("q1\td1\t2\n")
    ds = load_dataset(str(tmp_path), with_corpus=False)
    assert ds.rel_level == 1 and not ds.remove_self_hits
    assert ds.rules.source == "defaults"
    assert "grade >= 1" in ds.rules.describe() and "self-hits kept" in ds.rules.describe()


def test_metadata_file_overrides_and_is_validated(tmp_path):
    (tmp_path / "qrels").mkdir()
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "a query"}\n')
    (tmp_path / "qrels" / "dev.tsv").write_text("q1\td1\t2\n")
    (tmp_path / "collection.yaml").write_text(
        "rel_level: 2\nself_hits: remove\nsplit: dev\nmetrics: [ndcg@5, map]\n"
        "convention: my lab's convention\n")
    ds = load_dataset(str(tmp_path), with_corpus=False)  # split comes from the metadata
    assert (ds.rel_level, ds.remove_self_hits, ds.rules.metrics) == (2, True, ("ndcg@5", "map"))
    assert ds.metadata["split"] == "dev"
    assert "my lab's convention" in ds.rules.describe()
    (tmp_path / "collection.yaml").write_text("collection: trec-dl-2019-passage\nsplit: dev\n")
    assert load_dataset(str(tmp_path), with_corpus=False).rel_level == 2
    for bad, message in (("rel_level: -1\n", "rel_level must be"),
                         ("self_hits: maybe\n", "self_hits must be"),
                         ("relevance: 2\n", "unknown key"),
                         ("metrics: [ndcg@0]\n", "cut-off 0"),
                         ("rel_level: [\n", "invalid YAML")):
        (tmp_path / "collection.yaml").write_text(bad)
        with pytest.raises(InputError, match=message) as err:
            load_dataset(str(tmp_path), with_corpus=False)
        assert "collection.yaml" in str(err.value)
    assert "rel_level: [" not in str(err.value)  # a YAML error names the line, never echoes it
    assert "collection.yaml:2:" in str(err.value)  # where YAML found the problem


def test_table_covers_the_known_collections():
    names = set(known_collections())
    for name in BEIR_18:
        assert f"beir/{name}" in names and lookup(name).remove_self_hits
    assert sum(1 for n in names if n.startswith("beir/cqadupstack-")) == 12
    for year in (2019, 2020, 2021, 2022, 2023):
        rules = lookup(f"trec-dl-{year}")
        assert rules.rel_level == 2 and not rules.remove_self_hits
    assert lookup("msmarco-passage/trec-dl-2019/judged").collection == "trec-dl-2019-passage"
    dev = lookup("msmarco-passage/dev/small")
    assert dev.split == "dev" and not dev.remove_self_hits and "mrr@10" in dev.metrics
    assert not lookup("beir/msmarco").remove_self_hits  # MS MARCO ids, even inside BEIR
    # exact names only: a name that merely contains a known one is not it
    assert lookup("my-dl19-variant") is None and lookup("scifact-2") is None


def test_every_local_beir_topic_set_is_recognised(shared_data):
    for folder in sorted((shared_data / "beir-topics-qrels").iterdir()):
        ds = load_dataset(str(folder), with_corpus=False)
        assert ds.rules.collection == f"beir/{folder.name}", folder.name
        assert ds.remove_self_hits and ds.rel_level == 1
