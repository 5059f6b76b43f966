"""TransformersBackend on a tiny Llama built from a config (random weights) with a tiny BPE
tokenizer: left-padded batches give the same logits as single prompts, FIRST really runs one
forward pass per window, generation is greedy and counted. Plus SmolLM2 when it is installed.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from rankify_lite.rerankers.engines.llm_backend import (  # noqa: E402
    LLMBackend,
    TransformersBackend,
    continuation_ids,
)
from rankify_lite.rerankers.families.first import FirstReranker  # noqa: E402
from rankify_lite.rerankers.families.listwise import ListwiseReranker  # noqa: E402
from rankify_lite.rerankers.families.pointwise import PointwiseReranker  # noqa: E402


def _chat(backend, system: str, user: str) -> str:
    return backend.render_chat([{"role": "system", "content": system},
                                {"role": "user", "content": user}])


CHAT = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


@pytest.fixture(scope="module")
def tiny(scifact):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from tokenizers import decoders as dec

    texts = [d.full_text() for _, d in zip(range(300), scifact.corpus.values(), strict=False)]
    texts += ["yes\nno\nYes\nNo\n[A] > [B]"] * 200      # so the answer words are single tokens
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = dec.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600,
                                  special_tokens=["<|im_start|>", "<|im_end|>", "<s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    hf_tok = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                                  bos_token="<|im_start|>")
    hf_tok.chat_template = CHAT
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(vocab_size=len(hf_tok), hidden_size=32, intermediate_size=64,
                                   num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, max_position_embeddings=4096,
                                   eos_token_id=hf_tok.eos_token_id,
                                   bos_token_id=hf_tok.bos_token_id)
    model = transformers.LlamaForCausalLM(cfg)
    return model, hf_tok


def _with_bos(tok, template_writes_bos: bool):
    """The same vocabulary, but the tokenizer adds "<s>" (as Llama/Mistral tokenizers do)."""
    import copy

    from tokenizers import processors

    raw = copy.deepcopy(tok.backend_tokenizer)
    bos = raw.token_to_id("<s>")
    raw.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", bos)])
    out = transformers.PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|im_end|>",
                                               bos_token="<s>")
    out.chat_template = ("{{ bos_token }}" if template_writes_bos else "") + CHAT
    return out, bos


@pytest.mark.parametrize("writes_bos", [False, True])
def test_bos_modes(tiny, writes_bos):
    model, tok = tiny
    bos_tok, bos = _with_bos(tok, writes_bos)
    backend = TransformersBackend(model, bos_tok, device="cpu")
    text = backend.render_chat([{"role": "user", "content": "hello"}]) + "["
    plain = backend.encode(text)
    assert plain[0] == (bos if writes_bos else tok.convert_tokens_to_ids("<|im_start|>"))
    ids = {mode: PointwiseReranker(backend=backend, bos=mode).prompt_ids(text)
           for mode in ("reference", "single", "none")}
    # reference: what tokenizer(text) gives (vLLM, the FIRST trainer): BOS added, even twice
    assert ids["reference"] == [bos, *plain] == bos_tok(text)["input_ids"]
    assert ids["none"] == plain
    assert ids["single"] == (plain if writes_bos else [bos, *plain])


def test_first_reads_fp32_projection_of_the_final_hidden_state(tiny):
    model, tok = tiny
    texts = [_chat(TransformersBackend(model, tok, device="cpu"), "s", u) + "["
             for u in ("one", "a second, longer prompt here", "three")]
    fp32 = TransformersBackend(model, tok, device="cpu", dtype="float32")
    assert fp32.config()["next_token_logits"].startswith("fp32 projection")
    prompts = [fp32.encode(t) for t in texts]
    ids = list(range(5, 25))
    got = fp32.next_token_logits(prompts, ids).logits
    for row, p in enumerate(prompts):         # equals the model's own full logits, in fp32
        full = model(torch.tensor([p])).logits[0, -1, ids].detach().numpy()
        assert np.abs(got[row] - full).max() < 1e-5
    # in bf16 the values are still computed in fp32 from the bf16 hidden state: close to the
    # bf16 logits, but not rounded to bf16 (so two identifiers cannot tie by rounding)
    bf16 = TransformersBackend(copy.deepcopy(model), tok, device="cpu", dtype="bfloat16")
    vals = bf16.next_token_logits(prompts, ids).logits
    rounded = torch.tensor(vals).to(torch.bfloat16).float().numpy()
    assert (vals != rounded).mean() > 0.9
    for row, p in enumerate(prompts):
        full = bf16.model(torch.tensor([p])).logits[0, -1, ids].float().detach().numpy()
        assert np.abs(vals[row] - full).max() < 0.05 * max(1.0, np.abs(full).max())
        assert len(set(vals[row].tolist())) == len(ids)


def test_backend_follows_protocol_and_left_padding_is_exact(tiny):
    model, tok = tiny
    backend = TransformersBackend(model, tok, device="cpu", batch_size=4)
    assert isinstance(backend, LLMBackend)
    texts = [_chat(backend, "sys", "short") + "[",
             _chat(backend, "sys", "a much longer user message " * 6) + "[",
             _chat(backend, "sys", "medium length message here") + "["]
    prompts = [backend.encode(t, add_special_tokens=True) for t in texts]
    ids = [continuation_ids(backend, texts[0], c)[0] for c in "ABCD"]
    batched = backend.next_token_logits(prompts, ids)
    for i, p in enumerate(prompts):
        alone = backend.next_token_logits([p], ids)
        assert alone.logits[0] == pytest.approx(batched.logits[i], abs=1e-4)
        # and equal to a plain full forward pass of the unpadded prompt
        full = model(torch.tensor([p])).logits[0, -1, ids]
        assert alone.logits[0] == pytest.approx(full.detach().numpy(), abs=1e-4)
    assert batched.input_tokens[1] > batched.input_tokens[2] > batched.input_tokens[0]


def test_first_runs_one_forward_per_window_step(tiny, scifact):
    model, tok = tiny
    calls = []
    handle = model.get_decoder().register_forward_hook(lambda m, a, kw_out: calls.append(1))
    try:
        backend = TransformersBackend(model, tok, device="cpu", batch_size=8)
        rr = FirstReranker(backend=backend, window_size=6, stride=3, passage_words=20,
                           query_batch_size=4)
        qids = list(scifact.queries)[:3]
        from rankify_lite.types import Run

        cands = Run.from_rankings({q: list(scifact.corpus)[i * 12:(i + 1) * 12]
                                   for i, q in enumerate(qids)})
        calls.clear()
        out = rr.rerank(scifact.queries, cands, scifact.corpus, depth=12)
    finally:
        handle.remove()
    # 12 candidates, window 6, stride 3: 1 + ceil(6/3) = 3 windows per query, batched
    assert len(calls) == 3
    assert out.metadata["llm_stats"]["windows"] == 9
    for q in qids:
        assert sorted(out[q].doc_ids) == sorted(cands[q].doc_ids)
        assert all(a > b for a, b in zip(out[q].scores, out[q].scores[1:], strict=False))


def test_generation_and_pointwise_on_tiny_model(tiny, scifact):
    model, tok = tiny
    backend = TransformersBackend(model, tok, device="cpu")
    prompts = [backend.encode(_chat(backend, "s", "hello") + "["),
               backend.encode(_chat(backend, "s", "a longer hello there") + "[")]
    gens = backend.generate(prompts, 7)
    assert all(0 < g.output_tokens <= 7 and g.input_tokens > 0 for g in gens)
    again = backend.generate(prompts[:1], 7)
    assert again[0].text == gens[0].text                       # greedy, batch-independent
    lw = ListwiseReranker(backend=backend, window_size=4, stride=2, max_new_tokens=12)
    from rankify_lite.types import Run

    q = next(iter(scifact.queries))
    cands = Run.from_rankings({q: list(scifact.corpus)[:6]})
    out = lw.rerank(scifact.queries, cands, scifact.corpus)
    assert out.metadata["llm_stats"]["windows"] == 2          # random weights: junk, counted
    assert sorted(out[q].doc_ids) == sorted(cands[q].doc_ids)
    pw = PointwiseReranker(backend=backend, passage_words=30)
    out = pw.rerank(scifact.queries, cands, scifact.corpus)
    assert all(s < 0 for s in out[q].scores[:6])               # log-probabilities


SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"


def _smollm2_or_skip():
    try:
        return TransformersBackend(SMOLLM2, device="cpu", max_context=2048)
    except Exception as exc:  # noqa: BLE001 - not installed in the local HF cache
        pytest.skip(f"{SMOLLM2} not in the local Hugging Face cache ({type(exc).__name__})")


@pytest.mark.slow
def test_smollm2_first_on_dl19(dl19):
    backend = _smollm2_or_skip()
    rr = FirstReranker(backend=backend, window_size=5, stride=5, passage_words=15)
    assert rr.identifier_ids == [continuation_ids(backend, "[", c)[0] for c in "ABCDE"]
    bm25 = dl19.load_run("bm25.top100")
    q = next(iter(bm25))
    out = rr.rerank(dl19.queries, bm25.restrict([q]), dl19.corpus, depth=5)
    assert out.metadata["llm_stats"]["windows"] == 1
    assert out[q].doc_ids[5:] == bm25[q].doc_ids[5:]
    assert sorted(out[q].doc_ids[:5]) == sorted(bm25[q].doc_ids[:5])
