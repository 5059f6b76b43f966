"""RankLLaMA (``load_reranker("rankllama")``) against the code that released the checkpoint.

The reference is Tevatron's ``examples/rankllama`` at commit ff9b02f ("implement rankllama",
texttron/tevatron; not on PyPI, and written for transformers 4.41, whose ``prepare_for_model``
transformers 5 no longer has): ``RerankPreProcessor`` encodes ``'query: ' + query`` (32
tokens) and ``'document: ' + title + ' ' + text`` (164 tokens) without special tokens,
``RerankerInferenceDataset`` joins them with ``prepare_for_model(query, text, max_length=196,
truncation='only_first')`` (Llama-2's pair template ``<s> q <s> d``), the collator pads right to
196 with pad = eos, and the merged model's one logit is the score. ``tevatron_ids`` below
transcribes those steps as test data; the model side is a plain
``AutoModelForSequenceClassification`` forward on the reference's padded batch.

Models are tiny random Llamas built from a config (helpers/tiny_classifier.py); the adapter is a
random SEQ_CLS LoRA over a causal-LM base, merged by hand the way Tevatron's ``RerankerModel.load``
merges it.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")

from helpers.tiny_classifier import adapter_folders, classifier_folder  # noqa: E402

from rankify_lite import load_reranker  # noqa: E402
from rankify_lite.rerankers.registry import describe_families  # noqa: E402
from rankify_lite.types import Corpus, Document, Queries, Run  # noqa: E402

LONG = " ".join(["protein expression of cancer cells in the study"] * 30)
QUERIES = {"q1": "what is the protein of cancer cells",
           "q2": "a very long query " + " ".join(["about the cells of protein"] * 12)}
DOCS = [Document("d0", "the protein of cancer cells"),
        Document("d1", "cells", title="Protein"),
        Document("d2", LONG, title="A long one"),
        Document("d3", "what is the a of"),
        Document("d4", LONG + " " + LONG)]
TEXTS = [*QUERIES.values(), *(d.text for d in DOCS)]


def tevatron_ids(tok, query: str, doc: Document, q_max: int = 32, p_max: int = 164) -> list[int]:
    """Tevatron ff9b02f's ids for one pair (see the module docstring)."""
    q = tok.encode("query: " + query, add_special_tokens=False, max_length=q_max,
                   truncation=True)
    d = tok.encode("document: " + doc.title + " " + doc.text, add_special_tokens=False,
                   max_length=p_max, truncation=True)
    # prepare_for_model(q, d, truncation='only_first'): Llama-2's build_inputs_with_special_tokens
    # adds <s> before each sequence; the overflow comes off the end of the query when it can
    over = len(q) + len(d) + 2 - (q_max + p_max)
    if 0 < over < len(q):
        q = q[:-over]
    return [tok.bos_token_id] + q + [tok.bos_token_id] + d


def tevatron_scores(folder: str, pairs: list[tuple[str, Document]]) -> np.ndarray:
    """The reference's scores: its ids padded right to 196 with eos, one forward pass."""
    import torch
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(folder)
    tok.pad_token_id = tok.eos_token_id  # reranker_inference.py
    tok.padding_side = "right"
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder,
                                                                            num_labels=1).eval()
    model.config.pad_token_id = model.config.eos_token_id  # RerankerModel.load
    feats = [{"input_ids": tevatron_ids(tok, q, d)} for q, d in pairs]
    batch = tok.pad(feats, padding="max_length", max_length=196, return_tensors="pt")
    with torch.no_grad():
        return model(**batch).logits[:, 0].double().numpy()


def _inputs():
    run = Run.from_rankings({q: [d.id for d in DOCS] for q in QUERIES}, name="bm25")
    return Queries.from_dict(QUERIES), run, Corpus.from_documents(DOCS)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("rankllama")
    return {"plain": classifier_folder(root / "plain", TEXTS),
            **adapter_folders(root / "lora", TEXTS)}


def test_ids_are_tevatrons_token_for_token(folders):
    rr = load_reranker("rankllama", model=folders["plain"], batch_size=2)
    pairs = [(q, d) for q in QUERIES.values() for d in DOCS]
    ours = rr.input_ids(*zip(*[rr.texts(q, d) for q, d in pairs], strict=True))
    ref = [tevatron_ids(rr.tokenizer, q, d) for q, d in pairs]
    assert ours == ref
    # the cases the reference handles apart all occur: untitled ("document:  text"), the
    # passage cut at 164, the query cut at 32 and then again by the pair limit of 196
    assert rr.texts("x", DOCS[0])[1] == "document:  the protein of cancer cells"
    assert max(len(x) for x in ours) == 196
    assert any(len(x) < 196 for x in ours)


