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


SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"


def tiny_llm_folder(path, *, seed: int = 0) -> str:
    """A random-weight 2-layer Llama with SmolLM2's tokenizer and chat template, saved to path
    (skips when SmolLM2 is not in the Hugging Face cache)."""
    import torch
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(_cached_or_skip(SMOLLM2))
    cfg = transformers.LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                   num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, max_position_embeddings=4096,
                                   bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    torch.manual_seed(seed)
    transformers.LlamaForCausalLM(cfg).eval().save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def tiny_t5_folder(path, texts, *, vocab_size: int = 50, hard_vocab_limit: bool = False,
                   initializer_factor: float = 1.0, seed: int = 0) -> str:
    """A random-weight 2-layer T5 with a SentencePiece (``T5Tokenizer``) vocabulary trained on
    ``texts``, saved to path (skips without sentencepiece)."""
    from pathlib import Path

    import torch
    import transformers

    spm = pytest.importorskip("sentencepiece")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    corpus_file = path / "corpus.txt"
    corpus_file.write_text("\n".join(texts))
    spm.SentencePieceTrainer.train(
        input=str(corpus_file), model_prefix=str(path / "spiece"), vocab_size=vocab_size,
        hard_vocab_limit=hard_vocab_limit, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        model_type="unigram", character_coverage=1.0, minloglevel=2)
    tok = transformers.T5Tokenizer.from_pretrained(path, extra_ids=0, model_max_length=512)
    tok.save_pretrained(path)
    torch.manual_seed(seed)
    cfg = transformers.T5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2,
                                num_decoder_layers=2, num_heads=4, pad_token_id=0,
                                eos_token_id=1, decoder_start_token_id=0,
                                initializer_factor=initializer_factor)
    transformers.T5ForConditionalGeneration(cfg).save_pretrained(path)
    return str(path)


def words_corpus(n: int = 400):
    """``n`` seeded random documents of WORDS (3-29 words; odd ones with a 2-word title)."""
    import numpy as np

    from rankify_lite.types import Corpus, Document

    rng = np.random.default_rng(0)
    return Corpus.from_documents(
        Document(f"d{i}", " ".join(rng.choice(WORDS, size=rng.integers(3, 30))),
                 title=" ".join(rng.choice(WORDS, size=2)) if i % 2 else "")
        for i in range(n))
