"""ICR on a tiny Llama (eager attention, random weights): scores equal an independent
computation from ``output_attentions=True`` on each unpadded prompt; documents sit in the
reference's reversed order; two forward passes per query, batched across queries."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from helpers.fake_lm import FakeLM  # noqa: E402
from helpers.tiny_causal import tiny_llama  # noqa: E402

from rankify_lite.errors import InputError  # noqa: E402
from rankify_lite.rerankers.engines.llm_backend import TransformersBackend  # noqa: E402
from rankify_lite.rerankers.families.icr import ICRReranker  # noqa: E402
from rankify_lite.types import Run  # noqa: E402


@pytest.fixture(scope="module")
def tiny(scifact):
    # sdpa on purpose: the reranker must switch the model to eager itself
    return tiny_llama((d.full_text() for d in list(scifact.corpus.values())[:200]), attn="sdpa")


def _candidates(scifact, n_queries: int, n_docs: int) -> Run:
    qids = list(scifact.queries)[:n_queries]
    ids = list(scifact.corpus)
    return Run.from_rankings({q: ids[i * n_docs:(i + 1) * n_docs] for i, q in enumerate(qids)})


def _reference_scores(rr: ICRReranker, model, item_docs, query: str) -> list[float]:
    """ICR's masked N/A calibration, from the model's own returned attention tensors."""
    per_prompt = []
    for q in (query, "N/A"):
        text, spans, q_start = rr.build(q, item_docs, rr.passage_words)
        enc = rr.backend.tokenizer(text, return_offsets_mapping=True)
        ids, offs = enc["input_ids"], enc["offset_mapping"]
        q_tok = [k for k, (s, e) in enumerate(offs) if s >= q_start and e > s]
        with torch.no_grad():
            out = model(torch.tensor([ids]), output_attentions=True)
        att = sum(a[0][:, q_tok[0]:q_tok[-1] + 1, :].mean(1) for a in out.attentions).sum(0)
        doc_toks = [[k for k, (s, e) in enumerate(offs) if e > s and a <= s < b]
                    for a, b in spans]
        per_prompt.append([att[t].double().numpy() for t in doc_toks])
    scores = []
    for s, n in zip(*per_prompt, strict=True):
        cal = torch.tensor(s - n)
        keep = cal > cal.mean() - 2 * cal.std()
        scores.append(float((cal * keep).sum()))
    return scores


def test_scores_equal_an_independent_attention_computation(tiny, scifact, tmp_path):
    model, tok = tiny
    backend = TransformersBackend(model, tok, device="cpu", batch_size=3)
    rr = ICRReranker(backend=backend, passage_words=12, query_batch_size=2,
                     log_path=tmp_path / "icr.jsonl")
    assert model.config._attn_implementation == "eager"
    calls = []
    handle = model.get_decoder().register_forward_hook(lambda *a: calls.append(1))
    cands = _candidates(scifact, 3, 5)
    try:
        out = rr.rerank(scifact.queries, cands, scifact.corpus, depth=5)
    finally:
        handle.remove()
    # 3 queries x 2 passes = 6 prompts; batches of 2 queries -> 4 + 2 prompts -> 2 + 1 calls
    assert out.metadata["llm_stats"]["forward_passes"] == 6
    assert len(calls) == 3
    for q in cands:
        docs = [scifact.corpus[d] for d in cands[q].doc_ids]
        want = dict(zip(cands[q].doc_ids, _reference_scores(rr, model, docs,
                                                            scifact.queries[q].text),
                        strict=True))
        got = dict(zip(out[q].doc_ids, out[q].scores, strict=True))
        order = sorted(want, key=lambda d: -want[d])
        assert list(out[q].doc_ids) == order
        if len(set(np.round(list(want.values()), 9))) == len(want):   # strictly ordered
            for d in want:
                assert got[d] == pytest.approx(want[d], rel=1e-4, abs=1e-6)
    assert len((tmp_path / "icr.jsonl").read_text().splitlines()) == 3


def test_prompt_puts_the_first_stage_best_last_and_spans_cover_documents(tiny, scifact):
    model, tok = tiny
    rr = ICRReranker(backend=TransformersBackend(model, tok, device="cpu"), passage_words=8)
    docs = list(scifact.corpus.values())[:3]
    text, spans, q_start = rr.build("what is x?", docs, 8)
    # reversed: the best first-stage document is [3], right before the instruction
    assert text.index("[3] ") < text.index("Please find information") < text.index(
        "Query: what is x?")
    assert text[spans[0][0]:spans[0][1]].startswith("[3] ")
    assert text[spans[2][0]:spans[2][1]].startswith("[1] ")
    assert text[q_start:].startswith("Please find information")
    words = docs[0].text.split()[:8]
    assert text[spans[0][0]:spans[0][1]].endswith(" ".join(words))
    fwd = ICRReranker(backend=TransformersBackend(model, tok, device="cpu"), passage_words=8,
                      reverse_order=False)
    text2, spans2, _ = fwd.build("what is x?", docs, 8)
    assert text2[spans2[0][0]:spans2[0][1]].startswith("[1] ")
    assert rr.config()["reverse_order"] and not fwd.config()["reverse_order"]


def test_other_engines_are_refused():
    with pytest.raises(InputError, match="attention weights"):
        ICRReranker(backend=FakeLM())
