import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.slow_reranker import HashReranker, wait_for_checkpoint

from rankify_lite import Pipeline, load_reranker
from rankify_lite.datasets import Dataset
from rankify_lite.errors import InputError
from rankify_lite.io.trec import read_run
from rankify_lite.rerankers.base import RerankQueryError
from rankify_lite.types import Queries, Run

FLAT = "run:anserini-bm25-flat.top1000"


@pytest.fixture(scope="module")
def scifact_shared(shared_data):
    from rankify_lite import load_dataset

    return load_dataset(shared_data / "beir" / "scifact")


def small(ds: Dataset, n: int = 12) -> Dataset:
    qids = list(ds.queries)[:n]
    return replace(ds, queries=Queries({q: ds.queries[q] for q in qids}))


def test_shipped_run_reproduces_published_numbers(scifact_shared, tmp_path):
    result = Pipeline(FLAT, cache=tmp_path).run(scifact_shared)
    m = result.metrics["anserini-bm25-flat.top1000"]
    assert [round(m[k], 4) for k in ("ndcg@10", "recall@100", "recall@1000")] == \
        [0.6789, 0.9253, 0.9767]
    assert result.run is result.first_stage


def test_rerankers_share_one_first_stage_and_cache(scifact_shared, tmp_path):
    p = Pipeline(FLAT, [load_reranker("identity"), HashReranker()], depth=20, cache=tmp_path)
    first = p.run(scifact_shared)
    assert list(first.metrics) == ["anserini-bm25-flat.top1000",
                                   "anserini-bm25-flat.top1000>>identity",
                                   "anserini-bm25-flat.top1000>>hash-test"]
    ident = first.metrics["anserini-bm25-flat.top1000>>identity"]
    assert ident["ndcg@10"] == pytest.approx(0.6789, abs=5e-5)
    # the hash reranker shuffles the top 20: nDCG@10 must change, R@100 must not
    shuffled = first.metrics["anserini-bm25-flat.top1000>>hash-test"]
    assert shuffled["ndcg@10"] < ident["ndcg@10"]
    assert shuffled["recall@100"] == pytest.approx(ident["recall@100"])
    assert first.timing.cached == []
    again = p.run(scifact_shared)
    assert set(again.timing.cached) == {"anserini-bm25-flat.top1000",
                                        "anserini-bm25-flat.top1000>>identity",
                                        "anserini-bm25-flat.top1000>>hash-test"}
    assert all(st.cached for st in again.stages)
    assert again.metrics == first.metrics
    # a changed input (fewer queries -> other content hash) never reuses the cache
    third = p.run(small(scifact_shared))
    assert third.timing.cached == []


def test_reranked_scores_are_monotone_and_saved_exactly(scifact_shared, tmp_path):
    result = Pipeline(FLAT, HashReranker(), depth=20, cache=tmp_path).run(small(scifact_shared))
    for rl in result.run.values():
        assert all(a > b for a, b in zip(rl.scores, rl.scores[1:], strict=False))
    meta = result.save(tmp_path / "out")
    saved = json.loads(meta.read_text())
    assert saved["pipeline"]["depth"] == 20
    assert saved["dataset"]["content_hash"] == small(scifact_shared).content_hash()
    assert "python" in saved["environment"] and "packages" in saved["environment"]
    back = read_run(tmp_path / "out" / saved["files"][result.run.name])
    assert back.to_dict() == result.run.to_dict()


def test_failing_query_is_named_and_work_is_kept(scifact_shared, tmp_path):
    ds = small(scifact_shared)
    bad = list(ds.queries)[5]
    with pytest.raises(RerankQueryError, match=f"query '{bad}'"):
        Pipeline(FLAT, HashReranker(fail_on=bad), depth=10, cache=tmp_path).run(ds)
    partial = list(tmp_path.glob("*.partial.jsonl"))
    assert len(partial) == 1
    assert len(partial[0].read_text().splitlines()) == 5
    # same config (fail_on is not part of it), fixed model: continues from the checkpoint
    result = Pipeline(FLAT, HashReranker(), depth=10, cache=tmp_path).run(ds)
    assert result.run.metadata["timing"]["resumed_queries"] == 5
    assert not list(tmp_path.glob("*.partial.jsonl"))


