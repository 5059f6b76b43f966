"""Echo SPLADE (Mistral-SPLADE) with a tiny random causal LM the test builds: the encoder's
weights are the direct computation (the text twice after BOS, the second copy's LM-head logits,
log(1 + ReLU), max over those tokens), and ``Splade(..., architecture="causal-echo")`` retrieves
by the dot product of those vectors and rebuilds from its spec."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tokenizers")
from helpers.synthetic import synthetic_task
from helpers.tiny_causal import tiny_llama

TEXTS = ["cells protein gene", "the cancer study results in patients", "mice"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    model, tok = tiny_llama(TEXTS * 20, seed=3)
    path = tmp_path_factory.mktemp("llm") / "tiny-llama"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def _direct(folder: str, text: str) -> np.ndarray:
    import torch
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder).eval()
    ids = tok(text, add_special_tokens=False)["input_ids"]
    seq = [tok.bos_token_id, *ids, *ids]
    with torch.no_grad():
        logits = model(torch.tensor([seq])).logits[0]
    second = logits[1 + len(ids):]                 # the second copy only
    return torch.log1p(torch.relu(second)).max(dim=0).values.numpy()


def test_weights_are_the_direct_echo_computation(folder):
    from rankify_lite.models.echo_splade import EchoSpladeEncoder

    enc = EchoSpladeEncoder(folder, device="cpu", progress=False, batch_size=2)
    mat = enc.encode_documents(TEXTS)               # a batch with padding
    assert mat.shape == (3, enc.vocab_size)
    for i, text in enumerate(TEXTS):
        assert mat[i].toarray()[0] == pytest.approx(_direct(folder, text), abs=1e-5)
    assert enc.config()["architecture"] == "causal-echo"


def test_splade_retriever_with_a_causal_lm(folder):
    from rankify_lite.builders import build
    from rankify_lite.models.echo_splade import EchoSpladeEncoder
    from rankify_lite.retrievers.splade import Splade

    queries, corpus, _ = synthetic_task(n_queries=2, docs_per_query=5)
    ret = Splade(folder, architecture="causal-echo", device="cpu", progress=False)
    run = ret.index(corpus).retrieve(queries, 5)
    enc = EchoSpladeEncoder(folder, device="cpu", progress=False)
    for qid in queries:
        q = enc.encode_queries([queries[qid].text]).toarray()[0]
        for d, s in zip(run[qid].doc_ids, run[qid].scores, strict=True):
            dv = enc.encode_documents([corpus[d].full_text(" ")]).toarray()[0]
            assert s == pytest.approx(float(q @ dv), abs=0.05 * (1 + abs(s)))   # 1/100 impacts
    again = build(ret.spec())
    assert again.config() == ret.config() and again.config()["architecture"] == "causal-echo"
