"""Resolve a dataset name or path to a Dataset.

Order of resolution for ``load_dataset(x)``:

1. ``x`` is an existing path: a BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels/).
2. ``x`` names a folder under a data directory: each entry of ``$RANKIFY_LITE_DATA``
   (``os.pathsep``-separated), then ``~/.cache/rankify_lite/data``. The layout is the one of
   ``shared/data``: ``beir/<name>``, ``beir-topics-qrels/<name>``, ``trec-dl/dl19-passage``...
3. ``x`` is a bundled dataset (it ships in the package, see ``rankify_lite/data/*/NOTICE.md``):
   ``beir/scifact`` (the SciFact test set), ``trec-dl/dl19-passage`` and ``trec-dl/dl20-passage``
   (the TREC DL re-ranking subsets with their first-stage runs), by name or alias (``dl19``).
4. ``x`` is an ir_datasets id (``beir/scifact/test``, ``msmarco-passage/trec-dl-2019/judged``):
   loaded through ir_datasets, which downloads on first use (online users only).
5. Otherwise: DatasetNotFoundError listing the closest known names.

How the collection is evaluated (relevance level, self-hit rule, default metrics and split) comes
from :mod:`rankify_lite.datasets.rules`: the folder's ``collection.yaml``, else the table of known
collections by exact name or query-id fingerprint, else documented defaults. Never from a substring.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from rankify_lite.datasets.beir_folder import is_beir_folder, load_beir_folder
from rankify_lite.datasets.dataset import Dataset, DatasetGroup
from rankify_lite.datasets.rules import resolve_rules
from rankify_lite.errors import DatasetNotFoundError

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "data"
BUNDLED = {"beir/scifact": BUNDLED_DIR / "scifact",
           "trec-dl/dl19-passage": BUNDLED_DIR / "dl19-passage",
           "trec-dl/dl20-passage": BUNDLED_DIR / "dl20-passage"}

CQADUPSTACK_FORUMS = ("android", "english", "gaming", "gis", "mathematica", "physics",
                      "programmers", "stats", "tex", "unix", "webmasters", "wordpress")

# Short names users type -> the folder in the data-directory layout.
ALIASES = {
    "scifact": "beir/scifact",
    "dl19": "trec-dl/dl19-passage",
    "dl20": "trec-dl/dl20-passage",
    "trec-dl-2019": "trec-dl/dl19-passage",
    "trec-dl-2020": "trec-dl/dl20-passage",
    "dl19-passage": "trec-dl/dl19-passage",
    "dl20-passage": "trec-dl/dl20-passage",
    "msmarco-passage/trec-dl-2019": "trec-dl/dl19-passage",
    "msmarco-passage/trec-dl-2020": "trec-dl/dl20-passage",
}

# A few ir_datasets ids offered as close matches when nothing else fits.
IRDS_EXAMPLES = ("beir/scifact/test", "beir/nfcorpus/test", "beir/arguana", "beir/fiqa/test",
                 "beir/trec-covid", "msmarco-passage/trec-dl-2019/judged",
                 "msmarco-passage/trec-dl-2020/judged")


def data_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get("RANKIFY_LITE_DATA", "").split(os.pathsep) if p]
    dirs.append(Path.home() / ".cache" / "rankify_lite" / "data")
    return [d for d in dirs if d.is_dir()]


def _candidates(name: str) -> list[str]:
    """Relative folders a name may live at in a data directory."""
    name = ALIASES.get(name, name).strip("/")
    out = [name]
    if name.startswith("beir/"):
        short = name.split("/", 1)[1]
        out += [f"beir-topics-qrels/{short}"]
    elif "/" not in name:
        out += [f"beir/{name}", f"beir-topics-qrels/{name}", f"trec-dl/{name}"]
    return out


def _local_names() -> list[str]:
    names = set(BUNDLED) | set(ALIASES) | {"beir/cqadupstack"}
    for root in data_dirs():
        for group in sorted(p for p in root.iterdir() if p.is_dir()):
            for sub in group.iterdir():
                if is_beir_folder(sub):
                    prefix = "beir" if group.name.startswith("beir") else group.name
                    names.add(f"{prefix}/{sub.name}")
    return sorted(names)


def available_datasets() -> list[dict[str, str]]:
    """What load_dataset can open without a download: bundled and data-directory sets."""
    rows = [{"name": n, "where": "bundled", "path": str(p)} for n, p in BUNDLED.items()]
    for root in data_dirs():
        for group in sorted(p for p in root.iterdir() if p.is_dir()):
            for sub in sorted(group.iterdir()):
                if is_beir_folder(sub):
                    has_corpus = any((sub / f"corpus.jsonl{s}").exists() for s in ("", ".gz", ".xz"))
                    rows.append({"name": f"{group.name}/{sub.name}",
                                 "where": "data dir" + ("" if has_corpus else " (no corpus)"),
                                 "path": str(sub)})
    return rows


def _load_folder(folder: Path, split: str | None, with_corpus: bool, names: tuple[str, ...],
                 display: str) -> Dataset:
    return load_beir_folder(folder, split, name=display, with_corpus=with_corpus, names=names)


def load_dataset(name_or_path: str | os.PathLike, split: str | None = None,
                 with_corpus: bool = True) -> Dataset | DatasetGroup:
    """Load a dataset by path or name; see the module docstring for the resolution order.

    ``split`` defaults to the collection's own (``test`` for BEIR and TREC DL, ``dev`` for MS MARCO).
    """
    raw = str(name_or_path)
    path = Path(raw).expanduser()
    if path.exists():
        from rankify_lite.datasets.pre_retrieved import is_pre_retrieved_name, load_pre_retrieved

        if path.is_file() and is_pre_retrieved_name(path):  # rank_llm / Rankify JSON
            return load_pre_retrieved(path)
        if not is_beir_folder(path):
            raise DatasetNotFoundError(
                f"{path}: not a dataset folder. Fix: give a folder in BEIR layout "
                "(corpus.jsonl, queries.jsonl, qrels/<split>.tsv).")
        return _load_folder(path, split, with_corpus, (), path.name)

    if path.is_absolute() or raw.startswith(("./", "../", "~")):
        raise DatasetNotFoundError(
            f"{raw}: dataset folder does not exist. Fix: check the path (a folder in BEIR "
            "layout: corpus.jsonl, queries.jsonl, qrels/<split>.tsv), or give a dataset name.")
    name = raw.strip("/")
    if name.removeprefix("beir/") == "cqadupstack":
        return DatasetGroup("beir/cqadupstack", tuple(
            load_dataset(f"beir/cqadupstack-{f}", split, with_corpus) for f in CQADUPSTACK_FORUMS))

    canonical = ALIASES.get(name, name)
    for root in data_dirs():
        for rel in _candidates(name):
            folder = root / rel
            if is_beir_folder(folder):
                return _load_folder(folder, split, with_corpus, (name, canonical, rel), canonical)
    if canonical in BUNDLED:
        return _load_folder(BUNDLED[canonical], split, with_corpus, (name, canonical), canonical)

    from rankify_lite.datasets import irds

    if irds.is_known(name):
        from dataclasses import replace

        ds = irds.load(name, with_corpus=with_corpus)
        return replace(ds, rules=resolve_rules((name,), qids=ds.qrels))

    # never propose the name typed, nor another spelling of the same missing set
    known = [k for k in _local_names() + list(IRDS_EXAMPLES) if ALIASES.get(k, k) != canonical]
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise DatasetNotFoundError(
        f"unknown dataset {name!r}.{hint} Fix: pass a BEIR folder path, set RANKIFY_LITE_DATA "
        f"to a folder holding beir/<name> or trec-dl/<name>, or use an ir_datasets id. "
        f"Run 'rankify-lite datasets' to list what is available locally.")
