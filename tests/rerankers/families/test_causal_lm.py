"""The causal-lm family equals its references on the same weights (a tiny random Llama with
SmolLM2's real tokenizer): token ids identical and scores within 1e-5 in fp32.

* Qwen3-Reranker: the model card's procedure (format_instruction / process_inputs /
  compute_logits, written out below: the card is not a package) and sentence-transformers'
  ``CrossEncoder`` with ``LogitScore`` (given a chat template that renders the card's format);
* mxbai-rerank-v2: ``mxbai_rerank.MxbaiRerankV2`` (0.1.6) itself. transformers 5 removed the
  tokenizer's ``prepare_for_model``, which it calls; the test gives it FlagEmbedding's own
  compatibility replacement of that function (its ``add_special_tokens=False`` path, the v4
  rule: cut only the second sequence), the rest runs unchanged;
* bge-reranker-v2-gemma: FlagEmbedding 1.4.2's ``FlagLLMReranker`` (imported module by module:
  the package ``__init__`` imports a model file that transformers 5 cannot import);
* the layer cut-off on a plain causal LM: FlagEmbedding's ``FlagLLMReranker`` on a copy of the
  model that keeps only the first k layers (what ``cutoff_layers=k`` means). The layerwise
  MiniCPM checkpoints themselves are tested against FlagEmbedding's own class in
  test_minicpm_layerwise.py.
"""

from __future__ import annotations

import importlib.util
import types

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from helpers.reference_import import isolated_modules  # noqa: E402
from helpers.tiny import tiny_llm_folder  # noqa: E402

from rankify_lite import load_reranker  # noqa: E402
from rankify_lite.errors import InputError  # noqa: E402
from rankify_lite.rerankers.families.causal_lm import CausalLMReranker  # noqa: E402
from rankify_lite.types import Corpus, Document, Queries, Run  # noqa: E402

FLAG = ("FlagEmbedding", "FlagEmbedding.inference", "FlagEmbedding.inference.reranker",
        "FlagEmbedding.inference.reranker.decoder_only", "FlagEmbedding.utils")
CUSTOM = "Given a scientific claim, retrieve documents that support or refute the claim"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_llm_folder(tmp_path_factory.mktemp("tiny_llm"))


@pytest.fixture(scope="module")
def pairs(scifact):
    """(query, document) pairs of 2 SciFact queries, plus a long passage that must be cut."""
    docs = list(scifact.corpus.values())[:4]
    long_doc = Document("long", "cells protein gene " * 120, title="Long")
    qs = [scifact.queries[q] for q in list(scifact.queries)[:2]]
    return [(q, d) for q in qs for d in [*docs, long_doc]]


