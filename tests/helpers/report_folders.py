"""Small synthetic folders the report reads, written by hand with any strings in them: a BEIR
dataset folder, a saved result (meta.json with its documented keys, run files, their sha256)
and a leaderboard folder (results.json + per_query.csv)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rankify_lite.pipeline.saved import saved_file_hashes


def write_dataset(folder: Path, queries: dict[str, str], docs: dict[str, str],
                  qrels: dict[str, dict[str, int]]) -> Path:
    (folder / "qrels").mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for did, text in docs.items():
            fh.write(json.dumps({"_id": did, "title": text[:20], "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as fh:
        for qid, text in queries.items():
            fh.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with open(folder / "qrels" / "test.tsv", "w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for qid, grades in qrels.items():
            for did, g in grades.items():
                fh.write(f"{qid}\t{did}\t{g}\n")
    return folder


def write_result(folder: Path, dataset: Path, runs: dict[str, dict[str, list[str]]],
                 **meta_fields) -> Path:
    """A saved result of ``runs`` ({system: {query: ranked doc ids}}); its meta.json path."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for i, (system, ranking) in enumerate(runs.items()):
        files[system] = f"run{i}.trec"
        with open(folder / files[system], "w", encoding="utf-8") as fh:
            for qid, docs in ranking.items():
                for rank, did in enumerate(docs, 1):
                    fh.write(f"{qid} Q0 {did} {rank} {100 - rank} t\n")
    from rankify_lite import load_dataset

    names = list(runs)
    meta = {"files": files, "file_sha256": saved_file_hashes(folder, files),
            "dataset": {"source": str(dataset), "name": "tiny",   # as a save records it
                        "content_hash": load_dataset(str(dataset)).content_hash()},
            "significance": {"systems": names, "metrics": ["ndcg@10"], "baseline": names[0],
                             "test": "t-test", "correction": "holm", "alpha": 0.05},
            "stages": [{"system": s, "kind": "first-stage" if i == 0 else "reranker",
                        "mean_s": 0.01 * (i + 1)} for i, s in enumerate(names)],
            **meta_fields}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder / "meta.json"


def write_leaderboard(folder: Path, name: str, label: str, systems: list[str],
                      qids: list[str]) -> Path:
    """A leaderboard folder of one dataset ``d`` scored on ndcg@10 by ``systems``."""
    folder.mkdir(parents=True, exist_ok=True)
    scores = {s: {q: round(((i + 1) * (k + 2)) % 7 / 7, 6) for k, q in enumerate(qids)}
              for i, s in enumerate(systems)}
    summary = {"name": name, "metrics": ["ndcg@10"], "datasets": {"d": {
        "label": label, "queries": len(qids), "baseline": systems[0],
        "significance": {"systems": systems, "metrics": ["ndcg@10"], "baseline": systems[0],
                         "test": "t-test", "correction": "holm", "alpha": 0.05,
                         "p_vs_baseline": {"ndcg@10": {s: 0.5 for s in systems}},
                         "better_than": {"ndcg@10": {s: [] for s in systems}}},
        "systems": {s: {"mean": {"ndcg@10": sum(v.values()) / len(v)},
                        "seconds_per_query": 0.01} for s, v in scores.items()}}}}
    (folder / "results.json").write_text(json.dumps(summary), encoding="utf-8")
    with open(folder / "per_query.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["dataset", "system", "first_stage", "reranker", "query_id", "ndcg@10",
                    "seconds"])
        for s, per in scores.items():
            for q, v in per.items():
                w.writerow(["d", s, s, "", q, f"{v:.6f}", "0.01"])
    return folder
