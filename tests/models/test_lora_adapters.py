"""PEFT LoRA adapters through the one model loader: a folder holding ``adapter_config.json`` is
merged into its base as it loads, for the pointwise LLM reranker (transformers engine), the
cross-encoder and the dense encoder.

Each base is a tiny random model built from a config; each adapter is a random LoRA
(``init_lora_weights=False``: B is not zero, so the adapter changes the model). The reference
is the model merged by hand (``PeftModel.from_pretrained(base, adapter).merge_and_unload()``),
saved as a plain folder and loaded the old way.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("peft")
pytest.importorskip("transformers")

from rankify_lite import load_reranker  # noqa: E402
from rankify_lite.builders import build  # noqa: E402
from rankify_lite.errors import InputError  # noqa: E402
from rankify_lite.models import loader  # noqa: E402
from rankify_lite.types import Corpus, Document, Queries, Run  # noqa: E402

QUERIES = {"q1": "protein expression in cancer cells", "q2": "risk of disease in mice"}
DOCS = {f"d{i}": text for i, text in enumerate([
    "the protein gene expression of cancer cells", "mice study results for disease risk",
    "treatment effect in human patients", "cell expression increased with the treatment",
    "a study of the gene", "disease risk in patients and mice"])}


def _inputs() -> tuple[Queries, Run, Corpus]:
    corpus = Corpus.from_documents(Document(k, v) for k, v in DOCS.items())
    run = Run.from_rankings({q: list(DOCS) for q in QUERIES}, name="bm25")
    return Queries.from_dict(QUERIES), run, corpus


def _scores(reranker) -> dict[str, dict[str, float]]:
    return reranker.rerank(*_inputs()).to_dict()


def _gap(a: dict, b: dict) -> float:
    """The largest score difference between two runs of the same (query, doc) pairs."""
    assert a.keys() == b.keys() and all(a[q].keys() == b[q].keys() for q in a)
    return max(abs(a[q][d] - b[q][d]) for q in a for d in a[q])


def _adapter(base: str, out: Path, auto_cls: str, targets: list[str], *,
             tokenizer: bool = False, seed: int = 7) -> tuple[str, str]:
    """(adapter folder, hand-merged folder) for a random LoRA on ``base``."""
    import peft
    import torch
    import transformers

    cls = getattr(transformers, auto_cls)
    torch.manual_seed(seed)
    cfg = peft.LoraConfig(r=4, lora_alpha=32, target_modules=targets, init_lora_weights=False)
    peft.get_peft_model(cls.from_pretrained(base), cfg).save_pretrained(out / "adapter")
    tok = transformers.AutoTokenizer.from_pretrained(base)
    if tokenizer:
        tok.save_pretrained(out / "adapter")
    merged = peft.PeftModel.from_pretrained(cls.from_pretrained(base),
                                            str(out / "adapter")).merge_and_unload()
    merged.save_pretrained(out / "merged")
    tok.save_pretrained(out / "merged")
    return str(out / "adapter"), str(out / "merged")


# ---- fixtures: tiny bases and their adapters ------------------------------------------------
@pytest.fixture(scope="module")
def llm(tmp_path_factory) -> dict[str, str]:
    from helpers.tiny import tiny_llm_folder

    root = tmp_path_factory.mktemp("lora-llm")
    base = tiny_llm_folder(root / "base")
    adapter, merged = _adapter(base, root, "AutoModelForCausalLM", ["q_proj", "v_proj", "o_proj"])
    return {"base": base, "adapter": adapter, "merged": merged}


@pytest.fixture(scope="module")
def cross(tmp_path_factory) -> dict[str, str]:
    import torch
    import transformers
    from helpers.tiny import tiny_bert_folder

    root = tmp_path_factory.mktemp("lora-ce")
    base = tiny_bert_folder(root / "base")
    cfg = transformers.BertConfig.from_pretrained(base, num_labels=1)
    torch.manual_seed(1)
    transformers.BertForSequenceClassification(cfg).eval().save_pretrained(base)
    adapter, merged = _adapter(base, root, "AutoModelForSequenceClassification",
                               ["query", "value"])
    return {"base": base, "adapter": adapter, "merged": merged}


@pytest.fixture(scope="module")
def dense(tmp_path_factory) -> dict[str, str]:
    from helpers.tiny import tiny_bert_folder

    root = tmp_path_factory.mktemp("lora-dense")
    base = tiny_bert_folder(root / "base")
    adapter, merged = _adapter(base, root, "AutoModel", ["query", "value", "dense"],
                               tokenizer=True)
    return {"base": base, "adapter": adapter, "merged": merged}


def _check_provenance(cfg: dict, folders: dict[str, str]) -> None:
    assert cfg["model"] == folders["adapter"]
    assert cfg["revision"] == loader.resolved_revision(folders["adapter"])  # adapter weights
    assert cfg["revision"].startswith("local-")
    assert cfg["base_model"] == folders["base"]
    assert cfg["base_revision"] == loader.resolved_revision(folders["base"])
    assert cfg["adapter"] == "LORA"


# ---- the pointwise LLM reranker (transformers engine) ---------------------------------------
def test_pointwise_scores_equal_the_hand_merged_model_and_differ_from_the_base(llm):
    opts = {"device": "cpu", "passage_words": 12}
    lora = load_reranker("pointwise", model=llm["adapter"], **opts)
    merged = _scores(load_reranker("pointwise", model=llm["merged"], **opts))
    base = _scores(load_reranker("pointwise", model=llm["base"], **opts))
    got = _scores(lora)
    assert _gap(got, merged) <= 1e-5
    assert _gap(got, base) > 1e-3
    cfg = lora.config()
    _check_provenance(cfg, llm)
    assert _scores(build(lora.spec())) == got  # rerun rebuilds the same model
    assert build(lora.spec()).config() == cfg


def test_pointwise_explicit_base_model_is_recorded_in_the_spec(llm, tmp_path):
    import shutil

    adapter = tmp_path / "adapter"
    shutil.copytree(llm["adapter"], adapter)
    cfg_file = adapter / "adapter_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["base_model_name_or_path"] = None
    cfg_file.write_text(json.dumps(cfg))
    with pytest.raises(InputError, match="names no base model.*Fix: pass base_model="):
        load_reranker("pointwise", model=str(adapter), device="cpu")
    lora = load_reranker("pointwise", model=str(adapter), base_model=llm["base"], device="cpu",
                         passage_words=12)
    assert lora.spec().options["base_model"] == llm["base"]
    assert lora.config()["base_model"] == llm["base"]
    assert _scores(build(lora.spec())) == _scores(lora)


# ---- the cross-encoder ----------------------------------------------------------------------
def test_cross_encoder_scores_equal_the_hand_merged_model_and_differ_from_the_base(cross):
    opts = {"device": "cpu", "activation": "none"}  # raw logits: the tiny model's are small
    lora = load_reranker("cross-encoder", model=cross["adapter"], **opts)
    got = _scores(lora)
    assert _gap(got, _scores(load_reranker("cross-encoder", model=cross["merged"], **opts))) \
        <= 1e-5
    assert _gap(got, _scores(load_reranker("cross-encoder", model=cross["base"], **opts))) \
        > 1e-3
    _check_provenance(lora.config(), cross)
    assert _scores(build(lora.spec())) == got


def _beir_folder(folder: Path) -> str:
    """QUERIES / DOCS as a BEIR folder with a BM25-like run of every document."""
    (folder / "qrels").mkdir(parents=True)
    (folder / "runs").mkdir()
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": k, "title": "", "text": v}) + "\n" for k, v in DOCS.items()))
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"_id": k, "text": v}) + "\n" for k, v in QUERIES.items()))
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\td{i}\t1\n"
                                                 for i, q in enumerate(QUERIES)))
    (folder / "runs" / "run.bm25.top6.trec").write_text("".join(
        f"{q} Q0 {d} {r + 1} {10 - r} bm25\n" for q in QUERIES for r, d in enumerate(DOCS)))
    return str(folder)


def test_saved_meta_and_rerun_rebuild_the_merged_model(cross, tmp_path, capsys):
    from rankify_lite import Pipeline
    from rankify_lite.cli.main import main

    reranker = load_reranker("cross-encoder", model=cross["adapter"], device="cpu")
    result = Pipeline("run:bm25.top6", reranker, depth=6, cache=False, progress=False).run(
        _beir_folder(tmp_path / "data"))
    meta = result.save(tmp_path / "a")
    saved = meta.read_text()
    for value in (reranker.config()["revision"], reranker.config()["base_revision"]):
        assert json.dumps(value) in saved
    assert main(["rerun", str(meta), "--output", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    for fname in json.loads(saved)["files"].values():
        assert (tmp_path / "a" / fname).read_bytes() == (tmp_path / "b" / fname).read_bytes()


def test_cross_encoder_without_adapter_keeps_its_config_keys(cross):
    cfg = load_reranker("cross-encoder", model=cross["merged"], device="cpu").config()
    assert not {"adapter", "base_model", "base_revision"} & set(cfg)


# ---- the dense encoder ----------------------------------------------------------------------
def test_dense_encoder_vectors_equal_the_hand_merged_model_and_differ_from_the_base(dense):
    from rankify_lite.models import DenseEncoder

    texts = list(DOCS.values())
    lora = DenseEncoder(dense["adapter"], device="cpu", progress=False)
    got = lora.encode_documents(texts)
    want = DenseEncoder(dense["merged"], device="cpu", progress=False).encode_documents(texts)
    base = DenseEncoder(dense["base"], device="cpu", progress=False).encode_documents(texts)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.abs(got - base).max() > 1e-3
    _check_provenance(lora.config(), dense)
    again = DenseEncoder(**{k: lora.config()[k] for k in ("model", "pooling", "normalize")},
                         device="cpu", progress=False)
    np.testing.assert_array_equal(again.encode_documents(texts), got)


def test_splade_weights_equal_the_hand_merged_model_and_record_the_base(tmp_path):
    from helpers.tiny import tiny_bert_folder

    from rankify_lite.models import SpladeEncoder

    base = tiny_bert_folder(tmp_path / "base", mlm=True)
    folders = {"base": base}
    folders["adapter"], folders["merged"] = _adapter(base, tmp_path, "AutoModelForMaskedLM",
                                                     ["query", "value", "dense"])
    texts = list(DOCS.values())

    def weights(model: str) -> np.ndarray:
        return SpladeEncoder(model, device="cpu", progress=False).encode_documents(texts).toarray()

    got = weights(folders["adapter"])
    np.testing.assert_allclose(got, weights(folders["merged"]), atol=1e-5)
    assert np.abs(got - weights(base)).max() > 1e-3
    _check_provenance(SpladeEncoder(folders["adapter"], device="cpu").config(), folders)


def test_bi_encoder_takes_an_explicit_base_and_records_it(dense, tmp_path):
    import shutil

    adapter = shutil.copytree(dense["adapter"], tmp_path / "adapter")
    cfg_file = adapter / "adapter_config.json"
    cfg_file.write_text(json.dumps({**json.loads(cfg_file.read_text()),
                                    "base_model_name_or_path": None}))
    with pytest.raises(InputError, match="names no base model"):
        load_reranker("bi-encoder", model=str(adapter), device="cpu")
    lora = load_reranker("bi-encoder", model=str(adapter), base_model=dense["base"],
                         device="cpu")
    got = _scores(lora)
    assert _gap(got, _scores(load_reranker("bi-encoder", model=dense["merged"],
                                           device="cpu"))) <= 1e-5
    assert lora.config()["base_model"] == dense["base"]
    assert _scores(build(lora.spec())) == got


def test_tokenizer_comes_from_the_adapter_when_it_has_one(dense, cross, tmp_path):
    import shutil

    import transformers

    adapter = shutil.copytree(dense["adapter"], tmp_path / "adapter")
    tok = transformers.AutoTokenizer.from_pretrained(adapter)
    tok.model_max_length = 37
    tok.save_pretrained(adapter)
    loaded = loader.load(transformers.AutoModel, str(adapter), device="cpu")
    assert loaded.tokenizer.model_max_length == 37
    base_tok = transformers.AutoTokenizer.from_pretrained(cross["base"])
    loaded = loader.load(transformers.AutoModelForSequenceClassification, cross["adapter"],
                         device="cpu")  # no tokenizer in the adapter: the base's
    assert loaded.tokenizer.get_vocab() == base_tok.get_vocab()
    assert loaded.adapter.base_model == cross["base"]


# ---- refusals -------------------------------------------------------------------------------
def test_base_model_for_a_plain_model_is_refused(cross):
    with pytest.raises(InputError, match="holds no adapter_config.json.*Fix: drop base_model="):
        load_reranker("cross-encoder", model=cross["base"], base_model=cross["base"])


def test_adapter_from_the_hub_cache_records_its_snapshot(cross, tmp_path, monkeypatch):
    import shutil

    import transformers
    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--org--lora-ce"
    shutil.copytree(cross["adapter"], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    loaded = loader.load(transformers.AutoModelForSequenceClassification, "org/lora-ce",
                         device="cpu")
    assert loaded.revision == commit and loaded.adapter.base_model == cross["base"]
    direct = loader.load(transformers.AutoModelForSequenceClassification, cross["adapter"],
                         device="cpu")
    for name, weight in direct.model.state_dict().items():
        assert (loaded.model.state_dict()[name] == weight).all(), name


def test_refusals_name_the_fix(cross, dense):
    import transformers

    from rankify_lite.models import DenseEncoder

    with pytest.raises(InputError, match="backend 'onnx' exports full models only.*Fix: use "
                                         "backend='torch'"):
        DenseEncoder(dense["adapter"], backend="onnx")
    with pytest.raises(InputError, match="built model object.*Fix:"):
        loader.load(transformers.AutoModel, transformers.AutoModel.from_pretrained(dense["base"]),
                    tokenizer=object(), base_model=dense["base"], device="cpu")


def test_full_model_only_paths_name_the_adapter_fix(cross):
    import transformers

    with pytest.raises(InputError, match="holds a PEFT adapter.*Fix: load it with the torch"):
        loader.from_pretrained(transformers.AutoConfig, cross["adapter"])


def test_missing_peft_names_the_extra(cross, monkeypatch):
    import sys

    from rankify_lite.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "peft", None)
    with pytest.raises(MissingDependencyError, match=r"rankify-lite\[peft\]"):
        load_reranker("cross-encoder", model=cross["adapter"], device="cpu")


# ---- engines that run the model elsewhere -----------------------------------------------------
class _StubLLM:
    """A vllm.LLM stand-in: records the engine arguments and every generate call's keywords."""

    def __init__(self, lora: bool = True, **engine_args) -> None:
        import types

        self.engine_args, self.calls = engine_args, []
        self.llm_engine = types.SimpleNamespace(
            model_config=types.SimpleNamespace(max_model_len=4096, max_logprobs=32,
                                               logprobs_mode="raw_logprobs", dtype="auto"),
            vllm_config=types.SimpleNamespace(lora_config=object() if lora else None))

    def generate(self, prompts, params, use_tqdm=True, **kwargs):
        import types

        self.calls.append(kwargs)
        step = {t: types.SimpleNamespace(logprob=-1.0) for t in params.logprob_token_ids}
        return [types.SimpleNamespace(outputs=[types.SimpleNamespace(logprobs=[step])])
                for _ in prompts]


