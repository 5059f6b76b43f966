"""Tiny Llama sequence classifiers (random weights, seeded) for the RankLLaMA / DeAR-P tests: a
byte-level BPE tokenizer trained on the fly with Llama's pair template (``<s> A <s> B``, eos
``</s>``, no pad token, as Llama-2 / Llama-3 ship), a one-label classifier folder, a causal-LM
base folder and a random LoRA adapter over it (SEQ_CLS: the score head travels in the adapter,
as RankLLaMA's does)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from helpers.tiny_causal import CHAT

FILLER = ("query: document: what is the a of protein cancer cells Received passage Rank "
          "[1] > [2] Search Query passages relevance Title: Content: 0123456789")


def tiny_tokenizer(texts: Iterable[str]):
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from tokenizers import decoders as dec

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = dec.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=500,
                                  special_tokens=["<s>", "</s>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts) + [FILLER] * 50, trainer)
    bos = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s>:1 $B:1", special_tokens=[("<s>", bos)])
    hf = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>",
                                              eos_token="</s>",
                                              model_input_names=["input_ids", "attention_mask"])
    hf.chat_template = CHAT
    return hf


def _config(tok):
    import transformers

    return transformers.LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                    num_hidden_layers=2, num_attention_heads=4,
                                    num_key_value_heads=2, max_position_embeddings=4096,
                                    bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                    num_labels=1)


def classifier_folder(path: Path, texts: Iterable[str], *, seed: int = 0) -> str:
    """A one-label LlamaForSequenceClassification (no pad id in its config) and its tokenizer."""
    import torch
    import transformers

    tok = tiny_tokenizer(texts)
    torch.manual_seed(seed)
    transformers.LlamaForSequenceClassification(_config(tok)).eval().save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def adapter_folders(root: Path, texts: Iterable[str], *, seed: int = 0) -> dict[str, str]:
    """{"base": causal-LM folder, "adapter": SEQ_CLS LoRA folder (no tokenizer: it comes from
    the base, as RankLLaMA's does), "merged": the adapter merged by hand, the references' way}."""
    import peft
    import torch
    import transformers

    tok = tiny_tokenizer(texts)
    torch.manual_seed(seed)
    base = root / "base"
    transformers.LlamaForCausalLM(_config(tok)).eval().save_pretrained(base)
    tok.save_pretrained(base)
    auto = transformers.AutoModelForSequenceClassification
    torch.manual_seed(seed + 1)
    cfg = peft.LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=16, init_lora_weights=False,
                          target_modules=["q_proj", "v_proj", "o_proj"])
    peft.get_peft_model(auto.from_pretrained(base, num_labels=1), cfg).save_pretrained(
        root / "adapter")
    merged = peft.PeftModel.from_pretrained(auto.from_pretrained(base, num_labels=1),
                                            str(root / "adapter")).merge_and_unload()
    merged.save_pretrained(root / "merged")
    tok.save_pretrained(root / "merged")
    return {"base": str(base), "adapter": str(root / "adapter"), "merged": str(root / "merged")}
