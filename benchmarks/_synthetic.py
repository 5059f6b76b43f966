"""Deterministic synthetic BEIR corpora for the scale benchmarks (#34).

Word types follow a Zipf law (``vocab`` made-up strings, rank ``r`` drawn with probability
proportional to ``r ** -exponent``, exponent ~1.1 as in English text). Document lengths are
log-normal with a mean of ~60 words, the shape of MS MARCO passages (median ~50, long right
tail), clipped to [5, 400]. Each query is 3-8 consecutive words of one document, and that
document is its one judged-relevant doc. Everything is written STREAMED to a BEIR folder
(corpus.jsonl, queries.jsonl, qrels/test.tsv): documents are generated and written in chunks,
so no more than one chunk of texts is ever held in RAM.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ROOT = Path("/tmp/bench-data/scale")
MEAN_WORDS = 60.0
SIGMA = 0.6  # log-normal shape; mu is chosen so the mean is MEAN_WORDS
_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def _words(vocab: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 7)
    lens = rng.integers(3, 10, vocab)
    chars = _LETTERS[rng.integers(0, 26, int(lens.sum()))]
    out, pos = [], 0
    for n in lens:
        out.append("".join(chars[pos:pos + n]))
        pos += n
    return np.array(out, dtype=object)


def _zipf_cdf(vocab: int, exponent: float) -> np.ndarray:
    w = np.arange(1, vocab + 1, dtype=np.float64) ** -exponent
    return np.cumsum(w / w.sum())


def generate(folder: str | Path, n_docs: int, n_queries: int = 1000, vocab: int = 200_000,
             exponent: float = 1.1, seed: int = 0, chunk: int = 10_000) -> Path:
    """Write a BEIR folder of ``n_docs`` synthetic documents; reuse it when already complete."""
    folder = Path(folder)
    done = folder / ".complete"
    if done.exists():
        return folder
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    words = _words(vocab, seed)
    cdf = _zipf_cdf(vocab, exponent)
    rng = np.random.default_rng(seed)
    mu = np.log(MEAN_WORDS) - SIGMA ** 2 / 2
    qdocs = set(np.random.default_rng(seed + 1).choice(n_docs, min(n_queries, n_docs),
                                                       replace=False).tolist())
    with open(folder / "corpus.jsonl", "w") as c, open(folder / "queries.jsonl", "w") as q, \
            open(folder / "qrels" / "test.tsv", "w") as r:
        r.write("query-id\tcorpus-id\tscore\n")
        for start in range(0, n_docs, chunk):
            n = min(chunk, n_docs - start)
            lens = np.clip(rng.lognormal(mu, SIGMA, n).astype(int), 5, 400)
            ids = np.searchsorted(cdf, rng.random(int(lens.sum())))
            ids = np.minimum(ids, vocab - 1)
            pos = 0
            for i, length in enumerate(lens):
                toks = words[ids[pos:pos + length]]
                pos += length
                d = start + i
                c.write(json.dumps({"_id": f"d{d}", "title": "", "text": " ".join(toks)}) + "\n")
                if d in qdocs:
                    k = int(rng.integers(3, 9))
                    at = int(rng.integers(0, max(1, length - k + 1)))
                    q.write(json.dumps({"_id": f"q{d}", "text": " ".join(toks[at:at + k])}) + "\n")
                    r.write(f"q{d}\td{d}\t1\n")
    done.write_text(str(n_docs))
    return folder


def dataset_dir(n_docs: int) -> Path:
    return generate(ROOT / f"n{n_docs}", n_docs)
