"""Cost of corpus encoding (#34): throughput and peak RSS vs corpus size, and resume after kill -9.

A tiny BERT built from a config with seeded random weights (hidden 32, 2 layers, 2 heads,
intermediate 64: speed is the pipeline's, not a real model's; the tokenizer is the real
all-MiniLM-L6-v2 one) encodes the synthetic BEIR folders of ``_synthetic.py`` (10k, 100k, 1M
documents) through ``Dense.embed_corpus``, one child process per size, each with an empty
embeddings cache. Then the resume check: a child encoding the 100k corpus into a second cache is
killed with SIGKILL once a few chunks are recorded, a second child finishes the file, and its
sha256 is compared with the uninterrupted file's. Extrapolates to 5.4M and 8.8M documents.

    python benchmarks/scale_encode.py [--sizes 10000,100000,1000000] [--write]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _results import loglog_fit  # the benchmarks folder is on sys.path (script or child)

HERE = Path(__file__).resolve().parent
DATA = Path("/tmp/bench-data/encode")
TOKENIZER = "sentence-transformers/all-MiniLM-L6-v2"
TARGETS = (("FEVER 5.4M", 5.42e6), ("MS MARCO 8.8M", 8.84e6))
BATCH = 64


def build_model() -> Path:
    folder = DATA / "tiny-bert"
    if (folder / "config.json").is_file():
        return folder
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tok = AutoTokenizer.from_pretrained(TOKENIZER)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    torch.manual_seed(0)
    BertModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def step(n: int, delay_s: float = 0.0) -> dict:
    """Child: load the folder, encode the corpus into $RANKIFY_LITE_CACHE/embeddings."""
    import torch
    from _synthetic import dataset_dir

    from rankify_lite.datasets.beir_folder import load_beir_folder
    from rankify_lite.retrievers.dense import Dense

    torch.set_num_threads(os.cpu_count() or 1)
    t0 = time.perf_counter()
    corpus = load_beir_folder(dataset_dir(n), name=f"synthetic-{n}").corpus
    load = time.perf_counter() - t0
    dense = Dense(str(DATA / "tiny-bert"), batch_size=BATCH, max_length=256, progress=False)
    if delay_s:  # the kill run: slow each chunk down so the parent can kill between chunks
        real = dense.encoder.encode_documents

        def slow(texts, out=None):
            time.sleep(delay_s)
            return real(texts, out=out)

        dense.encoder.encode_documents = slow
    t0 = time.perf_counter()
    dense.embed_corpus(corpus)
    return {"load_s": load, "encode_s": time.perf_counter() - t0,
            "resumed_at": dense.stats.get("resumed_at", 0), "path": str(dense.embeddings_path)}


def _code(n: int, delay_s: float = 0.0) -> str:
    return (f"import json,sys,resource; sys.path.insert(0,{str(HERE)!r});"
            f"import scale_encode as s; r=s.step({n},{delay_s});"
            "r['rss_mb']=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024;"
            "print(json.dumps(r))")


def _env(cache: Path) -> dict:
    return {**os.environ, "RANKIFY_LITE_CACHE": str(cache), "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "true"}


def run_child(n: int, cache: Path) -> dict:
    shutil.rmtree(cache, ignore_errors=True)
    out = subprocess.run([sys.executable, "-c", _code(n)], capture_output=True, text=True,
                         env=_env(cache))
    if out.returncode:
        raise RuntimeError(f"N={n} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def resume_check(n: int, reference: str) -> dict:
    """kill -9 a child mid-encode, finish in a second child; same bytes as ``reference``?"""
    from rankify_lite.retrievers.dense import ENCODE_CHUNK

    cache = DATA / "cache-kill"
    shutil.rmtree(cache, ignore_errors=True)
    child = subprocess.Popen([sys.executable, "-c", _code(n, delay_s=1.0)], env=_env(cache),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done, deadline = 0, time.monotonic() + 1800
    while time.monotonic() < deadline and child.poll() is None:
        for rec in (cache / "embeddings").glob(".*.progress.json"):
            try:
                done = json.loads(rec.read_text()).get("done", 0)
            except ValueError:
                pass
        if done >= 3 * ENCODE_CHUNK:
            break
        time.sleep(0.2)
    if child.poll() is not None:
        raise RuntimeError(f"the child finished before it could be killed:\n"
                           f"{child.stderr.read().decode()[-2000:]}")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    out = subprocess.run([sys.executable, "-c", _code(n)], capture_output=True, text=True,
                         env=_env(cache))
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return {"killed_at": done, "resumed_at": r["resumed_at"], "resume_s": r["encode_s"],
            "identical": sha256(r["path"]) == sha256(reference)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--resume-size", type=int, default=100_000)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    sys.path.insert(0, str(HERE))
    from _synthetic import dataset_dir

    DATA.mkdir(parents=True, exist_ok=True)
    build_model()
    for n in sizes:
        dataset_dir(n)
    load0 = os.getloadavg()[0]
    rows, paths = [], {}
    for n in sizes:
        r = run_child(n, DATA / f"cache-{n}")
        rows.append((n, r))
        paths[n] = r["path"]
        print(f"N={n:>8} load={r['load_s']:.1f}s encode={r['encode_s']:.1f}s "
              f"({n / r['encode_s']:,.0f} docs/s) rss={r['rss_mb']:.0f}MB", flush=True)
    resume = None
    if a.resume_size in paths:
        resume = resume_check(a.resume_size, paths[a.resume_size])
        print("resume:", resume, flush=True)
    for n in sizes:  # the embeddings are not needed afterwards: free the disk
        shutil.rmtree(DATA / f"cache-{n}", ignore_errors=True)
    shutil.rmtree(DATA / "cache-kill", ignore_errors=True)
    load1 = os.getloadavg()[0]
    table = ["| N | load s | encode s | docs/s | peak RSS MB |", "|---|---|---|---|---|"]
    table += [f"| {n:,} | {r['load_s']:.1f} | {r['encode_s']:.1f} | {n / r['encode_s']:,.0f} | "
              f"{r['rss_mb']:.0f} |" for n, r in rows]
    sel = [(n, r) for n, r in rows if n >= 100_000]
    sel = sel if len(sel) >= 2 else rows
    fits = []
    if len(sel) >= 2:
        ns = [n for n, _ in sel]
        (te, ti) = loglog_fit(ns, [r["load_s"] + r["encode_s"] for _, r in sel])
        (me, mi) = loglog_fit(ns, [r["rss_mb"] for _, r in sel])
        fits = ["| time exp. | RSS exp. | " + " | ".join(f"{t} time | {t} RSS GB"
                                                    for t, _ in TARGETS) + " |",
                "|---|---|" + "---|---|" * len(TARGETS),
                f"| {te:.2f} | {me:.2f} | " + " | ".join(
                    f"{np.exp(ti) * x ** te / 60:.0f} min | {np.exp(mi) * x ** me / 1024:.1f}"
                    for _, x in TARGETS) + " |"]
    print("\n".join(table + [""] + fits))
    if not a.write:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ns = [n for n, _ in rows]
    ax.loglog(ns, [r["load_s"] + r["encode_s"] for _, r in rows], marker="o",
              label="load + encode s")
    ax.loglog(ns, [r["rss_mb"] for _, r in rows], marker="s", label="peak RSS MB")
    ax.set_xlabel("documents N")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "plots" / "scale_encode.png", dpi=100)
    from _results import machine, write_section

    res_txt = "not run"
    if resume:
        res_txt = (f"{a.resume_size:,} documents: killed (SIGKILL) with {resume['killed_at']:,} "
                   f"rows recorded; the next run resumed at row {resume['resumed_at']:,}, "
                   f"finished in {resume['resume_s']:.1f} s, and its file is "
                   f"{'byte-identical (sha256)' if resume['identical'] else 'DIFFERENT'} to "
                   f"the uninterrupted run's")
    body = (f"`Dense.embed_corpus` with a tiny random BERT (hidden 32, 2 layers, real "
            f"all-MiniLM-L6-v2 tokenizer, max_length 256, batch {BATCH}, fp32 torch) over the "
            f"synthetic folders of `_synthetic.py`; one child process per size, empty cache; "
            f"{machine()}. Load average {load0:.2f} at start, {load1:.2f} at end. Peak RSS "
            f"includes the loaded `Corpus` (every document's text, as `load_dataset` returns "
            f"it); the embeddings are written chunk by chunk into a memory map, never held "
            f"whole. Resume after kill: {res_txt}. Exponents fit sizes from 100k up; the "
            f"5.4M / 8.8M columns are extrapolations of this tiny model (a real MiniLM-L6 is "
            f"~50x more compute per token: see `dense_encode` for its docs/s).\n\n"
            + "\n".join(table) + "\n\n" + "\n".join(fits)
            + "\n\n![encoding cost](plots/scale_encode.png)\n")
    write_section("scale_encode", body)


if __name__ == "__main__":
    main()
