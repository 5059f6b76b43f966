"""pyserini's prebuilt Lucene indexes, by pyserini's names, for ``BM25(index=NAME)``.

``BM25(index="msmarco-v1-passage")``, ``BM25(index="beir-v1.0.0-scifact.flat")``,
``BM25(index="beir-v1.0.0-trec-covid.multifield")``, ...: any name of pyserini's table of
prebuilt inverted (term-frequency) indexes (``pyserini.prebuilt_index_info.TF_INDEX_INFO``,
which Anserini defines). The index is found, or downloaded once by pyserini's own loader, in
pyserini's cache (``$PYSERINI_CACHE``, default ``~/.cache/pyserini``) at
``indexes/<file name without .tar.gz>.<md5>``; :func:`prebuilt_location` says where. It is then
searched exactly as our own Lucene indexes are (:class:`.bm25_lucene.LuceneSearch`: same
analyzer, BM25 similarity, tie-breaking), ``multifield`` indexes with the title and contents
fields weighted equally.

Provenance: the name, pyserini's md5 of the index archive and its document count go into
``BM25.config()``, so they key the run caches and are written into every result's metadata.
Downloads print only to stderr; offline, a missing index is one error saying where to place it.
"""

from __future__ import annotations

import contextlib
import difflib
import sys
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError, RankifyError
from rankify_lite.retrievers.java import ensure_jvm


def _table() -> dict[str, dict[str, Any]]:
    ensure_jvm()  # pyserini's table is read from Anserini's jar (and pyserini starts no JVM then)
    from pyserini.prebuilt_index_info import TF_INDEX_INFO

    return TF_INDEX_INFO


def prebuilt_info(name: str) -> dict[str, Any]:
    """pyserini's record of the prebuilt index ``name`` (md5, file name, document count, ...)."""
    table = _table()
    if name not in table:
        close = difflib.get_close_matches(name, list(table), n=3, cutoff=0.6)
        raise InputError(f"{name!r} is not one of pyserini's prebuilt Lucene indexes.",
                         fix=(f"did you mean {', '.join(repr(c) for c in close)}? " if close else "")
                         + "names are pyserini's, e.g. 'msmarco-v1-passage', "
                           "'beir-v1.0.0-scifact.flat', 'beir-v1.0.0-scifact.multifield'.")
    return dict(table[name])


def prebuilt_fields(name: str) -> str:
    """``multifield`` for pyserini's BEIR multifield indexes (title and contents), else ``flat``."""
    return "multifield" if name.endswith(".multifield") else "flat"


def prebuilt_location(name: str) -> Path:
    """Where pyserini's loader keeps (or would unpack) the index ``name``."""
    import re

    from pyserini.util import get_cache_home

    info = prebuilt_info(name)
    stem = info.get("filename") or info["urls"][0].split("/")[-1]
    stem = re.sub(r"\.tar\.gz.*$", "", stem)
    return Path(get_cache_home()) / "indexes" / f"{stem}.{info['md5']}"


def open_prebuilt(name: str) -> tuple[Path, dict[str, Any]]:
    """The local folder of the prebuilt index (downloaded by pyserini when absent) and the
    provenance facts that go into the retriever's config."""
    info = prebuilt_info(name)
    where = prebuilt_location(name)
    if not (where.is_dir() and any(where.iterdir())):
        from pyserini.util import download_prebuilt_index

        try:
            with contextlib.redirect_stdout(sys.stderr):  # keep stdout for results
                where = Path(download_prebuilt_index(name, verbose=False))
        except Exception as exc:  # noqa: BLE001 - pyserini raises ValueError/URLError/OSError
            raise RankifyError(
                f"the prebuilt index {name!r} is not at {where} and could not be downloaded "
                f"({type(exc).__name__}: {exc}). Fix: go online once (pyserini downloads "
                f"{int(info.get('size compressed (bytes)', 0)) / 1e9:.2f} GB), or unpack "
                f"{info.get('filename', 'the index archive')} into {where} "
                "(or set $PYSERINI_CACHE to a cache that holds it).") from None
    facts = {"index": name, "index_md5": str(info["md5"]),
             "index_documents": int(info.get("documents", 0) or 0)}
    return where, facts


__all__ = ["open_prebuilt", "prebuilt_fields", "prebuilt_info", "prebuilt_location"]
