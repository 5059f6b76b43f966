"""monoT5 equals rank_llm 0.25.7's MonoT5 on the same weights: a tiny T5 built from a config,
with a SentencePiece tokenizer trained here (its vocabulary has "true" and "false").

rank_llm's package ``__init__`` files import vLLM and more, so only the modules MonoT5 needs are
loaded, under empty parent packages; ``sys.modules`` is restored afterwards. Its own
``create_prompt`` and ``run_llm_batched`` (``generate`` with ``output_scores``) run unchanged.

The reference is run one prompt per batch: it calls ``generate(input_ids)`` without an
attention mask, and transformers >= 5 no longer infers one for encoder-decoder models, so in a
padded batch its shorter prompts attend to the padding and their scores depend on the batch
(measured here: 2.0e-59 batched vs 4.2e-52 alone for the same prompt). Ours mask the padding,
so they equal the reference's unpadded scores whatever the batch size.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
spm = pytest.importorskip("sentencepiece")
pytest.importorskip("ftfy")

from helpers.tiny import tiny_t5_folder  # noqa: E402

from rankify_lite.rerankers.families.monot5 import MonoT5Reranker  # noqa: E402
from rankify_lite.types import Corpus, Document, Queries, Run  # noqa: E402

PACKAGES = ("rank_llm", "rank_llm.rerank", "rank_llm.rerank.pointwise",
            "rank_llm.rerank.listwise", "rank_llm.rerank.pairwise")


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory, scifact):
    texts = [d.full_text() for d in list(scifact.corpus.values())[:300]]
    texts += ["Query: Document: Relevant: true false true false"] * 300
    folder = Path(tiny_t5_folder(tmp_path_factory.mktemp("tiny_t5"), texts, vocab_size=800,
                                 hard_vocab_limit=True,
                                 initializer_factor=8.0))  # wide init: scores spread out
    # both sides read the first token of "true" / "false"; they must differ
    tok = transformers.T5Tokenizer.from_pretrained(folder)
    assert (tok.encode("true", add_special_tokens=False)[0]
            != tok.encode("false", add_special_tokens=False)[0])
    return folder


@pytest.fixture(scope="module")
def ref(tiny_t5):
    if importlib.util.find_spec("rank_llm") is None:
        pytest.skip("rank_llm is not installed (pip install --no-deps rank-llm==0.25.7)")
    pytest.importorskip("dacite")
    root = Path(importlib.util.find_spec("rank_llm").submodule_search_locations[0])
    before = {k: v for k, v in sys.modules.items() if k == "rank_llm" or
              k.startswith("rank_llm.")}
    try:
        for name in PACKAGES:
            pkg = types.ModuleType(name)
            sub = name.split(".")[1:]
            pkg.__path__ = [str(root.joinpath(*sub))]
            sys.modules[name] = pkg
        try:
            monot5 = importlib.import_module("rank_llm.rerank.pointwise.monot5")
            data = importlib.import_module("rank_llm.data")
            # batch_size=1: see the module docstring (the reference pads without a mask)
            model = monot5.MonoT5(str(tiny_t5), device="cpu", batch_size=1)
        except Exception as exc:                      # the reference could not be built
            pytest.skip(f"rank_llm's MonoT5 cannot run here: {type(exc).__name__}: {exc}")
        yield types.SimpleNamespace(model=model, data=data)
    finally:
        for k in [k for k in sys.modules if k == "rank_llm" or k.startswith("rank_llm.")]:
            del sys.modules[k]
        sys.modules.update(before)


def _inputs(scifact, n_queries: int = 3, n_docs: int = 6):
    qids = list(scifact.queries)[:n_queries]
    docs = list(scifact.corpus.values())
    ranking = {q: [d.id for d in docs[i * n_docs:(i + 1) * n_docs]] for i, q in enumerate(qids)}
    return qids, Run.from_rankings(ranking, name="bm25")


def test_prompts_and_scores_equal_rank_llm(tiny_t5, ref, scifact):
    qids, cands = _inputs(scifact)
    # bracketed numbers and mojibake go through the same cleaning in both
    extra = Document("odd", "Title-less [12] passage with Ã© mojibake " + "word " * 600)
    corpus = Corpus.from_documents([*scifact.corpus.values(), extra])
    queries = Queries.from_dict({q: scifact.queries[q].text + " [3]" for q in qids})
    cands = Run.from_rankings({q: [*cands[q].doc_ids, "odd"] for q in qids}, name="bm25")
    ours = MonoT5Reranker(str(tiny_t5), device="cpu", batch_size=1)
    out = ours.rerank(queries, cands, corpus)
    # padded, length-sorted batches across queries: the same up to fp32 summation order
    batched = MonoT5Reranker(str(tiny_t5), device="cpu", batch_size=5).rerank(
        queries, cands, corpus)
    requests = []
    for q in qids:
        cs = [ref.data.Candidate(docid=d, score=0.0,
                                 doc={"text": corpus[d].text,
                                      **({"title": corpus[d].title} if corpus[d].title else {})})
              for d in cands[q].doc_ids]
        requests.append(ref.data.Request(query=ref.data.Query(text=queries[q].text, qid=q),
                                         candidates=cs))
    results = ref.model.rerank_batch(requests, populate_invocations_history=True)
    for q, req, res in zip(qids, requests, results, strict=True):
        unsorted = ref.data.Result(query=req.query, candidates=req.candidates)
        for i, c in enumerate(req.candidates):
            ref_prompt, _ = ref.model.create_prompt(unsorted, i)
            assert ours.prompt(queries[q], corpus[c.docid]) == ref_prompt, (q, i)
        want = {c.docid: c.score for c in res.candidates}
        got = dict(zip(out[q].doc_ids, out[q].scores, strict=True))
        got_batched = dict(zip(batched[q].doc_ids, batched[q].scores, strict=True))
        for d in want:
            assert got[d] == pytest.approx(want[d], rel=1e-9, abs=1e-12)
            assert got_batched[d] == pytest.approx(want[d], rel=1e-4, abs=1e-6)
        assert len(set(want.values())) > 3                # the tiny model discriminates
    assert "(12)" in ours.prompt(queries[qids[0]], extra)
    assert "(3)" in ours.prompt(queries[qids[0]], extra)
    assert out.metadata["llm_stats"]["forward_passes"] == 3 * 7


def test_scores_are_p_true_from_one_decoder_step(tiny_t5, scifact):
    qids, cands = _inputs(scifact, 1, 4)
    rr = MonoT5Reranker(str(tiny_t5), device="cpu")
    q = scifact.queries[qids[0]]
    doc = scifact.corpus[cands[qids[0]].doc_ids[0]]
    text = rr.prompt(q, doc)
    assert text.startswith(f"Query: {q.text} Document: ") and text.endswith(" Relevant: ")
    ids = torch.tensor([rr.tokenizer.encode(text)])
    with torch.no_grad():
        gen = rr.model.generate(ids, max_new_tokens=1, output_scores=True,
                                return_dict_in_generate=True, do_sample=False)
    t, f = gen.scores[0][0, rr.true_id].item(), gen.scores[0][0, rr.false_id].item()
    p = float(rr.score_prompts([text])[0][0])
    assert p == pytest.approx(1.0 / (1.0 + pytest.importorskip("math").exp(f - t)), rel=1e-6)
    assert rr.config()["prompt"]["name"] == "monot5"
    assert rr.config()["tokenizer"] == "T5Tokenizer"
