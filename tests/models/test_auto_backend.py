"""backend="auto" (the default of every encoder and cross-encoder): the rules it follows, the
resolved path recorded in config() and the spec so a rerun rebuilds it (or refuses with the
fix), the CLI's one announcement and ``--exact``, and, on real weights, that the path it picks
on a CPU with native bf16 (OpenVINO bf16) keeps the quality goal: Spearman >= 0.999 to torch
fp32 over real SciFact (query, passage) pairs.

The rest of the suite runs with ``RANKIFY_LITE_EXACT=1`` (tests/conftest.py: reference parity
is proven on the reference path); these tests clear it where they test "auto" itself.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from rankify_lite.errors import InputError
from rankify_lite.models import backends

HAS_OPENVINO = importlib.util.find_spec("openvino") is not None


def _machine(monkeypatch, *, gpu=False, openvino=True, bf16=True, exact=False):
    monkeypatch.setattr(backends, "_gpu", lambda device: gpu if not device else
                        not str(device).startswith("cpu"))
    monkeypatch.setattr(backends, "_openvino_installed", lambda: openvino)
    monkeypatch.setattr(backends, "_native_bf16", lambda: bf16)
    if exact:
        monkeypatch.setenv(backends.EXACT_ENV, "1")
    else:
        monkeypatch.delenv(backends.EXACT_ENV, raising=False)


@pytest.mark.parametrize(("machine", "dtype", "device", "want"), [
    ({"bf16": True}, None, None, ("openvino", "bf16")),          # AMX / AVX512-BF16 CPU
    ({"bf16": False}, None, None, ("openvino", None)),           # other CPU: OpenVINO fp32
    ({"openvino": False}, None, None, ("torch", None)),          # no OpenVINO: torch fp32
    ({"gpu": True}, None, None, ("torch", None)),                # a GPU: the loader's bf16/fp16
    ({"bf16": True}, None, "cuda", ("torch", None)),             # a GPU named
    ({"gpu": True}, None, "cpu", ("openvino", "bf16")),          # the CPU named on a GPU box
    ({"bf16": True}, "float32", None, ("openvino", None)),       # fp32 asked: OpenVINO fp32
    ({"bf16": True}, "bf16", None, ("openvino", "bf16")),
    ({"bf16": False}, "bf16", None, ("torch", "bf16")),          # no native bf16: torch's
    ({"bf16": True}, "fp16", None, ("torch", "fp16")),
    ({"bf16": True, "exact": True}, None, None, ("torch", "float32")),  # --exact
    ({"gpu": True, "exact": True}, None, None, ("torch", "float32")),
    ({"bf16": True, "exact": True}, "bf16", None, ("torch", "bf16")),   # a dtype given wins
])
def test_auto_rules(monkeypatch, machine, dtype, device, want):
    _machine(monkeypatch, **machine)
    got = backends.resolve("auto", dtype, device)
    assert (got.backend, got.dtype) == want
    assert got.auto and got.reason


def test_auto_keeps_torch_for_adapters_and_remote_code(monkeypatch):
    _machine(monkeypatch, bf16=True)
    assert backends.resolve("auto", None, None, adapter=True).backend == "torch"
    assert backends.resolve("auto", None, None, remote_code=True).backend == "torch"


def test_a_given_backend_is_kept(monkeypatch):
    _machine(monkeypatch, bf16=True, exact=True)
    for name in ("torch", "openvino", "onnx-int8"):
        got = backends.resolve(name, None, None)
        assert (got.backend, got.dtype, got.auto) == (name, None, False)
    assert backends.resolve("openvino", "auto", None).dtype == "bf16"
    _machine(monkeypatch, bf16=False)
    assert backends.resolve("openvino", "auto", None).dtype is None
    with pytest.raises(InputError, match="unknown backend 'tensorrt'"):
        backends.resolve("tensorrt", None, None)


def test_no_openvino_says_how_to_get_it(monkeypatch):
    _machine(monkeypatch, openvino=False)
    assert "pip install 'rankify-lite[openvino]'" in backends.resolve("auto", None, None).reason


# ---- recorded, rerun, refused -------------------------------------------------------------
needs_openvino = pytest.mark.skipif(not HAS_OPENVINO, reason="optional openvino not installed "
                                    "(pip install 'rankify-lite[openvino]')")


@needs_openvino
def test_the_resolved_path_is_in_config_and_spec_and_rebuilds(monkeypatch, tiny_bert, words):
    from rankify_lite.builders import build
    from rankify_lite.rerankers.registry import load_reranker

    _machine(monkeypatch, bf16=False)  # OpenVINO fp32: the same numbers on any CPU
    auto = load_reranker("bi-encoder", model=tiny_bert)
    assert auto.config()["backend"] == "openvino" and auto.config()["dtype"] == "float32"
    spec = auto.spec()
    assert spec.options["backend"] == "openvino" and spec.options["dtype"] == "float32"
    _machine(monkeypatch, bf16=True)  # a rerun on another CPU runs the recorded path
    again = build(spec)
    assert again.config() == auto.config()
    texts = [" ".join(words[i:i + 6]) for i in range(0, 60, 6)]
    exact = load_reranker("bi-encoder", model=tiny_bert, backend="torch")
    assert "backend" not in exact.config()  # the reference path's config is unchanged
    np.testing.assert_allclose(again.encoder.encode_documents(texts),
                               exact.encoder.encode_documents(texts), atol=2e-5)


@needs_openvino
def test_a_spec_the_machine_cannot_run_is_refused_with_the_fix(monkeypatch, tiny_bert):
    from rankify_lite.builders import build
    from rankify_lite.models import openvino_backend
    from rankify_lite.spec import ComponentSpec

    monkeypatch.setattr(openvino_backend, "has_native_bf16", lambda: False)
    spec = ComponentSpec("reranker", "bi-encoder",
                         {"model": tiny_bert, "backend": "openvino", "dtype": "bfloat16"})
    with pytest.raises(InputError, match="native bf16") as err:
        build(spec)
    assert "--exact" in str(err.value) or "backend='torch'" in str(err.value)


def test_a_spec_saved_before_auto_reruns_on_torch(monkeypatch, tiny_bert):
    from rankify_lite.builders import build
    from rankify_lite.spec import ComponentSpec

    _machine(monkeypatch, bf16=True)  # auto would pick OpenVINO here
    old = build(ComponentSpec("reranker", "bi-encoder", {"model": tiny_bert}))
    assert old.encoder.backend == "torch" and "backend" not in old.config()
    from rankify_lite.retrievers.registry import build_component

    dense = build_component("retriever", "dense", {"model": tiny_bert, "progress": False})
    assert dense.encoder.backend == "torch"


def test_exact_records_the_reference_path(monkeypatch, tiny_bert):
    from rankify_lite.rerankers.registry import load_reranker

    _machine(monkeypatch, bf16=True, exact=True)
    r = load_reranker("bi-encoder", model=tiny_bert)
    assert r.encoder.backend == "torch" and r.config()["dtype"] == "float32"
    assert r.spec().options["backend"] == "torch"


# ---- the CLI says its choice once; --exact ------------------------------------------------
def test_cli_announces_the_choice_once_and_exact_is_the_reference(monkeypatch, capsys,
                                                                   tiny_bert):
    from rankify_lite.cli.main import main

    _machine(monkeypatch, openvino=False)
    args = ["run", "--dataset", "dl19", "--retriever", "run:bm25.top100", "--reranker",
            f"bi-encoder model={tiny_bert} >> bi-encoder model={tiny_bert} depth=3",
            "--depth", "5", "--no-cache", "-m", "ndcg@10"]
    assert main(args) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("backend: ")]
    assert len(lines) == 1, err  # two stages, one model: said once
    assert "torch float32 (auto: OpenVINO is not installed" in lines[0]
    assert main([*args, "--exact"]) == 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("backend: ")]
    assert len(lines) == 1 and "RANKIFY_LITE_EXACT asks for the reference path" in lines[0]
    import os

    assert os.environ.get(backends.EXACT_ENV) is None  # --exact lasts one command


@needs_openvino
def test_meta_json_records_the_resolved_path_and_rerun_repeats_it(monkeypatch, capsys,
                                                                  tiny_bert, tmp_path):
    import json

    from rankify_lite.cli.main import main

    _machine(monkeypatch, bf16=False)  # auto: OpenVINO fp32
    out = tmp_path / "res"
    assert main(["run", "--dataset", "dl19", "--retriever", "run:bm25.top100", "--reranker",
                 f"bi-encoder model={tiny_bert}", "--depth", "5", "--no-cache", "-m",
                 "ndcg@10", "--output", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    (record,) = meta["pipeline"]["rerankers"]
    assert (record["backend"], record["dtype"]) == ("openvino", "float32")
    assert record["spec"]["options"]["backend"] == "openvino"
    capsys.readouterr()
    _machine(monkeypatch, bf16=True)  # auto would now pick bf16; the rerun keeps fp32
    assert main(["rerun", str(out / "meta.json"), "--output", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "meta.json").read_text())
    assert again["pipeline"]["rerankers"][0]["dtype"] == "float32"
    assert "backend: " not in capsys.readouterr().err  # nothing was chosen: it was recorded


# ---- the quality goal, on real weights ----------------------------------------------------
def _native_bf16_or_skip() -> None:
    if not HAS_OPENVINO:
        pytest.skip("optional openvino not installed (pip install 'rankify-lite[openvino]')")
    from rankify_lite.models.openvino_backend import has_native_bf16

    if not has_native_bf16():
        pytest.skip("this CPU has no native bf16 (AMX / AVX512-BF16): auto runs fp32 here")


@pytest.fixture(scope="module")
def scifact_pairs() -> list[tuple[str, str]]:
    """200 real SciFact (query, passage) pairs: 8 test queries x their judged passages plus
    evenly spaced others."""
    from rankify_lite import load_dataset

    ds = load_dataset("beir/scifact")
    docs = list(ds.corpus)
    pairs = []
    for qid in list(ds.qrels)[:8]:
        judged = [d for d in ds.qrels[qid] if d in ds.corpus]
        others = [docs[i] for i in range(int(qid), len(docs), len(docs) // 23)][:25 - len(judged)]
        for did in judged + others:
            pairs.append((ds.queries[qid].text, ds.corpus[did].full_text()))
    return pairs


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def test_auto_dense_keeps_fp32s_ranking_on_real_weights(monkeypatch, cached_or_skip,
                                                        scifact_pairs):
    from rankify_lite.rerankers.registry import load_reranker

    model = cached_or_skip("sentence-transformers/all-MiniLM-L6-v2")
    _native_bf16_or_skip()
    monkeypatch.delenv(backends.EXACT_ENV)
    auto = load_reranker("bi-encoder", model=model)
    assert (auto.encoder.backend, auto.config()["dtype"]) == ("openvino", "bfloat16")
    ref = load_reranker("bi-encoder", model=model, backend="torch", dtype="float32")
    q = [p[0] for p in scifact_pairs]
    d = [p[1] for p in scifact_pairs]

    def cosines(r):
        return np.sum(r.encoder.encode_queries(q) * r.encoder.encode_documents(d), axis=1)

    assert _spearman(cosines(auto), cosines(ref)) >= 0.999


def test_auto_cross_encoder_keeps_fp32s_ranking_on_real_weights(monkeypatch, cached_or_skip,
                                                                scifact_pairs, tmp_path):
    """MiniLM-L6's real encoder weights under a seeded 1-label head (no trained cross-encoder
    is available offline), as benchmarks/int8_cpu.py measures it."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    from rankify_lite.rerankers.registry import load_reranker

    model = cached_or_skip("sentence-transformers/all-MiniLM-L6-v2")
    _native_bf16_or_skip()
    torch.manual_seed(0)
    net = BertForSequenceClassification.from_pretrained(model, num_labels=1)
    torch.nn.init.normal_(net.classifier.weight, std=0.2)
    net.save_pretrained(tmp_path / "ce")
    AutoTokenizer.from_pretrained(model).save_pretrained(tmp_path / "ce")
    monkeypatch.delenv(backends.EXACT_ENV)
    auto = load_reranker("cross-encoder", model=str(tmp_path / "ce"), max_length=256)
    assert (auto.backend, auto.config()["dtype"]) == ("openvino", "bfloat16")
    ref = load_reranker("cross-encoder", model=str(tmp_path / "ce"), max_length=256,
                        backend="torch", dtype="float32")
    pairs = scifact_pairs[:120]
    assert _spearman(auto.predict(pairs), ref.predict(pairs)) >= 0.999


def test_auto_splade_keeps_fp32s_ranking_on_real_weights(monkeypatch, cached_or_skip,
                                                         scifact_pairs):
    from rankify_lite.models.splade_encoder import SpladeEncoder

    model = cached_or_skip("rasyosef/splade-tiny")
    _native_bf16_or_skip()
    monkeypatch.delenv(backends.EXACT_ENV)
    auto = SpladeEncoder(model, progress=False)
    assert (auto.backend, auto.config()["dtype"]) == ("openvino", "bfloat16")
    ref = SpladeEncoder(model, progress=False, backend="torch", dtype="float32")
    q = [p[0] for p in scifact_pairs]
    d = [p[1] for p in scifact_pairs]

    def dots(enc):
        return np.asarray(enc.encode_queries(q).multiply(enc.encode_documents(d)).sum(axis=1)
                          ).ravel()

    assert _spearman(dots(auto), dots(ref)) >= 0.999
