"""No silent wrong result: verified caches, stage keys, resume, self-hit rules (issue #11).

Each test here reproduces a defect found on the previous main and proves it is gone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.slow_reranker import HashReranker

from rankify_lite import Pipeline
from rankify_lite.datasets import Dataset
from rankify_lite.errors import InputError
from rankify_lite.rerankers.base import Reranker, RerankItem, Scored
from rankify_lite.types import Qrels, Queries, Run

BM25_RUN = "run:bm25.top100"


class BatchSensitiveReranker(Reranker):
    """Scores depend (by ~1e-9) on which queries share a call, like padded model batches do."""

    family = "batch-sensitive-test"

    def __init__(self, query_batch_size: int = 4, fail_on: str | None = None) -> None:
        self.query_batch_size = query_batch_size
        self.fail_on = fail_on
        self.calls = 0

    def config(self) -> dict:
        return {"family": self.family}

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        self.calls += 1
        if any(it.query.id == self.fail_on for it in items):
            raise RuntimeError("killed")
        salt = int(hashlib.sha256("|".join(it.query.id for it in items).encode()).hexdigest()[:6],
                   16) * 1e-15
        return [[(d.id, int(hashlib.sha256(f"{it.query.id}/{d.id}".encode()).hexdigest()[:8], 16)
                  / 2**32 + salt) for d in it.documents] for it in items]


def _cached(tmp_path: Path, prefix: str) -> Path:
    (path,) = [p for p in tmp_path.glob(f"{prefix}-*.trec")]
    return path


def test_cached_run_cut_at_a_line_boundary_is_recomputed(dl19, tmp_path):
    pipe = Pipeline(BM25_RUN, HashReranker(), depth=20, cache=tmp_path, progress=False)
    truth = pipe.run(dl19)
    cached = _cached(tmp_path, "rerank")
    lines = cached.read_text().splitlines(keepends=True)
    cached.write_text("".join(lines[: len(lines) // 7]))  # cut exactly at a line boundary
    again = pipe.run(dl19)
    assert again.metrics == truth.metrics
    assert not any(st.cached for st in again.stages if st.kind == "rerank")
    assert any("was incomplete or changed" in n for n in again.notes)


@pytest.mark.parametrize("damage", ["garbled-json", "missing-json", "folder-in-place"])
def test_damaged_cache_entries_are_recomputed_never_a_traceback(dl19, tmp_path, damage):
    pipe = Pipeline(BM25_RUN, HashReranker(), depth=20, cache=tmp_path, progress=False)
    truth = pipe.run(dl19)
    cached = _cached(tmp_path, "first")
    if damage == "garbled-json":
        cached.with_suffix(".json").write_text('{"format": 2, "integ')
    elif damage == "missing-json":
        cached.with_suffix(".json").unlink()
    else:
        cached.unlink()
        cached.mkdir()
        (cached / "junk").write_text("x")
    again = pipe.run(dl19)
    assert again.metrics == truth.metrics
    assert not again.stages[0].cached
    assert any("first-stage run" in n and "recomputed" in n for n in again.notes)
    assert pipe.run(dl19).timing.cached  # and the repaired entry serves the next call


def test_editing_only_the_qrels_reuses_retrieval_and_reranking(dl19, tmp_path):
    pipe = Pipeline(BM25_RUN, HashReranker(), depth=20, cache=tmp_path, progress=False)
    pipe.run(dl19)
    qrels = {q: dict(d) for q, d in dl19.qrels.items()}
    qid = next(iter(qrels))
    qrels[qid] = {d: 0 for d in qrels[qid]}  # a judgment edit
    edited = replace(dl19, qrels=Qrels(qrels))
    result = pipe.run(edited)
    assert set(result.timing.cached) == {"bm25.top100", "bm25.top100>>hash-test"}
    assert result.per_query()["bm25.top100"][qid] == 0.0  # yet the new qrels are what is scored


def test_empty_queries_are_refused_before_any_work(tmp_path):
    folder = tmp_path / "ds"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n')
    (folder / "queries.jsonl").write_text("")
    (folder / "qrels" / "test.tsv").write_text("q1\td1\t1\n")
    from rankify_lite import load_dataset

    with pytest.raises(InputError, match="has no queries") as err:
        load_dataset(str(folder))
    assert "queries.jsonl" in str(err.value)

    class CountingRetriever:
        indexed = 0

    from rankify_lite.types import Corpus, Document

    ds = Dataset("empty", Corpus.from_documents([Document("d1", "x")]), Queries({}),
                 Qrels({"q1": {"d1": 1}}))
    with pytest.raises(InputError, match="has no queries"):
        Pipeline(BM25_RUN, cache=tmp_path).run(ds)
    assert not list(tmp_path.glob("*.trec"))  # nothing cached that breaks the next call


def test_resume_is_batch_aligned_and_byte_identical(dl19, tmp_path):
    clean = Pipeline(BM25_RUN, BatchSensitiveReranker(), depth=30, cache=tmp_path / "a",
                     progress=False).run(dl19)
    qids = list(dl19.queries)
    # killed in the 3rd batch: batches 1-2 (8 queries) are kept
    with pytest.raises(Exception, match="killed"):
        Pipeline(BM25_RUN, BatchSensitiveReranker(fail_on=qids[9]), depth=30,
                 cache=tmp_path / "b", progress=False).run(dl19)
    (partial,) = (tmp_path / "b").glob("*.partial.jsonl")
    assert len(partial.read_text().splitlines()) == 8
    # tear the last checkpoint line mid-write, as kill -9 can
    text = partial.read_text()
    partial.write_text(text[: len(text) - 40])
    reranker = BatchSensitiveReranker()
    resumed = Pipeline(BM25_RUN, reranker, depth=30, cache=tmp_path / "b", progress=False).run(dl19)
    assert resumed.run.metadata["timing"]["resumed_queries"] == 4  # batch 2 was redone whole
    assert reranker.calls == 10  # 11 batches of 4 over 43 queries, batch 1 kept
    assert any("cut or garbled" in n for n in resumed.notes)
    a = _cached(tmp_path / "a", "rerank").read_bytes()
    b = _cached(tmp_path / "b", "rerank").read_bytes()
    assert a == b and resumed.run.to_dict() == clean.run.to_dict()


def test_queries_per_call_is_part_of_the_cache_key(dl19, tmp_path):
    Pipeline(BM25_RUN, BatchSensitiveReranker(4), depth=10, cache=tmp_path, progress=False).run(dl19)
    other = Pipeline(BM25_RUN, BatchSensitiveReranker(8), depth=10, cache=tmp_path,
                     progress=False).run(dl19)
    assert not any(st.cached for st in other.stages if st.kind == "rerank")


def test_bi_encoder_checkpoints_in_small_query_batches():
    from rankify_lite.rerankers.families.bi_encoder import BiEncoderReranker

    # DL19 (43 queries) is 6 checkpointed batches, not one batch of 64 that a kill loses whole
    assert BiEncoderReranker.query_batch_size == 8


def test_self_hits_never_removed_on_ms_marco_ids_and_counted_on_beir(dl19, scifact, tmp_path):
    qid = next(iter(dl19.queries))
    run = Run.from_scores({q: {qid if q == qid else "8182161": 2.0, "x": 1.0} for q in dl19.queries})
    kept = Pipeline(run, cache=False).run(dl19)
    assert qid in kept.first_stage[qid].doc_ids  # a passage may share a query's number
    assert not any(n.startswith("self-hits removed") for n in kept.notes)
    assert kept.rules["self_hits"] == "keep"
    sq = next(iter(scifact.queries))
    beir_run = Run.from_scores({q: {q: 2.0, "4983": 1.0} for q in scifact.queries})
    removed = Pipeline(beir_run, cache=False).run(scifact)
    assert sq not in removed.first_stage[sq].doc_ids
    assert f"self-hits removed from the first stage: {len(scifact.queries)}" in removed.notes
    assert removed.first_stage.metadata["self_hits_removed"] == len(scifact.queries)


def test_queries_with_nothing_to_match_are_reported(tmp_path):
    from rankify_lite.retrievers import BM25
    from rankify_lite.types import Corpus, Document, Query

    ds = Dataset("tiny", Corpus.from_documents([Document("d1", "hello world"),
                                                Document("d2", "another doc")]),
                 Queries({"q1": Query("q1", "?!? ... 🙂"), "q2": Query("q2", "hello")}),
                 Qrels({"q1": {"d1": 1}, "q2": {"d1": 1}}))
    with pytest.warns(UserWarning, match="got no documents"):
        result = Pipeline(BM25(backend="bm25s", index_root=tmp_path / "idx"), cache=False,
                          progress=False).run(ds)
    assert any("1 queries got no documents" in n and "'q1'" in n for n in result.notes)


def test_pipeline_result_says_which_rules_applied(dl19):
    result = Pipeline(BM25_RUN, cache=False).run(dl19)
    assert result.rules["rel_level"] == 2
    assert result.notes[0].startswith("rules: binary metrics count grade >= 2 (TREC DL convention)")
    assert "map@1000" in result.metrics["bm25.top100"]  # the collection's default metrics
    assert round(result.metrics["bm25.top100"]["ndcg@10"], 4) == 0.5058


def test_output_folder_is_never_mixed(dl19, tmp_path):
    first = Pipeline(BM25_RUN, HashReranker(), depth=10, cache=False).run(dl19)
    out = tmp_path / "out"
    first.save(out)
    second = Pipeline("run:splade-pp-ed.top100", cache=False).run(dl19)
    with pytest.raises(InputError, match="already holds a saved result"):
        second.save(out)
    second.save(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["meta.json", "splade-pp-ed.top100.trec"]
    assert json.loads((out / "meta.json").read_text())["files"] == \
        {"splade-pp-ed.top100": "splade-pp-ed.top100.trec"}
    with pytest.raises(InputError, match="is a file"):
        second.save(out / "meta.json")
