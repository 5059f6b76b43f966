"""RayExecutor: same bytes as one process for reranking and dense/SPLADE encoding, resume after
kill -9 of the driver, a killed worker's batch redone once, and a two-node cluster.

One local Ray (2 CPUs) is shared by the module; the two-node test runs last and brings up its
own simulated cluster after shutting the local one down.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from rankify_lite import Pipeline, write_run  # noqa: E402
from rankify_lite.executors import LocalExecutor, RayExecutor  # noqa: E402
from rankify_lite.rerankers.base import RerankQueryError  # noqa: E402
from rankify_lite.types import Corpus, Queries  # noqa: E402

HERE = Path(__file__).resolve().parent
from helpers import ray_helpers  # noqa: E402
from helpers.slow_reranker import wait_for_checkpoint  # noqa: E402

FLAT = "run:anserini-bm25-flat.top1000"


def _register_by_value() -> None:
    import ray.cloudpickle as cp
    from helpers import slow_reranker

    cp.register_pickle_by_value(ray_helpers)
    cp.register_pickle_by_value(slow_reranker)


@pytest.fixture(scope="module")
def local_ray():
    ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    _register_by_value()
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def executor(local_ray):
    ex = RayExecutor()  # two long-lived workers shared by the tests below
    yield ex
    ex.close()


@pytest.fixture(scope="module")
def scifact30(shared_data):
    from rankify_lite import load_dataset

    ds = load_dataset(shared_data / "beir" / "scifact")
    return replace(ds, queries=Queries({q: ds.queries[q] for q in list(ds.queries)[:30]}))


def _saved(result, path: Path) -> bytes:
    write_run(result.run, path)
    return path.read_bytes()


def test_reranked_run_file_is_byte_identical(executor, scifact30, tmp_path):
    local = Pipeline(FLAT, ray_helpers.BatchedHash(), depth=20, cache=tmp_path / "a",
                     progress=False).run(scifact30)
    ex = executor
    dist = Pipeline(FLAT, ray_helpers.BatchedHash(), depth=20, cache=tmp_path / "b",
                    progress=False, executor=ex).run(scifact30)
    assert _saved(dist, tmp_path / "ray.trec") == _saved(local, tmp_path / "local.trec")
    assert dist.metadata["executor"] == {"executor": "ray", "workers": 2, "num_cpus": 1,
                                         "num_gpus": 0}
    assert local.metadata["executor"] == {"executor": "local"}
    meta = dist.run.metadata
    assert _without_seconds(meta) == _without_seconds(local.run.metadata)
    assert meta["timing"]["queries_per_call"] == 3
    assert set(meta["timing"]["per_query_s"]) == set(scifact30.queries)
    assert not list((tmp_path / "b").glob("*.partial.jsonl"))  # checkpoint removed when done
    # the cached result is served again without Ray work
    again = Pipeline(FLAT, ray_helpers.BatchedHash(), depth=20, cache=tmp_path / "b",
                     progress=False, executor=ex).run(scifact30)
    assert again.timing.cached and again.run.lists == dist.run.lists


def _without_seconds(meta):
    """A run's metadata with the measured seconds zeroed (all else must be equal)."""
    meta = json.loads(json.dumps(dict(meta), default=str))
    timing = meta.get("timing", {})
    timing["total_s"] = 0.0
    timing["per_query_s"] = {q: 0.0 for q in timing.get("per_query_s", {})}
    return meta


def test_llm_run_metadata_equals_the_local_one_llm_stats_included(executor, scifact30,
                                                                   tmp_path):
    """One batch driver: an LLM family's counters (prompts, tokens, ...) are computed where the
    batch runs and summed by the driver, so the Ray run records what the local run records."""
    from helpers.tiny import tiny_llm_folder

    from rankify_lite import load_reranker

    folder = tiny_llm_folder(tmp_path / "llm")
    pw = load_reranker("pointwise", model=folder, device="cpu", query_batch_size=2,
                       passage_words=20)
    ds = scifact30.head(6)
    local = Pipeline(FLAT, pw, depth=4, cache=False, progress=False).run(ds)
    dist = Pipeline(FLAT, pw, depth=4, cache=False, progress=False, executor=executor).run(ds)
    assert _saved(dist, tmp_path / "ray.trec") == _saved(local, tmp_path / "local.trec")
    stats = local.run.metadata["llm_stats"]
    assert stats["prompts"] == 6 * 4 and stats["model_calls"] == 3 and stats["input_tokens"] > 0
    assert _without_seconds(dist.run.metadata) == _without_seconds(local.run.metadata)
    (_, lstage), (_, dstage) = local.stages, dist.stages
    assert dstage.counts == lstage.counts == stats
    assert dstage.forward_passes_per_query == lstage.forward_passes_per_query == 4.0