def _close(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g == pytest.approx(w, abs=1e-5, rel=1e-5)
    assert len({round(float(w), 6) for w in want}) > 3       # the tiny model discriminates


# -- Qwen3-Reranker ----------------------------------------------------------------------------
def _qwen3_card(folder, pairs, instruction, max_length):
    """The Qwen3-Reranker model card's transformers usage, step by step."""
    tok = transformers.AutoTokenizer.from_pretrained(folder, padding_side="left")
    model = transformers.AutoModelForCausalLM.from_pretrained(folder).eval()
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    prefix = ("<|im_start|>system\nJudge whether the Document meets the requirements based on "
              "the Query and the Instruct provided. Note that the answer can only be \"yes\" or "
              "\"no\".<|im_end|>\n<|im_start|>user\n")
    suffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    pre, suf = tok.encode(prefix, add_special_tokens=False), tok.encode(suffix,
                                                                       add_special_tokens=False)
    texts = [f"<Instruct>: {instruction}\n<Query>: {q.text}\n<Document>: {d.full_text()}"
             for q, d in pairs]
    enc = tok(texts, padding=False, truncation="longest_first", return_attention_mask=False,
              max_length=max_length - len(pre) - len(suf))
    ids = [pre + e + suf for e in enc["input_ids"]]
    batch = tok.pad({"input_ids": ids}, padding=True, return_tensors="pt")
    with torch.no_grad():
        last = model(**batch).logits[:, -1, :]
    scores = torch.nn.functional.log_softmax(torch.stack([last[:, no], last[:, yes]], 1), 1)
    return ids, scores[:, 1].exp().tolist()


@pytest.mark.parametrize("instruction", [None, CUSTOM])
@pytest.mark.parametrize("max_length", [None, 160])
def test_qwen3_equals_the_model_card(tiny, pairs, instruction, max_length):
    ours = load_reranker("causal-lm", model=tiny, device="cpu", prompt="qwen3_reranker",
                         instruction=instruction, max_length=max_length, batch_size=4)
    want_ids, want = _qwen3_card(tiny, pairs, instruction or
                                 "Given a web search query, retrieve relevant passages that "
                                 "answer the query", max_length or 8192)
    got_ids = [ours.input_ids(q, d) for q, d in pairs]
    assert got_ids == want_ids
    _close(ours.score_ids(got_ids).tolist(), want)
    suffix = ours.backend.encode("<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert all(ids[-len(suffix):] == suffix for ids in got_ids)
    if max_length:                                # the long passage was cut, not the suffix
        assert max(len(i) for i in got_ids) == max_length
    assert ours.config()["prompt"]["name"] == "qwen3_reranker"
    assert ours.config()["instruction"] == instruction


def test_qwen3_equals_sentence_transformers_logit_score(tiny, pairs):
    st = pytest.importorskip("sentence_transformers")
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.cross_encoder.modules import LogitScore

    # the card's format as a chat template over the query / document roles that
    # CrossEncoder gives a pair (Jinja drops one trailing newline: the last one is explicit)
    template = ("<|im_start|>system\nJudge whether the Document meets the requirements based on "
                "the Query and the Instruct provided. Note that the answer can only be \"yes\" "
                "or \"no\".<|im_end|>\n<|im_start|>user\n<Instruct>: Given a web search query, "
                "retrieve relevant passages that answer the query\n<Query>: "
                "{{ (messages | selectattr('role', 'eq', 'query') | first).content }}\n"
                "<Document>: {{ (messages | selectattr('role', 'eq', 'document') | first)"
                ".content }}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>"
                "{{ '\\n\\n' }}")
    module = Transformer(tiny, transformer_task="text-generation",
                         processor_kwargs={"chat_template": template})
    tok = module.tokenizer
    ce = st.CrossEncoder(modules=[module, LogitScore(tok.convert_tokens_to_ids("yes"),
                                                     tok.convert_tokens_to_ids("no"))],
                         device="cpu")
    short = [(q, d) for q, d in pairs if d.id != "long"]
    texts = [(q.text, d.full_text()) for q, d in short]
    logit_diff = ce.predict(texts, activation_fn=torch.nn.Identity(), batch_size=4)
    ours = load_reranker("causal-lm", model=tiny, device="cpu", batch_size=4)
    got_ids = [ours.input_ids(q, d) for q, d in short]
    features = ce.preprocess(texts)                   # left-padded: drop the padding
    want_ids = [row[mask.bool()].tolist() for row, mask in
                zip(features["input_ids"], features["attention_mask"], strict=True)]
    assert want_ids == got_ids
    want = (1.0 / (1.0 + torch.exp(-torch.tensor(logit_diff, dtype=torch.float64)))).tolist()
    _close(ours.score_ids(got_ids).tolist(), want)


# -- mxbai-rerank-v2 ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mxbai_ref():
    if importlib.util.find_spec("mxbai_rerank") is None or \
            importlib.util.find_spec("FlagEmbedding") is None:
        pytest.skip("pip install --no-deps mxbai-rerank==0.1.6 FlagEmbedding==1.4.2 "
                    "(and batched, peft) to run the mxbai-rerank-v2 parity test")
    with isolated_modules("FlagEmbedding", FLAG[:1] + FLAG[-1:],
                          ["FlagEmbedding.utils.tokenizer_compat"]) as (compat,):
        prepare = compat.prepare_for_model_compat
    from mxbai_rerank import MxbaiRerankV2

    def build(folder, **kw):
        model = MxbaiRerankV2(folder, device="cpu", torch_dtype="float32", **kw)
        tok = model.tokenizer
        view = types.SimpleNamespace(truncation_side=tok.truncation_side,
                                     model_input_names=tok.model_input_names)
        tok.prepare_for_model = lambda a, b=None, **k: prepare(view, a, b, **k)
        return model
    return build


@pytest.mark.parametrize("instruction,max_length", [(None, None), (CUSTOM, 200)])
def test_mxbai_v2_equals_mxbai_rerank(tiny, pairs, mxbai_ref, instruction, max_length):
    ref = mxbai_ref(tiny, **({"max_length": max_length} if max_length else {}))
    ours = load_reranker("causal-lm", model=tiny, device="cpu", prompt="mxbai_rerank_v2",
                         instruction=instruction, max_length=max_length, batch_size=4)
    qs, ds = [q.text for q, _ in pairs], [d.full_text() for _, d in pairs]
    enc = ref.prepare_inputs(qs, ds, instruction=instruction)
    want_ids = [row[mask.bool()].tolist() for row, mask in zip(enc["input_ids"],
                                                              enc["attention_mask"], strict=True)]
    got_ids = [ours.input_ids(q, d) for q, d in pairs]
    assert got_ids == want_ids
    want = []
    for start in range(0, len(pairs), 4):      # the reference's own batches
        want += ref.predict(qs[start:start + 4], ds[start:start + 4],
                            instruction=instruction).tolist()
    _close(ours.score_ids(got_ids).tolist(), want)
    task_suffix = ours.backend.encode("Relevance:<|im_end|>\n<|im_start|>assistant\n")
    assert all(ids[-len(task_suffix):] == task_suffix for ids in got_ids)


# -- bge-reranker-v2-gemma and the layer cut-off -----------------------------------------------
@pytest.fixture(scope="module")
def flag_ref():
    if importlib.util.find_spec("FlagEmbedding") is None or \
            importlib.util.find_spec("peft") is None:
        pytest.skip("pip install --no-deps FlagEmbedding==1.4.2 (and peft) to run the bge "
                    "parity tests")
    with isolated_modules("FlagEmbedding", FLAG,
                          ["FlagEmbedding.inference.reranker.decoder_only.base"]) as (base,):
        yield base.BaseLLMReranker


@pytest.mark.parametrize("instruction,max_length", [(None, None), (CUSTOM, 96)])
def test_bge_gemma_equals_flag_llm_reranker(tiny, pairs, flag_ref, instruction, max_length):
    ref = flag_ref(tiny, devices="cpu", batch_size=4, prompt=instruction,
                   max_length=max_length or 512)
    want = ref.compute_score([(q.text, d.full_text()) for q, d in pairs])
    ours = load_reranker("causal-lm", model=tiny, device="cpu", prompt="bge_reranker_llm",
                         instruction=instruction, max_length=max_length, batch_size=4)
    got_ids = [ours.input_ids(q, d) for q, d in pairs]
    _close(ours.score_ids(got_ids).tolist(), want)
    task = ours.backend.encode(instruction or ours.template.text("task"))
    assert all(ids[-len(task):] == task and ids[0] == ours.backend.tokenizer.bos_token_id
               for ids in got_ids)
    if max_length:     # passage cut to max_length + |sep| + |task|, then sep + task appended
        sep = len(ours.backend.encode("\n"))
        assert max(len(i) for i in got_ids) == max_length + 2 * sep + 2 * len(task)


def test_cutoff_layers_equal_the_model_cut_to_k_layers(tiny, pairs, flag_ref, tmp_path):
    full = transformers.AutoModelForCausalLM.from_pretrained(tiny)
    cfg = transformers.AutoConfig.from_pretrained(tiny, num_hidden_layers=1)
    cut = transformers.AutoModelForCausalLM.from_config(cfg).eval()
    missing = cut.load_state_dict(full.state_dict(), strict=False).missing_keys
    assert not missing
    cut.save_pretrained(tmp_path)
    transformers.AutoTokenizer.from_pretrained(tiny).save_pretrained(tmp_path)
    want = flag_ref(str(tmp_path), devices="cpu", batch_size=4).compute_score(
        [(q.text, d.full_text()) for q, d in pairs])
    ours = load_reranker("causal-lm", model=tiny, device="cpu", prompt="bge_reranker_llm",
                         cutoff_layers=1, batch_size=4)
    got = ours.score_ids([ours.input_ids(q, d) for q, d in pairs]).tolist()
    _close(got, want)
    full_depth = load_reranker("causal-lm", model=tiny, device="cpu",
                               prompt="bge_reranker_llm", cutoff_layers=2, batch_size=4)
    plain = load_reranker("causal-lm", model=tiny, device="cpu", prompt="bge_reranker_llm")
    ids = [plain.input_ids(q, d) for q, d in pairs]
    assert full_depth.score_ids(ids).tolist() == pytest.approx(plain.score_ids(ids).tolist(),
                                                               abs=1e-5)
    assert len(ours.backend.model.model.layers) == 2       # the cut never changes the model
    with pytest.raises(InputError, match="outside this model's 1..2 layers"):
        load_reranker("causal-lm", model=tiny, device="cpu", prompt="bge_reranker_llm",
                      cutoff_layers=3)
    with pytest.raises(InputError, match="bge layerwise format"):
        load_reranker("causal-lm", model=tiny, device="cpu", cutoff_layers=1)


# -- the family in a run -----------------------------------------------------------------------
def test_rerank_batches_queries_and_matches_pair_scores(tiny, scifact, tmp_path):
    qids = list(scifact.queries)[:3]
    docs = list(scifact.corpus.values())
    cands = Run.from_rankings({q: [d.id for d in docs[i * 4:(i + 1) * 4]]
                               for i, q in enumerate(qids)}, name="bm25")
    queries = Queries.from_dict({q: scifact.queries[q].text for q in qids})
    corpus = Corpus.from_documents(docs[:12])
    rr = load_reranker("causal-lm", model=tiny, device="cpu", batch_size=5,
                       log_path=tmp_path / "calls.jsonl")
    out = rr.rerank(queries, cands, corpus)
    import json

    calls = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert len(calls) == 12 and all(c["prompt"].endswith("</think>\n\n") for c in calls)
    for q in qids:
        ids = [rr.input_ids(queries[q], corpus[d]) for d in cands[q].doc_ids]
        want = dict(zip(cands[q].doc_ids, rr.score_ids(ids).tolist(), strict=True))
        got = dict(zip(out[q].doc_ids, out[q].scores, strict=True))
        assert got == pytest.approx(want, abs=1e-6)
        assert list(out[q].doc_ids) == sorted(want, key=lambda d: -want[d])
    assert out.metadata["llm_stats"]["forward_passes"] == 12
    assert rr.config()["score"].startswith("P(true)")
    assert rr.config()["prompt"]["source"] == "family default"


def test_bad_template_fails_before_the_model_loads(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nversion: 1\nlayout: qwen3\nprefix: x\n")
    with pytest.raises(InputError, match="needs the fields"):
        load_reranker("causal-lm", model=str(tmp_path / "absent"), prompt=str(bad))


class _LogprobEngine:
    """An engine that returns log-probabilities instead of logits (as vLLM and servers do):
    the transformers backend's values shifted by a different constant per prompt."""

    def __init__(self, inner):
        self.inner, self.max_context, self.tokenizer = inner, inner.max_context, inner.tokenizer

    def config(self):
        return {**self.inner.config(), "backend": "logprob-engine"}

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def next_token_logits(self, prompts, token_ids):
        import numpy as np

        out = self.inner.next_token_logits(prompts, token_ids)
        shift = np.arange(len(prompts), dtype=np.float32)[:, None] * 3.0 + 1.5
        return type(out)(out.logits - shift, out.input_tokens)


@pytest.mark.parametrize("prompt", ["qwen3_reranker", "mxbai_rerank_v2"])
def test_engines_returning_log_probabilities_give_the_same_scores(tiny, pairs, prompt):
    plain = load_reranker("causal-lm", model=tiny, device="cpu", prompt=prompt)
    ids = [plain.input_ids(q, d) for q, d in pairs]
    other = CausalLMReranker(backend=_LogprobEngine(plain.backend), prompt=prompt)
    assert other.score_ids(ids).tolist() == pytest.approx(plain.score_ids(ids).tolist(),
                                                           abs=1e-5)


def test_raw_logit_formats_refuse_other_engines(tiny):
    plain = load_reranker("causal-lm", model=tiny, device="cpu")
    with pytest.raises(InputError, match="only the transformers engine"):
        CausalLMReranker(backend=_LogprobEngine(plain.backend), prompt="bge_reranker_llm")
