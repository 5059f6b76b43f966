"""The one model loader (rankify_lite.models.loader): dtype names, devices, revision pinning,
offline-first errors, attention choice, and the resolved revision that every family records in
``config()`` (it feeds the cache key), for tiny models built from a config here."""

from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from helpers.tiny import SMOLLM2, tiny_bert_folder, tiny_llm_folder  # noqa: E402

from rankify_lite.errors import InputError  # noqa: E402
from rankify_lite.models import loader  # noqa: E402

HASH = re.compile(r"^[0-9a-f]{40}$")


# ---- dtype and device -----------------------------------------------------------------------
@pytest.mark.parametrize("name,expected", [
    ("float32", "float32"), ("fp32", "float32"), ("bfloat16", "bfloat16"), ("bf16", "bfloat16"),
    ("float16", "float16"), ("fp16", "float16"), ("FP16", "float16"),
    ("torch.bfloat16", "bfloat16")])
def test_dtype_names_are_accepted_uniformly(name, expected):
    assert loader.pick_dtype(name, "cpu") is getattr(torch, expected)
    assert loader.dtype_name(loader.pick_dtype(name, "cpu")) == expected


def test_torch_dtypes_pass_and_auto_is_the_device_default():
    assert loader.pick_dtype(torch.float16, "cpu") is torch.float16
    assert loader.pick_dtype(None, "cpu") is torch.float32
    assert loader.pick_dtype("auto", "cpu") is torch.float32


@pytest.mark.parametrize("bad", ["int3", "half", "float64", 16])
def test_unknown_dtype_is_one_input_error_listing_the_names(bad):
    with pytest.raises(InputError, match="unknown dtype") as err:
        loader.pick_dtype(bad, "cpu")
    assert all(n in err.value.fix for n in ("auto", "float32", "bf16", "fp16", "torch dtype"))


def test_device_default_and_explicit():
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert loader.pick_device(None) == expected
    assert loader.pick_device("cpu") == "cpu"
    with pytest.raises(InputError, match="unknown device 'gpu'"):
        loader.pick_device("gpu")
    if torch.cuda.is_available():
        assert loader.pick_device("cuda:1") == "cuda:1"
    else:
        with pytest.raises(InputError, match="no CUDA GPU") as err:
            loader.pick_device("cuda:1")
        assert "device='cpu'" in err.value.fix


# ---- loading: revision, offline, attention ----------------------------------------------------
def test_revision_is_passed_through_and_the_cache_is_tried_first():
    calls = []

    class Fake:
        @classmethod
        def from_pretrained(cls, model, **kwargs):
            calls.append(kwargs)
            return cls()

    loader.from_pretrained(Fake, "org/model", "v1.2", dtype="x")
    assert calls == [{"revision": "v1.2", "local_files_only": True, "dtype": "x"}]
    # an uncached hub id keeps the pinned revision as its resolved one (offline)
    assert loader.resolved_revision("rankify-lite-tests/not-cached", "v1.2") == "v1.2"


def test_missing_model_names_the_fix():
    with pytest.raises(InputError, match="cannot load model") as err:
        loader.load(transformers.AutoModel, "rankify-lite-tests/no-such-model", device="cpu")
    assert "install_offline_models.py" in err.value.fix and "HF_HUB_OFFLINE" in err.value.fix


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(InputError, match="no config.json"):
        loader.load(transformers.AutoModel, str(tmp_path), device="cpu")


def test_local_folder_revision_follows_its_weights(tmp_path):
    folder = tiny_bert_folder(tmp_path / "bert")
    first = loader.resolved_revision(folder)
    assert first.startswith("local-") and loader.resolved_revision(folder) == first
    loaded = loader.load(transformers.AutoModel, folder, device="cpu", dtype="bf16")
    assert loaded.revision == first and loaded.device == "cpu"
    assert loaded.dtype is torch.bfloat16 and loaded.model.dtype == torch.bfloat16
    assert not loaded.model.training
    # the same architecture, other weights: a new revision (so caches never mix them)
    cfg = transformers.BertConfig.from_pretrained(folder)
    torch.manual_seed(1)
    transformers.BertModel(cfg).save_pretrained(folder)
    assert loader.resolved_revision(folder) != first


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_attention_choice(tmp_path, attention):
    folder = tiny_bert_folder(tmp_path / "bert")
    net = loader.load(transformers.AutoModel, folder, device="cpu", attention=attention).model
    assert net.config._attn_implementation == attention
    with pytest.raises(InputError, match="unknown attention"):
        loader.load(transformers.AutoModel, folder, attention="flash")


