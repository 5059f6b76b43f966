"""Every first stage is a component with a saved spec; results rerun from meta.json alone;
stages report typed statistics."""

from __future__ import annotations

import json

import pytest

from rankify_lite import Pipeline, load_reranker
from rankify_lite.cli.main import main
from rankify_lite.datasets import Dataset
from rankify_lite.retrievers import BM25
from rankify_lite.retrievers.runs import RunFile
from rankify_lite.systems import SystemId


@pytest.fixture(scope="module")
def small_scifact(shared_data, tmp_path_factory) -> Dataset:
    """20 SciFact test queries as a dataset folder (a rerun reloads it from its path)."""
    import shutil

    from rankify_lite import load_dataset

    src = shared_data / "beir" / "scifact"
    folder = tmp_path_factory.mktemp("scifact20")
    shutil.copytree(src, folder, dirs_exist_ok=True)
    qids = [line.split("\t")[0] for line in
            (src / "qrels" / "test.tsv").read_text().splitlines()[1:]]
    keep = list(dict.fromkeys(qids))[:20]
    lines = (src / "queries.jsonl").read_text().splitlines()
    (folder / "queries.jsonl").write_text("\n".join(
        line for line in lines if json.loads(line)["_id"] in keep) + "\n")
    ds = load_dataset(folder)
    assert len(ds.queries) == 20
    return ds


def _rerun_is_identical(meta, out, capsys) -> None:
    assert main(["rerun", str(meta), "--output", str(out)]) == 0
    capsys.readouterr()
    files = json.loads(meta.read_text())["files"]
    for fname in files.values():
        assert (meta.parent / fname).read_bytes() == (out / fname).read_bytes(), fname


def test_a_given_run_reruns_from_its_saved_file(small_scifact, tmp_path, capsys):
    first = small_scifact.load_run("anserini-bm25-flat.top1000")
    result = Pipeline(first, load_reranker("identity"), depth=20, cache=False,
                      progress=False).run(small_scifact)
    meta = result.save(tmp_path / "a")
    saved = json.loads(meta.read_text())["pipeline"]
    assert saved["first_stage"]["family"] == "given-run" and not saved["first_stage"]["rebuildable"]
    _rerun_is_identical(meta, tmp_path / "b", capsys)
    # a run file is an ordinary first stage too, with the same cache identity as the Run
    from_file = RunFile(tmp_path / "a" / "anserini-bm25-flat.top1000.trec",
                        name="anserini-bm25-flat.top1000")
    assert from_file.config()["family"] == "given-run"
    again = Pipeline(from_file, cache=False, progress=False).run(small_scifact)
    assert again.metrics[from_file.name] == result.metrics[from_file.name]


def test_a_retriever_result_reruns_from_its_spec(small_scifact, tmp_path, capsys):
    result = Pipeline(BM25(backend="bm25s", k1=1.1), load_reranker("identity"), depth=10,
                      k=50, cache=False, progress=False).run(small_scifact)
    meta = result.save(tmp_path / "a")
    spec = json.loads(meta.read_text())["pipeline"]["first_stage"]
    assert spec == {"kind": "retriever", "family": "bm25", "rebuildable": True,
                    "options": {"backend": "bm25s", "k1": 1.1}}
    _rerun_is_identical(meta, tmp_path / "b", capsys)


def test_stages_are_typed_and_say_what_the_cache_served(small_scifact, tmp_path):
    from helpers.slow_reranker import HashReranker

    pipe = Pipeline("run:anserini-bm25-flat.top1000", [load_reranker("identity"), HashReranker()],
                    depth=10, cache=tmp_path, progress=False)
    first = pipe.run(small_scifact)
    assert [s.system for s in first.stages] == [
        SystemId("anserini-bm25-flat.top1000"),
        SystemId("anserini-bm25-flat.top1000", "identity", 10),
        SystemId("anserini-bm25-flat.top1000", "hash-test", 10)]
    assert first.systems == tuple(s.system for s in first.stages)
    assert [s.cached for s in first.stages] == [False, False, False]
    rerank = first.stages[2]
    assert rerank.kind == "rerank" and set(rerank.per_query_s) == set(small_scifact.queries)
    assert rerank.wall_s is not None and rerank.queries_per_call == HashReranker().query_batch_size
    again = pipe.run(small_scifact)
    assert [s.cached for s in again.stages] == [True, True, True]
    # a cache hit still knows what the stage cost when it was computed
    assert dict(again.stages[2].per_query_s) == dict(rerank.per_query_s)
    assert again.stages[2].wall_s is None
    saved = json.loads((again.save(tmp_path / "out")).read_text())["stages"]
    assert [s["cached"] for s in saved] == [True, True, True]
