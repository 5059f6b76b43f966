"""A sentence-transformers input module that makes a causal LM a SPLADE student backbone with
echo embeddings (Mistral-SPLADE): ``[bos] text text`` through the LM, the LM-head logits as token
embeddings, and the *second copy* as the only tokens ``SpladePooling`` pools (it reads
``attention_mask``; the causal LM itself is called with the real mask). The same token layout as
:func:`rankify_lite.models.echo_splade.echo_ids`, so the saved folder (the LM and tokenizer in
its root) retrieves as ``Splade(folder, architecture="causal-echo")`` with the same weights.

Imported only when a SPLADE student starts from a causal LM (torch and sentence-transformers).
"""

from __future__ import annotations

from typing import Any

import torch
from sentence_transformers.base.modules.input_module import InputModule

from rankify_lite.models.echo_splade import echo_ids


class EchoCausalLM(InputModule):
    """``EchoCausalLM(model_name_or_path, max_seq_length=256)``."""

    config_file_name = "echo_splade_config.json"   # config.json is the LM's own
    config_keys = ["max_seq_length"]
    save_in_root = True

    def __init__(self, model_name_or_path: str, max_seq_length: int = 256,
                 **_: Any) -> None:
        import transformers

        super().__init__()
        self.auto_model = transformers.AutoModelForCausalLM.from_pretrained(model_name_or_path)
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(model_name_or_path)
        self.max_seq_length = int(max_seq_length)

    def preprocess(self, inputs: Any, prompt: str | None = None,
                   **kwargs: Any) -> dict[str, torch.Tensor]:
        texts = [f"{prompt}{t}" if prompt else str(t) for t in inputs]
        rows = [echo_ids(self.tokenizer, t, self.max_seq_length) for t in texts]
        width = max(len(ids) for ids, _, _ in rows)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        echo = torch.zeros((len(rows), width), dtype=torch.long)
        for r, (seq, start, _) in enumerate(rows):
            ids[r, :len(seq)] = torch.tensor(seq)
            mask[r, :len(seq)] = 1
            echo[r, start:len(seq)] = 1
        return {"input_ids": ids, "lm_attention_mask": mask, "attention_mask": echo}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        out = self.auto_model(input_ids=features["input_ids"],
                              attention_mask=features["lm_attention_mask"])
        features["token_embeddings"] = out.logits
        return features

    def get_embedding_dimension(self) -> int:
        return int(self.auto_model.config.vocab_size)

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True,
             **kwargs: Any) -> None:
        self.auto_model.save_pretrained(output_path, safe_serialization=safe_serialization)
        self.tokenizer.save_pretrained(output_path)
        self.save_config(output_path)

    @classmethod
    def load(cls, model_name_or_path: str, **kwargs: Any) -> EchoCausalLM:
        config = cls.load_config(model_name_or_path=model_name_or_path)
        return cls(model_name_or_path, **config)
