"""Pseudo-queries for any corpus: an LLM writes a query per passage (GPL / InPars / doc2query).

```python
from rankify_lite.distill.pseudo_queries import PseudoQueryConfig, generate_pseudo_queries
from rankify_lite.rerankers.engines import build_backend

llm = build_backend("transformers", "HuggingFaceTB/SmolLM2-135M-Instruct", dtype="bfloat16")
pq = generate_pseudo_queries(ds.corpus, llm, PseudoQueryConfig(passages=2000))
pq = pq.filtered(BM25().retrieve(pq.queries, ds.corpus, k=10), k=10)  # consistency filter
pq.save("scifact-pq", ds.corpus)           # a BEIR folder: load_dataset("scifact-pq")
```

* **Through the engine seam**: any :class:`~rankify_lite.rerankers.engines.llm_backend.LLMBackend`
  (transformers, vLLM, an OpenAI-compatible server, llama.cpp) generates: prompts become token
  ids with the backend's own tokenizer, decoding is greedy (so a rerun writes the same queries),
  ``max_new_tokens`` per query, and the query is the output's first line (engines that can
  stop a generation, transformers, llama.cpp and vLLM, stop once that line is complete; the
  queries are the same, fewer tokens are decoded: `benchmarks/pseudo_query_speed.py`).
* **Prompts are data**: a packaged preset per style (``inpars``: few-shot completion, no chat
  template; ``doc2query``: an instruction through the chat template; ``rankify_lite/distill/
  prompts/``) or the path of a YAML file of the same shape; its name, version and sha256 go
  into the spec.
* **Which passages**: all, or ``passages`` of them drawn with ``seed`` (sorted by corpus order);
  each passage is cut to ``max_passage_tokens`` tokens of its title + text.
* **Cached and resumable**: generations are appended, chunk by chunk, to
  ``$RANKIFY_LITE_CACHE/pseudo-queries/<key>/.generations.partial.jsonl`` (flushed and synced
  per chunk, a lock held while writing); a killed run restarts at its first missing passage and
  a finished one (``generations.jsonl``) is read back instead of generated. The key covers the
  corpus hash, the chosen passages, the backend's config, the prompt's hash and the settings.
* **What is kept**: a generation that is empty after cleaning (first line, the template's
  ``strip_prefixes``, quotes) is dropped and counted; the rest become queries ``pq-<doc id>``
  whose one judged-relevant document is their source passage.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.io.numbers import COUNT, SEED
from rankify_lite.rerankers.prompts.templates import PromptTemplate, load_prompt
from rankify_lite.types import Corpus

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
STYLES = tuple(sorted(p.stem for p in PROMPTS_DIR.glob("*.yaml")))
#: bump when the cleaning of a generation or the record format changes
FORMAT = 1
QUERY_PREFIX = "pq-"


@dataclass(frozen=True)
class PseudoQueryConfig:
    """How pseudo-queries are generated (all of it is in the spec and the cache key).

    Args:
        style: a packaged preset (:data:`STYLES`: "inpars", "doc2query") or a YAML file's path.
        passages: how many passages get a query (a seeded sample); None: every passage.
        max_passage_tokens: each passage (title + text) is cut to this many tokens.
        max_new_tokens: the longest query, in tokens (the first line of the output is kept).
        batch_size: prompts per ``generate`` call.
        chunk: passages generated between two commits of the resumable record.
        seed: draws the sample of ``passages``.
    """

    style: str = "inpars"
    passages: int | None = None
    max_passage_tokens: int = 128
    max_new_tokens: int = 32
    batch_size: int = 16
    chunk: int = 256
    seed: int = 42

    def __post_init__(self) -> None:
        for name in ("max_passage_tokens", "max_new_tokens", "batch_size", "chunk"):
            object.__setattr__(self, name, COUNT.check(getattr(self, name), name))
        if self.passages is not None:
            object.__setattr__(self, "passages", COUNT.check(self.passages, "passages",
                                                             fix="pass passages >= 1, or None "
                                                                 "for every passage."))
        object.__setattr__(self, "seed", SEED.check(self.seed, "seed"))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_style(style: str) -> PromptTemplate:
    """The prompt template of ``style`` (packaged preset or YAML path), shape checked."""
    packaged = PROMPTS_DIR / f"{style}.yaml"
    path = packaged if packaged.is_file() else Path(style)
    if not path.is_file():
        raise InputError(f"unknown pseudo-query style {style!r}.",
                         fix=f"use one of {', '.join(STYLES)} or the path of a YAML template "
                             "(see rankify_lite/distill/prompts/).")
    template = load_prompt(path, required=("chat",))
    if template.get("chat") is True:
        template.get("user")
    elif template.get("chat") is False:
        template.get("text")
    else:
        raise InputError("'chat:' must be true (system + user through the chat template) or "
                         "false (a plain 'text:' completion prompt).", path=template.path,
                         fix="write chat: true or chat: false.")
    return template


def choose_passages(corpus: Corpus, config: PseudoQueryConfig) -> list[str]:
    """The doc ids that get a query, in corpus order (a seeded sample when ``passages``)."""
    ids = list(corpus.keys())
    if config.passages is None or config.passages >= len(ids):
        return ids
    keep = set(random.Random(f"pseudo-queries-{config.seed}").sample(ids, config.passages))
    return [d for d in ids if d in keep]


def prompt_ids(backend: Any, template: PromptTemplate, passage: str) -> list[int]:
    """Token ids of the prompt for one (already cut) passage."""
    if template.get("chat") is True:
        messages = []
        if template.fields.get("system"):
            messages.append({"role": "system", "content": str(template.get("system"))})
        messages.append({"role": "user", "content": template.text("user", passage=passage)})
        text = backend.render_chat(messages) + str(template.fields.get("assistant_prefix") or "")
        return backend.encode(text)
    return backend.encode(template.text("text", passage=passage), add_special_tokens=True)


def cut_passage(backend: Any, text: str, max_tokens: int) -> str:
    ids = backend.encode(text)
    return text if len(ids) <= max_tokens else backend.decode(ids[:max_tokens]).strip()


def first_line_complete(text: str) -> bool:
    """Whether ``text``'s first non-empty line is followed by a line break: :func:`clean_query`
    keeps that line, so nothing generated after it can change the query."""
    for part in text.splitlines(keepends=True):
        if part.strip():
            return part.splitlines()[0] != part
    return False


#: engines with stop strings (vLLM) stop at a line break and check the predicate afterwards
first_line_complete.stop_strings = ("\n",)  # type: ignore[attr-defined]


def clean_query(text: str, strip_prefixes: Sequence[str] = ()) -> str:
    """A generation as a query: its first non-empty line, a leading label (``Query:``) and
    surrounding quotes removed, whitespace collapsed."""
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    for prefix in strip_prefixes:
        if line.lower().startswith(prefix.lower()):
            line = line[len(prefix):].strip()
    line = line.strip().strip('"').strip("'").strip()
    return " ".join(line.split())


def generation_key(corpus: Corpus, doc_ids: Sequence[str], backend: Any,
                   template: PromptTemplate, config: PseudoQueryConfig) -> str:
    from rankify_lite.cache import content_key

    settings = {k: v for k, v in config.as_dict().items() if k not in ("batch_size", "chunk")}
    return content_key(corpus.content_hash(), "\n".join(doc_ids), backend.config(),
                       template.describe(), settings, {"format": FORMAT})


def _read_records(path: Path, doc_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The complete leading records of a partial file that follow ``doc_ids``' order (a torn
    last line from a kill, or anything out of order, ends the usable part)."""
    records: list[dict[str, Any]] = []
    if not path.is_file():
        return records
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                break
            i = len(records)
            if (not isinstance(rec, dict) or i >= len(doc_ids) or rec.get("doc") != doc_ids[i]
                    or not isinstance(rec.get("text"), str)):
                break
            records.append(rec)
    return records


