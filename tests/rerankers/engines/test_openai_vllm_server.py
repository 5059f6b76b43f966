"""FIRST, listwise and pointwise through a real OpenAI-compatible server (vLLM's CPU build
serving SmolLM2-135M-Instruct) on DL19 windows, compared with the in-process transformers
backend on the same weights; and a server killed mid-run: the pipeline keeps the finished
queries and, once the server is back, continues from its checkpoint to the same run; and the
README's engine command against the server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("httpx")
pytest.importorskip("transformers")
from helpers.real_server import SMOL, WINDOW
from helpers.slow_reranker import wait_for_checkpoint

from rankify_lite.rerankers.base import RerankQueryError
from rankify_lite.rerankers.engines.http_client import ServerError
from rankify_lite.rerankers.families.first import FirstReranker
from rankify_lite.rerankers.families.listwise import ListwiseReranker
from rankify_lite.rerankers.families.pointwise import PointwiseReranker
from rankify_lite.types import Run

pytestmark = pytest.mark.slow


def _remote(cls, server, **kw):
    return cls(SMOL, engine="openai", base_url=server.url, **kw)


def _rankings(run: Run) -> dict[str, list[str]]:
    return {q: list(run[q].doc_ids) for q in run}


def test_first_logprobs_agree_with_in_process(vllm_server, inprocess, dl19):
    local = inprocess["reranker"]
    remote = _remote(FirstReranker, vllm_server, **WINDOW)
    assert remote.identifier_ids == local.identifier_ids
    here = inprocess["values"]
    there = remote.backend.next_token_logits(inprocess["prompts"], local.identifier_ids)
    assert there.input_tokens == here.input_tokens
    # logits vs log-probs differ by a per-prompt constant: compare centred rows
    centre = lambda x: x - x.mean(axis=1, keepdims=True)  # noqa: E731
    assert np.abs(centre(here.logits) - centre(there.logits)).max() < 1e-3
    assert [list(np.argsort(-r)) for r in here.logits] == \
        [list(np.argsort(-r)) for r in there.logits]
    # whole reranking: the same run, and the server's token counts in llm_stats
    a = inprocess["runs"]["first"]
    b = remote.rerank(dl19.queries, inprocess["first_stage"], dl19.corpus)
    assert _rankings(a) == _rankings(b)
    assert b.metadata["llm_stats"]["input_tokens"] == a.metadata["llm_stats"]["input_tokens"]
    assert b.metadata["llm_stats"]["model_calls"] == a.metadata["llm_stats"]["model_calls"]


def test_listwise_generation_agrees_with_in_process(vllm_server, inprocess, dl19):
    a = inprocess["runs"]["listwise"]
    b = _remote(ListwiseReranker, vllm_server, **WINDOW).rerank(
        dl19.queries, inprocess["first_stage"], dl19.corpus)
    assert _rankings(a) == _rankings(b)
    for key in ("input_tokens", "output_tokens", "malformed_windows", "windows"):
        assert b.metadata["llm_stats"][key] == a.metadata["llm_stats"][key], key


def test_pointwise_scores_agree_with_in_process(vllm_server, inprocess, dl19):
    there = _remote(PointwiseReranker, vllm_server, passage_words=WINDOW["passage_words"])
    a = inprocess["runs"]["pointwise"]
    b = there.rerank(dl19.queries, inprocess["first_stage"], dl19.corpus)
    assert _rankings(a) == _rankings(b)
    for q in a:
        assert np.allclose(a[q].scores, b[q].scores, atol=1e-3)
    assert b.metadata["llm_stats"]["prompts"] == 16


def test_server_killed_mid_run_resumes_from_the_checkpoint(vllm_server, dl19, tmp_path):
    from rankify_lite.pipeline import Pipeline

    run = dl19.load_run("bm25.top100")
    first = Run.from_rankings({q: list(run[q].doc_ids[:5]) for q in list(run)[:4]},
                              name="bm25")

    def reranker():
        return _remote(FirstReranker, vllm_server, query_batch_size=1, max_retries=1,
                       backoff=0.2, timeout=30, **WINDOW)

    # driven by an event, not by timing: the first query runs, the second waits until the
    # server is dead, so exactly one query is checkpointed on any machine
    killed = threading.Event()
    gated = reranker()
    score = gated._rerank_batch
    calls = []

    def after_the_kill(items):
        calls.append(len(items))
        if len(calls) > 1:
            assert killed.wait(timeout=600)
        return score(items)

    gated._rerank_batch = after_the_kill
    cache = tmp_path / "cache"
    errors: list[BaseException] = []

    def go():
        try:
            Pipeline(first, gated, depth=5, cache=cache, progress=False).run(dl19)
        except BaseException as exc:  # noqa: BLE001 - checked below
            errors.append(exc)

    worker = threading.Thread(target=go)
    worker.start()
    try:
        kept = wait_for_checkpoint(cache, 1, limit_s=600)
    finally:
        vllm_server.kill()
        killed.set()
    worker.join(timeout=300)
    assert errors and isinstance(errors[0], (RerankQueryError, ServerError)), errors
    assert vllm_server.url in str(errors[0])
    assert kept == 1 and next(cache.rglob("*.partial.jsonl")).read_text().count("\n") == 1

    vllm_server.start()
    resumed = Pipeline(first, reranker(), depth=5, cache=cache, progress=False).run(dl19)
    assert any(f"resumed from a checkpoint ({kept} queries kept)" in n
               for n in resumed.notes), resumed.notes
    whole = Pipeline(first, reranker(), depth=5, cache=False, progress=False).run(dl19)
    assert _rankings(resumed.run) == _rankings(whole.run)
    assert [resumed.run[q].scores for q in resumed.run] == [whole.run[q].scores for q in whole.run]


def _text(path: Path) -> str:
    """A data file's text, plain or (as the package ships it) xz-compressed beside it."""
    if path.is_file():
        return path.read_text()
    import lzma

    with lzma.open(path.with_name(path.name + ".xz"), "rt", encoding="utf-8") as fh:
        return fh.read()


