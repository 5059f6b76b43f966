"""VLLMBackend's requests, checked against a minimal stand-in for the vLLM API (the shapes of
``vllm.LLM``, ``SamplingParams`` and ``TokensPrompt`` in vLLM 0.32): engine arguments, token-id
prompts, every prompt of a call in one ``generate``, exact log-prob ids, the max_logprobs
error, greedy generation with EOS trimmed. A real vLLM engine runs the same code in
``test_vllm_engine.py`` when a vLLM environment is present.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pytest
from helpers.fake_lm import FakeLM, docs_with_relevance
from helpers.fake_server import FakeTokenizer

from rankify_lite.errors import InputError
from rankify_lite.rerankers.families.first import FirstReranker
from rankify_lite.rerankers.families.listwise import ListwiseReranker
from rankify_lite.types import Corpus, Queries, Run


@dataclass
class Logprob:
    logprob: float


@dataclass
class Completion:
    text: str
    token_ids: list[int]
    logprobs: list[dict[int, Logprob]] | None = None
    stop_reason: str | int | None = None


@dataclass
class RequestOutput:
    outputs: list[Completion]


@dataclass
class SamplingParams:
    max_tokens: int | None = 16
    temperature: float = 1.0
    min_tokens: int = 0
    logprobs: int | None = None
    logprob_token_ids: list[int] | None = None
    allowed_token_ids: list[int] | None = None
    skip_special_tokens: bool = True
    stop: list[str] | None = None
    include_stop_str_in_output: bool = False
    __struct_fields__ = ("max_tokens", "temperature", "min_tokens", "logprobs",
                         "logprob_token_ids", "allowed_token_ids", "skip_special_tokens",
                         "stop", "include_stop_str_in_output")


class StubLLM:
    """Answers from a FakeLM, records every call; the engine's ModelConfig as vLLM has it."""

    def __init__(self, lm: FakeLM, **engine_args) -> None:
        self.lm = lm
        self.engine_args = engine_args
        self.calls: list[tuple[list[list[int]], SamplingParams]] = []
        cfg = types.SimpleNamespace(max_model_len=engine_args.get("max_model_len", 4096),
                                    max_logprobs=engine_args.get("max_logprobs", 20),
                                    logprobs_mode=engine_args.get("logprobs_mode",
                                                                  "raw_logprobs"),
                                    dtype=engine_args.get("dtype", "auto"),
                                    model=engine_args.get("model"))
        self.llm_engine = types.SimpleNamespace(model_config=cfg)

    def get_tokenizer(self):
        return FakeTokenizer(self.lm)

    def generate(self, prompts, params, use_tqdm=True):
        ids = [p["prompt_token_ids"] for p in prompts]
        self.calls.append((ids, params))
        if params.logprob_token_ids is not None:
            values = self.lm.next_token_logits(ids, params.logprob_token_ids).logits
            wanted = params.logprob_token_ids
            return [RequestOutput([Completion("", [0], [
                {t: Logprob(float(v)) for t, v in zip(wanted, row, strict=True)}])])
                for row in values]
        gens = self.lm.generate(ids, params.max_tokens, params.min_tokens)
        eos = [self.lm._id("</s>")]                  # vLLM keeps the EOS in token_ids
        out = []
        for g in gens:
            hit = min(((g.text.find(x), x) for x in params.stop or () if x in g.text),
                      default=None)
            if hit is None:
                out.append(RequestOutput([Completion(g.text, self.lm.encode(g.text) + eos)]))
            else:                                     # vLLM: the stop string ends the output
                text = g.text[:hit[0] + len(hit[1])]
                out.append(RequestOutput([Completion(text, self.lm.encode(text),
                                                     stop_reason=hit[1])]))
        return out