def test_cross_encoder_rebuilt_in_workers_gives_same_bytes(executor, scifact30, tmp_path):
    from rankify_lite import load_reranker

    folder = ray_helpers.tiny_cross_encoder(tmp_path / "ce")
    ce = load_reranker("cross-encoder", model=folder, query_batch_size=4)
    ds = replace(scifact30, queries=Queries({q: scifact30.queries[q]
                                            for q in list(scifact30.queries)[:12]}))
    local = Pipeline(FLAT, ce, depth=15, cache=False, progress=False).run(ds)
    dist = Pipeline(FLAT, ce, depth=15, cache=False, progress=False,
                    executor=executor).run(ds)
    assert _saved(dist, tmp_path / "ray.trec") == _saved(local, tmp_path / "local.trec")
    first = local.first_stage
    moved = sum(local.run[q].doc_ids[:15] != first[q].doc_ids[:15] for q in ds.queries)
    assert moved >= 10  # the model really reordered the candidates


def test_failing_query_is_named_through_ray(executor, scifact30):
    ds = scifact30
    bad = list(ds.queries)[7]
    first = ds.load_run(FLAT[4:]).restrict(ds.queries)
    with pytest.raises(RerankQueryError) as err:
        executor.rerank(ray_helpers.HashReranker(fail_on=bad), ds.queries, first, ds.corpus, 10)
    assert err.value.qids == (bad,) and "batch 8 of 30" in str(err.value)
    assert "model exploded" in str(err.value)


def test_killed_worker_batch_is_redone_once(executor, scifact30, tmp_path):
    ds = scifact30
    first = ds.load_run(FLAT[4:]).restrict(ds.queries)
    crash_on = list(ds.queries)[10]
    reference = ray_helpers.CrashOnce(str(tmp_path)).rerank(ds.queries, first, ds.corpus, 20)
    ckpt = ray_helpers.RecordingCheckpoint()
    run = executor.rerank(ray_helpers.CrashOnce(str(tmp_path), crash_on), ds.queries, first,
                          ds.corpus, 20, checkpoint=ckpt)
    assert (tmp_path / "crashed").exists()  # a worker really died mid-batch
    builds = [ln.split() for ln in (tmp_path / "built.txt").read_text().splitlines()]
    worker_builds = [b for b in builds if int(b[1]) != os.getpid()]
    assert len(worker_builds) == 3  # two workers, plus the restart of the killed one
    assert run.lists == reference.lists
    assert sorted(ckpt.writes) == sorted(ds.queries)  # every query written exactly once


def test_resume_skips_checkpointed_batches(executor, scifact30):
    ds = scifact30
    first = ds.load_run(FLAT[4:]).restrict(ds.queries)
    reference = ray_helpers.BatchedHash().rerank(ds.queries, first, ds.corpus, 20)
    qids = list(first)
    # batches are 3 queries: the first two batches complete, the third only partly
    done = {q: reference[q] for q in qids[:7]}
    ckpt = ray_helpers.RecordingCheckpoint(done)
    run = executor.rerank(ray_helpers.BatchedHash(), ds.queries, first, ds.corpus, 20,
                          checkpoint=ckpt)
    assert run.lists == reference.lists
    assert run.metadata["timing"]["resumed_queries"] == 6
    assert sorted(ckpt.writes) == sorted(qids[6:])  # the partial batch is redone whole


