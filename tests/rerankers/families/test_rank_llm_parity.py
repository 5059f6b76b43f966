"""The model input of `first` and `listwise` is rank_llm's, token for token.

rank_llm 0.25.7 (installed ``--no-deps``, see .ci/run) is the reference. Its package
``__init__`` files import vLLM and old T5 code, so only the modules these tests need are loaded
(``helpers.rank_llm_ref``: empty parent packages, a stand-in ``vllm`` module whose ``LLM`` hands
out the SmolLM2 tokenizer): ``RankListwiseOSLLM`` is then built by its own ``__init__`` and its
own ``create_prompt`` (messages, chat template, ``fix_text``, shrinking to fit the context) and
``sliding_windows_batched`` run unchanged. ``sys.modules`` is restored afterwards.

Measured: every window of the 43 DL19 queries at depth 100 (387 windows per family), for
FIRST (letters, "[" pre-fill) and RankZephyr listwise (numbers); prompt text and token ids.
"""

from __future__ import annotations

import importlib.util

import pytest

pytest.importorskip("ftfy")
pytest.importorskip("dacite")
transformers = pytest.importorskip("transformers")
if importlib.util.find_spec("rank_llm") is None:
    pytest.skip("rank_llm is not installed (pip install --no-deps rank-llm==0.25.7)",
                allow_module_level=True)

from helpers.rank_llm_ref import SMOLLM2, check_windows, rank_llm_listwise  # noqa: E402

from rankify_lite.rerankers.engines.llm_backend import TransformersBackend  # noqa: E402
from rankify_lite.rerankers.families.first import FirstReranker  # noqa: E402
from rankify_lite.rerankers.families.listwise import ListwiseReranker  # noqa: E402
from rankify_lite.rerankers.llm.windows import window_spans  # noqa: E402


@pytest.fixture(scope="module")
def ref():
    """rank_llm's modules, loaded without its package __init__ files (which import vLLM)."""
    with rank_llm_listwise() as mods:
        # built now, while the stand-in vllm is in place
        mods.first = mods.osllm.RankListwiseOSLLM(SMOLLM2, use_logits=True, use_alpha=True,
                                                  device="cpu")
        mods.zephyr = mods.osllm.RankListwiseOSLLM(SMOLLM2, device="cpu")
        mods.vicuna = mods.osllm.RankListwiseOSLLM("castorini/rank_vicuna_7b_v1", device="cpu")
        mods.gpt = mods.osllm.RankListwiseOSLLM(
            SMOLLM2, device="cpu", prompt_template_path=mods.templates / "rank_gpt_template.yaml")
        yield mods


@pytest.fixture(scope="module")
def backend():
    try:
        return TransformersBackend(SMOLLM2, device="cpu")
    except Exception as exc:  # noqa: BLE001 - not installed in the local HF cache
        pytest.skip(f"{SMOLLM2} not in the local Hugging Face cache ({type(exc).__name__})")


def test_preset_fields_are_byte_identical_to_rank_llm(ref):
    import yaml

    from rankify_lite.rerankers.prompts.templates import load_prompt

    for ours, theirs in (("rank_zephyr_alpha", "rank_zephyr_alpha_template.yaml"),
                         ("rank_zephyr", "rank_zephyr_template.yaml"),
                         ("rank_vicuna", "rank_zephyr_template.yaml"),
                         ("rank_gpt", "rank_gpt_template.yaml")):
        reference = yaml.safe_load((ref.templates / theirs).read_text())
        mine = load_prompt(ours).fields
        shared = [k for k in reference if not k.startswith("output_")]
        assert {k: mine[k] for k in shared} == {k: reference[k] for k in shared}, ours
    # RankVicuna's chat template is the one rank_llm's VllmHandler sets for it
    assert load_prompt("rank_vicuna").fields["chat_template"] == \
        ref.vicuna._tokenizer.chat_template