@pytest.fixture
def stub_vllm(monkeypatch):
    made: list[StubLLM] = []
    lm = FakeLM()
    mod = types.ModuleType("vllm")
    mod.SamplingParams = SamplingParams
    mod.LLM = lambda **kw: made.append(StubLLM(lm, **kw)) or made[-1]
    inputs = types.ModuleType("vllm.inputs")
    inputs.TokensPrompt = lambda prompt_token_ids: {"prompt_token_ids": list(prompt_token_ids)}
    mod.inputs = inputs
    monkeypatch.setitem(sys.modules, "vllm", mod)
    monkeypatch.setitem(sys.modules, "vllm.inputs", inputs)
    return lm, made


def _inputs(n_queries=3, n_docs=7):
    docs, ranking = [], {}
    for k in range(n_queries):
        scores = [float((7 * j + 3 * k) % n_docs) for j in range(n_docs)]
        ds = [d.__class__(f"q{k}-{d.id}", d.text) for d in docs_with_relevance(scores)]
        docs += ds
        ranking[f"q{k}"] = [d.id for d in ds]
    queries = Queries.from_dict({q: f"query {q}" for q in ranking})
    return queries, Run.from_rankings(ranking, name="bm25"), Corpus.from_documents(docs)


def _rankings(run):
    return {q: list(run[q].doc_ids) for q in run}


def test_engine_arguments_and_first_requests(stub_vllm):
    lm, made = stub_vllm
    first = FirstReranker("org/model", engine="vllm", tokenizer=FakeTokenizer(lm),
                          tensor_parallel_size=4, gpu_memory_utilization=0.5,
                          max_model_len=8192, window_size=4, stride=2)
    (llm,) = made
    assert llm.engine_args["tensor_parallel_size"] == 4
    assert llm.engine_args["gpu_memory_utilization"] == 0.5
    assert llm.engine_args["max_model_len"] == 8192
    assert llm.engine_args["max_logprobs"] >= 26
    assert first.backend.max_context == 8192
    assert first.config()["backend"] == "vllm"
    run = first.rerank(*_inputs())
    assert _rankings(run) == _rankings(FirstReranker(backend=lm, window_size=4,
                                                     stride=2).rerank(*_inputs()))
    # 7 docs, window 4 stride 2 -> 3 windows per query: one generate per step, all 3
    # queries' windows together, ids exactly the reranker's, logprobs of the identifiers only
    assert [len(ids) for ids, _ in llm.calls] == [3, 3, 3]
    for _ids, params in llm.calls:
        assert params.max_tokens == 1 and params.temperature == 0.0
        assert params.logprob_token_ids == first.identifier_ids
    assert run.metadata["llm_stats"]["input_tokens"] == sum(
        len(p) for ids, _ in llm.calls for p in ids)


def test_max_logprobs_below_the_window_is_a_clear_error(stub_vllm):
    lm, _ = stub_vllm
    first = FirstReranker("org/model", engine="vllm", tokenizer=FakeTokenizer(lm),
                          max_logprobs=3, window_size=4, stride=2)
    with pytest.raises(InputError, match="max_logprobs=3") as err:
        first.backend.next_token_logits([[1, 2]], first.identifier_ids)
    assert "max_logprobs>=4" in str(err.value)


def test_ready_engine_without_logprob_token_ids_needs_processed_mode(stub_vllm, monkeypatch):
    lm, _ = stub_vllm
    from rankify_lite.rerankers.engines.vllm_backend import VLLMBackend

    monkeypatch.setattr(SamplingParams, "__struct_fields__", ("max_tokens", "logprobs"))
    raw = VLLMBackend(llm=StubLLM(lm, max_logprobs=26), tokenizer=FakeTokenizer(lm))
    with pytest.raises(InputError, match="processed_logprobs"):
        raw.logprob_params([1, 2, 3])
    ok = VLLMBackend(llm=StubLLM(lm, max_logprobs=26, logprobs_mode="processed_logprobs"),
                     tokenizer=FakeTokenizer(lm))
    params = ok.logprob_params([5, 6, 7])
    assert params.allowed_token_ids == [5, 6, 7] and params.logprobs == 3


