"""Cost curves of evaluation (#34): reading and scoring large TREC runs vs N lines.

Seeded synthetic runs (Q = N / 1000 queries x 1000 docs, distinct scores) and qrels (3-7 judged
docs per query, grades 0-2, some inside the run, some not) are streamed to TREC files under
/tmp/bench-data/eval/. Per size, each system runs in its own child process (so
``ru_maxrss`` is that step's own peak RSS) and times reading and evaluating separately:
``rankify_lite`` (``read_run`` / ``read_qrels`` + ``evaluate``), pytrec_eval (its
``parse_run`` / ``parse_qrel`` + ``RelevanceEvaluator``) and ranx (``Run.from_file`` /
``Qrels.from_file`` + ``ranx.evaluate``), metrics nDCG@10, R@100, R@1000, MAP@1000. numba
kernels are warmed on a tiny run before timing. The three mean nDCG@10 must agree to 1e-6.
Fits log(time) and log(RSS) vs log(N) and extrapolates to MS MARCO dev (6,980 x 1000 = 7M lines).

    python benchmarks/scale_eval.py [--sizes 10000,100000,1000000] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from _results import loglog_fit  # the benchmarks folder is on sys.path (script or child)

DATA = Path("/tmp/bench-data/eval")
DEPTH = 1000
OURS = ["ndcg@10", "recall@100", "recall@1000", "map@1000"]
TREC = {"ndcg_cut.10", "recall.100", "recall.1000", "map_cut.1000"}
SYSTEMS = ("rankify_lite", "pytrec_eval", "ranx")
MSMARCO = 6980 * DEPTH
CHUNK_Q = 200  # queries written per chunk
_RANK_P = 1.0 / np.arange(1, DEPTH + 1) ** 0.7  # relevant docs lean to the top of the run
_RANK_P = _RANK_P / _RANK_P.sum()


def files(n: int) -> tuple[Path, Path]:
    """Seeded run (n lines) and qrels as TREC files, written chunk by chunk."""
    run_path, qrels_path = DATA / f"run_{n}.trec", DATA / f"qrels_{n}.txt"
    if run_path.is_file() and qrels_path.is_file():
        return run_path, qrels_path
    DATA.mkdir(parents=True, exist_ok=True)
    nq = n // DEPTH
    rng = np.random.default_rng(n)
    scores = [f"{DEPTH - r}.{r % 97:02d}" for r in range(DEPTH)]  # distinct, decreasing
    tmp_run, tmp_qrels = run_path.with_suffix(".tmp"), qrels_path.with_suffix(".tmp")
    with open(tmp_run, "w") as fr, open(tmp_qrels, "w") as fq:
        for s in range(0, nq, CHUNK_Q):
            lines, qlines = [], []
            for q in range(s, min(nq, s + CHUNK_Q)):
                docs = np.unique(rng.integers(0, 10**7, DEPTH + 200))
                docs = rng.permutation(docs)[:DEPTH]
                assert len(docs) == DEPTH
                qid = f"q{q}"
                lines += [f"{qid} Q0 d{d} {r + 1} {scores[r]} synth\n"
                          for r, d in enumerate(docs.tolist())]
                n_rel = int(rng.integers(3, 8))
                n_in = int(rng.integers(0, n_rel + 1))  # how many of them the run retrieved
                ranks = np.sort(rng.choice(DEPTH, n_in, replace=False,
                                           p=_RANK_P)) if n_in else []
                judged = [f"d{docs[r]}" for r in ranks]
                judged += [f"d{10**7 + int(x)}" for x in rng.integers(0, 10**7, n_rel - n_in)]
                grades = rng.integers(0, 3, len(judged))
                grades[0] = max(grades[0], 1)  # at least one relevant doc per query
                qlines += [f"{qid} 0 {d} {g}\n" for d, g in zip(judged, grades.tolist(),
                                                                 strict=True)]
            fr.write("".join(lines))
            fq.write("".join(qlines))
    os.replace(tmp_run, run_path)
    os.replace(tmp_qrels, qrels_path)
    return run_path, qrels_path


def _tiny():
    """A 2-query run and qrels, to warm numba kernels (load from cache / compile once)."""
    run = {"a": {"x": 2.0, "y": 1.0}, "b": {"x": 1.0, "z": 0.5}}
    qrels = {"a": {"x": 1, "w": 2}, "b": {"z": 2}}
    return run, qrels


def step(system: str, n: int) -> dict:
    """Child: read the size-n files with ``system``'s own readers, then evaluate."""
    import time

    run_path, qrels_path = DATA / f"run_{n}.trec", DATA / f"qrels_{n}.txt"
    tiny_run, tiny_qrels = _tiny()
    if system == "rankify_lite":
        from rankify_lite.evaluation import evaluate
        from rankify_lite.io.trec import read_qrels, read_run
        from rankify_lite.types import Qrels, Run

        evaluate(Run.from_scores(tiny_run), Qrels(tiny_qrels), OURS)
        t0 = time.perf_counter()
        run, qrels = read_run(run_path), read_qrels(qrels_path)
        t1 = time.perf_counter()
        ndcg = evaluate(run, qrels, OURS).mean["ndcg@10"]
    elif system == "pytrec_eval":
        import pytrec_eval

        t0 = time.perf_counter()
        with open(run_path) as f:
            run = pytrec_eval.parse_run(f)
        with open(qrels_path) as f:
            qrels = pytrec_eval.parse_qrel(f)
        t1 = time.perf_counter()
        per_q = pytrec_eval.RelevanceEvaluator(qrels, TREC).evaluate(run)
        ndcg = sum(v["ndcg_cut_10"] for v in per_q.values()) / len(per_q)
    else:
        import warnings

        import ranx

        warnings.simplefilter("ignore")
        ranx.evaluate(ranx.Qrels(tiny_qrels), ranx.Run(tiny_run), OURS)
        t0 = time.perf_counter()
        run = ranx.Run.from_file(str(run_path), kind="trec")
        qrels = ranx.Qrels.from_file(str(qrels_path), kind="trec")
        t1 = time.perf_counter()
        ndcg = ranx.evaluate(qrels, run, OURS)["ndcg@10"]
    t2 = time.perf_counter()
    return {"read_s": t1 - t0, "eval_s": t2 - t1, "ndcg": float(ndcg)}


