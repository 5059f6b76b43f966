"""Build notebooks/quickstart.ipynb from the cells below and execute it (outputs are stored).

    python notebooks/make_quickstart.py            # rebuild + execute (about a minute on CPU)

Runs on a fresh clone: the TREC DL19 re-ranking subset and its first-stage runs ship inside the
package (``load_dataset("dl19")``); the all-MiniLM-L6-v2 weights come from the Hugging Face hub,
or, offline, from the local cache (``python scripts/install_offline_models.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "quickstart.ipynb"

CELLS = [
    ("md", """# rankify_lite quickstart

Load a dataset, run two pipelines, compare them with significance tests, and plot the result.
Everything here runs on a laptop CPU in about a minute: TREC DL 2019 passage (43 queries, the
re-ranking subset that ships inside the package), the BM25 and SPLADE++ first-stage runs shipped
with it, and the `all-MiniLM-L6-v2` bi-encoder as a reranker (its weights come from the Hugging
Face hub; without the hub, run `python scripts/install_offline_models.py` once)."""),
    ("code", """import os
import warnings
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in the stored outputs
warnings.filterwarnings("ignore", message="IProgress not found")

from rankify_lite import Pipeline, load_dataset  # noqa: E402 (after the settings above)
from rankify_lite.rerankers import load_reranker  # noqa: E402

ds = load_dataset("dl19")   # bundled: TREC DL 2019 passage re-ranking subset with its runs
print(ds, "| graded qrels, binary metrics count grade >=", ds.rel_level)"""),
    ("md", """## Two pipelines

1. BM25 (the shipped `bm25.top100` run), its top 20 reranked by the MiniLM bi-encoder;
2. SPLADE++ EnsembleDistil (the shipped `splade-pp-ed.top100` run), no reranker.

Results are cached by content hash, so running this cell again is instant."""),
    ("code", """metrics = ["ndcg@10", "recall@100"]
bm25_minilm = Pipeline("run:bm25.top100", load_reranker("bi-encoder"), depth=20,
                       metrics=metrics, progress=False).run(ds)
splade = Pipeline("run:splade-pp-ed.top100", metrics=metrics, progress=False).run(ds)
print(bm25_minilm)
print(splade.metrics)"""),
    ("md", """## Compare them

`compare` evaluates every run on the same topics (trec_eval-exact), runs paired t-tests between
all pairs, Holm-corrects them per metric and marks with letters the systems each one beats."""),
    ("code", """from IPython.display import Markdown, display

from rankify_lite.evaluation import compare

runs = {"BM25": bm25_minilm.first_stage, "BM25 >> MiniLM": bm25_minilm.run,
        "SPLADE++": splade.run}
comparison = compare(runs, ds.qrels, metrics, baseline="BM25", rel_level=ds.rel_level)
display(Markdown(comparison.to_markdown()))
print(comparison.to_text())"""),
    ("md", """## Per query: where does SPLADE++ win?

Each bar is one query's nDCG@10 difference from BM25, sorted."""),
    ("code", """%matplotlib inline
import matplotlib.pyplot as plt

ev = {name: e for name, e in zip(comparison.systems, comparison.evaluations, strict=True)}
base = ev["BM25"].per_query["ndcg@10"]
fig, ax = plt.subplots(figsize=(8, 3.2))
for name, color in (("SPLADE++", "tab:blue"), ("BM25 >> MiniLM", "tab:orange")):
    deltas = sorted(ev[name].per_query["ndcg@10"][q] - base[q] for q in base)
    ax.bar([i + (0.4 if color == "tab:orange" else 0) for i in range(len(deltas))], deltas,
           width=0.4, color=color, label=name)
ax.axhline(0, color="black", linewidth=0.8)
ax.set_xlabel("queries (sorted by difference)")
ax.set_ylabel("nDCG@10 minus BM25")
ax.set_title("TREC DL19: per-query nDCG@10 difference from BM25")
ax.legend()
plt.show()"""),
    ("md", """## A whole leaderboard from one config

The same comparison as a leaderboard (the dict is what a YAML file holds; see
`benchmarks/leaderboards/main.yaml` and `rankify-lite leaderboard CONFIG`). It reuses the cached
runs above and writes a Markdown/LaTeX table, a per-query CSV and two plots."""),
    ("code", """import tempfile

from rankify_lite.leaderboard import parse_config, run_leaderboard
from rankify_lite.leaderboard.report import summary_markdown, write_reports

config = parse_config({
    "name": "quickstart", "metrics": metrics, "baseline": "bm25",
    "datasets": [{"name": "trec-dl/dl19-passage", "label": "DL19"}],
    "first_stages": [{"name": "bm25", "run": "bm25.top100"},
                     {"name": "splade++", "run": "splade-pp-ed.top100"}],
    "rerankers": [{"name": "minilm", "family": "bi-encoder", "depth": 20,
                   "first_stages": ["bm25"]}],
})
board = run_leaderboard(config, progress=False, log=None)
out = write_reports(board, Path(tempfile.mkdtemp()) / "quickstart")
display(Markdown(summary_markdown(board)))
print("served from cache:", board.cached_stages, "of", board.cached_stages + board.computed_stages,
      "stages; files:", sorted(out))"""),
]


def build():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md"
                else nbformat.v4.new_code_cell(src) for kind, src in CELLS]
    return nb


def execute(nb, cwd: Path = HERE, timeout: int = 600):
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def main() -> None:
    import nbformat

    nb = execute(build())
    for cell in nb.cells:  # keep stored outputs stable: drop execution timestamps
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, NOTEBOOK)
    print(f"wrote {NOTEBOOK}", file=sys.stderr)


if __name__ == "__main__":
    main()