def _dl19_subset(folder: Path, src: Path, n_queries: int) -> Path:
    """The DL19 folder with only its first ``n_queries`` queries (corpus shared by link)."""
    out = folder / "trec-dl" / "dl19-passage"
    (out / "qrels").mkdir(parents=True)
    (out / "runs").mkdir()
    corpus = next(p for p in (src / "corpus.jsonl", src / "corpus.jsonl.xz") if p.is_file())
    (out / corpus.name).symlink_to(corpus)
    lines = _text(src / "queries.jsonl").splitlines()[:n_queries]
    (out / "queries.jsonl").write_text("\n".join(lines) + "\n")
    keep = {json.loads(ln)["_id"] for ln in lines}
    head, *rows = _text(src / "qrels" / "test.tsv").splitlines()
    (out / "qrels" / "test.tsv").write_text(
        "\n".join([head] + [r for r in rows if r.split("\t")[0] in keep]) + "\n")
    run = _text(src / "runs" / "run.bm25.top100.trec").splitlines()
    (out / "runs" / "run.bm25.top100.trec").write_text(
        "\n".join(r for r in run if r.split()[0] in keep) + "\n")
    return out


def test_readme_engine_example_runs_against_the_server(shared_data, vllm_server, tmp_path):
    """The README's `--option engine=openai` command, pointed at this server and at the first 3
    DL19 queries (the README test cannot run it: it needs a server); a key in the environment
    reaches neither the output nor meta.json."""
    repo = Path(__file__).resolve().parents[3]
    (line,) = [ln for ln in (repo / "docs/how-to/llm-engines.md").read_text().splitlines()
               if ln.startswith("rankify-lite run") and "engine=openai" in ln]
    args = line.split("  #")[0].split()[2:]
    dataset = args[args.index("--dataset") + 1]
    src = (repo / dataset).resolve()
    if not (src / "queries.jsonl").is_file():  # a dataset name (dl19 ships in the package)
        from rankify_lite.datasets import load_dataset

        src = Path(load_dataset(dataset, with_corpus=False).metadata["source"])
    subset = _dl19_subset(tmp_path, src, 3)
    args = [f"base_url={vllm_server.url}" if a.startswith("base_url=") else
            str(subset) if a == dataset else a for a in args]
    env = {**os.environ, "OPENAI_API_KEY": "sk-readme-SECRET", "HF_HUB_OFFLINE": "1",
           "RANKIFY_LITE_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "rankify_lite.cli.main", "run", *args,
                           "--output", str(tmp_path / "out")], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = (tmp_path / "out" / "meta.json").read_text()
    assert vllm_server.url in meta and '"backend": "openai"' in meta
    assert "3 queries" in proc.stdout and "ndcg@10" in proc.stdout.lower()
    assert "SECRET" not in proc.stdout + proc.stderr + meta
