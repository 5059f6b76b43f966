"""A real vLLM OpenAI-compatible server with SmolLM2-135M-Instruct, shared by this folder's
tests (session scope); skipped when the vLLM environment or the weights are absent."""

from __future__ import annotations

import pytest
from helpers.real_server import SMOL, WINDOW, VLLMServer, smol_cached, vllm_python


@pytest.fixture(scope="session")
def inprocess(dl19):
    """The in-process transformers reference on 2 DL19 queries (BM25 top 8), computed once:
    the FIRST reranker (its backend is shared), the window prompts with their identifier
    values, and the first / listwise / pointwise runs."""
    pytest.importorskip("transformers")
    if not smol_cached():
        pytest.skip("SmolLM2-135M-Instruct is not in the Hugging Face cache")
    from rankify_lite.rerankers.families.first import FirstReranker
    from rankify_lite.rerankers.families.listwise import ListwiseReranker
    from rankify_lite.rerankers.families.pointwise import PointwiseReranker
    from rankify_lite.rerankers.llm.windows import window_spans
    from rankify_lite.types import Run

    run = dl19.load_run("bm25.top100")
    first_stage = Run.from_rankings({q: list(run[q].doc_ids[:8]) for q in list(run)[:2]},
                                    name="bm25")
    first = FirstReranker(SMOL, **WINDOW)
    prompts = []
    for q in first_stage:
        docs = [dl19.corpus[d] for d in first_stage[q].doc_ids]
        prompts += [first.window_prompt(dl19.queries[q], docs[a:b]).ids
                    for a, b in window_spans(len(docs), WINDOW["window_size"], WINDOW["stride"])]
    families = {"first": first, "listwise": ListwiseReranker(backend=first.backend, **WINDOW),
                "pointwise": PointwiseReranker(backend=first.backend,
                                               passage_words=WINDOW["passage_words"])}
    runs = {k: r.rerank(dl19.queries, first_stage, dl19.corpus) for k, r in families.items()}
    values = first.backend.next_token_logits(prompts, first.identifier_ids)
    return {"first_stage": first_stage, "reranker": first, "prompts": prompts,
            "values": values, "runs": runs}


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory):
    python = vllm_python()
    if python is None:
        pytest.skip("no vLLM environment (set RANKIFY_LITE_VLLM_PYTHON; .ci/run makes one)")
    if not smol_cached():
        pytest.skip("SmolLM2-135M-Instruct is not in the Hugging Face cache "
                    "(python scripts/install_offline_models.py)")
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    server = VLLMServer(python, log=log)
    try:
        server.start()
    except RuntimeError as exc:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        server.stop()
        pytest.fail(f"{exc}\n{tail}")
    yield server
    server.stop()
