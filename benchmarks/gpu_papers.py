"""The papers' rerankers with their released checkpoints on DL19 / DL20 (a GPU's job).

    python benchmarks/gpu_papers.py [--out DIR] [--config benchmarks/leaderboards/papers_gpu.yaml]

Runs the rows of ``papers_gpu.yaml`` whose checkpoints are in the local Hugging Face cache (the
device machine has no network: put them there first with ``huggingface-cli download``; a LoRA
adapter needs its base too), names the rows it skipped and why, and writes the leaderboard's
reports to ``--out`` (``benchmarks/gpu_all.sh`` calls it). Without CUDA it refuses to start: 4-8B
models on a 2-core CPU would take days.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cached(model: str) -> bool:
    """Whether ``model``'s config (or adapter config) is in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    return any(isinstance(try_to_load_from_cache(model, name), str)
               for name in ("config.json", "adapter_config.json"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(HERE / "leaderboards" / "papers_gpu.yaml"))
    ap.add_argument("--out", default=str(HERE / "gpu_out"))
    args = ap.parse_args(argv)

    import torch

    from rankify_lite.leaderboard import load_config, run_leaderboard
    from rankify_lite.leaderboard.config import chain_of
    from rankify_lite.leaderboard.report import summary_markdown, write_reports

    config = load_config(args.config)
    missing = {r.name: r.model for r in config.rerankers if r.model and not cached(r.model)}
    keep = tuple(r for r in config.rerankers
                 if not any(e.name in missing for e in chain_of(r, config.rerankers)))
    out = Path(args.out) / "papers"
    out.mkdir(parents=True, exist_ok=True)
    report = {"skipped": {n: f"{m} is not in the local Hugging Face cache"
                          for n, m in missing.items()},
              "cuda": torch.cuda.is_available(), "rows": [r.name for r in keep]}
    (out / "skipped.json").write_text(json.dumps(report, indent=2))
    for name, why in report["skipped"].items():
        print(f"skipped {name}: {why}")
    if not torch.cuda.is_available():
        print("no CUDA GPU: the papers' checkpoints (4-8B) are not run on the CPU")
        return 0
    if not keep:
        print("no checkpoint is cached: nothing to run")
        return 0
    result = run_leaderboard(dataclasses.replace(config, rerankers=keep), cache=out / "cache",
                             log=lambda m: print(m, file=sys.stderr, flush=True))
    write_reports(result, out / "leaderboard", plots=False, overwrite=True)
    print(summary_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
