"""Every code example in the README runs (tests/helpers/doc_blocks.py says how each kind of
block runs; tests/test_docs.py runs the docs/ pages' blocks the same way)."""

from __future__ import annotations

import pytest
from helpers.doc_blocks import REPO, blocks, commands, run_example

README = (REPO / "README.md").read_text()
COMMANDS = commands(README)


def test_readme_has_examples():
    kinds = {lang for lang, _ in blocks(README)}
    assert {"python", "bash", "sh"} <= kinds
    assert any("rankify-lite run --dataset beir/scifact --retriever bm25" in c for _, c in COMMANDS)


@pytest.mark.slow
@pytest.mark.parametrize("name,code", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_readme_example_runs(name, code, tmp_path):
    proc = run_example(name, code)
    if "--dataset beir/scifact --retriever bm25" in code:
        assert "0.6789" in proc.stdout and "0.9253" in proc.stdout and "0.9767" in proc.stdout