@pytest.fixture
def stub_vllm(monkeypatch):
    import sys
    import types
    from dataclasses import dataclass

    @dataclass
    class SamplingParams:
        max_tokens: int = 16
        temperature: float = 1.0
        logprob_token_ids: list[int] | None = None
        __struct_fields__ = ("max_tokens", "temperature", "logprob_token_ids")

    @dataclass
    class LoRARequest:
        lora_name: str
        lora_int_id: int
        lora_path: str

    made: list[_StubLLM] = []
    mods = {name: types.ModuleType(name) for name in
            ("vllm", "vllm.inputs", "vllm.lora", "vllm.lora.request")}
    mods["vllm"].SamplingParams = SamplingParams
    mods["vllm"].LLM = lambda **kw: made.append(_StubLLM(**kw)) or made[-1]
    mods["vllm.inputs"].TokensPrompt = lambda prompt_token_ids: {"ids": prompt_token_ids}
    mods["vllm.lora.request"].LoRARequest = LoRARequest
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, name, mod)
    return made


def test_vllm_serves_an_adapter_as_a_lora_request_on_its_base(llm, stub_vllm):
    from rankify_lite.rerankers.engines.vllm_backend import VLLMBackend

    backend = VLLMBackend(llm["adapter"])
    (engine,) = stub_vllm
    assert engine.engine_args["model"] == llm["base"]  # the engine runs the base weights
    assert engine.engine_args["enable_lora"] is True
    assert engine.engine_args["max_lora_rank"] == 8  # the adapter's r=4, rounded up
    backend.next_token_logits([[1, 2, 3]], [5, 6])
    (call,) = engine.calls
    request = call["lora_request"]
    assert (request.lora_int_id, request.lora_path) == (1, llm["adapter"])
    cfg = backend.config()
    assert cfg["model"] == llm["adapter"] and cfg["base_model"] == llm["base"]
    assert cfg["revision"] == loader.resolved_revision(llm["adapter"])


