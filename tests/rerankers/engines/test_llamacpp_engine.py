"""The llama.cpp engine (``engine="llamacpp"``) on SmolLM2-135M-Instruct's Q4_1 GGUF against the
in-process transformers backend on the dequantised weights of the same file, on DL19 windows.

What is exact: the prompts (our token ids; the same prompts / input tokens per family in
``llm_stats``), prefix reuse (same values as evaluating every prompt from scratch, 1e-3).
What is close, not exact (llama.cpp quantises activations to 8 bits in its Q4_1 dot products;
transformers runs the dequantised weights in fp32): FIRST identifier values, centred per window,
correlate >= 0.98 and differ by < 0.5 nats; at least 2 of 3 families give the same DL19
orderings. Skipped without llama-cpp-python or the GGUF (``python scripts/install_gguf.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from helpers.extras import requires
from helpers.real_server import SMOL, WINDOW

from rankify_lite.errors import InputError

pytestmark = [requires("llama_cpp", "gguf", extra="llamacpp"), pytest.mark.slow]
GGUF = Path(os.environ.get("RANKIFY_LITE_GGUF", Path.home() / ".cache" / "rankify-lite" / "gguf"
                           / "SmolLM2-135M-Instruct.Q4_1.gguf"))


@pytest.fixture(scope="module")
def llama():
    if not GGUF.is_file():
        pytest.skip(f"no GGUF at {GGUF} (python scripts/install_gguf.py)")
    from rankify_lite.rerankers.engines.llamacpp_backend import LlamaCppBackend

    return LlamaCppBackend(str(GGUF), tokenizer=SMOL, n_threads=2, max_context=2048)


def _centre(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=1, keepdims=True)


def test_first_values_close_to_transformers(inprocess, llama):
    ref = inprocess["values"].logits
    got = llama.next_token_logits(inprocess["prompts"], inprocess["reranker"].identifier_ids)
    assert got.logits.shape == ref.shape and got.input_tokens == inprocess["values"].input_tokens
    a, b = _centre(ref), _centre(got.logits)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] >= 0.98
    assert np.abs(a - b).max() < 0.5
    cfg = llama.config()
    assert cfg["backend"] == "llamacpp" and cfg["gguf_file"] == GGUF.name
    assert cfg["revision"].startswith("file-") and cfg["max_context"] == 2048


def test_prefix_reuse_gives_the_values_of_fresh_evaluation(inprocess, llama):
    from rankify_lite.rerankers.engines.llamacpp_backend import LlamaCppBackend

    prompts, ids = inprocess["prompts"][:3], inprocess["reranker"].identifier_ids
    llama.evaluated_tokens = 0
    reused = llama.next_token_logits(prompts, ids).logits
    fresh_backend = LlamaCppBackend(str(GGUF), tokenizer=SMOL, n_threads=2, max_context=2048,
                                    reuse_prefix=False)
    fresh = fresh_backend.next_token_logits(prompts, ids).logits
    np.testing.assert_allclose(reused, fresh, atol=1e-3)
    assert fresh_backend.evaluated_tokens == sum(len(p) for p in prompts)
    assert llama.evaluated_tokens < fresh_backend.evaluated_tokens  # the shared prefix was kept


def test_families_on_llamacpp_match_transformers(inprocess, llama, dl19):
    from rankify_lite.rerankers.families.first import FirstReranker
    from rankify_lite.rerankers.families.listwise import ListwiseReranker
    from rankify_lite.rerankers.families.pointwise import PointwiseReranker

    families = {"first": FirstReranker(backend=llama, **WINDOW),
                "listwise": ListwiseReranker(backend=llama, **WINDOW),
                "pointwise": PointwiseReranker(backend=llama,
                                               passage_words=WINDOW["passage_words"])}
    same = 0
    for name, reranker in families.items():
        run = reranker.rerank(dl19.queries, inprocess["first_stage"], dl19.corpus)
        mine = inprocess["runs"][name]
        for key in ("prompts", "input_tokens"):          # exactly our token ids went in
            assert run.metadata["llm_stats"][key] == mine.metadata["llm_stats"][key], key
        same += all(list(run[q].doc_ids) == list(mine[q].doc_ids) for q in run)
        for q in run:                                   # scores follow rank, always
            assert list(run[q].scores) == sorted(run[q].scores, reverse=True)
    assert same >= 2


def test_generation_is_greedy_with_min_tokens(inprocess, llama):
    prompt = inprocess["prompts"][0]
    gen = llama.generate([prompt], max_new_tokens=4, min_new_tokens=4)[0]
    assert (gen.output_tokens, gen.input_tokens) == (4, len(prompt))
    short = llama.generate([prompt], max_new_tokens=2)[0]  # greedy: a prefix of the longer one
    assert gen.text.startswith(short.text) and short.output_tokens <= 2
    # stop_when ends the generation at the first token after which it holds
    stopped = llama.generate([prompt], max_new_tokens=4, min_new_tokens=4,
                             stop_when=lambda text: len(text) > 0)[0]
    assert stopped.output_tokens == 1 and gen.text.startswith(stopped.text)


def test_engine_option_checks(llama):
    from rankify_lite.rerankers.engines import build_backend
    from rankify_lite.rerankers.engines.llamacpp_backend import resolve_gguf

    with pytest.raises(InputError, match="do not apply to engine 'llamacpp'"):
        build_backend("llamacpp", str(GGUF), dtype="bfloat16")
    with pytest.raises(InputError, match="not a GGUF file"):
        resolve_gguf(str(GGUF.parent / "missing.gguf"), None, None)
    with pytest.raises(InputError, match="has no 'other.gguf'"):
        resolve_gguf(str(GGUF.parent), "other.gguf", None)
    with pytest.raises(InputError, match="does not fit the llama.cpp context"):
        llama.next_token_logits([[1] * 2048], [1, 2])


def test_tuning_options_reach_llama_cpp_and_are_recorded():
    """n_threads_batch / n_ubatch / flash_attn are what llama.cpp runs with and what config()
    records (flash attention sums in another order); a bad value names the option."""
    if not GGUF.is_file():
        pytest.skip(f"no GGUF at {GGUF} (python scripts/install_gguf.py)")
    from rankify_lite.rerankers.engines import build_backend

    tuned = build_backend("llamacpp", str(GGUF), tokenizer=SMOL, n_threads=2, max_context=512,
                          n_threads_batch=1, n_ubatch=128, flash_attn=True)
    ctx = tuned.llama.context_params
    assert (ctx.n_threads_batch, ctx.n_ubatch, ctx.flash_attn_type) == (1, 128, 1)
    assert (tuned.config()["n_ubatch"], tuned.config()["flash_attn"]) == (128, True)
    plain = build_backend("llamacpp", str(GGUF), tokenizer=SMOL, n_threads=2, max_context=512)
    assert (plain.config()["n_ubatch"], plain.config()["flash_attn"]) == (512, False)
    for bad in ({"n_ubatch": 0}, {"n_threads_batch": -1}, {"n_batch": 1.5}):
        with pytest.raises(InputError, match=f"option {next(iter(bad))} must be"):
            build_backend("llamacpp", str(GGUF), tokenizer=SMOL, **bad)