DRIVER = """
import sys
sys.path.insert(0, {here!r})
from dataclasses import replace
import ray, ray.cloudpickle as cp
from helpers import ray_helpers, slow_reranker
from rankify_lite import Pipeline, load_dataset, write_run
from rankify_lite.executors import RayExecutor
from rankify_lite.types import Queries
ray.init(address={address!r}, log_to_driver=False)
cp.register_pickle_by_value(ray_helpers); cp.register_pickle_by_value(slow_reranker)
ds = load_dataset({data!r})
ds = replace(ds, queries=Queries({{q: ds.queries[q] for q in list(ds.queries)[:30]}}))
# each of the two workers scores one batch of 3 queries, then waits until the driver is killed
result = Pipeline({first!r}, ray_helpers.BatchedHash(hold_after=3), depth=20, cache={cache!r},
                  progress=False, executor=RayExecutor(num_workers=2, num_cpus=0)).run(ds)
write_run(result.run, {out!r})
"""


def test_driver_killed_then_rerun_gives_identical_bytes(local_ray, executor, scifact30,
                                                        shared_data, tmp_path):
    reference = Pipeline(FLAT, ray_helpers.BatchedHash(), depth=20, cache=False,
                         progress=False).run(scifact30)
    cache, out = tmp_path / "cache", tmp_path / "killed.trec"
    code = DRIVER.format(here=str(HERE.parent), address=local_ray, first=FLAT, cache=str(cache),
                         data=str(shared_data / "beir" / "scifact"), out=str(out))
    # (its workers take no CPU share: the module's two workers hold the cluster's two CPUs)
    proc = subprocess.Popen([sys.executable, "-c", code])
    lines = wait_for_checkpoint(cache, 6, proc)  # the event: two batches checkpointed, then a hold
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert lines == 6 and not out.exists()
    resumed = Pipeline(FLAT, ray_helpers.BatchedHash(), depth=20, cache=cache, progress=False,
                       executor=executor).run(scifact30)
    assert resumed.run.metadata["timing"]["resumed_queries"] == 6
    assert any("resumed from a checkpoint" in n for n in resumed.notes)
    assert _saved(resumed, tmp_path / "resumed.trec") == _saved(reference, tmp_path / "ref.trec")


@pytest.fixture(scope="module")
def small_corpus(scifact) -> Corpus:
    return Corpus({d: scifact.corpus[d] for d in list(scifact.corpus)[:700]})


def test_dense_encoding_sharded_is_byte_identical(executor, small_corpus, tmp_path):
    from helpers.tiny import tiny_bert_folder

    from rankify_lite.retrievers.dense import Dense

    folder = tiny_bert_folder(tmp_path / "bert")
    dense = Dense(folder, batch_size=8, progress=False)  # 256 texts per unit: 3 units
    ex = executor
    path = ex.encode_corpus(dense, small_corpus)
    sharded = np.load(path).copy()
    assert ex.stats["encode_units"] == 3
    dense.index(small_corpus)  # the retriever finds the workers' file in its own cache
    assert dense.stats["embeddings_cached"] is True
    path.unlink()
    alone = Dense(folder, batch_size=8, progress=False)
    single = np.asarray(alone.embed_corpus(small_corpus))
    assert alone.stats["embeddings_cached"] is False
    assert sharded.shape == (700, 32) and sharded.tobytes() == single.tobytes()


def test_splade_encoding_sharded_is_identical(executor, small_corpus, tmp_path):
    import scipy.sparse as sp
    from helpers.tiny import tiny_bert_folder

    from rankify_lite.retrievers.splade import Splade

    folder = tiny_bert_folder(tmp_path / "mlm", mlm=True)
    splade = Splade(folder, batch_size=8, progress=False)
    ex = executor
    path = ex.encode_corpus(splade, small_corpus)
    sharded = sp.load_npz(path)
    assert ex.stats["encode_units"] == 3
    splade.index(small_corpus)
    assert splade.stats["cached"] is True
    path.unlink()
    single = Splade(folder, batch_size=8, progress=False).doc_matrix(small_corpus)
    assert sharded.nnz > 700
    for a in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(sharded, a), getattr(single, a))
        assert getattr(sharded, a).dtype == getattr(single, a).dtype