def test_vllm_ready_engine_without_lora_is_refused(llm, stub_vllm):
    from rankify_lite.rerankers.engines.vllm_backend import VLLMBackend

    with pytest.raises(InputError, match="has no LoRA enabled.*Fix: drop llm="):
        VLLMBackend(llm["adapter"], llm=_StubLLM(lora=False))
    ready = VLLMBackend(llm["adapter"], llm=_StubLLM(lora=True))
    ready.next_token_logits([[1, 2]], [5])
    assert ready.llm.calls[0]["lora_request"].lora_path == llm["adapter"]


def test_plain_model_on_vllm_sends_no_lora_request(llm, stub_vllm):
    from rankify_lite.rerankers.engines.vllm_backend import VLLMBackend

    backend = VLLMBackend(llm["base"], tokenizer=llm["base"])
    backend.next_token_logits([[1, 2]], [5])
    assert "enable_lora" not in stub_vllm[0].engine_args and stub_vllm[0].calls == [{}]
    assert "base_model" not in backend.config()


@pytest.mark.parametrize(("engine", "options", "fix"), [
    ("openai", {"base_url": "http://127.0.0.1:9/v1"}, "serve the adapter on the server side"),
    ("llamacpp", {}, "convert the merged model to GGUF"),
])
def test_engines_that_cannot_apply_adapters_refuse_the_folder(llm, engine, options, fix):
    from rankify_lite.rerankers.engines import build_backend

    with pytest.raises(InputError, match=f"PEFT adapter folder.*{fix}"):
        build_backend(engine, llm["adapter"], **options)