def test_model_object_keeps_the_revision_of_its_folder(tmp_path):
    folder = tiny_bert_folder(tmp_path / "bert")
    net = transformers.AutoModel.from_pretrained(folder)
    with pytest.raises(InputError, match="without its tokenizer"):
        loader.load(transformers.AutoModel, net, device="cpu")
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    loaded = loader.load(transformers.AutoModel, net, device="cpu", dtype="fp16", tokenizer=tok)
    assert loaded.revision == loader.resolved_revision(folder)
    assert loaded.model.dtype == torch.float16 and loaded.tokenizer is tok


# ---- every family records the resolved revision -----------------------------------------------
@pytest.fixture(scope="module")
def tiny_llm(tmp_path_factory) -> str:
    return tiny_llm_folder(tmp_path_factory.mktemp("tiny-llm"))


def test_transformers_backend_records_the_folder_revision_and_dtype(tiny_llm):
    from rankify_lite.rerankers.engines.llm_backend import TransformersBackend

    backend = TransformersBackend(tiny_llm, device="cpu", dtype="fp16")
    cfg = backend.config()
    assert cfg["revision"] == loader.resolved_revision(tiny_llm)
    assert cfg["revision"].startswith("local-") and cfg["dtype"] == "float16"
    assert backend.model.dtype == torch.float16


@pytest.mark.parametrize("family,options", [
    ("pointwise", {}), ("first", {"window_size": 4, "stride": 2}),
    ("listwise", {"window_size": 4, "stride": 2}), ("pairwise", {"top_k": 2}),
    ("icr", {})])
def test_llm_families_record_the_revision(tiny_llm, family, options):
    from rankify_lite import load_reranker

    rr = load_reranker(family, model=tiny_llm, device="cpu", **options)
    assert rr.config()["revision"] == loader.resolved_revision(tiny_llm)
    if family == "icr":  # ICR reads attention weights: the loader gave it eager attention
        assert rr.backend.model.config._attn_implementation == "eager"


def test_encoder_families_record_the_revision(tmp_path):
    from rankify_lite import load_reranker

    folder = tiny_bert_folder(tmp_path / "bert")
    rev = loader.resolved_revision(folder)
    assert load_reranker("bi-encoder", model=folder, device="cpu").config()["revision"] == rev
    cfg = transformers.BertConfig.from_pretrained(folder, num_labels=1)
    transformers.BertForSequenceClassification(cfg).save_pretrained(folder)
    ce = load_reranker("cross-encoder", model=folder, device="cpu", dtype="fp32")
    assert ce.config()["revision"] == loader.resolved_revision(folder) != rev


def test_monot5_records_the_revision(tmp_path):
    from helpers.tiny import WORDS, tiny_t5_folder

    from rankify_lite import load_reranker

    texts = [" ".join(WORDS)] * 50 + ["Query: Document: Relevant: true false"] * 50
    folder = tiny_t5_folder(tmp_path / "t5", texts)
    rr = load_reranker("monot5", model=folder, device="cpu", dtype="bf16")
    assert rr.config()["revision"] == loader.resolved_revision(folder)
    assert rr.config()["dtype"] == "bfloat16"


def test_cached_hub_model_records_its_snapshot_hash():
    from helpers.tiny import cached_or_skip

    from rankify_lite.rerankers.engines.llm_backend import TransformersBackend

    backend = TransformersBackend(cached_or_skip(SMOLLM2), device="cpu")
    assert HASH.match(backend.config()["revision"])
    assert backend.config()["revision"] == loader.resolved_revision(SMOLLM2)


def test_a_local_load_shows_no_loading_weights_bars(tmp_path, capfd):
    """Loading from local files draws none of transformers' per-file "Loading weights" bars;
    bars are as they were afterwards."""
    from transformers.utils import logging as hf_logging

    folder = tiny_bert_folder(tmp_path / "bert")
    hf_logging.enable_progress_bar()
    capfd.readouterr()
    for _ in range(2):
        loader.from_pretrained(transformers.AutoModel, folder)
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    loader.from_pretrained(transformers.AutoModel, folder)
    assert not hf_logging.is_progress_bar_enabled()   # a user's choice is kept
    hf_logging.enable_progress_bar()
