"""Run inside the vLLM environment (``test_vllm_lora.py`` starts it): FIRST with a PEFT LoRA
adapter folder on a real vLLM CPU engine (``engine="vllm"``: the base model served with
``enable_lora`` and the adapter as a ``LoRARequest``).

    python _vllm_lora_job.py IN.json OUT.json

IN: {"adapter": folder, "rankings": {qid: [doc ids]}, "prompts": [[ids]], "token_ids": [ids],
"window": {...}}. OUT: the backend's config, the LoRA engine settings vLLM was made with, the
next-token values of the prompts, greedy continuations of the first two prompts and FIRST's
orderings.
"""

from __future__ import annotations

import json
import sys


def main(src: str, dst: str) -> None:
    from rankify_lite import load_dataset
    from rankify_lite.rerankers.families.first import FirstReranker
    from rankify_lite.types import Run

    job = json.loads(open(src).read())
    ds = load_dataset("trec-dl/dl19-passage")
    first = FirstReranker(job["adapter"], engine="vllm", dtype="float32", max_model_len=2048,
                          gpu_memory_utilization=0.1, enforce_eager=True, **job["window"])
    backend = first.backend
    lora = backend.llm.llm_engine.vllm_config.lora_config
    run = first.rerank(ds.queries, Run.from_rankings(job["rankings"], name="bm25"), ds.corpus)
    out = {"config": backend.config(), "max_lora_rank": getattr(lora, "max_lora_rank", None),
           "values": backend.next_token_logits(job["prompts"], job["token_ids"]).logits.tolist(),
           "generations": [g.text for g in backend.generate(job["prompts"][:2], 8)],
           "rankings": {q: list(run[q].doc_ids) for q in run}}
    with open(dst, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
