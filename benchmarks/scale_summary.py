"""What BEIR's largest corpora and MS MARCO cost here (#34): one paragraph from the scale sections.

Reads the tables that ``scale_bm25.py``, ``scale_dense.py``, ``scale_encode.py``,
``scale_eval.py``, ``scale_rerank.py`` and ``dense_encode.py`` wrote into RESULTS.md, and writes
(1) the ``scale_summary`` section and (2) the same paragraph into README.md between the
``<!-- scale_summary:start -->`` / ``<!-- scale_summary:end -->`` markers, so the README's numbers
are RESULTS' numbers (``tests/test_readme_scale.py`` checks that the two agree). It measures
nothing itself: rerun the scale scripts, then this.

    python benchmarks/scale_summary.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from _results import loglog_fit  # the benchmarks folder is on sys.path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
START, END = "<!-- scale_summary:start -->", "<!-- scale_summary:end -->"


def section(text: str, name: str) -> str:
    m = re.search(rf"<!-- section:{re.escape(name)} -->(.*?)<!-- /section:{re.escape(name)} -->",
                  text, re.S)
    if not m:
        raise SystemExit(f"RESULTS.md has no {name!r} section: run benchmarks/{name}.py first")
    return m.group(1)


def tables(body: str) -> list[list[dict[str, str]]]:
    """Every markdown table of a section, as rows keyed by header."""
    out, lines = [], body.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            head = [c.strip() for c in lines[i].strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(dict(zip(head, (c.strip() for c in lines[i].strip("|").split("|")),
                                     strict=False)))
                i += 1
            out.append(rows)
        else:
            i += 1
    return out


def find(rows: list[dict[str, str]], **match: str) -> dict[str, str]:
    for r in rows:
        if all(r.get(k) == v for k, v in match.items()):
            return r
    raise SystemExit(f"no row {match} in {rows[:2]}...")


def num(s: str) -> float:
    return float(re.sub(r"[^0-9.eE+-]", "", s))


def paragraph(results: str) -> str:
    bm25_rows, bm25 = tables(section(results, "scale_bm25"))[:2]
    lucene, load = find(bm25, step="lucene"), find(bm25, step="load")
    # Lucene's peak = the loaded corpus + what Lucene adds (mostly the JVM): fit each part
    sizes = sorted({int(num(r["N"])) for r in bm25_rows if num(r["N"]) >= 100_000})
    own = [num(find(bm25_rows, step="lucene", N=f"{n:,}")["peak RSS MB"])
           - num(find(bm25_rows, step="load", N=f"{n:,}")["peak RSS MB"]) for n in sizes]
    slope, icpt = loglog_fit(sizes, own)
    lucene_own = {x: float(np.exp(icpt) * x ** slope) / 1024 for x in (5.42e6, 8.84e6)}
    dense_rows, dense = tables(section(results, "scale_dense"))[:2]
    flat384 = find(dense, index="flat", dim="384")
    mm = [r for r in dense_rows if r["index"] == "mmap" and r["dim"] == "384"
          and r["N"] == "8,800,000"]
    mmap_txt = (f"`mmap` streams from disk instead (measured at 8.8M x 384: "
                f"{mm[0]['search s (100 q, top-100)']} s for 100 queries, peak RSS "
                f"{num(mm[0]['peak RSS MB']) / 1024:.1f} GB, most of it reclaimable page cache)"
                if mm else "`mmap` streams from disk instead (bounded memory)")
    enc_real = num(find(tables(section(results, "dense_encode"))[0],
                        encoder="rankify_lite DenseEncoder")["docs/s"])
    enc_tiny = tables(section(results, "scale_encode"))[0]
    tiny_1m = find(enc_tiny, N="1,000,000")
    ev = find(tables(section(results, "scale_eval"))[1], system="rankify_lite",
              **{"fit over": "100,000, 1,000,000"})
    rr_cost = _rerank_cost(section(results, "scale_rerank"))
    marco, fever = 8.84e6, 5.42e6
    hours = {name: n / enc_real / 3600 for name, n in (("marco", marco), ("fever", fever))}
    return (
        "**What large corpora cost here** (2 CPU cores, no GPU; extrapolated from 10k-1M "
        "synthetic documents, see the `scale_*` sections of `benchmarks/RESULTS.md`). "
        f"BM25 with Lucene over MS MARCO's 8.8M passages: about "
        f"{lucene['MS MARCO 8.8M time']} to load, index and search 1,000 queries, peak RSS "
        f"about {num(load['MS MARCO 8.8M RSS GB']) + lucene_own[8.84e6]:.1f} GB: "
        f"{load['MS MARCO 8.8M RSS GB']} GB for the corpus itself, which `load_dataset` holds "
        f"as one `Corpus`, plus {lucene_own[8.84e6]:.1f} GB for Lucene and its JVM (FEVER's "
        f"5.4M: {lucene['FEVER 5.4M time']}, "
        f"{num(load['FEVER 5.4M RSS GB']) + lucene_own[5.42e6]:.1f} GB). Dense search over "
        f"8.8M x 384 vectors: `flat` holds about {flat384['RSS @8.8M GB']} GB in RAM; "
        f"{mmap_txt}. Encoding is the wall: a "
        f"real MiniLM-L6 encodes {enc_real:g} documents/s on this CPU, so MS MARCO takes "
        f"about {hours['marco']:.0f} h and FEVER {hours['fever']:.0f} h (the pipeline itself "
        f"sustains {num(tiny_1m['docs/s']):,.0f} docs/s with a tiny model, and resumes a "
        f"killed encode where it stopped). {rr_cost} Evaluating a 7M-line run (MS MARCO dev, "
        f"top-1000) takes about {ev['read+evaluate @7M s (extrapolated)']} s. A GPU changes "
        "the two neural steps, encoding and reranking, which are matrix products on the "
        "accelerator; BM25, loading, dense `flat` search on the CPU index and evaluation stay "
        "as above. No GPU was lent to these sessions, so GPU figures are not measured here "
        "(`benchmarks/gpu_all.sh` measures them when one is)."
    )


def _rerank_cost(body: str) -> str:
    """The scale_rerank sentence, from that section's BEIR extrapolation."""
    m = re.search(r"\*\*([0-9,]+)\*\* test queries.*?at the (?:measured|fitted) ([0-9.]+) "
                  r"s/query \(depth 100\) would take \*\*([0-9.]+) h\*\*", body, re.S)
    if not m:
        raise SystemExit("scale_rerank has no BEIR suite extrapolation: rerun scale_rerank.py")
    queries, per_q, hours = m.groups()
    layers = re.search(r"MiniLM-L6 width, (\d+) layers", body)
    model = (f"a {layers.group(1)}-layer, MiniLM-width cross-encoder (a 6-layer MiniLM-L6 "
             f"does about {6 / int(layers.group(1)):g}x the work per pair)" if layers
             else "a MiniLM-L6 cross-encoder")
    return (f"Reranking the BM25 top 100 of all {queries} BEIR test queries with {model} at "
            f"{per_q} s per query: about {hours} h.")


def main() -> None:
    sys.path.insert(0, str(HERE))
    from _results import RESULTS, write_section

    text = paragraph(RESULTS.read_text())
    write_section("scale_summary", text)
    readme = README.read_text()
    if START not in readme or END not in readme:
        raise SystemExit(f"README.md lacks the {START} / {END} markers")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    print(text)


if __name__ == "__main__":
    main()