def test_first_prompts_equal_rank_llm_on_every_dl19_window(ref, backend, dl19):
    bm25 = dl19.load_run("bm25.top100")
    first = FirstReranker(backend=backend)
    assert first.config()["prompt"]["name"] == "rank_zephyr_alpha"
    windows, _ = check_windows(first, ref.first, ref.data, dl19, bm25, list(bm25), prefill="[")
    assert windows == 43 * 9
    # the identifier read after "[" is the single token of the letter, as rank_llm decodes it
    tok = ref.first._tokenizer
    assert [tok.decode([t]) for t in first.identifier_ids] == list("ABCDEFGHIJKLMNOPQRST")


def test_listwise_prompts_equal_rank_llm_on_every_dl19_window(ref, backend, dl19):
    bm25 = dl19.load_run("bm25.top100")
    listwise = ListwiseReranker(backend=backend)
    assert listwise.config()["prompt"]["name"] == "rank_zephyr"
    windows, _ = check_windows(listwise, ref.zephyr, ref.data, dl19, bm25, list(bm25), prefill="")
    assert windows == 43 * 9
    # the answer length is rank_llm's num_output_tokens, for full and short windows
    for size in (20, 15, 3):
        assert listwise.generation_budget(size) == (ref.zephyr.num_output_tokens(size),) * 2


def test_shrinking_to_a_small_context_follows_rank_llm(ref, backend, dl19):
    bm25 = dl19.load_run("bm25.top100")
    qids = list(bm25)[:1]
    ref.first._context_size = ref.zephyr._context_size = 1536
    try:
        first = FirstReranker(backend=backend, context_size=1536)
        listwise = ListwiseReranker(backend=backend, context_size=1536)
        w1, s1 = check_windows(first, ref.first, ref.data, dl19, bm25, qids, prefill="[",
                                max_windows=4)
        w2, s2 = check_windows(listwise, ref.zephyr, ref.data, dl19, bm25, qids, prefill="",
                                max_windows=4)
    finally:
        ref.first._context_size = ref.zephyr._context_size = 4096
    assert w1 == w2 == 4
    assert s1 >= 3 and s2 >= 3                  # the windows had to shrink


def test_multi_turn_and_vicuna_presets_equal_rank_llm(ref, backend, dl19):
    bm25 = dl19.load_run("bm25.top100")
    qids = list(bm25)[:3]
    gpt = ListwiseReranker(backend=backend, prompt="rank_gpt")
    vicuna = ListwiseReranker(backend=backend, prompt="rank_vicuna")
    assert check_windows(gpt, ref.gpt, ref.data, dl19, bm25, qids, prefill="")[0] == 27
    assert check_windows(vicuna, ref.vicuna, ref.data, dl19, bm25, qids, prefill="")[0] == 27


def test_window_spans_equal_rank_llm_for_every_depth(ref):
    def reference_spans(n: int, **kwargs) -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []
        model = ref.zephyr

        def record(results, start, end, *args, **kw):
            seen.append((start, end))
            return results

        model.permutation_pipeline_batched = record
        try:
            req = ref.data.Request(query=ref.data.Query(text="q", qid="q"),
                                   candidates=[ref.data.Candidate(docid=str(i), score=0.0,
                                                                  doc={"text": "x"})
                                               for i in range(n)])
            model.rerank_batch([req], rank_start=0, rank_end=100, **kwargs)
        finally:
            del model.permutation_pipeline_batched
        return seen

    for n in range(1, 101):
        assert window_spans(n, 20, 10) == reference_spans(n, top_k_retrieve=n), n
        # rank_llm's default top_k_retrieve=100 differs only at n = window - stride, where it
        # skips the list entirely (not reproduced: that would silently leave it unranked)
        if n != 10:
            assert window_spans(n, 20, 10) == reference_spans(n), n
    assert reference_spans(10) == [] and window_spans(10, 20, 10) == [(0, 10)]
    for w, s in ((4, 2), (10, 3), (8, 8)):
        ref.zephyr._window_size, ref.zephyr._stride = w, s
        try:
            for n in range(1, 41):
                assert window_spans(n, w, s) == reference_spans(n, top_k_retrieve=n), (n, w, s)
        finally:
            ref.zephyr._window_size, ref.zephyr._stride = 20, 10
