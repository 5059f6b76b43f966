"""The README's paragraph on what large corpora cost is RESULTS.md's ``scale_summary`` section,
word for word (benchmarks/scale_summary.py writes both; nobody copies numbers by hand)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_readme_scale_paragraph_is_the_results_section():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- scale_summary:start -->\n(.*?)\n<!-- scale_summary:end -->",
                      readme, re.S)
    assert block, "README.md lacks the scale_summary markers"
    results = (REPO / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    section = re.search(r"<!-- --8<-- \[start:scale_summary\] -->\n_`benchmarks/[^\n]*_\n\n"
                        r"(.*?)\n<!-- --8<-- \[end:scale_summary\] -->", results, re.S)
    assert section, "RESULTS.md has no scale_summary section: run benchmarks/scale_summary.py"
    assert block.group(1).strip() == section.group(1).strip()
    # it states the MS MARCO and FEVER figures, not a placeholder
    assert re.search(r"8\.8M passages: about [0-9.]+ min", block.group(1))
    assert re.search(r"FEVER's 5\.4M: [0-9.]+ min", block.group(1))