def _rewrite(path: Path, records: list[dict[str, Any]]) -> None:
    from rankify_lite.io.files import atomic_write

    with atomic_write(path) as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def generate_pseudo_queries(corpus: Corpus, backend: Any, config: PseudoQueryConfig | None = None,
                            *, cache: bool = True, progress: bool = True) -> Any:
    """One pseudo-query per chosen passage of ``corpus``, written by ``backend`` (see the
    module docstring); returns a :class:`~rankify_lite.distill.pseudo_set.PseudoQueries`."""
    from rankify_lite.cache import cache_dir
    from rankify_lite.distill.pseudo_set import PseudoQueries
    from rankify_lite.io.resumable import exclusive

    config = config or PseudoQueryConfig()
    template = load_style(config.style)
    doc_ids = choose_passages(corpus, config)
    if not doc_ids:
        raise InputError("the corpus has no passages to write queries for.",
                         fix="pass a corpus with documents.")
    key = generation_key(corpus, doc_ids, backend, template, config)
    folder = cache_dir("pseudo-queries", key) if cache else None
    spec = {"generator": backend.config(), "prompt": template.describe(),
            "config": config.as_dict(), "corpus": corpus.content_hash(), "key": key,
            "format": FORMAT}
    if folder is None:
        records, seconds = _generate(corpus, backend, template, config, doc_ids, [], None,
                                     progress)
    else:
        final = folder / "generations.jsonl"
        with exclusive(folder / ".generations.lock", "pseudo-query generation"):
            if final.is_file():
                records = _read_records(final, doc_ids)
                seconds = json.loads((folder / "timing.json").read_text()).get("seconds", 0.0) \
                    if (folder / "timing.json").is_file() else 0.0
                spec["cached"] = True
            else:
                partial = folder / ".generations.partial.jsonl"
                done = _read_records(partial, doc_ids)
                if done:
                    _rewrite(partial, done)        # drop a torn tail before appending
                    spec["resumed_at"] = len(done)
                records, seconds = _generate(corpus, backend, template, config, doc_ids, done,
                                             partial, progress)
                os.replace(partial, final)
                (folder / "timing.json").write_text(json.dumps({"seconds": seconds}))
        if len(records) != len(doc_ids):
            raise InputError(f"the cached generations in {final} do not cover the chosen "
                             "passages.", path=final,
                             fix="delete that folder; the queries are generated again.")
    return PseudoQueries.from_records(records, spec, seconds)


