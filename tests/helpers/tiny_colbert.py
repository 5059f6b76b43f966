"""A tiny random-weight ColBERT checkpoint in PyLate's saved format, built from a config.

BERT-tiny-shaped encoder (random weights) with the real MiniLM tokenizer from the offline
Hugging Face cache, a ``1_Dense`` linear projection (no bias, identity activation, as PyLate
saves it) and ``config_sentence_transformers.json`` with the ColBERT settings (markers, lengths,
expansion, skiplist). ``pylate.models.ColBERT(folder)`` loads it as it loads its own saves.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

from helpers.tiny import cached_or_skip

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def tiny_colbert_folder(path, *, dim: int = 16, query_length: int = 12,
                        document_length: int = 40, attend_to_expansion_tokens: bool = False,
                        do_query_expansion: bool = True, seed: int = 0) -> str:
    import torch
    import transformers
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tok = transformers.AutoTokenizer.from_pretrained(cached_or_skip(MINILM))
    cfg = transformers.BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=64,
                                  max_position_embeddings=128)
    torch.manual_seed(seed)
    transformers.BertModel(cfg).eval().save_pretrained(path)
    tok.save_pretrained(path)
    dense = path / "1_Dense"
    dense.mkdir(exist_ok=True)
    save_file({"linear.weight": torch.randn(dim, 32) / 4}, str(dense / "model.safetensors"))
    (dense / "config.json").write_text(json.dumps({
        "in_features": 32, "out_features": dim, "bias": False,
        "activation_function": "torch.nn.modules.linear.Identity", "use_residual": False}))
    (path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Dense", "type": "pylate.models.Dense.Dense"}]))
    (path / "sentence_bert_config.json").write_text(json.dumps(
        {"max_seq_length": document_length - 1, "do_lower_case": False}))
    (path / "config_sentence_transformers.json").write_text(json.dumps({
        "model_type": "ColBERT", "prompts": {}, "default_prompt_name": None,
        "similarity_fn_name": "MaxSim", "query_prefix": "[unused0]",
        "document_prefix": "[unused1]", "query_length": query_length,
        "document_length": document_length,
        "attend_to_expansion_tokens": attend_to_expansion_tokens,
        "skiplist_words": list(string.punctuation), "do_query_expansion": do_query_expansion}))
    return str(path)


def stanford_colbert_folder(src, dst) -> str:
    """The checkpoint of :func:`tiny_colbert_folder` in the Stanford ColBERT layout (as
    ``colbert-ir/colbertv2.0``): ``HF_ColBERT`` architecture, the encoder under ``bert.`` and
    the projection as ``linear.weight`` in one weights file, settings in ``artifact.metadata``."""
    import shutil

    from safetensors.torch import load_file, save_file

    src, dst = Path(src), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json"):
        if (src / name).is_file():
            shutil.copy(src / name, dst / name)
    cfg = json.loads((src / "config.json").read_text())
    (dst / "config.json").write_text(json.dumps({**cfg, "architectures": ["HF_ColBERT"]}))
    weights = {f"bert.{k}": v for k, v in load_file(str(src / "model.safetensors")).items()}
    weights["linear.weight"] = load_file(str(src / "1_Dense" / "model.safetensors"))[
        "linear.weight"]
    save_file(weights, str(dst / "model.safetensors"))
    st = json.loads((src / "config_sentence_transformers.json").read_text())
    (dst / "artifact.metadata").write_text(json.dumps({
        "query_token_id": st["query_prefix"], "doc_token_id": st["document_prefix"],
        "query_maxlen": st["query_length"], "doc_maxlen": st["document_length"],
        "attend_to_mask_tokens": st["attend_to_expansion_tokens"]}))
    return str(dst)
