"""The quickstart notebook executes offline and shows the numbers a reader expects."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from helpers.tiny import cached_or_skip

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _load_builder():
    spec = importlib.util.spec_from_file_location("make_quickstart",
                                                  NOTEBOOKS / "make_quickstart.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _texts(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                parts.append(f"ERROR {out.get('ename')}: {out.get('evalue')}")
            parts.append(out.get("text", ""))
            data = out.get("data", {})
            parts += [data.get("text/plain", ""), data.get("text/markdown", "")]
    return "\n".join(parts)


def _has_png(nb) -> bool:
    return any("image/png" in out.get("data", {})
               for c in nb.cells for out in c.get("outputs", []))


def test_committed_notebook_has_visible_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    text = _texts(nb)
    assert "ERROR" not in text
    assert "0.5058" in text and "0.7308" in text  # BM25 and SPLADE++ on DL19, as published
    assert "| c | SPLADE++ | 0.7308<sup>ab</sup> †" in text
    assert _has_png(nb)
    # the committed notebook is the one the builder makes (same cells, same order)
    built = _load_builder().build()
    assert [c.source for c in nb.cells] == [c.source for c in built.cells]


@pytest.mark.slow
def test_notebook_executes_offline():
    """On the bundled DL19 alone (no ../shared); MiniLM from the local Hugging Face cache."""
    pytest.importorskip("nbclient")
    cached_or_skip("sentence-transformers/all-MiniLM-L6-v2")

    builder = _load_builder()
    nb = builder.execute(builder.build(), timeout=900)
    text = _texts(nb)
    assert "ERROR" not in text, text
    assert "0.5058" in text and "0.7308" in text
    assert "bm25 » minilm" in text  # the leaderboard cell ran
    assert _has_png(nb)
