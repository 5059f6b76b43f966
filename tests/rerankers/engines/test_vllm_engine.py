"""The vLLM backend on a real vLLM engine (the CPU build, in its own environment): FIRST,
listwise and pointwise with ``engine="vllm"`` on DL19 windows give the same orderings as the
in-process transformers backend on the same SmolLM2 weights, and the identifier log-probs agree
to 1e-3 after centring. Skipped when the vLLM environment is absent (``.ci/run`` makes it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")
from helpers.real_server import WINDOW, run_vllm_job, vllm_python

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine_results(request, tmp_path_factory):
    python = vllm_python()
    if python is None:
        pytest.skip("no vLLM environment (set RANKIFY_LITE_VLLM_PYTHON; .ci/run makes one)")
    inprocess = request.getfixturevalue("inprocess")    # only when there is something to compare
    first_stage = inprocess["first_stage"]
    folder = tmp_path_factory.mktemp("vllm-engine")
    out = run_vllm_job(python, Path(__file__).with_name("_vllm_engine_job.py"), {
        "rankings": {q: list(first_stage[q].doc_ids) for q in first_stage},
        "prompts": inprocess["prompts"], "token_ids": inprocess["reranker"].identifier_ids,
        "window": WINDOW}, folder)
    return out, inprocess["runs"], inprocess["values"].logits


def test_first_values_agree_with_in_process(engine_results):
    out, mine, values = engine_results
    theirs = np.array(out["values"], dtype=np.float32)
    centre = lambda x: x - x.mean(axis=1, keepdims=True)  # noqa: E731
    assert np.abs(centre(theirs) - centre(values)).max() < 1e-3
    assert out["config"]["backend"] == "vllm"
    assert out["config"]["next_token_logits"].startswith("vLLM log-probs of the requested ids")
    assert out["prefix_caching"] is False           # engine_args={...} reached EngineArgs
    # the engine's own max_logprobs (read back from it) bounds the window: a clear error
    assert out["max_logprobs_error"].startswith("InputError: 40 token log-probs are needed")
    assert "max_logprobs=32" in out["max_logprobs_error"]
    assert "max_logprobs>=40" in out["max_logprobs_error"]


@pytest.mark.parametrize("family", ["first", "listwise", "pointwise"])
def test_orderings_equal_in_process(engine_results, family):
    out, mine, _ = engine_results
    ours = {q: list(mine[family][q].doc_ids) for q in mine[family]}
    assert out[family]["rankings"] == ours
    for key in ("prompts", "input_tokens", "output_tokens"):
        assert out[family]["llm_stats"][key] == mine[family].metadata["llm_stats"][key], key


def test_pseudo_queries_stop_at_the_first_line_on_vllm(engine_results):
    """vLLM stops at the line break first_line_complete names: the same queries as decoding
    all 32 tokens, fewer tokens."""
    out = engine_results[0]["pseudo_queries"]
    assert out["stop"]["queries"] == out["full"]["queries"]
    assert all(q for q in out["stop"]["queries"])
    assert all(s <= f for s, f in zip(out["stop"]["tokens"], out["full"]["tokens"], strict=True))
    assert sum(out["stop"]["tokens"]) < sum(out["full"]["tokens"])
