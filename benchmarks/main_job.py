"""The README's main job (``rankify-lite run --dataset beir/scifact --retriever bm25``): wall
seconds of a first run (an empty result cache) and of a cached rerun, and where the time goes.

Each repeat starts from a fresh ``RANKIFY_LITE_CACHE`` folder (so Lucene indexes, retrieves and
caches the run), then runs the same command again (served from the cache). The operating
system's file cache, the extracted Java runtime and numba's compiled kernels are warm, as on a
user's second day; the first run after installing also compiles ranx's kernels once.

    python benchmarks/main_job.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import markdown_table, write_section  # noqa: E402

COMMAND = ["run", "--dataset", "beir/scifact", "--retriever", "bm25"]
_STAGE = re.compile(r"^time: (\S+) (cached|[0-9.]+s); total ([0-9.]+)s", re.M)


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("rankify-lite")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "rankify_lite.cli.main"]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, out.stdout + out.stderr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    rows: dict[str, list[float]] = {k: [] for k in (
        "python startup", "import the CLI", "first run: wall", "first run: BM25 stage",
        "first run: total reported", "cached run: wall", "cached run: total reported")}
    for _ in range(args.repeats):
        cache = tempfile.mkdtemp(prefix="rkl-main-")
        env = {**os.environ, "RANKIFY_LITE_CACHE": cache}
        try:
            rows["python startup"].append(timed([sys.executable, "-c", "pass"], env)[0])
            rows["import the CLI"].append(
                timed([sys.executable, "-c", "import rankify_lite.cli.main"], env)[0])
            wall, text = timed(_cli() + COMMAND, env)
            stage = _STAGE.search(text)
            rows["first run: wall"].append(wall)
            rows["first run: BM25 stage"].append(float(stage.group(2).rstrip("s")))
            rows["first run: total reported"].append(float(stage.group(3)))
            wall, text = timed(_cli() + COMMAND, env)
            stage = _STAGE.search(text)
            assert stage.group(2) == "cached", text
            rows["cached run: wall"].append(wall)
            rows["cached run: total reported"].append(float(stage.group(3)))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    load1 = os.getloadavg()[0]
    table = markdown_table(["step", "median s", "min s", "max s"],
                           [[k, statistics.median(v), min(v), max(v)] for k, v in rows.items()])
    body = (f"`rankify-lite {' '.join(COMMAND)}`, {args.repeats} repeats, each from an empty "
            "result cache (first run) and then again (cached run). \"total reported\" is the "
            "CLI's own `time:` line (from the start of the run to its end, imports excluded); "
            "the rest of a wall time is Python's start, imports and printing. The OS file "
            "cache, the extracted Java runtime and numba's compiled ranx kernels are warm. "
            f"Load average {load0:.2f} at the start, {load1:.2f} at the end.\n\n{table}\n")
    print(table)
    write_section("main_job", body)


if __name__ == "__main__":
    main()
