"""The reasoning families on a real vLLM engine (the CPU build, in its own environment):
``rank1`` and ``reasonrank`` with ``engine="vllm"`` on DL19 candidates give the same reasoning
text, generated-token counts, forced closes and orderings as the in-process transformers
backend on the same SmolLM2 weights (greedy, fp32), and Rank1's true/false scores agree to
1e-3. Skipped when the vLLM environment is absent (``.ci/run`` makes it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")
from helpers.real_server import SMOL, run_vllm_job, smol_cached, vllm_python

pytestmark = pytest.mark.slow
FAMILIES = {"rank1": {"reasoning_token_budget": 12, "passage_words": 30},
            "reasonrank": {"reasoning_token_budget": 24, "window_size": 4, "stride": 2,
                           "passage_words": 30}}


@pytest.fixture(scope="module")
def results(dl19, tmp_path_factory):
    python = vllm_python()
    if python is None:
        pytest.skip("no vLLM environment (set RANKIFY_LITE_VLLM_PYTHON; .ci/run makes one)")
    if not smol_cached():
        pytest.skip("SmolLM2-135M-Instruct is not in the Hugging Face cache")
    from rankify_lite.rerankers.engines.llm_backend import TransformersBackend
    from rankify_lite.rerankers.families.rank1 import Rank1Reranker
    from rankify_lite.rerankers.families.reasonrank import ReasonRankReranker
    from rankify_lite.types import Run

    run = dl19.load_run("bm25.top100")
    first_stage = Run.from_rankings({q: list(run[q].doc_ids[:6]) for q in list(run)[:2]},
                                    name="bm25")
    folder = tmp_path_factory.mktemp("vllm-reasoning")
    backend = TransformersBackend(SMOL, device="cpu", dtype="float32")
    mine = {}
    for name, cls in (("rank1", Rank1Reranker), ("reasonrank", ReasonRankReranker)):
        log = folder / f"{name}.jsonl"
        out = cls(backend=backend, log_path=log, **FAMILIES[name]).rerank(
            dl19.queries, first_stage, dl19.corpus)
        mine[name] = {"rankings": {q: list(out[q].doc_ids) for q in out},
                      "llm_stats": out.metadata["llm_stats"],
                      "log": [json.loads(x) for x in log.read_text().splitlines()]}
    out = run_vllm_job(python, Path(__file__).with_name("_vllm_reasoning_job.py"), {
        "rankings": {q: list(first_stage[q].doc_ids) for q in first_stage},
        "families": FAMILIES}, folder)
    return out, mine


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_reasoning_and_orderings_equal_in_process(results, family):
    theirs, mine = results[0][family], results[1][family]
    assert results[0]["config"]["backend"] == "vllm"
    assert [r.get("reasoning", r.get("ending")) for r in theirs["log"]] == \
        [r.get("reasoning", r.get("ending")) for r in mine["log"]]
    for key in ("prompts", "input_tokens", "output_tokens", "forced_closes", "queries"):
        assert theirs["llm_stats"][key] == mine["llm_stats"][key], key
    assert theirs["rankings"] == mine["rankings"]


def test_rank1_scores_agree(results):
    theirs, mine = results[0]["rank1"]["log"], results[1]["rank1"]["log"]
    for a, b in zip(theirs, mine, strict=True):
        assert (a["qid"], a["doc_id"]) == (b["qid"], b["doc_id"])
        assert abs(a["score"] - b["score"]) < 1e-3
