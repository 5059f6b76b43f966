"""Fill ``.gpu_assets/`` (git-ignored) with what the ``gpu_*.py`` benchmarks read on a machine
that reaches no hub: the all-MiniLM-L6-v2 tokenizer files and SciFact's BM25 top-100 doc ids
(from the Anserini run in ../shared/data, or from our own Lucene BM25 when that is absent).

    python benchmarks/gpu_assets.py
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from _gpu import ASSETS, ROOT, TOKENIZER  # noqa: E402

SHARED_RUN = ROOT.parent / "shared" / "data" / "beir" / "scifact" / "runs" / \
    "anserini-bm25-flat.top1000.trec.gz"


def main() -> None:
    from huggingface_hub import snapshot_download

    ASSETS.mkdir(exist_ok=True)
    exclude = ROOT / ".git" / "info" / "exclude"  # keep the assets out of git
    if (ROOT / ".git").is_dir():
        exclude.parent.mkdir(exist_ok=True)
        if "/.gpu_assets/" not in (exclude.read_text() if exclude.is_file() else ""):
            with open(exclude, "a") as f:
                f.write("/.gpu_assets/\n")
    src = Path(snapshot_download(TOKENIZER, local_files_only=True))
    dst = ASSETS / "minilm-tokenizer"
    dst.mkdir(exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                 "vocab.txt", "config.json"):
        if (src / name).is_file():
            shutil.copy(src / name, dst / name)
    from rankify_lite.io.trec import read_run

    if SHARED_RUN.is_file():
        run = read_run(SHARED_RUN).top(100)
    else:
        from rankify_lite import load_dataset
        from rankify_lite.retrievers import BM25

        ds = load_dataset("beir/scifact")
        run = BM25(progress=False).index(ds.corpus).retrieve(ds.queries, k=100,
                                                             exclude_self_hits=True)
    with open(ASSETS / "scifact_bm25_top100.tsv", "w") as f:
        for qid in run:
            f.write(f"{qid}\t{' '.join(run[qid].doc_ids)}\n")
    size = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file())
    print(f"{ASSETS}: {size / 1e6:.1f} MB ({sum(len(run[q].doc_ids) for q in run)} pairs)")


if __name__ == "__main__":
    main()
