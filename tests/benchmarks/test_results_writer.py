"""benchmarks/_results.py: a script rewrites only its own section of RESULTS.md, marks it for
inclusion by name, and keeps the hand-written notes beside it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _writer():
    spec = importlib.util.spec_from_file_location("bench_results", REPO / "benchmarks/_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_rewritten_section_keeps_its_notes_and_its_include_markers(tmp_path):
    writer, results = _writer(), tmp_path / "RESULTS.md"
    writer.write_section("speed", "| path | docs/s |\n|---|---|\n| ours | 10.5 |", results, "x")
    writer.write_section("other", "untouched", results, "y")
    text = results.read_text()
    notes = ("<!-- notes:speed -->\n<!-- --8<-- [start:speed-notes] -->\nours is fast.\n"
             "<!-- --8<-- [end:speed-notes] -->\n<!-- /notes:speed -->\n")
    results.write_text(text.replace("<!-- /section:speed -->\n", "<!-- /section:speed -->\n\n" + notes))
    writer.write_section("speed", "| path | docs/s |\n|---|---|\n| ours | 12.0 |", results, "x")
    text = results.read_text()
    assert "12.0" in text and "10.5" not in text and "untouched" in text
    assert notes in text and text.index("<!-- /section:speed -->") < text.index(notes)
    start, end = text.index("[start:speed]"), text.index("[end:speed]")
    assert start < text.index("benchmarks/x.py") < text.index("12.0") < end


def test_every_section_of_results_md_can_be_included_by_name():
    text = (REPO / "benchmarks/RESULTS.md").read_text()
    names = [line.split(":", 1)[1].removesuffix(" -->")
             for line in text.splitlines() if line.startswith("<!-- section:")]
    assert names
    for name in names:
        assert f"<!-- --8<-- [start:{name}] -->" in text and f"<!-- --8<-- [end:{name}] -->" in text