def _generate(corpus: Corpus, backend: Any, template: PromptTemplate, config: PseudoQueryConfig,
              doc_ids: Sequence[str], done: list[dict[str, Any]], partial: Path | None,
              progress: bool) -> tuple[list[dict[str, Any]], float]:
    from tqdm.auto import tqdm

    from rankify_lite.rerankers.engines.llm_backend import supports_stop_when

    strip = [str(s) for s in (template.fields.get("strip_prefixes") or [])]
    # the query is the first line: an engine that can stop there does (the same queries)
    stop = {"stop_when": first_line_complete} if supports_stop_when(backend) else {}
    records = list(done)
    t0 = time.perf_counter()
    fh = open(partial, "a", encoding="utf-8") if partial is not None else None  # noqa: SIM115
    try:
        with tqdm(total=len(doc_ids), initial=len(done), desc="pseudo-queries", unit="query",
                  disable=not progress, dynamic_ncols=True) as tick:
            for start in range(len(done), len(doc_ids), config.chunk):
                chunk = doc_ids[start:start + config.chunk]
                prompts = [prompt_ids(backend, template, cut_passage(
                    backend, corpus[d].full_text(), config.max_passage_tokens)) for d in chunk]
                for b in range(0, len(prompts), config.batch_size):
                    outs = backend.generate(prompts[b:b + config.batch_size],
                                            config.max_new_tokens, **stop)
                    for d, g in zip(chunk[b:b + config.batch_size], outs, strict=True):
                        records.append({"doc": d, "raw": g.text,
                                        "text": clean_query(g.text, strip),
                                        "input_tokens": g.input_tokens,
                                        "output_tokens": g.output_tokens})
                    tick.update(len(outs))
                if fh is not None:
                    for rec in records[start:]:
                        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
    finally:
        if fh is not None:
            fh.close()
    return records, time.perf_counter() - t0
