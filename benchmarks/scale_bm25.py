"""Cost curves of BM25 (#34): load, index and search time and peak RSS vs corpus size.

Synthetic BEIR folders (``_synthetic.py``: Zipf vocabulary, MS MARCO-like lengths) of 10k, 100k
and 1M documents; for each size and backend (Lucene through Anserini, bm25s) one child process
loads the folder with ``load_beir_folder``, builds a fresh index (``index_root`` in a temporary
folder, so nothing is cached) and retrieves the top 100 for 1,000 queries. Each step's own peak
RSS comes from ``ru_maxrss`` of its child. A separate ``load`` row is the corpus alone in RAM
(our ``Corpus`` holds every ``Document``), so what indexing adds on top shows. Fits log(time) and
log(RSS) vs log(N) and extrapolates to FEVER / Climate-FEVER (5.4M) and MS MARCO (8.8M).

    python benchmarks/scale_bm25.py [--sizes 10000,100000,1000000] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _results import loglog_fit  # the benchmarks folder is on sys.path (script or child)

HERE = Path(__file__).resolve().parent
K = 100
TARGETS = (("FEVER 5.4M", 5.42e6), ("MS MARCO 8.8M", 8.84e6))


def step(backend: str, n: int) -> dict:
    """Child: load the synthetic folder; for a backend, index it fresh and search it."""
    import tempfile

    from _synthetic import dataset_dir

    from rankify_lite.datasets.beir_folder import load_beir_folder

    t0 = time.perf_counter()
    ds = load_beir_folder(dataset_dir(n), name=f"synthetic-{n}")
    out = {"load_s": time.perf_counter() - t0, "docs": len(ds.corpus)}
    if backend == "load":
        return out
    from rankify_lite.retrievers import BM25

    with tempfile.TemporaryDirectory(dir="/tmp/bench-data") as root:
        bm25 = BM25(backend=backend, progress=False, index_root=root)
        t0 = time.perf_counter()
        bm25.index(ds.corpus)
        out["index_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = bm25.retrieve(ds.queries, k=K)
        out["search_s"] = time.perf_counter() - t0
        out["queries"] = len(ds.queries)
        # each query is a span of its one relevant document: how often BM25 finds it
        out["found@100"] = float(np.mean([q.replace("q", "d", 1) in set(run[q].doc_ids)
                                          for q in run.lists]))
        bm25.close()
    return out


def run_child(backend: str, n: int) -> dict:
    code = (f"import json,sys,resource; sys.path.insert(0,{str(HERE)!r});"
            f"import scale_bm25 as s; r=s.step({backend!r},{n});"
            "r['rss_mb']=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024;"
            "print(json.dumps(r))")
    env = {**os.environ, "RANKIFY_LITE_CACHE": "/tmp/bench-data/scale-cache"}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"{backend} N={n} failed:\n{out.stderr[-3000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall_s"] = time.perf_counter() - t0
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--backends", default="load,lucene,bm25s")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    backends = a.backends.split(",")
    sys.path.insert(0, str(HERE))
    from _synthetic import dataset_dir

    gen = {}
    for n in sizes:
        t0 = time.perf_counter()
        folder = dataset_dir(n)
        gen[n] = (time.perf_counter() - t0, (folder / "corpus.jsonl").stat().st_size / 2**20)
    load0 = os.getloadavg()[0]
    rows = []
    for n in sizes:
        for backend in backends:
            r = run_child(backend, n)
            rows.append((backend, n, r))
            print(f"{backend:6} N={n:>8} load={r['load_s']:.1f}s index={r.get('index_s', 0):.1f}s "
                  f"search={r.get('search_s', 0):.2f}s rss={r['rss_mb']:.0f}MB", flush=True)
    load1 = os.getloadavg()[0]
    table = ["| step | N | corpus MB | load s | index s | search s (1,000 q, top-100) | "
             "docs/s indexed | peak RSS MB | found@100 |", "|---|---|---|---|---|---|---|---|---|"]
    for backend, n, r in rows:
        idx = r.get("index_s")
        extra = ["", "", "", ""] if idx is None else [
            f"{idx:.1f}", f"{r['search_s']:.2f}", f"{n / idx:,.0f}", f"{r['found@100']:.3f}"]
        table.append(f"| {backend} | {n:,} | {gen[n][1]:.0f} | {r['load_s']:.1f} | {extra[0]} | "
                     f"{extra[1]} | {extra[2]} | {r['rss_mb']:.0f} | {extra[3]} |")
    fits = ["| step | time exp. (load+index+search) | RSS exp. | "
            + " | ".join(f"{name} time | {name} RSS GB" for name, _ in TARGETS) + " |",
            "|---|---|---|" + "---|---|" * len(TARGETS)]
    plot = {}
    for backend in backends:
        sel = [(n, r) for b, n, r in rows if b == backend]
        big = [(n, r) for n, r in sel if n >= 100_000]  # past the fixed costs (JVM, imports)
        sel = big if len(big) >= 2 else sel
        if len(sel) < 2:
            continue
        ns = [n for n, _ in sel]
        tt = [r["load_s"] + r.get("index_s", 0) + r.get("search_s", 0) for _, r in sel]
        mm = [r["rss_mb"] for _, r in sel]
        (te, ti), (me, mi) = loglog_fit(ns, tt), loglog_fit(ns, mm)
        plot[backend] = (ns, tt, mm)
        cells = []
        for _, x in TARGETS:
            sec = np.exp(ti) * x ** te
            cells.append(f"{sec / 60:.1f} min | {np.exp(mi) * x ** me / 1024:.1f}")
        fits.append(f"| {backend} | {te:.2f} | {me:.2f} | " + " | ".join(cells) + " |")
    print("\n".join(table + [""] + fits))
    if not a.write:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 4))
    for label, (ns, tt, mm) in plot.items():
        ax1.loglog(ns, tt, marker="o", label=label)
        ax2.loglog(ns, mm, marker="o", label=label)
    ax1.set_ylabel("load + index + search seconds")
    ax2.set_ylabel("peak RSS MB")
    for ax in (ax1, ax2):
        ax.set_xlabel("documents N")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "plots" / "scale_bm25.png", dpi=100)
    from _results import machine, write_section

    gen_txt = ", ".join(f"{n:,}: {s:.0f} s / {mb:.0f} MB" for n, (s, mb) in gen.items())
    body = (f"Synthetic BEIR folders from `benchmarks/_synthetic.py` (Zipf vocabulary of 200k "
            f"words, exponent 1.1; log-normal lengths, mean 60 words; 1,000 queries, each a "
            f"3-8 word span of one document), one child process per step, fresh index each "
            f"time (nothing cached); {machine()}. Shared machine: load average {load0:.2f} at "
            f"start, {load1:.2f} at end. `load` is reading the folder into our `Corpus` alone; "
            f"a backend row's time and RSS include that load. Generating the folders "
            f"(seconds / corpus.jsonl size, or 0 s when reused): {gen_txt}. Exponents are "
            f"np.polyfit slopes of log value vs log N over the measured sizes from 100k up "
            f"(below that, fixed costs such as starting the JVM dominate); the 5.4M / 8.8M "
            f"columns are extrapolations from that fit, not measurements.\n\n"
            + "\n".join(table) + "\n\n" + "\n".join(fits)
            + "\n\n![BM25 cost curves](plots/scale_bm25.png)\n")
    write_section("scale_bm25", body)


if __name__ == "__main__":
    main()
