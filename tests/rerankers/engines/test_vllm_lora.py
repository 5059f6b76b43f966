"""A PEFT LoRA adapter on a real vLLM engine (the CPU build, in its own environment): vLLM
serves the base model with its LoRA support and the adapter as a ``LoRARequest``; FIRST on DL19
windows then gives the in-process transformers backend's values (which merges the adapter into
the base) to 1e-3 after centring, the same greedy text and the same orderings, and values unlike
the base model's. The adapter is random (rank 8 on SmolLM2-135M-Instruct's attention), so
"unlike the base" is far above the tolerance. Skipped when the vLLM environment, peft or the
weights are absent (``.ci/run`` makes the environment).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")
from helpers.real_server import SMOL, WINDOW, run_vllm_job, smol_cached, vllm_python

pytestmark = pytest.mark.slow


def _centre(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x - x.mean(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def adapter(tmp_path_factory) -> str:
    peft = pytest.importorskip("peft")
    if not smol_cached():
        pytest.skip("SmolLM2-135M-Instruct is not in the Hugging Face cache")
    import torch
    import transformers

    base = transformers.AutoModelForCausalLM.from_pretrained(SMOL, torch_dtype=torch.float32)
    torch.manual_seed(0)
    cfg = peft.LoraConfig(task_type="CAUSAL_LM", r=8, lora_alpha=16, init_lora_weights=False,
                          target_modules=["q_proj", "v_proj", "o_proj"])
    folder = tmp_path_factory.mktemp("smol-lora") / "adapter"
    peft.get_peft_model(base, cfg).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def results(adapter, dl19, tmp_path_factory):
    python = vllm_python()
    if python is None:
        pytest.skip("no vLLM environment (set RANKIFY_LITE_VLLM_PYTHON; .ci/run makes one)")
    from rankify_lite.rerankers.families.first import FirstReranker
    from rankify_lite.rerankers.llm.windows import window_spans
    from rankify_lite.types import Run

    bm25 = dl19.load_run("bm25.top100")
    first_stage = Run.from_rankings({q: list(bm25[q].doc_ids[:8]) for q in list(bm25)[:2]},
                                    name="bm25")
    first = FirstReranker(adapter, **WINDOW)               # transformers: the adapter merged
    prompts = []
    for q in first_stage:
        docs = [dl19.corpus[d] for d in first_stage[q].doc_ids]
        prompts += [first.window_prompt(dl19.queries[q], docs[a:b]).ids
                    for a, b in window_spans(len(docs), WINDOW["window_size"], WINDOW["stride"])]
    ids = first.identifier_ids
    mine = {"values": first.backend.next_token_logits(prompts, ids).logits,
            "generations": [g.text for g in first.backend.generate(prompts[:2], 8)],
            "run": first.rerank(dl19.queries, first_stage, dl19.corpus),
            "config": first.backend.config(),
            "base": FirstReranker(SMOL, **WINDOW).backend.next_token_logits(prompts, ids).logits}
    folder = tmp_path_factory.mktemp("vllm-lora")
    out = run_vllm_job(python, Path(__file__).with_name("_vllm_lora_job.py"), {
        "adapter": adapter, "rankings": {q: list(first_stage[q].doc_ids) for q in first_stage},
        "prompts": prompts, "token_ids": ids, "window": WINDOW}, folder)
    return out, mine


def test_vllm_lora_values_equal_the_merged_model_and_differ_from_the_base(results):
    out, mine = results
    assert np.abs(_centre(out["values"]) - _centre(mine["values"])).max() < 1e-3
    assert np.abs(_centre(out["values"]) - _centre(mine["base"])).max() > 0.1
    assert out["generations"] == mine["generations"]


def test_vllm_lora_orderings_equal_in_process(results):
    out, mine = results
    assert out["rankings"] == {q: list(mine["run"][q].doc_ids) for q in mine["run"]}


def test_vllm_lora_records_the_adapter_and_its_base(results, adapter):
    out, mine = results
    cfg = out["config"]
    assert cfg["backend"] == "vllm" and cfg["model"] == adapter
    assert cfg["adapter"] == "LORA" and cfg["base_model"] == SMOL
    assert cfg["revision"].startswith("local-")              # the adapter's own fingerprint
    assert out["max_lora_rank"] == 8                         # the smallest rank vLLM takes >= r
    # the same provenance as the in-process engine, which merged the adapter (rerun rebuilds it)
    keys = ("model", "revision", "adapter", "base_model", "base_revision")
    assert {k: cfg[k] for k in keys} == {k: mine["config"][k] for k in keys}
