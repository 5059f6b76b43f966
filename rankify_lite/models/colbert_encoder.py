"""A ColBERT (late interaction) encoder: texts -> one L2-normalised vector per token.

Reads ColBERT-style checkpoints with plain ``transformers``, the way PyLate reads them (proven
equal to ``pylate.models.ColBERT`` on the same weights in ``tests/models/test_colbert_encoder.py``):

* **PyLate / sentence-transformers folders** (answerai-colbert-small, GTE-ModernColBERT,
  PyLate saves): ``modules.json`` = the encoder, then one or more ``Dense`` projections
  (``config.json`` + weights; identity or tanh activation, optional residual);
  ``config_sentence_transformers.json`` holds the ColBERT settings: ``query_prefix`` /
  ``document_prefix`` (marker tokens), ``query_length`` / ``document_length``,
  ``do_query_expansion``, ``attend_to_expansion_tokens``, ``skiplist_words``;
* **Stanford ColBERT folders** (``colbert-ir/colbertv2.0``: ``HF_ColBERT`` architecture): the
  projection is ``linear.weight`` in the main weights, settings in ``artifact.metadata``.

Encoding, as PyLate does it: the text (stripped; lower-cased when ``do_lower_case``) is cut
to ``length - 1`` tokens and the marker id is inserted after the first token (``[CLS]
[Q] ...``). Queries are padded to ``query_length`` with the mask token (query augmentation);
the expansion positions get attention 0 unless ``attend_to_expansion_tokens``, and *every*
query position is kept. Documents keep only their real tokens minus the skiplist
(punctuation). Each kept vector is L2-normalised after the projection(s).
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rankify_lite.errors import InputError, require
from rankify_lite.models import loader

_ACTIVATIONS = ("torch.nn.modules.linear.Identity", "torch.nn.modules.activation.Tanh")


@dataclass(frozen=True)
class ColBERTSettings:
    query_prefix: str = "[unused0]"
    document_prefix: str = "[unused1]"
    query_length: int = 32
    document_length: int = 180
    do_query_expansion: bool = True
    attend_to_expansion_tokens: bool = False
    skiplist_words: tuple[str, ...] = tuple(string.punctuation)
    do_lower_case: bool = False


def read_settings(model: str, revision: str | None = None,
                  **overrides: Any) -> tuple[ColBERTSettings, str]:
    """The checkpoint's ColBERT settings and its format ("pylate" or "stanford")."""
    st = loader.model_json(model, "config_sentence_transformers.json", revision) or {}
    meta = loader.model_json(model, "artifact.metadata", revision) or {}
    bert = loader.model_json(model, "sentence_bert_config.json", revision) or {}
    kind = "pylate" if loader.model_json(model, "modules.json", revision) else "stanford"
    base = ColBERTSettings()
    values: dict[str, Any] = {
        "query_prefix": st.get("query_prefix", meta.get("query_token_id", base.query_prefix)),
        "document_prefix": st.get("document_prefix",
                                  meta.get("doc_token_id", base.document_prefix)),
        "query_length": st.get("query_length", meta.get("query_maxlen", base.query_length)),
        "document_length": st.get("document_length",
                                  meta.get("doc_maxlen", base.document_length)),
        "do_query_expansion": st.get("do_query_expansion", base.do_query_expansion),
        "attend_to_expansion_tokens": st.get(
            "attend_to_expansion_tokens",
            meta.get("attend_to_mask_tokens", base.attend_to_expansion_tokens)),
        "skiplist_words": tuple(st.get("skiplist_words") or base.skiplist_words),
        "do_lower_case": bool(bert.get("do_lower_case", False)),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    if not values["do_query_expansion"]:
        values["attend_to_expansion_tokens"] = False
    return ColBERTSettings(**values), kind


class ColBERTEncoder:
    """``ColBERTEncoder("answerdotai/answerai-colbert-small-v1").encode_documents(texts)``:
    a list of float32 (tokens, dim) arrays. Setting arguments override the checkpoint's, as
    PyLate's ``models.ColBERT(...)`` arguments do: e.g. jina-colbert-v2's card loads it with
    ``query_prefix="[QueryMarker]", document_prefix="[DocumentMarker]",
    attend_to_expansion_tokens=True, trust_remote_code=True``. A marker must already be a token
    of the checkpoint's tokenizer (PyLate would add it with an untrained embedding)."""

    def __init__(self, model: str, *, query_length: int | None = None,
                 document_length: int | None = None, query_prefix: str | None = None,
                 document_prefix: str | None = None,
                 attend_to_expansion_tokens: bool | None = None, batch_size: int = 32,
                 device: str | None = None, dtype: str | None = None,
                 revision: str | None = None, trust_remote_code: bool = False) -> None:
        self._torch = require("torch", extra="dense", feature="ColBERT")
        transformers = require("transformers", extra="dense", feature="ColBERT")
        self.model_id = str(model)
        self.settings, self.format = read_settings(
            self.model_id, revision, query_length=query_length, document_length=document_length,
            query_prefix=query_prefix, document_prefix=document_prefix,
            attend_to_expansion_tokens=attend_to_expansion_tokens)
        loaded = loader.load(transformers.AutoModel, self.model_id, revision=revision,
                             device=device, dtype=dtype, attention="sdpa",
                             trust_remote_code=trust_remote_code)
        self.model, self.tokenizer, self.device = loaded.model, loaded.tokenizer, loaded.device
        self.dtype, self.revision = loaded.dtype, loaded.revision
        self.adapter = loaded.adapter  # a merged PEFT adapter, or None
        self.batch_size = max(1, int(batch_size))
        self._token_types = "token_type_ids" in getattr(self.tokenizer, "model_input_names", ())
        self.projections = self._projections(revision)
        tok = self.tokenizer
        self.query_prefix_id = self._marker_id(self.settings.query_prefix)
        self.document_prefix_id = self._marker_id(self.settings.document_prefix)
        self.pad_id = tok.mask_token_id if tok.mask_token_id is not None else (
            tok.eos_token_id if tok.eos_token_id is not None else tok.pad_token_id)
        if self.pad_id is None:
            raise InputError(f"{model}: the tokenizer has no mask, EOS or pad token for query "
                             "augmentation.", fix="use a ColBERT checkpoint with a mask token.")
        self.skiplist = {int(i) for i in (tok.convert_tokens_to_ids(w)
                                          for w in self.settings.skiplist_words)
                         if i is not None and i != tok.unk_token_id}
        for n in (self.settings.query_length, self.settings.document_length):
            if n < 3:
                raise InputError(f"ColBERT lengths must be >= 3, got {n}.",
                                 fix="use e.g. query_length=32, document_length=180.")

    @property
    def dim(self) -> int:
        return int(self.projections[-1][0].shape[0]) if self.projections else \
            int(self.model.config.hidden_size)

    def config(self) -> dict[str, Any]:
        s = asdict(self.settings)
        s["skiplist_words"] = "".join(s["skiplist_words"]) \
            if all(len(w) == 1 for w in s["skiplist_words"]) else list(s["skiplist_words"])
        from rankify_lite.models.adapters import provenance

        return {"model": self.model_id, "revision": self.revision,
                **provenance(self.adapter), "format": self.format,
                "dim": self.dim, "dtype": loader.dtype_name(self.dtype), **s}

    # -- loading -----------------------------------------------------------------------------
    def _marker_id(self, marker: str) -> int | None:
        if not marker:
            return None
        tid = self.tokenizer.convert_tokens_to_ids(marker)
        if tid is None or tid == self.tokenizer.unk_token_id:
            raise InputError(f"{self.model_id}: the ColBERT marker {marker!r} is not a token of "
                             "the tokenizer.", fix="use the checkpoint's own tokenizer (PyLate "
                             "saves the markers into it), or a marker such as '[unused0]'.")
        return int(tid)

    def _weights(self, filename_stem: str, revision: str | None) -> dict[str, Any]:
        torch = self._torch
        path = loader.model_file(self.model_id, f"{filename_stem}model.safetensors", revision)
        if path is not None:
            from safetensors.torch import load_file

            return load_file(str(path))
        path = loader.model_file(self.model_id, f"{filename_stem}pytorch_model.bin", revision)
        if path is None:
            raise InputError(f"{self.model_id}: no weights for {filename_stem or 'the model'}.",
                             fix="use a complete ColBERT checkpoint folder.")
        return torch.load(str(path), map_location="cpu", weights_only=True)

    def _projections(self, revision: str | None) -> list[tuple[Any, Any, str, Any]]:
        """(weight, bias, activation, residual weight) per projection, in order."""
        out = []
        if self.format == "stanford":
            w = self._weights("", revision).get("linear.weight")
            if w is None:
                raise InputError(f"{self.model_id}: neither modules.json nor a 'linear.weight' "
                                 "projection: not a ColBERT checkpoint.",
                                 fix="use a PyLate or Stanford ColBERT checkpoint.")
            return [(w.float().to(self.device), None, _ACTIVATIONS[0], None)]
        modules = loader.model_json(self.model_id, "modules.json", revision) or []
        for m in modules[1:]:
            if not str(m.get("type", "")).endswith("Dense"):
                raise InputError(f"{self.model_id}: module {m.get('type')!r} after the encoder "
                                 "is not supported.", fix="use a checkpoint whose modules are "
                                 "the encoder and Dense projections.")
            folder = str(m.get("path", "")).strip("/") + "/"
            cfg = loader.model_json(self.model_id, f"{folder}config.json", revision) or {}
            act = cfg.get("activation_function", _ACTIVATIONS[0])
            if act not in _ACTIVATIONS:
                raise InputError(f"{self.model_id}: activation {act!r} is not supported.",
                                 fix=f"use one of {_ACTIVATIONS}.")
            sd = self._weights(folder, revision)
            dev = self.device
            out.append((sd["linear.weight"].float().to(dev),
                        sd["linear.bias"].float().to(dev) if "linear.bias" in sd else None, act,
                        sd["residual.weight"].float().to(dev) if cfg.get("use_residual")
                        and "residual.weight" in sd else
                        ("identity" if cfg.get("use_residual") else None)))
        return out

    # -- encoding ----------------------------------------------------------------------------
    def _ids(self, text: str, length: int, marker: int | None) -> list[int]:
        text = text.strip()
        if self.settings.do_lower_case:
            text = text.lower()
        cut = length - 1 if marker is not None else length
        ids = list(self.tokenizer(text, truncation=True, max_length=cut)["input_ids"])
        return ids if marker is None else [ids[0], marker, *ids[1:]]

    def query_ids(self, text: str) -> tuple[list[int], list[int]]:
        """(input ids, attention mask) of one query, augmented with mask tokens."""
        s = self.settings
        ids = self._ids(text, s.query_length, self.query_prefix_id)
        mask = [1] * len(ids)
        if s.do_query_expansion:
            pad = s.query_length - len(ids)
            ids += [self.pad_id] * pad
            mask += [1 if s.attend_to_expansion_tokens else 0] * pad
        return ids, mask

    def document_ids(self, text: str) -> list[int]:
        return self._ids(text, self.settings.document_length, self.document_prefix_id)

    def encode_queries(self, texts: list[str]) -> list[np.ndarray]:
        rows = [self.query_ids(t) for t in texts]
        keep_all = self.settings.do_query_expansion
        return self._encode([r[0] for r in rows], [r[1] for r in rows],
                            lambda ids, att: [True] * len(ids) if keep_all else [a == 1 for a in att])

    def encode_documents(self, texts: list[str]) -> list[np.ndarray]:
        rows = [self.document_ids(t) for t in texts]
        return self._encode(rows, [[1] * len(r) for r in rows],
                            lambda ids, att: [a == 1 and i not in self.skiplist
                                              for i, a in zip(ids, att, strict=True)])

    def _project(self, h):
        torch = self._torch
        for w, b, act, residual in self.projections:
            out = torch.nn.functional.linear(h, w, b)
            if act.endswith("Tanh"):
                out = torch.tanh(out)
            if residual is not None:
                out = out + (h if isinstance(residual, str) else
                             torch.nn.functional.linear(h, residual))
            h = out
        return h

    def _encode(self, ids: list[list[int]], masks: list[list[int]], keep) -> list[np.ndarray]:
        torch = self._torch
        out: list[np.ndarray | None] = [None] * len(ids)
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                width = max(len(ids[i]) for i in idx)
                x = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
                m = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    x[row, :len(ids[i])] = torch.tensor(ids[i])
                    m[row, :len(ids[i])] = torch.tensor(masks[i])
                extra = {"token_type_ids": torch.zeros_like(x).to(self.device)} \
                    if self._token_types else {}
                hidden = self.model(input_ids=x.to(self.device), attention_mask=m.to(self.device),
                                    **extra).last_hidden_state.float()
                vecs = self._project(hidden)
                for row, i in enumerate(idx):
                    sel = torch.tensor(keep(ids[i], masks[i]), dtype=torch.bool)
                    v = vecs[row, :len(ids[i])][sel.to(vecs.device)]
                    out[i] = torch.nn.functional.normalize(v, p=2, dim=1).cpu().numpy()
        return [o for o in out if o is not None]


def maxsim(query: np.ndarray, doc: np.ndarray) -> float:
    """Sum over query tokens of the best dot product with a document token (float32)."""
    if len(doc) == 0:
        return 0.0
    return float((query @ doc.T).max(axis=1).sum(dtype=np.float32))
