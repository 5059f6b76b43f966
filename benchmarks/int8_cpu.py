"""int8 on CPU: our ONNX Runtime int8 backend vs our torch fp32 path vs sentence-transformers'
CPU backends, for the dense encoder and the cross-encoder, plus real-weight quality.

Speed (same model, same inputs, same batch size, one process, runs interleaved, best of
``--reps``):

* dense: ``sentence-transformers/all-MiniLM-L6-v2`` (real weights) over ``--docs`` SciFact
  abstracts; ours ``DenseEncoder(backend=...)`` vs ``SentenceTransformer(backend=...).encode``;
* cross-encoder: a MiniLM-L6-shaped ``BertForSequenceClassification`` built from the
  all-MiniLM-L6-v2 encoder weights plus a seeded random 1-label head (no MS MARCO cross-encoder
  can be downloaded here), on SciFact BM25 top-100 pairs of ``--queries`` queries; ours
  ``CrossEncoderReranker(backend=...)`` vs ``CrossEncoder(backend=...).predict``.

sentence-transformers' backends are measured when their packages import: "openvino" (fp32) and
its static int8 (``export_static_quantized_openvino_model``, calibrated on SciFact texts) need
``optimum-intel[openvino]``; "onnx" / ``export_dynamic_quantized_onnx_model`` need
``optimum-onnx``, whose releases pin transformers<4.58 while sentence-transformers 6 needs
transformers>=5, so it is reported as not runnable when it does not import.

Quality: all-MiniLM-L6-v2 dense retrieval on SciFact (300 queries, top-1000, self-hits removed),
fp32 torch vs int8, nDCG@10 (goal: within 0.005); cross-encoder int8 vs fp32 score agreement.

    HF_HUB_OFFLINE=1 python benchmarks/int8_cpu.py [--docs 512] [--queries 5] [--reps 3]
    # with sentence-transformers' OpenVINO peers (a venv: optimum-intel pins transformers 5.5):
    /tmp/venvs/stov/bin/python benchmarks/int8_cpu.py
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
from _results import markdown_table, write_section  # noqa: E402

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact"


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


def calibration_folder(root: Path, texts: list[str]) -> Path:
    """A local dataset folder (``train.jsonl``, column ``text``) for OpenVINO calibration."""
    import json

    folder = root / "calibration"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "train.jsonl", "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    return folder


def st_openvino_int8(kind: str, path: str, calib: Path, out_dir: Path):
    """sentence-transformers' static int8 OpenVINO model (their documented recipe)."""
    import sentence_transformers as st
    from sentence_transformers import export_static_quantized_openvino_model

    cls = st.SentenceTransformer if kind == "dense" else st.CrossEncoder
    model = cls(path, backend="openvino", device="cpu")
    model.save_pretrained(str(out_dir))
    export_static_quantized_openvino_model(model, None, str(out_dir), dataset_name=str(calib),
                                           dataset_config_name="default",
                                           dataset_split="train", column_name="text")
    return cls(str(out_dir), backend="openvino", device="cpu", model_kwargs={
        "file_name": "openvino/openvino_model_qint8_quantized.xml"})


def available(module: str) -> bool:
    try:
        __import__(module)
        return True
    except Exception:  # noqa: BLE001 - broken installs count as missing
        return False


