"""Helpers shared by model tests: a small vocabulary, tiny random-weight BERTs built from a
config, and a skip for real models that are not in the local Hugging Face cache."""

from __future__ import annotations

import pytest

WORDS = ("the a of and to in is for on with cells protein gene cancer study results patients "
         "cell expression risk increased treatment effect mice disease human").split()


def _cached_or_skip(repo_id: str) -> str:
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(repo_id, "config.json"), str):
        pytest.skip(f"{repo_id} is not in the Hugging Face cache; "
                    "run python scripts/install_offline_models.py")
    return repo_id


def tiny_bert_folder(path, *, mlm: bool = False, max_positions: int = 64) -> str:
    """A random-weight 2-layer BERT (or BERT MLM) with a word-level tokenizer, saved to path."""
    import torch
    import transformers

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
    tok = transformers.BertTokenizerFast(vocab=vocab)  # transformers 5: vocab=, not vocab_file=
    cfg = transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=64,
                                  max_position_embeddings=max_positions)
    torch.manual_seed(0)
    cls = transformers.BertForMaskedLM if mlm else transformers.BertModel
    model = cls(cfg).eval()
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


cached_or_skip = _cached_or_skip
