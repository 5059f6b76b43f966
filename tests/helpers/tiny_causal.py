"""A tiny Llama (random weights, seeded) with a byte-level BPE tokenizer trained on the fly, and
a chat template; for the ICR and pairwise tests (no downloads)."""

from __future__ import annotations

from collections.abc import Iterable

CHAT = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def tiny_llama(texts: Iterable[str], *, attn: str = "eager", seed: int = 0):
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from tokenizers import decoders as dec

    texts = list(texts) + ["Passage A or Passage B: Output Passage A\nPassage B\n[1] [2]"] * 200
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = dec.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    hf_tok = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                                  bos_token="<|im_start|>")
    hf_tok.chat_template = CHAT
    torch.manual_seed(seed)
    cfg = transformers.LlamaConfig(vocab_size=len(hf_tok), hidden_size=32, intermediate_size=64,
                                   num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, max_position_embeddings=4096,
                                   eos_token_id=hf_tok.eos_token_id,
                                   bos_token_id=hf_tok.bos_token_id, attn_implementation=attn)
    model = transformers.LlamaForCausalLM(cfg)
    return model, hf_tok