def race(systems: dict, reps: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Best time per system over ``reps`` interleaved rounds (order alternating)."""
    best = {k: float("inf") for k in systems}
    outs: dict[str, np.ndarray] = {}
    names = list(systems)
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            t0 = time.perf_counter()
            outs[name] = np.asarray(systems[name](), dtype=np.float64)
            best[name] = min(best[name], time.perf_counter() - t0)
    return best, outs


def speed_rows(best: dict[str, float], n: int, unit: str, ref: str, torch_ours: str,
               skipped: dict[str, str]) -> list[list]:
    rows = []
    for name, t in best.items():
        rows.append([name, f"{n / t:.1f}", f"{t:.2f}", f"{best[torch_ours] / t:.2f}x",
                     f"{best[ref] / t:.2f}x"])
    for name, why in skipped.items():
        rows.append([name, "not run", why, "", ""])
    return rows


def dense_part(args, tmp: Path, st_backends: dict[str, str]) -> str:
    import torch
    from sentence_transformers import SentenceTransformer

    from rankify_lite import load_dataset
    from rankify_lite.models import DenseEncoder

    ds = load_dataset(SHARED if SHARED.is_dir() else "beir/scifact")
    docs = list(ds.corpus.values())
    step = max(1, len(docs) // args.docs)
    texts = [d.full_text(" ") for d in docs[::step][:args.docs]]
    bs = args.batch_size
    path = minilm_folder()
    systems, skipped = {}, {}
    for backend in ("torch", "onnx-int8"):
        enc = DenseEncoder(MINILM, backend=backend, batch_size=bs, device="cpu", progress=False)
        systems[f"ours {backend}"] = (lambda e=enc: e.encode_documents(texts))
    for backend, why in st_backends.items():
        if why:
            skipped[f"sentence-transformers {backend}"] = why
            continue
        if backend == "openvino-int8":
            calib = calibration_folder(tmp / "dense", [q.text for q in ds.queries.values()] +
                                       [d.full_text(" ") for d in docs[1::17][:200]])
            model = st_openvino_int8("dense", path, calib, tmp / "dense-ov-int8")
        else:
            model = SentenceTransformer(path, backend=backend, device="cpu")
        systems[f"sentence-transformers {backend}"] = (
            lambda m=model: m.encode(texts, batch_size=bs, convert_to_numpy=True))
    for fn in systems.values():
        fn()  # warm-up (and first-use exports outside the timings)
    best, outs = race(systems, args.reps)
    ref_name = "sentence-transformers torch"
    rows = speed_rows(best, len(texts), "docs", ref_name, "ours torch", skipped)
    cos = {k: float(((v * outs["ours torch"]).sum(1)).min()) for k, v in outs.items()}
    for r in rows:
        r.append(f"{cos[r[0]]:.4f}" if r[0] in cos else "")
    table = markdown_table(["encoder", "docs/s", "best s", "vs ours torch fp32",
                            "vs ST torch fp32", "min cosine to ours fp32"], rows)
    print(table, flush=True)
    quality = dense_quality(ds) if args.quality else ""
    return (f"**Dense encoder**: `{MINILM}` (real weights), {len(texts)} SciFact abstracts "
            f"(every {step}th doc), batch size {bs}, CPU, {torch.get_num_threads()} torch / "
            f"ONNX Runtime threads, best of {args.reps} interleaved runs.\n\n{table}\n\n{quality}")


def dense_quality(ds) -> str:
    from rankify_lite.evaluation.metrics import evaluate
    from rankify_lite.models import DenseEncoder
    from rankify_lite.retrievers.dense import Dense

    rows, scores = [], {}
    for backend in ("torch", "onnx-int8"):
        enc = DenseEncoder(MINILM, backend=backend, device="cpu", progress=False)
        run = Dense(encoder=enc, progress=False).index(ds.corpus).retrieve(
            ds.queries, k=1000, exclude_self_hits=True)
        scores[backend] = evaluate(run, ds.qrels, ["ndcg_cut_10", "recall_100"]).mean
        rows.append([f"ours {backend}", f"{scores[backend]['ndcg@10']:.4f}",
                     f"{scores[backend]['recall@100']:.4f}"])
    delta = scores["onnx-int8"]["ndcg@10"] - scores["torch"]["ndcg@10"]
    table = markdown_table(["MiniLM-L6 dense retrieval", "nDCG@10", "R@100"], rows)
    verdict = "within" if abs(delta) <= 0.005 else "NOT within"
    return (f"{table}\n\nSciFact test, 300 queries, top-1000, self-hits removed: int8 - fp32 "
            f"nDCG@10 = {delta:+.4f} ({verdict} the 0.005 goal).")


def cross_part(args, tmp: Path, st_backends: dict[str, str]) -> str:
    import torch
    from scipy.stats import spearmanr
    from sentence_transformers import CrossEncoder

    from rankify_lite import load_dataset
    from rankify_lite.io.trec import read_run
    from rankify_lite.rerankers.cross_encoder import CrossEncoderReranker

    ds = load_dataset(SHARED)
    bm25 = read_run(SHARED / "runs" / "anserini-bm25-flat.top1000.trec.gz").top(100)
    qids = list(bm25)[:args.queries]
    pairs = [(ds.queries[q].text, ds.corpus[d].full_text()) for q in qids
             for d in bm25[q].doc_ids]
    folder = str(build_cross_encoder(tmp / "minilm-l6-ce"))
    bs = args.batch_size
    systems, skipped = {}, {}
    for backend in ("torch", "onnx-int8"):
        ce = CrossEncoderReranker(folder, backend=backend, batch_size=bs, max_length=512,
                                  device="cpu")
        systems[f"ours {backend}"] = (lambda c=ce: c.predict(pairs))
    for backend, why in st_backends.items():
        if why:
            skipped[f"sentence-transformers {backend}"] = why
            continue
        if backend == "openvino-int8":
            calib = calibration_folder(tmp / "ce", [f"{q} {d}" for q, d in pairs[::5][:300]])
            model = st_openvino_int8("cross", folder, calib, tmp / "ce-ov-int8")
        else:
            model = CrossEncoder(folder, backend=backend, device="cpu", max_length=512)
        systems[f"sentence-transformers {backend}"] = (
            lambda m=model: m.predict(pairs, batch_size=bs))
    for fn in systems.values():
        fn()
    best, outs = race(systems, args.reps)
    rows = speed_rows(best, len(pairs), "pairs", "sentence-transformers torch", "ours torch",
                      skipped)
    ref = outs["ours torch"]
    for r in rows:
        if r[0] in outs:
            rho = spearmanr(outs[r[0]], ref).statistic
            r += [f"{rho:.4f}", f"{np.abs(outs[r[0]] - ref).max():.3f}"]
    table = markdown_table(["cross-encoder", "pairs/s", "best s", "vs ours torch fp32",
                            "vs ST torch fp32", "Spearman vs ours fp32",
                            "max abs diff (sigmoid)"], rows)
    return (f"**Cross-encoder**: MiniLM-L6 shape (all-MiniLM-L6-v2 encoder weights + seeded "
            f"random 1-label head), {len(pairs)} SciFact BM25 top-100 pairs ({len(qids)} "
            f"queries), batch size {bs}, max_length 512, CPU, {torch.get_num_threads()} "
            f"threads, best of {args.reps} interleaved runs.\n\n{table}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=512)
    ap.add_argument("--queries", type=int, default=5, help="cross-encoder: queries x 100 pairs")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--no-quality", dest="quality", action="store_false",
                    help="skip the full SciFact retrieval quality check")
    ap.add_argument("--only", choices=["dense", "cross"], default=None)
    args = ap.parse_args()

    ov = "" if available("optimum.intel.openvino") else "optimum-intel[openvino] not installed"
    onnx_why = ("" if available("optimum.onnxruntime") else
                "optimum-onnx does not import (its releases pin transformers<4.58; "
                "sentence-transformers 6 needs >=5)")
    st_backends = {"torch": "", "onnx": onnx_why, "openvino": ov, "openvino-int8": ov}
    parts = []
    with tempfile.TemporaryDirectory(prefix="int8-bench-") as tmp:
        if args.only in (None, "dense"):
            parts.append(dense_part(args, Path(tmp), st_backends))
        if args.only in (None, "cross"):
            parts.append(cross_part(args, Path(tmp), st_backends))
    import transformers

    load = os.getloadavg()[0]
    body = ("\n\n".join(parts) + f"\n\nOur int8: ONNX Runtime dynamic quantization "
            "(MatMul weights int8, activations quantized per batch at run time) of a "
            "torch.onnx export, cached on disk; tokenisation, length-sorted batching and pooling "
            f"are ours. transformers {transformers.__version__}. Load average at the end: "
            f"{load:.1f} on {os.cpu_count()} cores (shared machine; all systems interleaved).")
    print(body)
    write_section("int8_cpu", body)


if __name__ == "__main__":
    main()
