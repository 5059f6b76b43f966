"""A small real dataset folder cut from DL19 (queries, BM25 top-k, their passages, qrels)."""

from __future__ import annotations

import json
from pathlib import Path


def small_dl19(shared_data: Path, folder: Path, n: int = 6, top: int = 10) -> Path:
    """A dataset folder with the first ``n`` DL19 queries, BM25's top ``top`` and the passages."""
    src = shared_data / "trec-dl" / "dl19-passage"
    lines = (src / "runs" / "run.bm25.top100.trec").read_text().splitlines()
    qids = list(dict.fromkeys(line.split()[0] for line in lines))[:n]
    keep = [ln for ln in lines if ln.split()[0] in qids and int(ln.split()[3]) <= top]
    docs = {ln.split()[2] for ln in keep}
    (folder / "qrels").mkdir(parents=True)
    (folder / "runs").mkdir()
    (folder / "runs" / "run.bm25.top10.trec").write_text("\n".join(keep) + "\n")
    with open(src / "corpus.jsonl") as fh:
        (folder / "corpus.jsonl").write_text("".join(
            ln for ln in fh if json.loads(ln)["_id"] in docs))
    with open(src / "queries.jsonl") as fh:
        (folder / "queries.jsonl").write_text("".join(
            ln for ln in fh if json.loads(ln)["_id"] in qids))
    qrels = [ln for ln in (src / "qrels" / "test.tsv").read_text().splitlines()[1:]
             if ln.split()[0] in qids]
    (folder / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n")
    return folder


def saved_identity_result(shared_data: Path, tmp_path: Path, depth: int = 5) -> Path:
    """The meta.json of a result saved from a run-file first stage + identity reranker on
    :func:`small_dl19` (data in ``tmp_path/data``, the result in ``tmp_path/result``)."""
    from rankify_lite import Pipeline
    from rankify_lite.rerankers import load_reranker
    from rankify_lite.retrievers.runs import RunFile

    data = small_dl19(shared_data, tmp_path / "data")
    result = Pipeline(RunFile(data / "runs" / "run.bm25.top10.trec"), load_reranker("identity"),
                      depth=depth, cache=False, progress=False).run(str(data))
    result.save(tmp_path / "result")
    return tmp_path / "result" / "meta.json"
