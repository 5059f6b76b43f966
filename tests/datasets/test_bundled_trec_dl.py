"""The TREC DL 2019/2020 re-ranking subsets ship in the package: every name resolves to them on
a machine without ../shared/data, with the TREC DL rules and the published first-stage numbers."""

from __future__ import annotations

import pytest

from rankify_lite import load_dataset
from rankify_lite.datasets import available_datasets
from rankify_lite.datasets.registry import BUNDLED, load_beir_folder
from rankify_lite.evaluation import evaluate
from rankify_lite.io.trec import read_run

RUNS = ("bm25", "bm25-rm3", "splade-pp-ed", "tas-b", "openai-ada2")
# published nDCG@10 of the first-stage runs (the data README's table; rank_llm / Anserini)
PUBLISHED = {"dl19": {"bm25.top100": 0.5058, "splade-pp-ed.top100": 0.7308},
             "dl20": {"bm25.top100": 0.4796, "splade-pp-ed.top100": 0.7197}}
COUNTS = {"dl19": (8056, 43, 9260), "dl20": (10251, 54, 11386)}


@pytest.fixture
def no_data_dir(monkeypatch):
    """A newcomer's machine: no RANKIFY_LITE_DATA, no ~/.cache/rankify_lite/data."""
    monkeypatch.delenv("RANKIFY_LITE_DATA", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent-home")


@pytest.mark.parametrize("short", ["dl19", "dl20"])
def test_bundled_trec_dl_gives_the_published_numbers(short, no_data_dir):
    year = {"dl19": "2019", "dl20": "2020"}[short]
    names = (short, f"trec-dl/{short}-passage", f"msmarco-passage/trec-dl-{year}")
    loaded = [load_dataset(n) for n in names]
    for ds in loaded:
        assert ds.name == f"trec-dl/{short}-passage"
        assert ds.metadata["source"] == str(BUNDLED[f"trec-dl/{short}-passage"])
        assert ds.rel_level == 2 and not ds.remove_self_hits
        assert "binary metrics count grade >= 2 (TREC DL convention)" in ds.rules.describe()
        assert sorted(ds.runs) == sorted(f"{r}.top100" for r in RUNS)
    ds = loaded[0]
    assert (len(ds.corpus), len(ds.queries), ds.qrels.num_judgments) == COUNTS[short]
    assert {ds.content_hash() for ds in loaded} == {ds.content_hash()}
    for run_name, ndcg in PUBLISHED[short].items():
        run = ds.load_run(run_name)
        assert {len(run.lists[q].doc_ids) for q in run.lists} == {100}
        got = evaluate(run, ds.qrels, ["ndcg@10"], ds.rel_level).mean["ndcg@10"]
        assert round(got, 4) == ndcg


def test_bundled_trec_dl_is_listed(no_data_dir):
    rows = {r["name"]: r for r in available_datasets()}
    for short in ("dl19", "dl20"):
        row = rows[f"trec-dl/{short}-passage"]
        assert row["where"] == "bundled" and row["path"] == str(BUNDLED[f"trec-dl/{short}-passage"])


@pytest.mark.parametrize("short", ["dl19", "dl20"])
def test_bundled_trec_dl_equals_the_shared_copy(short, shared_data):
    folder = shared_data / "trec-dl" / f"{short}-passage"
    shared = load_beir_folder(folder)
    bundled = load_beir_folder(BUNDLED[f"trec-dl/{short}-passage"])
    assert shared.content_hash() == bundled.content_hash()
    assert shared.rules == bundled.rules
    for r in RUNS:
        plain = read_run(folder / "runs" / f"run.{r}.top100.trec")
        packed = read_run(bundled.runs[f"{r}.top100"])
        assert packed.name == plain.name == f"run.{r}.top100"
        assert packed.content_hash() == plain.content_hash()
