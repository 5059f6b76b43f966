"""CPU paths side by side: our torch fp32 / bf16, ONNX Runtime int8 and OpenVINO fp32 / bf16 /
static int8 against sentence-transformers' own backends, for the dense encoder and the
cross-encoder, each as docs/s or pairs/s and as a fraction of the matmul peak measured in the
same run; plus int8 quality.

Speed (same model, same inputs, same batch size, same threads, all paths interleaved, best of
``--reps``):

* dense: ``sentence-transformers/all-MiniLM-L6-v2`` (real weights) over ``--docs`` SciFact
  abstracts; ours ``DenseEncoder(backend=..., dtype=...)`` vs ``SentenceTransformer(backend=
  ...).encode``;
* cross-encoder: a MiniLM-L6-shaped ``BertForSequenceClassification`` built from the
  all-MiniLM-L6-v2 encoder weights plus a seeded random 1-label head (no MS MARCO cross-encoder
  can be downloaded here), on SciFact BM25 top-100 pairs of ``--queries`` queries; ours
  ``CrossEncoderReranker(backend=...)`` vs ``CrossEncoder(backend=...).predict``.

Both int8 recipes (ours: NNCF through ``openvino_backend``; sentence-transformers':
``export_static_quantized_openvino_model``) are calibrated on the same SciFact texts.
sentence-transformers' OpenVINO backend needs optimum-intel, which pins an older transformers,
so it runs in its own environment (``--peer-python``, default the one .ci/run makes in
~/.cache/rankify-lite/st-openvino) as a worker process whose calls are interleaved with ours
(benchmarks/_st_peer.py). Its ONNX backend needs optimum-onnx, which pins transformers<4.58,
and is reported as not runnable.

Ceiling: fp32 / bf16 ``torch.mm`` and int8 ``torch._int_mm`` on the same threads, measured
before and after the race (best of both); "% of peak" is a path's achieved matmul FLOP/s on
the real tokens (``_cpu_peak.encoder_flops``) over the best of the three.

Quality: all-MiniLM-L6-v2 dense retrieval on SciFact (300 queries, top-1000, self-hits removed),
torch fp32 vs OpenVINO int8 (calibrated on the corpus' own first texts) nDCG@10 (goal: within
0.005); cross-encoder score Spearman of every path against torch fp32 (goal >= 0.99).

    HF_HUB_OFFLINE=1 flock /tmp/bench.lock python benchmarks/int8_cpu.py [--docs 128]
        [--queries 2] [--reps 3] [--no-quality] [--peer-python PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from _cpu_peak import encoder_flops, matmul_peak, merge_peaks  # noqa: E402
from _results import markdown_table, write_section  # noqa: E402
from _st_peer import DEFAULT_VENV, Peer  # noqa: E402

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact"
ST_ONNX = ("optimum-onnx does not import (its releases pin transformers<4.58; "
           "sentence-transformers 6 needs >=5)")


def minilm_folder() -> str:
    """The cached snapshot folder (sentence-transformers' backends list hub files otherwise)."""
    from huggingface_hub import snapshot_download

    return snapshot_download(MINILM, local_files_only=True)


def build_cross_encoder(folder: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(minilm_folder(), num_labels=1)
    torch.nn.init.normal_(model.classifier.weight, std=0.2)  # the encoder is real, the head not
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm_folder()).save_pretrained(folder)
    return folder


def our_paths(bf16: bool) -> list[tuple[str, str, str | None]]:
    """(name, backend, dtype) of every path of ours this CPU can run."""
    paths = [("ours torch fp32", "torch", None)]
    if bf16:
        paths.append(("ours torch bf16", "torch", "bf16"))
    paths.append(("ours onnx-int8", "onnx-int8", None))
    paths.append(("ours openvino fp32", "openvino", None))
    if bf16:
        paths.append(("ours openvino bf16", "openvino", "bf16"))
    paths.append(("ours openvino-int8", "openvino-int8", None))
    if bf16:   # opt-in: the ops int8 leaves unquantized run in bf16
        paths.append(("ours openvino-int8 bf16 ops", "openvino-int8", "bf16"))
    return paths


def race(systems: dict, reps: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Best seconds per system over ``reps`` interleaved rounds (order alternating); a
    system is a callable returning (seconds, outputs)."""
    best = {k: float("inf") for k in systems}
    outs: dict[str, np.ndarray] = {}
    names = list(systems)
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            seconds, outs[name] = systems[name]()
            best[name] = min(best[name], seconds)
    return best, outs


def timed(fn):
    def run():
        t0 = time.perf_counter()
        out = np.asarray(fn(), dtype=np.float64)
        return time.perf_counter() - t0, out
    return run


def remote(peer: Peer, name: str, tmp: Path):
    def run():
        path = tmp / f"{name.replace(' ', '_')}.npy"
        seconds = peer.run(name, path)
        return seconds, np.load(path)
    return run


def add_peers(systems: dict, skipped: dict, peer: Peer | None, peer_why: str, kind: str,
              spec: dict, calibration: list[str], tmp: Path) -> None:
    import sentence_transformers as st

    bs = spec["batch_size"]
    if kind == "dense":
        model = st.SentenceTransformer(spec["path"], backend="torch", device="cpu")
        inputs = spec["texts"]
        systems["sentence-transformers torch"] = timed(
            lambda: model.encode(inputs, batch_size=bs, convert_to_numpy=True))
    else:
        model = st.CrossEncoder(spec["path"], backend="torch", device="cpu", max_length=512)
        pairs = [tuple(p) for p in spec["pairs"]]
        systems["sentence-transformers torch"] = timed(
            lambda: model.predict(pairs, batch_size=bs))
    skipped["sentence-transformers onnx"] = ST_ONNX
    for backend in ("openvino", "openvino-int8"):
        name = f"sentence-transformers {backend}"
        if peer is None:
            skipped[name] = peer_why
            continue
        try:
            peer.load(name, kind=kind, backend=backend, work=str(tmp / f"{kind}-{backend}"),
                      calibration=calibration, **spec)
            systems[name] = remote(peer, name, tmp)
        except RuntimeError as exc:
            skipped[name] = str(exc)[:200]


def path_precision(name: str) -> str:
    """The matmul precision a path mostly runs: int8, bf16 or fp32. OpenVINO's CPU plugin
    runs bf16 by default where the CPU has native bf16, so sentence-transformers' "openvino"
    (it sets no precision) counts as bf16 there."""
    from rankify_lite.models.openvino_backend import has_native_bf16

    if "int8" in name:
        return "int8"
    if "bf16" in name or (name == "sentence-transformers openvino" and has_native_bf16()):
        return "bf16"
    return "fp32"


def speed_table(best, outs, n_items, flops, peak, skipped, unit, quality_cols) -> str:
    ref_st = min((t for k, t in best.items() if k.startswith("sentence-transformers")),
                 default=float("nan"))
    fast_peak = max(peak.values())
    rows = []
    for name, t in best.items():
        own = path_precision(name)
        rate = flops / t / 1e9
        row = [name, f"{n_items / t:.1f}", f"{t:.2f}", f"{best['ours torch fp32'] / t:.2f}x",
               f"{ref_st / t:.2f}x", f"{rate:.0f}", f"{100 * rate / fast_peak:.0f}%",
               f"{100 * rate / peak.get(own, fast_peak):.0f}% ({own})"]
        rows.append(row + quality_cols(name, outs))
    for name, why in skipped.items():
        rows.append([name, "not run", why] + [""] * 7)
    return markdown_table(["path", f"{unit}/s", "best s", "vs ours torch fp32",
                           "vs fastest ST", "GFLOP/s", "% of peak", "% of its precision's peak",
                           *QUALITY_HEADERS[unit]], rows)


QUALITY_HEADERS = {"docs": ["min cosine to torch fp32", "mean cosine"],
                   "pairs": ["Spearman vs torch fp32", "max abs diff (sigmoid)"]}


def dense_part(args, tmp: Path, peer, peer_why, peaks) -> str:
    from rankify_lite import load_dataset
    from rankify_lite.models import DenseEncoder
    from rankify_lite.models.openvino_backend import has_native_bf16

    ds = load_dataset(SHARED)
    docs = list(ds.corpus.values())
    step = max(1, len(docs) // args.docs)
    texts = [d.full_text(" ") for d in docs[::step][:args.docs]]
    calibration = [d.full_text(" ") for d in docs[1::17][:200]]
    bs = args.batch_size
    systems, skipped, encoders = {}, {}, {}
    for name, backend, dtype in our_paths(has_native_bf16()):
        enc = DenseEncoder(MINILM, backend=backend, dtype=dtype, batch_size=bs, device="cpu",
                           progress=False,
                           calibration=calibration if backend == "openvino-int8" else None)
        encoders[name] = enc
        systems[name] = timed(lambda e=enc: e.encode_documents(texts))
    add_peers(systems, skipped, peer, peer_why, "dense",
              {"path": minilm_folder(), "texts": texts, "batch_size": bs}, calibration, tmp)
    for fn in systems.values():
        fn()  # warm-up (and first-use exports / quantization outside the timings)
    peaks.append(matmul_peak(args.threads))
    best, outs = race(systems, args.reps)
    enc = encoders["ours torch fp32"]
    lengths = np.array([len(x) for x in enc._tokenize(texts)[0]])
    flops = encoder_flops(enc.hf_config, lengths)

    def quality(name, outs):
        cos = (outs[name] * outs["ours torch fp32"]).sum(1)
        return [f"{cos.min():.4f}", f"{cos.mean():.5f}"]

    peaks.append(matmul_peak(args.threads))
    table = speed_table(best, outs, len(texts), flops, merge_peaks(*peaks), skipped, "docs",
                        quality)
    print(table, flush=True)
    qual = dense_quality(ds, args.fp32_quality) if args.quality else ""
    return (f"**Dense encoder**: `{MINILM}` (real weights), {len(texts)} SciFact abstracts "
            f"(every {step}th doc, {int(lengths.sum())} real tokens, {flops / 1e9:.0f} GFLOP "
            f"of matmuls), batch size {bs}, {args.threads} threads, best of {args.reps} "
            f"interleaved runs.\n\n{table}\n\n{qual}")


#: torch fp32 nDCG@10 / R@100 of the same retrieval, measured by this script on 2026-11-23
#: (used when --fp32-quality is not given and the fp32 embeddings are not cached)
FP32_RECORDED = {"ndcg@10": 0.6451, "recall@100": 0.9250}


def dense_quality(ds, fp32: bool) -> str:
    from rankify_lite.cache import cache_dir, content_key
    from rankify_lite.evaluation.metrics import evaluate
    from rankify_lite.models import DenseEncoder
    from rankify_lite.models.openvino_backend import has_native_bf16
    from rankify_lite.retrievers.dense import Dense

    rows, scores, notes = [], {}, []
    variants = [("ours torch fp32", "torch", None), ("ours openvino-int8", "openvino-int8", None)]
    if has_native_bf16():
        variants.append(("ours openvino-int8 bf16 ops", "openvino-int8", "bf16"))
    for name, backend, dtype in variants:
        enc = DenseEncoder(MINILM, backend=backend, dtype=dtype, device="cpu", progress=False)
        cached = (cache_dir("embeddings") /
                  f"{content_key(ds.corpus.content_hash(), enc.config())}.npy").is_file()
        if backend == "torch" and not (fp32 or cached):
            scores[name] = FP32_RECORDED
            rows.append(["ours torch fp32 (recorded 2026-11-23)",
                         f"{FP32_RECORDED['ndcg@10']:.4f}", f"{FP32_RECORDED['recall@100']:.4f}",
                         ""])
            notes.append("fp32 row: this script's earlier measurement (its embeddings are not "
                         "cached here; --fp32-quality recomputes it)")
            continue
        t0 = time.perf_counter()
        run = Dense(encoder=enc, progress=False).index(ds.corpus).retrieve(
            ds.queries, k=1000, exclude_self_hits=True)
        scores[name] = evaluate(run, ds.qrels, ["ndcg_cut_10", "recall_100"]).mean
        delta = scores[name]["ndcg@10"] - scores["ours torch fp32"]["ndcg@10"]
        rows.append([name, f"{scores[name]['ndcg@10']:.4f}", f"{scores[name]['recall@100']:.4f}",
                     "" if backend == "torch" else
                     f"{delta:+.4f} ({'within' if abs(delta) <= 0.005 else 'NOT within'} 0.005)"])
        notes.append(f"{name}: {'cached embeddings' if cached else 'corpus encoded'} in "
                     f"{time.perf_counter() - t0:.0f} s")
    table = markdown_table(["MiniLM-L6 dense retrieval", "nDCG@10", "R@100", "- fp32 nDCG@10"],
                           rows)
    return (f"{table}\n\nSciFact test, 300 queries, top-1000, self-hits removed; OpenVINO int8 "
            f"calibrated on the first corpus texts it encodes. {'; '.join(notes)}.")


def cross_part(args, tmp: Path, peer, peer_why, peaks) -> str:
    from scipy.stats import spearmanr

    from rankify_lite import load_dataset
    from rankify_lite.io.trec import read_run
    from rankify_lite.models.openvino_backend import has_native_bf16
    from rankify_lite.rerankers.families.cross_encoder import CrossEncoderReranker

    ds = load_dataset(SHARED)
    bm25 = read_run(SHARED / "runs" / "anserini-bm25-flat.top1000.trec.gz").top(100)
    qids = list(bm25)[:args.queries]
    pairs = [(ds.queries[q].text, ds.corpus[d].full_text()) for q in qids
             for d in bm25[q].doc_ids]
    calib_q = list(bm25)[args.queries:args.queries + 3]  # other queries of the same collection
    calibration = [(ds.queries[q].text, ds.corpus[d].full_text()) for q in calib_q
                   for d in bm25[q].doc_ids[::3]]
    folder = str(build_cross_encoder(tmp / "minilm-l6-ce"))
    bs = args.batch_size
    systems, skipped, models = {}, {}, {}
    for name, backend, dtype in our_paths(has_native_bf16()):
        ce = CrossEncoderReranker(folder, backend=backend, dtype=dtype, batch_size=bs,
                                  max_length=512, device="cpu",
                                  calibration=calibration if backend == "openvino-int8" else None)
        models[name] = ce
        systems[name] = timed(lambda c=ce: c.predict(pairs))
    add_peers(systems, skipped, peer, peer_why, "cross",
              {"path": folder, "pairs": pairs, "batch_size": bs, "max_length": 512},
              [f"{q} {d}" for q, d in calibration], tmp)
    for fn in systems.values():
        fn()
    peaks.append(matmul_peak(args.threads))
    best, outs = race(systems, args.reps)
    peaks.append(matmul_peak(args.threads))
    tok = models["ours torch fp32"].tokenizer
    enc = tok([p[0] for p in pairs], [p[1] for p in pairs], truncation="longest_first",
              max_length=512)
    lengths = np.array([len(x) for x in enc["input_ids"]])
    flops = encoder_flops(models["ours torch fp32"].hf_config, lengths)
    ref = outs["ours torch fp32"]

    def quality(name, outs):
        return [f"{spearmanr(outs[name], ref).statistic:.4f}",
                f"{np.abs(outs[name] - ref).max():.3f}"]

    table = speed_table(best, outs, len(pairs), flops, merge_peaks(*peaks), skipped, "pairs",
                        quality)
    print(table, flush=True)
    return (f"**Cross-encoder**: MiniLM-L6 shape (all-MiniLM-L6-v2 encoder weights + seeded "
            f"random 1-label head), {len(pairs)} SciFact BM25 top-100 pairs ({len(qids)} "
            f"queries, mean {lengths.mean():.0f} tokens, {flops / len(pairs) / 1e9:.2f} GFLOP "
            f"per pair), batch size {bs}, max_length 512, {args.threads} threads, best of "
            f"{args.reps} interleaved runs; int8 calibrated on {len(calibration)} pairs of 3 "
            f"other SciFact queries.\n\n{table}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=128)
    ap.add_argument("--queries", type=int, default=2, help="cross-encoder: queries x 100 pairs")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peer-python", default=str(DEFAULT_VENV / "bin" / "python"))
    ap.add_argument("--no-quality", dest="quality", action="store_false",
                    help="skip the full SciFact retrieval quality check")
    ap.add_argument("--fp32-quality", action="store_true",
                    help="encode the corpus with torch fp32 too (else its recorded score)")
    ap.add_argument("--only", choices=["dense", "cross"], default=None)
    ap.add_argument("--no-write", dest="write", action="store_false")
    args = ap.parse_args()

    import torch

    from rankify_lite.models.openvino_backend import cpu_features

    torch.set_num_threads(args.threads)
    peer, peer_why = None, ""
    if Path(args.peer_python).is_file():
        try:
            peer = Peer(args.peer_python, args.threads)
            if "openvino" not in peer.versions:
                peer_why, peer = f"no optimum-intel/openvino in {args.peer_python}", None
        except RuntimeError as exc:
            peer_why = f"worker failed: {exc}"
    else:
        peer_why = f"no sentence-transformers OpenVINO environment at {args.peer_python}"
    peaks = [matmul_peak(args.threads)]
    parts = []
    with tempfile.TemporaryDirectory(prefix="int8-bench-") as tmp:
        if args.only in (None, "cross"):
            parts.append(cross_part(args, Path(tmp), peer, peer_why, peaks))
        if args.only in (None, "dense"):
            parts.append(dense_part(args, Path(tmp), peer, peer_why, peaks))
    peak = merge_peaks(*peaks)
    import openvino
    import transformers

    feats = ", ".join(k for k, v in cpu_features().items() if v) or "none of AMX/AVX512-BF16/VNNI"
    versions = (f"transformers {transformers.__version__}, OpenVINO {openvino.__version__}"
                + (f"; peer env: sentence-transformers {peer.versions['sentence_transformers']}"
                   f", transformers {peer.versions['transformers']}, OpenVINO "
                   f"{peer.versions['openvino']}" if peer else ""))
    load = os.getloadavg()
    body = (f"Matmul ceiling on {args.threads} threads, measured in this run (best of "
            f"{len(peaks)} measurements): fp32 {peak['fp32']:.0f} GFLOP/s, bf16 "
            f"{peak['bf16']:.0f} GFLOP/s, int8 (`torch._int_mm`) {peak.get('int8', 0):.0f} "
            f"GOP/s; CPU features: {feats}. \"% of peak\" = achieved GFLOP/s over the best of "
            f"the three; \"% of its precision's peak\" = over the ceiling of the precision the path's "
            f"matmuls mostly run (int8 paths: int8; OpenVINO runs bf16 by default on a CPU with "
            f"native bf16, so sentence-transformers' OpenVINO row counts as bf16 there). "
            f"`ours openvino-int8` runs the ops int8 leaves unquantized (attention, softmax, "
            f"norms) in fp32 (the default); `... bf16 ops` (`dtype=\"bf16\"`) runs them in bf16."
            f"\n\n" + "\n\n".join(parts) +
            f"\n\n{versions}. Load average at the end: {load[0]:.1f} / {load[1]:.1f} / "
            f"{load[2]:.1f} (1/5/15 min) on {os.cpu_count()} cores (shared machine; all paths "
            "interleaved, so ratios within a table are comparable, absolute rates are not).")
    print(body)
    if peer:
        peer.close()
    if args.write:
        write_section("int8_cpu", body)


if __name__ == "__main__":
    main()
