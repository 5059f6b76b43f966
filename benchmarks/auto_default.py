"""What the default (backend="auto") gives on this machine, against --exact and sentence-transformers.

    python benchmarks/auto_default.py [--docs 128] [--queries 2] [--reps 3]

The same inputs as ``benchmarks/int8_cpu.py`` (MiniLM-L6: real all-MiniLM-L6-v2 for the dense
encoder; its encoder weights under a seeded 1-label head for the cross-encoder; SciFact
abstracts and BM25 top-100 pairs), three or more paths interleaved (best of ``--reps``): ours
as a user builds it with no options (``backend="auto"``: the path it resolved to is named in
the row), ours with ``--exact`` (torch fp32, the reference path), sentence-transformers' torch
backend in this process and, when its environment exists (see ``_st_peer.py``), its OpenVINO
backend. Reports throughput, the ratios to --exact and to the fastest sentence-transformers
row, and the agreement with --exact (Spearman of the cross-encoder scores; min cosine of the
embeddings). Writes the ``auto_default`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _results import markdown_table, write_section  # noqa: E402
from _st_peer import DEFAULT_VENV, Peer  # noqa: E402
from int8_cpu import MINILM, SHARED, add_peers, build_cross_encoder, race, timed  # noqa: E402

NAME = "auto_default"


def _ours(make) -> tuple[object, object]:
    """(auto-built, exact-built) components: auto as a user gets it (the variable unset)."""
    from rankify_lite.models.backends import EXACT_ENV

    saved = os.environ.pop(EXACT_ENV, None)
    try:
        auto = make()
    finally:
        if saved is not None:
            os.environ[EXACT_ENV] = saved
    return auto, make(backend="torch", dtype="float32")


def _table(best, n, unit, agree) -> str:
    exact = next(k for k in best if "--exact" in k)
    st = [k for k in best if k.startswith("sentence-transformers")]
    fastest_st = min(best[k] for k in st) if st else None
    rows = [[k, f"{n / t:.1f}", f"{t:.2f}", f"{best[exact] / t:.2f}x",
             f"{fastest_st / t:.2f}x" if fastest_st else "", agree(k)] for k, t in best.items()]
    return markdown_table(["path", f"{unit}/s", "best s", "vs --exact",
                           "vs fastest sentence-transformers", "agreement with --exact"], rows)


def _compare(args, tmp: Path, peer, why: str, kind: str, make, call, peer_args: dict,
             unit: str, n: int, agree, title: str) -> str:
    """One interleaved race: ours by default (auto), ours --exact, sentence-transformers.
    ``make(**kw)`` builds our component, ``call(component)`` runs it on the inputs,
    ``agree(out, ref)`` says how close an output is to --exact's."""
    auto, exact = _ours(make)
    label = f"ours default (auto: {auto.backend} {auto.config()['dtype']})"
    systems = {label: timed(lambda: call(auto)),
               "ours --exact (torch float32)": timed(lambda: call(exact))}
    skipped: dict[str, str] = {}
    add_peers(systems, skipped, peer, why, kind, peer_args, [], tmp)
    systems = {k: v for k, v in systems.items() if "int8" not in k}
    for fn in systems.values():
        fn()  # warm-up: exports happen here, outside the timings
    best, outs = race(systems, args.reps)
    ref = outs["ours --exact (torch float32)"]
    table = _table(best, n, unit, lambda k: agree(outs[k], ref))
    print(table, flush=True)
    return f"{title}\n\n{table}" + "".join(f"\n\n{k}: not run ({v})"
                                           for k, v in skipped.items() if "int8" not in k)


def cross(args, tmp: Path, peer, why: str) -> str:
    from scipy.stats import spearmanr

    from rankify_lite import load_dataset
    from rankify_lite.io.trec import read_run
    from rankify_lite.rerankers.families.cross_encoder import CrossEncoderReranker

    ds = load_dataset(SHARED)
    bm25 = read_run(SHARED / "runs" / "anserini-bm25-flat.top1000.trec.gz").top(100)
    qids = list(bm25)[:args.queries]
    pairs = [(ds.queries[q].text, ds.corpus[d].full_text()) for q in qids
             for d in bm25[q].doc_ids]
    folder = str(build_cross_encoder(tmp / "minilm-l6-ce"))
    return _compare(
        args, tmp, peer, why, "cross",
        lambda **kw: CrossEncoderReranker(folder, max_length=512, **kw),
        lambda ce: ce.predict(pairs),
        {"path": folder, "pairs": pairs, "batch_size": 32, "max_length": 512},
        "pairs", len(pairs), lambda out, ref: f"Spearman {spearmanr(out, ref).statistic:.4f}",
        f"**Cross-encoder** (MiniLM-L6 encoder weights + seeded 1-label head), "
        f"{len(pairs)} SciFact BM25 top-100 pairs, max_length 512.")


def dense(args, tmp: Path, peer, why: str) -> str:
    from int8_cpu import minilm_folder

    from rankify_lite import load_dataset
    from rankify_lite.models import DenseEncoder

    ds = load_dataset(SHARED)
    docs = list(ds.corpus.values())
    step = max(1, len(docs) // args.docs)
    texts = [d.full_text(" ") for d in docs[::step][:args.docs]]
    return _compare(
        args, tmp, peer, why, "dense",
        lambda **kw: DenseEncoder(MINILM, batch_size=32, progress=False, **kw),
        lambda enc: enc.encode_documents(texts),
        {"path": minilm_folder(), "texts": texts, "batch_size": 32},
        "docs", len(texts),
        lambda out, ref: f"min cosine {float((out * ref).sum(1).min()):.4f}",
        f"**Dense encoder** (`{MINILM}`), {len(texts)} SciFact abstracts.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=128)
    ap.add_argument("--queries", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peer-python", default=str(DEFAULT_VENV / "bin" / "python"))
    args = ap.parse_args()

    import torch

    from rankify_lite.models.openvino_backend import cpu_features

    torch.set_num_threads(args.threads)
    peer, why = None, f"no sentence-transformers OpenVINO environment at {args.peer_python}"
    if Path(args.peer_python).is_file():
        peer = Peer(args.peer_python, args.threads)
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="auto-bench-") as tmp:
        parts = [cross(args, Path(tmp), peer, why), dense(args, Path(tmp), peer, why)]
    feats = ", ".join(k for k, v in cpu_features().items() if v) or "none"
    load1 = os.getloadavg()
    body = (f"CPU features: {feats}; {args.threads} threads; best of {args.reps} interleaved "
            f"runs (ratios within a table are comparable, absolute rates are not).\n\n"
            + "\n\n".join(parts) +
            f"\n\nLoad average {load0[0]:.2f} at the start, {load1[0]:.2f} at the end.")
    print(body)
    if peer:
        peer.close()
    write_section(NAME, body)


if __name__ == "__main__":
    main()
