"""Java-free BM25 with bm25s, tuned to come close to Anserini's Lucene BM25.

Approximations of Anserini's analyzer: lower-casing, word tokens of one or more characters
(Lucene keeps single characters), Lucene's 33 English stopwords, the original Porter stemmer
(PyStemmer "porter", the algorithm of Lucene's PorterStemFilter), BM25 ``method="lucene"``.
Differences that remain: Lucene's StandardTokenizer (UAX#29: "3.5", "e-mail"), its possessive
filter, and Lucene's lossy one-byte document-length norms. Only ``flat`` fields are supported
(bm25s has one text field per document).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rankify_lite.errors import MissingDependencyError, require
from rankify_lite.types import Corpus

#: Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET (Anserini's default stopwords)
LUCENE_STOPWORDS = (
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
    "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
    "these", "they", "this", "to", "was", "will", "with",
)
TOKEN_PATTERN = r"(?u)\b\w+\b"
STEMMER = "porter"


def bm25s_version_info() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("bm25s", "PyStemmer"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError as exc:
            raise MissingDependencyError(dist, "bm25s", "BM25 (bm25s backend)") from exc
    return out


def _tokenizer():
    bm25s = require("bm25s", extra="bm25s", feature="BM25 (bm25s backend)")
    stemmer_mod = require("Stemmer", extra="bm25s", feature="BM25 (bm25s backend)")
    from bm25s.tokenization import Tokenizer

    del bm25s
    return Tokenizer(lower=True, splitter=TOKEN_PATTERN, stopwords=list(LUCENE_STOPWORDS),
                     stemmer=stemmer_mod.Stemmer(STEMMER))


def build_index(corpus: Corpus, folder: Path, k1: float, b: float,
                progress: bool) -> dict[str, Any]:
    """Tokenise and index ``corpus`` into ``folder`` (bm25s precomputes scores: k1, b fixed)."""
    bm25s = require("bm25s", extra="bm25s", feature="BM25 (bm25s backend)")
    tokenizer = _tokenizer()
    # a generator (with its length): texts are made one at a time, never all in a list
    texts = (d.full_text() for d in corpus.values())
    tokens = tokenizer.tokenize(texts, update_vocab=True, length=len(corpus),
                                show_progress=progress, return_as="tuple")
    model = bm25s.BM25(k1=k1, b=b, method="lucene")
    model.index(tokens, show_progress=progress)
    model.save(str(folder / "bm25s"), show_progress=False)
    tokenizer.save_vocab(str(folder / "bm25s"))
    (folder / "bm25s" / "doc_ids.json").write_text(json.dumps(list(corpus.keys())))
    return {"documents": len(corpus)}


class Bm25sSearch:
    """A loaded bm25s index plus the tokenizer whose vocabulary it was built with."""

    def __init__(self, folder: Path) -> None:
        bm25s = require("bm25s", extra="bm25s", feature="BM25 (bm25s backend)")
        path = folder / "bm25s"
        self._model = bm25s.BM25.load(str(path), mmap=False, show_progress=False)
        self._tokenizer = _tokenizer()
        self._tokenizer.load_vocab(str(path))
        self._doc_ids = json.loads((path / "doc_ids.json").read_text())

    def batch(self, texts: list[str], qids: list[str], k: int, threads: int,
              progress: bool = False) -> dict[str, list[tuple[str, float]]]:
        ids = self._tokenizer.tokenize(texts, update_vocab=False, show_progress=False,
                                       return_as="ids", allow_empty=False)
        out: dict[str, list[tuple[str, float]]] = {q: [] for q in qids}
        keep = [i for i, t in enumerate(ids) if t]  # no known term: nothing can match
        if not keep:
            return out
        k_eff = min(k, len(self._doc_ids))
        docs, scores = self._model.retrieve([ids[i] for i in keep], k=k_eff, n_threads=threads,
                                            show_progress=progress, return_as="tuple")
        doc_ids = self._doc_ids
        for row, i in enumerate(keep):
            out[qids[i]] = [(doc_ids[d], float(s))
                            for d, s in zip(docs[row].tolist(), scores[row].tolist(), strict=True)
                            if s > 0]
        return out
