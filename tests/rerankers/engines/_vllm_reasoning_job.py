"""Run inside the vLLM environment (``test_vllm_reasoning.py`` starts it): the reasoning
families on a real in-process vLLM engine, ``engine="vllm"``, with SmolLM2-135M-Instruct.

    python _vllm_reasoning_job.py IN.json OUT.json

IN: {"rankings": {qid: [doc ids]}, "families": {name: {options}}}.
OUT: per family the reranked orderings, llm_stats and the invocation log records.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path


def main(src: str, dst: str) -> None:
    from rankify_lite import load_dataset
    from rankify_lite.rerankers.engines import build_backend
    from rankify_lite.rerankers.families.rank1 import Rank1Reranker
    from rankify_lite.rerankers.families.reasonrank import ReasonRankReranker
    from rankify_lite.types import Run

    job = json.loads(Path(src).read_text())
    ds = load_dataset("trec-dl/dl19-passage")
    first_stage = Run.from_rankings(job["rankings"], name="bm25")
    backend = build_backend("vllm", "HuggingFaceTB/SmolLM2-135M-Instruct", dtype="float32",
                            max_model_len=2048, gpu_memory_utilization=0.1, enforce_eager=True)
    out = {"config": backend.config()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in job["families"].items():
            log = Path(tmp) / f"{name}.jsonl"
            cls = {"rank1": Rank1Reranker, "reasonrank": ReasonRankReranker}[name]
            reranker = cls(backend=backend, log_path=log, **options)
            run = reranker.rerank(ds.queries, first_stage, ds.corpus)
            out[name] = {"rankings": {q: list(run[q].doc_ids) for q in run},
                         "llm_stats": run.metadata["llm_stats"],
                         "log": [json.loads(x) for x in log.read_text().splitlines()]}
    Path(dst).write_text(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
