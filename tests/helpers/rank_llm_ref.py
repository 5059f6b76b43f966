"""rank_llm 0.25.7's listwise prompt code, loaded for parity tests without its package
``__init__`` files (which import vLLM and old T5 code): empty parent packages, and a stand-in
``vllm`` module whose ``LLM`` hands out SmolLM2's tokenizer, so ``RankListwiseOSLLM`` is built
by its own ``__init__`` and its own ``create_prompt`` runs unchanged. ``sys.modules`` is
restored when the context ends. Also: a rank_llm request from our documents, and the check
that every bottom-up window gets the reference's prompt text and token ids."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"
REF_MODULES = ("rank_llm", "rank_llm.rerank", "rank_llm.rerank.listwise", "vllm", "vllm.outputs")


def fake_vllm() -> tuple[types.ModuleType, types.ModuleType]:
    import transformers

    vllm = types.ModuleType("vllm")
    outputs = types.ModuleType("vllm.outputs")

    class LLM:                                   # what VllmHandler asks of vllm.LLM
        def __init__(self, model: str, **_: object) -> None:
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(SMOLLM2)

        def get_tokenizer(self):
            return self._tokenizer

    outputs.RequestOutput = object
    vllm.LLM, vllm.RequestOutput, vllm.SamplingParams, vllm.outputs = LLM, object, object, outputs
    return vllm, outputs


@contextmanager
def rank_llm_listwise() -> Iterator[types.SimpleNamespace]:
    """rank_llm's ``osllm`` (rank_listwise_os_llm) and ``data`` modules and its template folder;
    build ``osllm.RankListwiseOSLLM(...)`` inside the context (the stand-in vllm is in place)."""
    root = Path(importlib.util.find_spec("rank_llm").submodule_search_locations[0])
    before = {k: v for k, v in sys.modules.items()
              if k in REF_MODULES or k.startswith("rank_llm.")}
    try:
        for name, sub in (("rank_llm", ""), ("rank_llm.rerank", "rerank"),
                          ("rank_llm.rerank.listwise", "rerank/listwise")):
            pkg = types.ModuleType(name)
            pkg.__path__ = [str(root / sub)]
            sys.modules[name] = pkg
        sys.modules["vllm"], sys.modules["vllm.outputs"] = fake_vllm()
        yield types.SimpleNamespace(
            osllm=importlib.import_module("rank_llm.rerank.listwise.rank_listwise_os_llm"),
            data=importlib.import_module("rank_llm.data"),
            templates=root / "rerank" / "prompt_templates")
    finally:
        for k in [k for k in sys.modules if k in REF_MODULES or k.startswith("rank_llm.")]:
            del sys.modules[k]
        sys.modules.update(before)


def request(d, query, docs):
    """A rank_llm ``Result`` for one query and its documents (first-stage order)."""
    return d.Result(query=d.Query(text=query.text, qid=query.id),
                    candidates=[d.Candidate(docid=x.id, score=0.0,
                                            doc={"text": x.text, "title": x.title})
                                for x in docs])


def check_windows(ours, reference, data, ds, run, qids, prefill: str,
                  max_windows: int = 100) -> tuple[int, int]:
    """Every bottom-up window of each query (first-stage order): same text, same ids.
    Returns (windows checked, windows whose passages had to shrink)."""
    tok = reference._tokenizer
    prefill_ids = tok.encode(prefill, add_special_tokens=False) if prefill else []
    windows = shrunk = 0
    for qid in qids:
        docs = [ds.corpus[d] for d in run[qid].doc_ids[:100]]
        result = request(data, ds.queries[qid], docs)
        for lo, hi in ours.spans(len(docs))[:max_windows]:
            text, n_tokens = reference.create_prompt(result, lo, hi)
            mine = ours.window_prompt(ds.queries[qid], docs[lo:hi])
            assert mine.text == text + prefill, (qid, lo, hi)
            assert mine.ids == tok.encode(text) + prefill_ids, (qid, lo, hi)
            assert len(mine.ids) == n_tokens + len(prefill_ids)
            windows += 1
            shrunk += mine.passage_words < int(300 * 20 / (hi - lo))
    return windows, shrunk