def test_local_executor_is_the_plain_path(scifact30):
    ds = scifact30
    first = ds.load_run(FLAT[4:]).restrict(ds.queries)
    a = LocalExecutor().rerank(ray_helpers.BatchedHash(), ds.queries, first, ds.corpus, 10)
    b = ray_helpers.BatchedHash().rerank(ds.queries, first, ds.corpus, 10)
    assert a.lists == b.lists


def test_cli_ray_flag_gives_the_same_files(executor, shared_data, tmp_path, capsys):
    from rankify_lite.cli.main import main

    executor.close()  # the CLI's own executor needs the two CPUs of the local Ray
    args = ["run", "--dataset", str(shared_data / "beir" / "scifact"), "--retriever", FLAT,
            "--reranker", "identity", "--depth", "10", "--no-cache", "--output"]
    assert main([*args, str(tmp_path / "plain")]) == 0
    assert main([*args, str(tmp_path / "ray"), "--ray", "--ray-workers", "2"]) == 0
    files = sorted(p.name for p in (tmp_path / "plain").glob("*.trec"))
    assert len(files) == 2
    for name in files:
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
    meta = json.loads((tmp_path / "ray" / "meta.json").read_text())
    assert meta["pipeline"]["depth"] == 10


def test_two_node_cluster_with_a_killed_worker(executor, scifact30, small_corpus, tmp_path):
    """Runs last: replaces the local Ray with a simulated two-node cluster (1 CPU each)."""
    from helpers.tiny import tiny_bert_folder
    from ray.cluster_utils import Cluster

    from rankify_lite.retrievers.dense import Dense

    executor.close()
    ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, log_to_driver=False)
        _register_by_value()
        cluster.wait_for_nodes()
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        ds = scifact30
        first = ds.load_run(FLAT[4:]).restrict(ds.queries)
        reference = ray_helpers.CrashOnce(str(tmp_path)).rerank(ds.queries, first, ds.corpus, 20)
        ckpt = ray_helpers.RecordingCheckpoint()
        ex = RayExecutor(address=cluster.address)
        assert ex.workers() == 2
        run = ex.rerank(ray_helpers.CrashOnce(str(tmp_path), list(ds.queries)[13], delay=0.02),
                        ds.queries, first, ds.corpus, 20, checkpoint=ckpt)
        assert (tmp_path / "crashed").exists()
        builds = [ln.split() for ln in (tmp_path / "built.txt").read_text().splitlines()]
        nodes = {b[0] for b in builds if int(b[1]) != os.getpid()}
        assert len(nodes) == 2  # one actor on each node
        assert run.lists == reference.lists
        assert sorted(ckpt.writes) == sorted(ds.queries)
        # dense encoding on the two nodes: same bytes as one process
        folder = tiny_bert_folder(tmp_path / "bert")
        path = ex.encode_corpus(Dense(folder, batch_size=8, progress=False), small_corpus)
        sharded = np.load(path).copy()
        path.unlink()
        single = Dense(folder, batch_size=8, progress=False).embed_corpus(small_corpus)
        assert sharded.tobytes() == np.asarray(single).tobytes()
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_splade_encoding_sharded_is_identical_past_one_chunk(executor, small_corpus, tmp_path,
                                                              monkeypatch):
    """Calls of ENCODE_CHUNK documents in the single process; the units follow them."""
    import scipy.sparse as sp
    from helpers.tiny import tiny_bert_folder

    from rankify_lite.retrievers import dense as dense_mod
    from rankify_lite.retrievers.splade import Splade

    monkeypatch.setattr(dense_mod, "ENCODE_CHUNK", 300)  # 700 docs: calls of 300, 300, 100
    folder = tiny_bert_folder(tmp_path / "mlm", mlm=True)
    splade = Splade(folder, batch_size=8, progress=False)
    path = executor.encode_corpus(splade, small_corpus)
    sharded = sp.load_npz(path)
    assert executor.stats["encode_units"] == 5  # 256-text units within each call: 2 + 2 + 1
    path.unlink()
    single = Splade(folder, batch_size=8, progress=False).doc_matrix(small_corpus)
    for a in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(sharded, a), getattr(single, a))
