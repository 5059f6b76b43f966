"""A real two-node Ray cluster (two ``ray start`` nodes on 127.0.0.1, 1 CPU each); the second
node is SIGKILLed mid-run, during corpus encoding and during reranking. The work lost with it is
redone on the surviving node: the vectors and the reranked run equal one process's, every unit
is there."""

from __future__ import annotations

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

from rankify_lite.executors import RayExecutor  # noqa: E402
from rankify_lite.executors.local_cluster import LocalCluster, kill_midway  # noqa: E402
from rankify_lite.types import Corpus, Queries  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path):
    ray.shutdown()  # a local Ray of another test module must not be the one we talk to
    c = LocalCluster(root=f"/tmp/rkc-{tmp_path.name[-12:]}")
    try:
        c.add_node()
        ray.init(address=c.address, log_to_driver=False)
        yield c
    finally:
        ray.shutdown()
        c.close()


def _executor(c: LocalCluster, victim: int) -> RayExecutor:
    """Two workers, one on each live node, and node ``victim`` SIGKILLed 40% into a pool.
    SPREAD is best effort: a node that has just joined may not be in the scheduler's view yet,
    and both workers then land on the head. Placement is therefore checked (and the workers
    made again, for up to a minute) before the run, so the kill always takes a worker with it."""
    import time

    from rankify_lite.executors.local_cluster import _node_id

    end = time.monotonic() + 60
    while True:
        ex = RayExecutor(address=c.address, num_workers=2, num_cpus=0.5,
                         actor_options={"scheduling_strategy": "SPREAD"})
        ex._actors = [ex._new_actor() for _ in range(2)]  # the pool uses these
        nodes = {ray.get(a.__ray_call__.remote(_node_id)) for a in ex._actors}
        if len(nodes) == 2 or time.monotonic() > end:
            break
        ex.close()
        time.sleep(1)
    return kill_midway(ex, lambda: c.kill_node(victim), at=0.4)


def test_node_killed_during_encoding_and_reranking(cluster, scifact, tmp_path):
    from helpers.ray_helpers import RecordingCheckpoint, tiny_cross_encoder
    from helpers.tiny import tiny_bert_folder

    from rankify_lite import BM25, load_reranker
    from rankify_lite.retrievers.dense import Dense

    corpus = Corpus({d: scifact.corpus[d] for d in list(scifact.corpus)[:600]})
    folder = tiny_bert_folder(tmp_path / "bert")
    ex = _executor(cluster, victim=1)
    path = ex.encode_corpus(Dense(folder, batch_size=2, progress=False), corpus)  # 10 units
    assert ex.kills == 1 and len(ex.nodes_before) == 2  # a worker on each node, then one lost
    sharded = np.load(path).copy()
    single = np.asarray(Dense(folder, batch_size=2, progress=False).embed_corpus(corpus))
    assert ex.stats["encode_units"] == 10
    assert sharded.shape == (600, 32) and not np.isnan(sharded).any()
    assert np.abs(sharded).sum(axis=1).min() > 0  # every row was written
    assert sharded.tobytes() == single.tobytes()
    ex.close()

    fresh = cluster.add_node()  # a fresh second node for the reranking run, killed in turn
    qids = list(scifact.queries)[:20]
    queries = Queries({q: scifact.queries[q] for q in qids})
    first = BM25(backend="bm25s", index_root=tmp_path / "idx", progress=False).retrieve(
        queries, 20, corpus=scifact.corpus)  # the bundled SciFact: runs without ../shared
    ce = load_reranker("cross-encoder", model=tiny_cross_encoder(tmp_path / "ce"),
                       query_batch_size=1)
    reference = ce.rerank(queries, first, scifact.corpus, 20)
    ex = _executor(cluster, victim=fresh)
    ckpt = RecordingCheckpoint()
    run = ex.rerank(ce, queries, first, scifact.corpus, 20, checkpoint=ckpt)
    assert ex.kills == 1 and len(ex.nodes_before) == 2
    assert sorted(ckpt.writes) == sorted(qids)  # every query once
    assert run.lists == reference.lists
    ex.close()