def run_child(system: str, n: int, timeout: float) -> dict:
    code = (f"import json,sys,resource; sys.path.insert(0,{str(Path(__file__).parent)!r});"
            f"import scale_eval as s; r=s.step({system!r},{n});"
            "r['rss_mb']=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024;"
            "print(json.dumps(r))")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"skip": f"over {timeout:.0f} s"}
    if out.returncode != 0:
        tail = out.stderr.strip().splitlines()[-1:] or ["?"]
        return {"skip": f"failed (rc {out.returncode}: {tail[0][:80]})"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--timeout", type=float, default=600, help="seconds per child step")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    systems = a.systems.split(",")
    load0 = os.getloadavg()
    rows: dict[tuple[str, int], dict] = {}
    for n in sizes:
        # in a child: ru_maxrss carries over fork+exec, so the parent stays small
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, "
                        f"{str(Path(__file__).parent)!r}); import scale_eval as s; "
                        f"s.files({n})"], check=True)
        if n == sizes[0]:  # populate numba's on-disk caches before any timed step
            for system in systems:
                run_child(system, n, a.timeout)
        for system in systems:
            r = run_child(system, n, a.timeout)
            rows[system, n] = r
            if "skip" in r:
                print(f"{system:12} N={n:>8} skipped: {r['skip']}", flush=True)
                continue
            print(f"{system:12} N={n:>8} read={r['read_s']:.2f}s eval={r['eval_s']:.2f}s "
                  f"rss={r['rss_mb']:.0f}MB ndcg@10={r['ndcg']:.8f}", flush=True)
        done = [rows[s, n]["ndcg"] for s in systems if "ndcg" in rows[s, n]]
        assert max(done) - min(done) <= 1e-6, f"nDCG@10 disagree at N={n}: {done}"
    load1 = os.getloadavg()

    headers = ["system", "N lines", "queries", "read s", "evaluate s", "total s",
               "total / ours", "peak RSS MB", "RSS / ours", "mean nDCG@10"]
    table = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for n in sizes:
        ours = rows.get(("rankify_lite", n), {})
        for system in systems:
            r = rows[system, n]
            if "skip" in r:
                table.append(f"| {system} | {n:,} | {n // DEPTH:,} | skipped: {r['skip']} "
                             "| | | | | | |")
                continue
            tot = r["read_s"] + r["eval_s"]
            ratio = rss_ratio = ""
            if "read_s" in ours:
                ratio = f"{tot / (ours['read_s'] + ours['eval_s']):.2f}"
                rss_ratio = f"{r['rss_mb'] / ours['rss_mb']:.2f}"
            table.append(f"| {system} | {n:,} | {n // DEPTH:,} | {r['read_s']:.3f} | "
                         f"{r['eval_s']:.3f} | {tot:.3f} | {ratio} | {r['rss_mb']:.0f} | "
                         f"{rss_ratio} | {r['ndcg']:.6f} |")
    fits = ["| system | fit over | time exp. (read+evaluate) | RSS exp. | read+evaluate @7M s "
            "(extrapolated) | peak RSS @7M GB (extrapolated) |", "|---|---|---|---|---|---|"]
    plot = {}
    for system in systems:
        sel = [(n, rows[system, n]) for n in sizes if "read_s" in rows[system, n]]
        if len(sel) < 2:
            continue
        ns = [n for n, _ in sel]
        tt = [r["read_s"] + r["eval_s"] for _, r in sel]
        mm = [r["rss_mb"] for _, r in sel]
        plot[system] = (ns, tt, mm)
        # all sizes, then the two largest: fixed costs (interpreter, imports, ranx's numba
        # setup) flatten the all-sizes slope; the last two sizes show the marginal growth
        spans = [slice(None)] + ([slice(-2, None)] if len(ns) > 2 else [])
        for span in spans:
            (te, ti), (me, mi) = loglog_fit(ns[span], tt[span]), loglog_fit(ns[span], mm[span])
            over = ", ".join(f"{n:,}" for n in ns[span])
            fits.append(f"| {system} | {over} | {te:.2f} | {me:.2f} | "
                        f"{np.exp(ti) * MSMARCO ** te:.1f} | "
                        f"{np.exp(mi) * MSMARCO ** me / 1024:.2f} |")
    print("\n".join(table + [""] + fits))
    if not a.write:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for label, (ns, tt, mm) in plot.items():
        ax1.loglog(ns, tt, marker="o", label=label)
        ax2.loglog(ns, mm, marker="o", label=label)
    ax1.set_ylabel("read + evaluate seconds")
    ax2.set_ylabel("peak RSS MB")
    for ax in (ax1, ax2):
        ax.set_xlabel("run lines N (queries x 1000)")
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(Path(__file__).parent / "plots" / "scale_eval.png", dpi=100)
    sys.path.insert(0, str(Path(__file__).parent))
    from _results import machine, write_section

    body = (f"Seeded synthetic TREC runs (N / 1000 queries x 1000 docs, distinct scores) and "
            f"qrels (3-7 judged docs per query, grades 0-2, some retrieved, some not), read "
            f"from disk and evaluated on {', '.join(OURS)}; each (system, N) in its own child "
            f"process, so peak RSS is that step's own (interpreter and imports included); numba "
            f"kernels warmed before timing. Readers: ours `read_run` / `read_qrels`, "
            f"pytrec_eval's `parse_run` / `parse_qrel`, ranx's `Run.from_file` / "
            f"`Qrels.from_file`. {machine()}. Shared machine: load average (1/5/15 min) "
            f"{'/'.join(f'{x:.2f}' for x in load0)} at start, "
            f"{'/'.join(f'{x:.2f}' for x in load1)} at end. The three mean nDCG@10 agree to "
            f"1e-6 at every size (asserted). Exponents are np.polyfit slopes of log value vs "
            f"log N, over all measured sizes and over the two largest (fixed costs, such as the "
            f"interpreter and imports in peak RSS or ranx's numba setup in its read time, "
            f"flatten the all-sizes slope); the 7M (MS MARCO dev: 6,980 queries x 1000) "
            f"columns are extrapolations from each fit, not measurements.\n\n"
            + "\n".join(table) + "\n\n" + "\n".join(fits)
            + "\n\n![evaluation cost curves](plots/scale_eval.png)\n")
    write_section("scale_eval", body)


if __name__ == "__main__":
    main()
