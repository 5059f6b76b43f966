"""Cost curves of dense search (#34): build / search time, peak RSS, HNSW recall vs N.

Random unit vectors (seeded) are written in chunks to an ``.npy`` with ``open_memmap`` under
/tmp/bench-data/dense/, and fed to ``Dense._index`` (our own flat / hnsw / mmap index code) by
replacing only ``embed_corpus`` (the encoder step); each (index, dim, N) step runs in a child
process so its peak RSS is its own. Fits log(time) and log(RSS) vs log(N) and extrapolates to
MS MARCO (8.8M) and FEVER (5.4M). Usage: ``python benchmarks/scale_dense.py [--sizes 10000,...]``.
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

DATA = Path("/tmp/bench-data/dense")
CHUNK = 65536
K, NQ = 100, 100


def vectors(n: int, dim: int) -> Path:
    """Seeded random unit vectors (n, dim) float32, written chunk by chunk."""
    path = DATA / f"emb_{n}_{dim}.npy"
    if path.is_file():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, dim))
    rng = np.random.default_rng(n * 1000 + dim)
    for s in range(0, n, CHUNK):
        block = rng.standard_normal((min(CHUNK, n - s), dim), dtype=np.float32)
        out[s:s + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    out.flush()
    del out
    os.replace(tmp, path)
    return path


class _Ids(dict):
    """Stands for a corpus: ``_index`` only needs its length and keys."""


class _NoEncoder:
    dim = 0

    def config(self) -> dict:
        return {"model": "random-unit-vectors"}


def step(index: str, n: int, dim: int) -> dict:
    """Child: build ``index`` over the cached vectors, search NQ queries top-K."""
    from rankify_lite.retrievers.dense import Dense

    path = DATA / f"emb_{n}_{dim}.npy"
    d = Dense(index=index, encoder=_NoEncoder())
    d.embed_corpus = lambda corpus: np.load(path, mmap_mode="r")
    ids = _Ids.fromkeys(str(i) for i in range(n))
    t0 = time.perf_counter()
    d._index(ids)
    build = time.perf_counter() - t0
    q = np.random.default_rng(7).standard_normal((NQ, dim), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    t0 = time.perf_counter()
    hits = d.search_vectors(q, K)
    search = time.perf_counter() - t0
    top = [[int(doc) for doc, _ in row] for row in hits]
    return {"build_s": build, "search_s": search, "top": top}


def run_child(index: str, n: int, dim: int) -> dict:
    code = (f"import json,sys,resource; sys.path.insert(0,{str(Path(__file__).parent)!r});"
            f"import scale_dense as s; r=s.step({index!r},{n},{dim});"
            "r['rss_mb']=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024;"
            "print(json.dumps(r))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--dims", default="384,768")
    ap.add_argument("--indexes", default="flat,hnsw,mmap")
    ap.add_argument("--hnsw-max", type=int, default=10**9, help="largest N built with hnsw")
    ap.add_argument("--flat-max", type=int, default=10**9,
                    help="largest N built with flat (it holds n x dim x 4 bytes in RAM)")
    ap.add_argument("--dim-max", default="",
                    help="largest N per dimension, e.g. 768:1000000 (disk: n x dim x 4 bytes)")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    dims = [int(x) for x in a.dims.split(",")]
    load0 = os.getloadavg()[0]
    rows = []
    dim_max = {int(k): int(v) for k, v in (x.split(":") for x in a.dim_max.split(",") if x)}
    skipped = []
    for dim in dims:
        for n in sizes:
            if n > dim_max.get(dim, 10**12):
                skipped.append(f"{dim}-d at {n:,} (disk: {n * dim * 4 / 2**30:.1f} GB)")
                continue
            # in a child: on Linux ru_maxrss carries over fork+exec, so the parent stays small
            subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, "
                            f"{str(Path(__file__).parent)!r}); import scale_dense as s; "
                            f"s.vectors({n}, {dim})"], check=True)
            flat_top = None
            for index in a.indexes.split(","):
                if (index == "hnsw" and n > a.hnsw_max) or (index == "flat" and n > a.flat_max):
                    skipped.append(f"{index} {dim}-d at {n:,}")
                    continue
                r = run_child(index, n, dim)
                if index == "flat":
                    flat_top = r["top"]
                recall = ""
                if index == "hnsw" and flat_top is not None:
                    recall = np.mean([len(set(h) & set(f)) / K
                                      for h, f in zip(r["top"], flat_top, strict=True)])
                    recall = f"{recall:.3f}"
                rows.append((index, dim, n, r["build_s"], r["search_s"], r["rss_mb"], recall))
                print(f"{index:5} dim={dim} N={n:>8} build={r['build_s']:.2f}s "
                      f"search={r['search_s']:.3f}s rss={r['rss_mb']:.0f}MB recall={recall}",
                      flush=True)
    load1 = os.getloadavg()[0]
    table = ["| index | dim | N | build s | search s (100 q, top-100) | peak RSS MB | "
             "hnsw recall@100 |", "|---|---|---|---|---|---|---|"]
    table += [f"| {i} | {d} | {n:,} | {b:.2f} | {s:.3f} | {m:.0f} | {r} |"
              for i, d, n, b, s, m, r in rows]
    fits = ["| index | dim | time exp. (build+search) | RSS exp. | build+search @5.4M s | "
            "@8.8M s | RSS @8.8M GB |", "|---|---|---|---|---|---|---|"]
    plot = {}
    for index in a.indexes.split(","):
        for dim in dims:
            sel = [r for r in rows if r[0] == index and r[1] == dim]
            if len(sel) < 2:
                continue
            ns = [r[2] for r in sel]
            tt = [r[3] + r[4] for r in sel]
            mm = [r[5] for r in sel]
            (te, ti), (me, mi) = loglog_fit(ns, tt), loglog_fit(ns, mm)
            plot[f"{index}-{dim}"] = (ns, tt)
            ex = [np.exp(ti) * x ** te for x in (5.4e6, 8.8e6)]
            fits.append(f"| {index} | {dim} | {te:.2f} | {me:.2f} | {ex[0]:.0f} | {ex[1]:.0f} "
                        f"| {np.exp(mi) * 8.8e6 ** me / 1024:.1f} |")
    print("\n".join(table + [""] + fits))
    if not a.write:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, (ns, tt) in plot.items():
        ax.loglog(ns, tt, marker="o", label=label)
    ax.set_xlabel("documents N")
    ax.set_ylabel("build + search seconds")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(Path(__file__).parent / "plots" / "scale_dense.png", dpi=100)
    sys.path.insert(0, str(Path(__file__).parent))
    from _results import machine, write_section

    body = (f"Random seeded unit vectors through `Dense._index` (flat / hnsw M=32 "
            f"efC=200 efS=128 / mmap), one child process per step; {machine()}. Shared "
            f"machine: load average {load0:.2f} at start, {load1:.2f} at end. Exponents are "
            f"np.polyfit slopes of log value vs log N over the measured sizes "
            f"({', '.join(f'{n:,}' for n in sizes)}); the 5.4M (FEVER) / 8.8M (MS MARCO) "
            f"columns are extrapolations from that fit, not measurements (an 8.8M row, where "
            f"present, is measured). Not run: {'; '.join(skipped) or 'nothing'} (hnsw builds "
            f"grow ~N^1.6 on 2 cores; flat at 8.8M x 384 would hold 13.5 GB in RAM on a "
            f"shared 24 GB machine).\n\n"
            + "\n".join(table) + "\n\n" + "\n".join(fits)
            + "\n\n![dense cost curves](plots/scale_dense.png)\n")
    write_section("scale_dense", body)


if __name__ == "__main__":
    main()
