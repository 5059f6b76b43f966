"""Shared pieces of the ``benchmarks/gpu_*.py`` scripts: inputs that need no download, the
device's name, and where a result goes.

A GPU machine here reaches no model hub and sees only the repository, so the inputs travel in
``.gpu_assets/`` (git-ignored; ``python benchmarks/gpu_assets.py`` fills it here, and the
device call carries it): the all-MiniLM-L6-v2 *tokenizer* files (weights are random, built from
configs) and the SciFact BM25 top-100 doc ids. The SciFact texts ship inside the package.
"""

from __future__ import annotations

import json
import lzma
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / ".gpu_assets"
TOKENIZER = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED = ROOT / "rankify_lite" / "data" / "scifact"


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def device_name() -> str:
    import platform

    import torch

    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        return (f"{p.name} ({p.total_memory / 2**30:.0f} GiB), torch {torch.__version__}, "
                f"CUDA {torch.version.cuda}")
    return (f"CPU only ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), "
            f"torch {torch.__version__}")


def runtime(flag: bool):
    """(small, on_gpu, device, sync) for a script's ``--small`` flag: ``sync`` waits for the
    GPU before a timer reads the clock (a no-op on CPU)."""
    import torch

    small = small_mode(flag)
    on_gpu = torch.cuda.is_available() and not flag
    sync = torch.cuda.synchronize if on_gpu else (lambda: None)
    return small, on_gpu, ("cuda" if on_gpu else "cpu"), sync


def small_mode(flag: bool) -> bool:
    """``--small`` or no GPU: shrink models and inputs so the script finishes on a CPU."""
    if flag:
        return True
    if not cuda_available():
        print("no CUDA device: running the --small configuration", file=sys.stderr)
        return True
    return False


def tokenizer_folder() -> str:
    """The MiniLM tokenizer: from .gpu_assets, else the local Hugging Face cache."""
    local = ASSETS / "minilm-tokenizer"
    if (local / "tokenizer.json").is_file():
        return str(local)
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(TOKENIZER, local_files_only=True,
                                 allow_patterns=["*.json", "*.txt"])
    except Exception as exc:  # noqa: BLE001
        raise SystemExit(f"no MiniLM tokenizer: run python benchmarks/gpu_assets.py here and "
                         f"carry .gpu_assets ({exc})") from exc


def _jsonl(path: Path) -> list[dict]:
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def scifact_pairs(n_queries: int | None = None) -> list[tuple[str, str]]:
    """(query, title + " " + abstract) pairs of SciFact's BM25 top-100, query by query."""
    run_file = ASSETS / "scifact_bm25_top100.tsv"
    if not run_file.is_file():
        raise SystemExit("missing .gpu_assets/scifact_bm25_top100.tsv: run "
                         "python benchmarks/gpu_assets.py and carry .gpu_assets")
    corpus = {d["_id"]: (d.get("title", "") + " " + d.get("text", "")).strip()
              for d in _jsonl(BUNDLED / "corpus.jsonl.xz")}
    queries = {q["_id"]: q["text"] for q in _jsonl(BUNDLED / "queries.jsonl")}
    pairs = []
    lines = run_file.read_text().splitlines()
    for line in lines[:n_queries] if n_queries else lines:
        qid, docs = line.split("\t")
        pairs += [(queries[qid], corpus[d]) for d in docs.split()]
    return pairs


def scifact_docs(limit: int | None = None) -> list[str]:
    docs = [(d.get("title", "") + " " + d.get("text", "")).strip()
            for d in _jsonl(BUNDLED / "corpus.jsonl.xz")]
    return docs[:limit] if limit else docs


def emit(name: str, body: str, out: str | None, on_gpu: bool) -> None:
    """Print; on a GPU also write the section into RESULTS.md, and into ``out/<name>.md`` so a
    run on another machine can bring it back (``python benchmarks/gpu_collect.py DIR``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _results import write_section

    print(body)
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / f"{name}.md").write_text(body)
    if on_gpu:
        write_section(name, body)
