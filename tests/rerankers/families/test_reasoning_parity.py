"""The model input of `reasonrank` is rank_llm's, token for token, with thinking on and off.

rank_llm 0.25.7's own ``RankListwiseOSLLM(is_thinking=..., prompt_template_path=...)`` builds
the reference prompts (``create_prompt``: messages, ``apply_chat_template(...,
enable_thinking=is_thinking)``, ``fix_text``, shrink to fit), loaded as in
test_rank_llm_parity.py (``helpers.rank_llm_ref``). Templates: 0.25.7's
``qwen_thinking_template.yaml`` (compared field by field with the installed file) and the
ReasonRank template, which rank_llm added after its last release (castorini/rank_llm commit
3f7b27e, "Add reasonrerank"): our ``reasonrank`` preset's fields equal that file's (its parsed
fields' sha256 is recorded below) and rank_llm's code renders it from our file. Also the
generation lengths: rank_llm's ``max_tokens = reasoning_token_budget`` (thinking) or the answer
length, ``min_tokens = num_output_tokens``.

Measured: every window of the 43 DL19 queries at depth 100 (387 windows) with the ReasonRank
template and thinking on, identical (the test keeps the first 15 queries, 135 windows, for
time); 3 queries (27 windows) each for thinking off and for qwen_thinking.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json

import pytest

pytest.importorskip("ftfy")
pytest.importorskip("dacite")
pytest.importorskip("transformers")
if importlib.util.find_spec("rank_llm") is None:
    pytest.skip("rank_llm is not installed (pip install --no-deps rank-llm==0.25.7)",
                allow_module_level=True)

from helpers.rank_llm_ref import SMOLLM2, check_windows, rank_llm_listwise  # noqa: E402

from rankify_lite.rerankers.engines.llm_backend import TransformersBackend  # noqa: E402
from rankify_lite.rerankers.families.reasonrank import ReasonRankReranker  # noqa: E402
from rankify_lite.rerankers.prompts.templates import load_prompt  # noqa: E402

#: sha256 of json.dumps(fields, sort_keys=True) of rank_llm's reasonrank_template.yaml at commit
#: 3f7b27effc0c71330f3d20876e655759d0ce4e8b, output_* regexes left out (as for the other presets)
REASONRANK_FIELDS_SHA256 = "05bb35c624673b81d9da5ef6c66dc86a9b46f6b344467a552fd11727f8fdb5f9"
SHARED = ("method", "system_message", "prefix", "body", "suffix")


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    import yaml

    with rank_llm_listwise() as mods:
        # rank_llm's file for the ReasonRank template: our preset's rank_llm fields (checked
        # against the upstream file's hash below) plus the output regexes, which the upstream
        # file shares with the installed qwen_thinking_template.yaml
        qwen = yaml.safe_load((mods.templates / "qwen_thinking_template.yaml").read_text())
        fields = load_prompt("reasonrank").fields
        reasonrank = tmp_path_factory.mktemp("rank_llm") / "reasonrank_template.yaml"
        reasonrank.write_text(yaml.safe_dump(
            {**{k: fields[k] for k in SHARED},
             **{k: v for k, v in qwen.items() if k.startswith("output_")}}))
        mods.reason = mods.osllm.RankListwiseOSLLM(SMOLLM2, device="cpu", is_thinking=True,
                                                   reasoning_token_budget=3072,
                                                   prompt_template_path=reasonrank)
        mods.reason_off = mods.osllm.RankListwiseOSLLM(SMOLLM2, device="cpu",
                                                       prompt_template_path=reasonrank)
        mods.qwen = mods.osllm.RankListwiseOSLLM(
            SMOLLM2, device="cpu", is_thinking=True,
            prompt_template_path=mods.templates / "qwen_thinking_template.yaml")
        yield mods


@pytest.fixture(scope="module")
def backend():
    try:
        return TransformersBackend(SMOLLM2, device="cpu")
    except Exception as exc:  # noqa: BLE001 - not installed in the local HF cache
        pytest.skip(f"{SMOLLM2} not in the local Hugging Face cache ({type(exc).__name__})")


def test_template_fields_equal_rank_llm(ref):
    import yaml

    reference = yaml.safe_load((ref.templates / "qwen_thinking_template.yaml").read_text())
    mine = load_prompt("qwen_thinking").fields
    assert {k: mine[k] for k in SHARED} == {k: reference[k] for k in SHARED}
    fields = load_prompt("reasonrank").fields
    digest = hashlib.sha256(json.dumps({k: fields[k] for k in SHARED},
                                       sort_keys=True).encode()).hexdigest()
    assert digest == REASONRANK_FIELDS_SHA256


def test_reasonrank_prompts_equal_rank_llm_on_dl19_windows(ref, backend, dl19):
    bm25 = dl19.load_run("bm25.top100")
    ours = ReasonRankReranker(backend=backend)
    assert ours.config()["prompt"]["name"] == "reasonrank"
    qids = list(bm25)[:15]           # all 43 (387 windows) were checked once: 2 min on CPU
    windows, _ = check_windows(ours, ref.reason, ref.data, dl19, bm25, qids, prefill="")
    assert windows == 15 * 9


def test_thinking_off_and_qwen_thinking_prompts_equal_rank_llm(ref, backend, dl19):
    bm25 = dl19.load_run("bm25.top100")
    qids = list(bm25)[:3]
    off = ReasonRankReranker(backend=backend, thinking=False)
    qwen = ReasonRankReranker(backend=backend, prompt="qwen_thinking")
    assert check_windows(off, ref.reason_off, ref.data, dl19, bm25, qids, prefill="")[0] == 27
    assert check_windows(qwen, ref.qwen, ref.data, dl19, bm25, qids, prefill="")[0] == 27


class _Recording:
    """The real backend's tokenizer side; generation only records its arguments."""

    def __init__(self, backend) -> None:
        self._backend, self.calls = backend, []

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def generate(self, prompts, max_new_tokens, min_new_tokens=0):
        from rankify_lite.rerankers.engines.llm_backend import Generation

        self.calls.append((len(prompts), max_new_tokens, min_new_tokens))
        return [Generation("ok</think>[2] > [1]", len(p), 7) for p in prompts]


def test_generation_lengths_are_rank_llms(ref, backend, dl19):
    """rank_llm's run_llm_batched: max_tokens = the budget when thinking, else
    num_output_tokens; min_tokens = num_output_tokens."""
    from rankify_lite.types import Run

    bm25 = dl19.load_run("bm25.top100")
    q = list(bm25)[0]
    first = Run.from_rankings({q: list(bm25[q].doc_ids[:20])}, name="bm25")
    answer = ref.reason.num_output_tokens(20)
    for thinking, expected in ((True, (1, 3072, answer)), (False, (1, answer, answer))):
        rec = _Recording(backend)
        ReasonRankReranker(backend=rec, thinking=thinking,
                           reasoning_token_budget=3072).rerank(dl19.queries, first, dl19.corpus)
        assert rec.calls == [expected]