def test_missing_docs_and_unjudged_queries(scifact_shared, tmp_path):
    ds = small(scifact_shared, 3)
    qid = list(ds.queries)[0]
    ghost = Run.from_scores({qid: {"nope-1": 2.0, "nope-2": 1.0}})
    with pytest.raises(InputError, match="not in the corpus") as err:
        Pipeline(ghost, HashReranker(), depth=5, cache=False).run(ds)
    assert "'nope-1'" in str(err.value)
    from rankify_lite.types import Query

    extra = replace(ds, queries=Queries({**ds.queries, "zz": Query("zz", "unjudged query")}))
    run = Run.from_scores({q: {"31715818": 1.0} for q in extra.queries})
    result = Pipeline(run, cache=False).run(extra)
    assert result.comparison.evaluations[0].unjudged_queries == ("zz",)
    assert result.comparison.evaluations[0].settings["queries"] == 3


KILL_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from dataclasses import replace
from rankify_lite import Pipeline, load_dataset, write_run
from rankify_lite.types import Queries
from helpers.slow_reranker import HashReranker
ds = load_dataset({data!r})
ds = replace(ds, queries=Queries({{q: ds.queries[q] for q in list(ds.queries)[:30]}}))
result = Pipeline({first!r}, HashReranker(hold_after={hold} or None), depth=50, cache={cache!r},
                  progress=False).run(ds)
write_run(result.run, {out!r})
"""


def _script(tmp_path, shared_data, name, hold):
    cache, out = tmp_path / f"cache-{name}", tmp_path / f"{name}.trec"
    code = KILL_SCRIPT.format(here=str(Path(__file__).resolve().parents[1]), first=FLAT, hold=hold,
                              data=str(shared_data / "beir" / "scifact"),
                              cache=str(cache), out=str(out))
    return code, cache, out


def test_kill_9_then_rerun_gives_identical_bytes(tmp_path, shared_data):
    env = {**os.environ}
    ref_code, _, ref_out = _script(tmp_path, shared_data, "ref", 0)
    subprocess.run([sys.executable, "-c", ref_code], check=True, env=env, timeout=300)

    # the killed run finishes 5 queries and then waits: killed when its checkpoint has 5 lines
    code, cache, out = _script(tmp_path, shared_data, "killed", 5)
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    lines = wait_for_checkpoint(cache, 5, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert lines == 5 and not out.exists()
    resume, _, _ = _script(tmp_path, shared_data, "killed", 0)  # the same run, nothing held
    subprocess.run([sys.executable, "-c", resume], check=True, env=env, timeout=300)
    assert out.read_bytes() == ref_out.read_bytes()


def test_group_is_scored_per_part_then_averaged(tmp_path):
    from rankify_lite.datasets import DatasetGroup
    from rankify_lite.types import Corpus, Document, Qrels, Query

    def part(name, rel_doc):
        corpus = Corpus.from_documents([Document("a", "x"), Document("b", "y")])
        return Dataset(name, corpus, Queries({"q": Query("q", "x")}), Qrels({"q": {rel_doc: 1}}))

    group = DatasetGroup("g", (part("p1", "a"), part("p2", "b")))
    run = Run.from_scores({"q": {"a": 2.0, "b": 1.0}})
    result = Pipeline(run, cache=False, metrics=["mrr"]).run(group)
    assert result.parts["p1"].metrics["run"]["mrr"] == 1.0
    assert result.parts["p2"].metrics["run"]["mrr"] == 0.5
    assert result.metrics["first_stage"]["mrr"] == 0.75
    assert "mean over 2 parts" in result.table()
