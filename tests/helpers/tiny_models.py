"""Tiny BERT-like models the reranker tests build from a config (random weights, seeded)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_vocab(texts: Iterable[str], size: int = 600) -> dict[str, int]:
    """Specials, single characters (and their ## forms) and the most frequent words."""
    words = Counter(w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower()))
    chars = sorted({c for w in words for c in w})
    tokens = SPECIALS + chars + [f"##{c}" for c in chars]
    for w, _ in words.most_common():
        if len(tokens) >= size:
            break
        if w not in tokens:
            tokens.append(w)
    return {t: i for i, t in enumerate(tokens)}


def save_tiny_bert(folder: Path, texts: Iterable[str], *, num_labels: int = 1,
                   max_positions: int = 64, seed: int = 0, task: str = "classification",
                   init_range: float = 0.5) -> Path:
    """A 2-layer BERT (hidden 32) plus a WordPiece tokenizer, saved with save_pretrained."""
    import torch
    import transformers as tf

    vocab = build_vocab(texts)
    tok = tf.BertTokenizerFast(vocab=vocab, do_lower_case=True)
    cfg = tf.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=64,
                     max_position_embeddings=max_positions, num_labels=num_labels,
                     initializer_range=init_range)  # wide init: scores far apart
    torch.manual_seed(seed)
    model = (tf.BertForSequenceClassification(cfg) if task == "classification"
             else tf.BertModel(cfg))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
