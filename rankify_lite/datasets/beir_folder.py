"""Load a local folder in BEIR layout: corpus.jsonl, queries.jsonl, qrels/<split>.tsv."""

from __future__ import annotations

from pathlib import Path

from rankify_lite.datasets.dataset import Dataset
from rankify_lite.errors import DatasetNotFoundError
from rankify_lite.io.jsonl import read_corpus
from rankify_lite.io.trec import read_qrels, read_topics

_COMPRESSED = ("", ".gz", ".xz")


def _find(folder: Path, stem: str) -> Path | None:
    for suffix in _COMPRESSED:
        p = folder / f"{stem}{suffix}"
        if p.is_file():
            return p
    return None


def is_beir_folder(folder: Path) -> bool:
    return folder.is_dir() and _find(folder, "queries.jsonl") is not None and (folder / "qrels").is_dir()


def load_beir_folder(folder: str | Path, split: str | None = None, name: str | None = None,
                     with_corpus: bool = True, names: tuple[str, ...] = ()) -> Dataset:
    """Load a BEIR-layout folder with its collection rules (see :mod:`~rankify_lite.datasets.rules`:
    the folder's ``collection.yaml``, else the known-collection table by ``names``, ``name``
    or the folder's own name, else by query-id fingerprint, else the defaults)."""
    from dataclasses import replace

    from rankify_lite.datasets.rules import resolve_rules

    folder = Path(folder)
    resolved = folder.resolve()
    names = (*names, *((name,) if name else ()), f"{resolved.parent.name}/{resolved.name}",
             resolved.name)
    rules = resolve_rules(names, folder=folder)
    ds = _load(folder, split or rules.split, name, with_corpus)
    if rules.source == "defaults":
        rules = resolve_rules((), qids=ds.qrels)
    return replace(ds, rules=rules)


def _load(folder: Path, split: str, name: str | None, with_corpus: bool) -> Dataset:
    queries_path = _find(folder, "queries.jsonl")
    if queries_path is None:
        raise DatasetNotFoundError(f"{folder}: no queries.jsonl. Fix: give a folder in BEIR "
                                   "layout (corpus.jsonl, queries.jsonl, qrels/<split>.tsv).")
    qrels_path = _find(folder / "qrels", f"{split}.tsv")
    if qrels_path is None:
        have = sorted(p.name for p in (folder / "qrels").glob("*.tsv*"))
        raise DatasetNotFoundError(f"{folder}/qrels: no {split}.tsv. Fix: choose a split "
                                   f"from {have or '(none)'}.")
    corpus_path = _find(folder, "corpus.jsonl")
    corpus = read_corpus(corpus_path) if (with_corpus and corpus_path) else None
    qrels = read_qrels(qrels_path)
    queries = read_topics(queries_path)
    # BEIR ships all queries of the collection in queries.jsonl; keep those of this split.
    judged = {q: queries[q] for q in queries if q in qrels}
    from rankify_lite.types import Queries

    textless = [q for q in qrels if q not in queries]
    extra = {}
    if textless:  # scored over the queries present, as trec_eval would; said, never silent
        extra = {"judged_without_text": len(textless)}
        import warnings

        warnings.warn(f"{qrels_path}: {len(textless)} of {len(qrels)} judged queries have no "
                      f"query text in {queries_path.name} (e.g. {textless[0]!r}); they are "
                      "not scored", stacklevel=3)

    runs = {}
    if (folder / "runs").is_dir():
        for p in sorted((folder / "runs").iterdir()):
            key = p.name
            for ext in (".gz", ".xz", ".trec", ".txt"):  # compressed runs read as plain ones
                key = key.removesuffix(ext)
            runs[key.removeprefix("run.")] = p
    return Dataset(
        name=name or folder.name,
        corpus=corpus,
        queries=Queries(judged) if judged else queries,
        qrels=qrels,
        runs=runs,
        metadata={"source": str(folder), "split": split, "format": "beir-folder", **extra},
    )
