"""Pseudo-query generation cost: decoding to ``max_new_tokens`` vs stopping once the first line
is complete (``stop_when=first_line_complete``, what ``generate_pseudo_queries`` does on the
engines that can stop), SmolLM2-135M-Instruct on SciFact passages, interleaved batches.

The query is the output's first line (``clean_query``), so both give the same queries; the
script checks that and counts output tokens and queries/s for each, on the same prompts. The
transformers engine decodes a batch until its longest row stops; llama.cpp (one sequence at a
time; the BF16 GGUF of ``benchmarks/llamacpp_tuning.py``, a row when the file and
llama-cpp-python are here) stops each query on its own:

    flock /tmp/bench.lock nice -n 5 python benchmarks/pseudo_query_speed.py [--passages 96]

Writes section ``pseudo_query_speed`` of ``benchmarks/RESULTS.md``. With ``--engine vllm``, run
by the vLLM environment's python (``PYTHONPATH=. VLLM_CPU_KVCACHE_SPACE=1
~/.cache/rankify-lite/vllm-cpu/bin/python benchmarks/pseudo_query_speed.py --engine vllm``),
it measures vLLM instead (stop strings, continuous batching) and writes
``pseudo_query_speed_vllm``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import markdown_table, write_section  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
GENERATOR = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF = Path.home() / ".cache" / "rankify-lite" / "gguf" / "SmolLM2-135M-Instruct.BF16.gguf"


def _engines(batch_size: int, engine: str) -> dict:
    from rankify_lite.rerankers.engines import build_backend

    if engine == "vllm":
        from rankify_lite.rerankers.engines.vllm_backend import VLLMBackend

        return {"vLLM bf16 (CPU build)": VLLMBackend(
            GENERATOR, dtype="bfloat16", max_model_len=2048, gpu_memory_utilization=0.1,
            enforce_eager=True)}

    out = {"transformers bf16": build_backend("transformers", GENERATOR, dtype="bfloat16",
                                              batch_size=batch_size)}
    try:
        from rankify_lite.rerankers.engines.llamacpp_backend import LlamaCppBackend

        if GGUF.is_file():
            out["llama.cpp BF16 GGUF"] = LlamaCppBackend(str(GGUF), tokenizer=GENERATOR,
                                                         max_context=2048)
    except ImportError as exc:        # llama-cpp-python missing: the row is left out
        print(f"llama.cpp: not run ({exc})")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--passages", type=int, default=96)
    p.add_argument("--styles", default="inpars,claim")
    p.add_argument("--engine", choices=("local", "vllm"), default="local",
                   help="local: transformers and llama.cpp; vllm: vLLM (its own environment)")
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rankify_lite import load_dataset
    from rankify_lite.distill.pseudo_queries import (
        PseudoQueryConfig,
        choose_passages,
        clean_query,
        cut_passage,
        first_line_complete,
        load_style,
        prompt_ids,
    )

    scifact = load_dataset(SHARED / "beir" / "scifact")
    rows = []
    for (engine, llm), style_name in ((e, s) for e in _engines(16, args.engine).items()
                                      for s in args.styles.split(",")):
        cfg = PseudoQueryConfig(style=style_name, passages=args.passages, seed=0)
        style = load_style(style_name)
        strip = style.fields.get("strip_prefixes") or []
        prompts = [prompt_ids(llm, style, cut_passage(llm, scifact.corpus[d].full_text(),
                                                      cfg.max_passage_tokens))
                   for d in choose_passages(scifact.corpus, cfg)]
        llm.generate(prompts[:cfg.batch_size], cfg.max_new_tokens)            # warm-up
        seconds, tokens, queries = {"full": 0.0, "stop": 0.0}, {"full": 0, "stop": 0}, {}
        for b in range(0, len(prompts), cfg.batch_size):
            batch = prompts[b:b + cfg.batch_size]
            for mode in (("full", "stop") if b % (2 * cfg.batch_size) == 0 else ("stop", "full")):
                t0 = time.perf_counter()
                outs = llm.generate(batch, cfg.max_new_tokens,
                                    stop_when=first_line_complete if mode == "stop" else None)
                seconds[mode] += time.perf_counter() - t0
                tokens[mode] += sum(g.output_tokens for g in outs)
                queries.setdefault(mode, []).extend(clean_query(g.text, strip) for g in outs)
        same = sum(a == b for a, b in zip(queries["full"], queries["stop"], strict=True))
        n = len(prompts)
        rows.append([engine, style_name, n, f"{n / seconds['full']:.2f}", f"{n / seconds['stop']:.2f}",
                     f"{seconds['full'] / seconds['stop']:.2f}x",
                     f"{tokens['full'] / n:.1f}", f"{tokens['stop'] / n:.1f}", f"{same}/{n}"])
        print(rows[-1], flush=True)
    table = markdown_table(["engine", "preset", "passages", "queries/s, to max_new_tokens",
                            "queries/s, stop at the first line", "speed-up",
                            "output tokens/query, full", "output tokens/query, stop",
                            "same queries"], rows)
    body = (f"`{GENERATOR}` (greedy, 32 new tokens at most, passages cut to 128 tokens; "
            + ("transformers in batches of 16, llama.cpp one prompt at a time" if
               args.engine == "local" else "vLLM given batches of 16, continuous batching and "
               "stop strings inside each") + ") on "
            f"{args.passages} SciFact passages drawn with seed 0; each batch of 16 is decoded "
            f"both ways, in alternating order.\n\n{table}")
    print(body)
    write_section("pseudo_query_speed" + ("_vllm" if args.engine == "vllm" else ""), body)


if __name__ == "__main__":
    main()