def test_listwise_generation_is_greedy_and_counts_without_eos(stub_vllm):
    lm, made = stub_vllm
    tok = FakeTokenizer(lm)
    tok.eos_token_id = lm._id("</s>")
    listwise = ListwiseReranker("org/model", engine="vllm", tokenizer=tok, window_size=4,
                                stride=2)
    run = listwise.rerank(*_inputs())
    local = ListwiseReranker(backend=lm, window_size=4, stride=2).rerank(*_inputs())
    assert _rankings(run) == _rankings(local)
    assert run.metadata["llm_stats"]["output_tokens"] == local.metadata["llm_stats"][
        "output_tokens"]
    (llm,) = made
    for _, params in llm.calls:
        assert params.temperature == 0.0 and params.min_tokens == params.max_tokens


def test_engine_args_reach_the_engine_as_keywords(stub_vllm):
    # vllm.LLM(**kw) hands kw to EngineArgs: extra fields must arrive flat, never as one
    # "engine_args" keyword (EngineArgs.__init__ has no such field)
    lm, made = stub_vllm
    from rankify_lite.rerankers.engines.vllm_backend import VLLMBackend

    VLLMBackend("org/model", tokenizer=FakeTokenizer(lm),
                engine_args={"enable_prefix_caching": False})
    FirstReranker("org/model", engine="vllm", tokenizer=FakeTokenizer(lm),
                  engine_args={"enable_prefix_caching": False, "swap_space": 1})
    for llm in made:
        assert "engine_args" not in llm.engine_args
        assert llm.engine_args["enable_prefix_caching"] is False
    assert made[1].engine_args["swap_space"] == 1
    with pytest.raises(InputError, match="max_model_len"):
        VLLMBackend("org/model", tokenizer=FakeTokenizer(lm),
                    engine_args={"max_model_len": 512})
    with pytest.raises(InputError, match="ready engine"):
        VLLMBackend(llm=made[0], engine_args={"enable_prefix_caching": False})
    with pytest.raises(TypeError):
        VLLMBackend("org/model", tokenizer=FakeTokenizer(lm), enable_prefix_caching=False)


def test_stop_when_uses_its_stop_strings_and_redoes_an_output_they_cut_too_early(stub_vllm):
    """pseudo-queries' first_line_complete names a line break as its stop string: vLLM stops
    there, and when an output's line break came before any text the batch is decoded again
    without stop strings (the same batch as a call without stop_when) and that output taken."""
    from rankify_lite.distill.pseudo_queries import first_line_complete
    from rankify_lite.rerankers.engines.llm_backend import Generation
    from rankify_lite.rerankers.engines.vllm_backend import VLLMBackend

    lm, made = stub_vllm
    script = {"A": "what is tp53 ?\nExample 2 : more", "B": "\n how do cells grow\nnext one",
              "C": "no line break at all"}
    lm.generate = lambda ids, n, m=0: [
        Generation(script[lm.decode(p)], len(p), len(lm.encode(script[lm.decode(p)])))
        for p in ids]
    tok = FakeTokenizer(lm)
    tok.eos_token_id = lm._id("</s>")
    backend = VLLMBackend("org/model", tokenizer=tok)
    prompts = [lm.encode(k) for k in script]
    full = backend.generate(prompts, 32)
    short = backend.generate(prompts, 32, stop_when=first_line_complete)
    assert [g.text for g in short] == ["what is tp53 ?\n", "\n how do cells grow\n",
                                       "no line break at all"]
    assert [g.text for g in full] == list(script.values())        # no predicate: no stop
    assert short[0].output_tokens < full[0].output_tokens
    (llm,) = made
    stops = [params.stop for _, params in llm.calls]
    assert stops == [None, ["\n"], None]          # the third call: the batch, without stops
    assert llm.calls[2][0] == prompts and llm.calls[1][1].include_stop_str_in_output
