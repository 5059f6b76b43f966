"""Pseudo-query generation cost: decoding to ``max_new_tokens`` vs stopping once the first line
is complete (``stop_when=first_line_complete``, what ``generate_pseudo_queries`` does on the
engines that can stop), SmolLM2-135M-Instruct on SciFact passages, interleaved batches.

The query is the output's first line (``clean_query``), so both give the same queries; the
script checks that and counts output tokens and queries/s for each, on the same prompts:

    flock /tmp/bench.lock nice -n 5 python benchmarks/pseudo_query_speed.py [--passages 96]

Writes section ``pseudo_query_speed`` of ``benchmarks/RESULTS.md``.
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--passages", type=int, default=96)
    p.add_argument("--styles", default="inpars,claim")
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
    from rankify_lite.rerankers.engines import build_backend

    scifact = load_dataset(SHARED / "beir" / "scifact")
    llm = build_backend("transformers", GENERATOR, dtype="bfloat16", batch_size=16)
    rows, total = [], {"full": 0.0, "stop": 0.0}
    for style_name in args.styles.split(","):
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
        rows.append([style_name, n, f"{n / seconds['full']:.2f}", f"{n / seconds['stop']:.2f}",
                     f"{seconds['full'] / seconds['stop']:.2f}x",
                     f"{tokens['full'] / n:.1f}", f"{tokens['stop'] / n:.1f}", f"{same}/{n}"])
        for mode in total:
            total[mode] += seconds[mode]
        print(rows[-1], flush=True)
    table = markdown_table(["preset", "passages", "queries/s, to max_new_tokens",
                            "queries/s, stop at the first line", "speed-up",
                            "output tokens/query, full", "output tokens/query, stop",
                            "same queries"], rows)
    body = (f"`{GENERATOR}` (transformers, bf16, greedy, batches of 16, 32 new tokens at most, "
            f"passages cut to 128 tokens) on {args.passages} SciFact passages drawn "
            f"with seed 0; each batch is decoded both ways, in alternating order.\n\n{table}\n\n"
            f"Over both presets: {total['full'] / total['stop']:.2f}x.")
    print(body)
    write_section("pseudo_query_speed", body)


if __name__ == "__main__":
    main()
