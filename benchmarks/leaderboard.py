"""The main leaderboard (SciFact, DL19, DL20) through the cached pipeline, plus timings.

    python benchmarks/leaderboard.py [CONFIG] [--refresh]

Runs ``benchmarks/leaderboards/main.yaml`` (same as ``rankify-lite leaderboard CONFIG``),
writes the table, CSV and plots beside the config, and this script's section of RESULTS.md:
the nDCG@10 summary, the wall time of the run, and the wall time of an immediate rerun (every
stage served from the cache) for comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("RANKIFY_LITE_DATA", str(HERE.parents[1] / "shared" / "data"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _results import markdown_table, write_section  # noqa: E402

from rankify_lite.leaderboard import load_config, run_leaderboard  # noqa: E402
from rankify_lite.leaderboard.report import (  # noqa: E402
    dataset_markdown,
    legend,
    summary_markdown,
    write_reports,
)

NAME = "leaderboard"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default=str(HERE / "leaderboards" / "main.yaml"))
    ap.add_argument("--refresh", action="store_true", help="recompute every stage")
    args = ap.parse_args(argv)
    config = load_config(args.config)
    first = run_leaderboard(config, refresh=args.refresh, progress=False)
    folder = config.output_dir()
    write_reports(first, folder, overwrite=True)  # the folder is this script's output
    t0 = time.perf_counter()
    again = run_leaderboard(config, progress=False, log=None)
    rerun_s = time.perf_counter() - t0
    if again.means() != first.means():
        raise SystemExit("a rerun from the cache gave different scores")
    rel = folder.relative_to(HERE)
    timing = markdown_table(
        ["run", "stages computed", "stages from cache", "wall s"],
        [["this run", first.computed_stages, first.cached_stages, round(first.seconds, 1)],
         ["immediate rerun (cache)", again.computed_stages, again.cached_stages,
          round(rerun_s, 1)]])
    per_dataset = "\n".join(dataset_markdown(first, d).replace("### ", "#### ")
                            for d in first.datasets)
    body = (f"Config `benchmarks/{rel}.yaml`; full tables, LaTeX, per-query CSV and plots in "
            f"`benchmarks/{rel}/`. nDCG@10:\n\n{summary_markdown(first)}\n{legend(first)}\n\n"
            f"Per dataset (ms/query and, for LLM rerankers, forward passes per query beside "
            f"the metrics):\n\n{per_dataset}\n"
            f"![latency]({rel}/latency.png)\n![win/loss]({rel}/winloss.png)\n\n"
            f"Wall time (machine shared with other jobs; 'this run' is mostly cache hits when "
            f"the runs were computed before):\n\n{timing}\n")
    write_section(NAME, body)
    print(body)


if __name__ == "__main__":
    main()