def test_scores_and_order_equal_the_reference_forward(folders):
    rr = load_reranker("rankllama", model=folders["plain"], batch_size=3)
    out = rr.rerank(*_inputs(), depth=len(DOCS))
    pairs = [(q, d) for q in QUERIES.values() for d in DOCS]
    ref = tevatron_scores(folders["plain"], pairs).reshape(len(QUERIES), len(DOCS))
    for row, qid in zip(ref, QUERIES, strict=True):
        expected = [DOCS[k].id for k in np.argsort(-row, kind="stable")]
        assert list(out[qid].doc_ids) == expected
    # one sequence per pair; both queries' 10 pairs go to one call, in batches of 3
    stats = out.metadata["llm_stats"]
    ids = rr.input_ids(*zip(*[rr.texts(q, d) for q, d in pairs], strict=True))
    assert stats["prompts"] == len(pairs) and stats["input_tokens"] == sum(map(len, ids))
    assert stats["model_calls"] == -(-len(pairs) // 3)
    np.testing.assert_allclose(rr.score_ids(ids), ref.ravel(), rtol=1e-5, atol=1e-5)


def test_lora_adapter_over_its_base_equals_the_merged_model(folders):
    adapter = load_reranker("rankllama", model=folders["adapter"])
    merged = load_reranker("rankllama", model=folders["merged"])
    pairs = [adapter.texts(q, d) for q in QUERIES.values() for d in DOCS]
    ids = adapter.input_ids(*zip(*pairs, strict=True))
    np.testing.assert_allclose(adapter.score_ids(ids), merged.score_ids(ids), atol=1e-5)
    np.testing.assert_allclose(adapter.score_ids(ids),
                               tevatron_scores(folders["merged"], [
                                   (q, d) for q in QUERIES.values() for d in DOCS]), atol=1e-5)
    cfg = adapter.config()
    assert cfg["adapter"] == "LORA" and cfg["base_model"] == folders["base"]
    assert cfg["prompt"]["name"] == "rankllama" and cfg["encoding"] == "separate"
    assert cfg["pad_token_id"] == adapter.tokenizer.eos_token_id


def test_listed_under_its_own_name_with_the_real_checkpoint():
    row = next(r for r in describe_families() if r["family"] == "rankllama")
    assert row["default_model"] == "castorini/rankllama-v1-7b-lora-passage"
    assert {"prompt", "base_model", "batch_size"} <= set(row["options"])


def dl19_pairs(dl19, queries: int = 3, depth: int = 10) -> list[tuple[str, Document]]:
    """(query text, passage) for BM25's top ``depth`` of the first DL19 queries."""
    run = dl19.load_run("bm25.top100")
    qids = list(dl19.queries.keys())[:queries]
    return [(dl19.queries[q].text, dl19.corpus[d]) for q in qids
            for d in list(run[q].doc_ids)[:depth]]


def test_real_dl19_pairs_tokenise_and_score_as_the_reference(folders, dl19):
    rr = load_reranker("rankllama", model=folders["plain"], batch_size=8)
    pairs = dl19_pairs(dl19)
    ours = rr.input_ids(*zip(*[rr.texts(q, d) for q, d in pairs], strict=True))
    assert ours == [tevatron_ids(rr.tokenizer, q, d) for q, d in pairs]
    np.testing.assert_allclose(rr.score_ids(ours), tevatron_scores(folders["plain"], pairs),
                               rtol=1e-5, atol=1e-5)


def test_a_model_without_a_head_gets_the_same_untrained_one_every_time(folders):
    import torch

    torch.manual_seed(123)  # the caller's random state neither matters nor changes
    state = torch.random.get_rng_state()
    a = load_reranker("rankllama", model=folders["base"])
    assert torch.equal(state, torch.random.get_rng_state())
    b = load_reranker("rankllama", model=folders["base"])
    ids = a.input_ids(*zip(*[a.texts(q, d) for q in QUERIES.values() for d in DOCS], strict=True))
    np.testing.assert_array_equal(a.score_ids(ids), b.score_ids(ids))
    assert a.config()["score_head"] == "untrained (seed 0)"
    assert "score_head" not in load_reranker("rankllama", model=folders["plain"]).config()


def test_base_model_option_and_a_bad_preset_are_handled_before_loading(folders, tmp_path):
    from rankify_lite.errors import InputError

    explicit = load_reranker("rankllama", model=folders["adapter"], base_model=folders["base"])
    default = load_reranker("rankllama", model=folders["adapter"])
    ids = default.input_ids(["query: cells"], ["document:  protein cells"])
    np.testing.assert_array_equal(explicit.score_ids(ids), default.score_ids(ids))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nversion: 1\nquery: 'q: {query}'\ndocument: 'd: {text}'\n"
                   "encoding: joined\nmax_length: 64\n")
    with pytest.raises(InputError, match="encoding must be one of") as err:
        load_reranker("rankllama", model=str(tmp_path / "no-such-model"), prompt=str(bad))
    assert "bad.yaml" in str(err.value)
