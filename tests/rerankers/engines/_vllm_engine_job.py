"""Run inside the vLLM environment (``test_vllm_engine.py`` starts it): the LLM families on a
real in-process vLLM engine, ``engine="vllm"``, with SmolLM2-135M-Instruct.

    python _vllm_engine_job.py IN.json OUT.json

IN: {"rankings": {qid: [doc ids]}, "prompts": [[ids]], "token_ids": [ids], "window": {...}}.
OUT: the reranked orderings and llm_stats per family, the next-token values of the given
prompts, pseudo-queries of 8 passages decoded in full and stopped at the first line, the
engine's start-up time, the engine's prefix-caching flag (``engine_args`` must
reach vLLM's EngineArgs) and the error a window wider than the engine's max_logprobs gets.
"""

from __future__ import annotations

import json
import sys
import time


def main(src: str, dst: str) -> None:
    from rankify_lite import load_dataset
    from rankify_lite.rerankers.families.first import FirstReranker
    from rankify_lite.rerankers.families.listwise import ListwiseReranker
    from rankify_lite.rerankers.families.pointwise import PointwiseReranker
    from rankify_lite.types import Run

    job = json.loads(open(src).read())
    ds = load_dataset("trec-dl/dl19-passage")
    first_stage = Run.from_rankings(job["rankings"], name="bm25")
    t0 = time.perf_counter()
    first = FirstReranker("HuggingFaceTB/SmolLM2-135M-Instruct", engine="vllm", dtype="float32",
                          max_model_len=2048, gpu_memory_utilization=0.1, enforce_eager=True,
                          engine_args={"enable_prefix_caching": False}, **job["window"])
    startup = time.perf_counter() - t0
    backend = first.backend
    cache = backend.llm.llm_engine.vllm_config.cache_config.enable_prefix_caching
    out = {"startup_s": startup, "config": backend.config(), "prefix_caching": cache,
           "identifier_ids": first.identifier_ids,
           "values": backend.next_token_logits(job["prompts"], job["token_ids"]).logits.tolist()}
    try:                          # a window wider than the engine's max_logprobs (32 here)
        backend.logprob_params(list(range(40)))
        out["max_logprobs_error"] = None
    except Exception as exc:  # noqa: BLE001 - the message goes back to the test
        out["max_logprobs_error"] = f"{type(exc).__name__}: {exc}"
    families = {"first": first,
                "listwise": ListwiseReranker(backend=backend, **job["window"]),
                "pointwise": PointwiseReranker(backend=backend,
                                               passage_words=job["window"]["passage_words"])}
    from rankify_lite.distill.pseudo_queries import (
        clean_query,
        cut_passage,
        first_line_complete,
        load_style,
        prompt_ids,
    )

    style = load_style("inpars")              # pseudo-queries: stopped at the first line
    strip = style.fields.get("strip_prefixes") or []
    pq = [prompt_ids(backend, style, cut_passage(backend, d.full_text(), 96))
          for d in list(ds.corpus.values())[:8]]
    gens = {"full": backend.generate(pq, 32),
            "stop": backend.generate(pq, 32, stop_when=first_line_complete)}
    out["pseudo_queries"] = {k: {"queries": [clean_query(g.text, strip) for g in v],
                                 "tokens": [g.output_tokens for g in v]}
                             for k, v in gens.items()}
    for name, reranker in families.items():
        run = reranker.rerank(ds.queries, first_stage, ds.corpus)
        out[name] = {"rankings": {q: list(run[q].doc_ids) for q in run},
                     "scores": {q: list(run[q].scores) for q in run},
                     "llm_stats": run.metadata["llm_stats"]}
    with open(dst, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
