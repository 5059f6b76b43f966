"""A cut ``model.safetensors`` is named as incomplete or corrupt weights, with the fix, from
every loader (reranker and dense retriever), not a SafetensorError traceback (issue #23, item 9)."""

from __future__ import annotations

import pytest
from helpers.extras import requires

from rankify_lite.errors import InputError
from rankify_lite.models.weights_check import safetensors_problem

pytestmark = requires("torch", "transformers", extra="rerank")


@pytest.fixture
def cut_model(tmp_path):
    from helpers.tiny import tiny_bert_folder

    folder = tmp_path / "model"
    tiny_bert_folder(folder)
    weights = folder / "model.safetensors"
    assert safetensors_problem(weights) is None  # a complete file passes
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    return folder


@pytest.mark.parametrize("family", ["cross-encoder", "bi-encoder"])
def test_truncated_weights_are_named_by_every_reranker(cut_model, family):
    from rankify_lite import load_reranker

    with pytest.raises(InputError, match="incomplete or corrupt weights") as err:
        rr = load_reranker(family, model=str(cut_model))
        getattr(rr, "_load", lambda: None)()
    assert str(err.value).startswith(f"{cut_model / 'model.safetensors'}:")
    assert "download the model again" in str(err.value)


def test_truncated_weights_are_named_by_the_dense_retriever(cut_model):
    from rankify_lite.models.dense_encoder import DenseEncoder

    with pytest.raises(InputError, match="incomplete or corrupt weights") as err:
        DenseEncoder(str(cut_model)).encode_queries(["a query"])
    assert str(cut_model / "model.safetensors") in str(err.value)


def test_header_cut_and_garbled_files(tmp_path):
    short = tmp_path / "a.safetensors"
    short.write_bytes(b"\x10\x00")
    assert "fewer than the 8-byte header" in safetensors_problem(short)
    garbled = tmp_path / "b.safetensors"
    garbled.write_bytes((4).to_bytes(8, "little") + b"{no}")
    assert "not valid safetensors metadata" in safetensors_problem(garbled)
