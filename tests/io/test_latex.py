"""The one LaTeX escaper (rankify_lite.io.latex), used by every .tex table: a name from a shared
YAML is printed, never run (review 8)."""

from __future__ import annotations

import pytest

from rankify_lite.io.latex import latex_escape
from rankify_lite.systems import SystemId

SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
            "%": r"\%", "#": r"\#", "_": r"\_", "^": r"\^{}", "~": r"\~{}"}


@pytest.mark.parametrize("char", list(SPECIALS))
def test_each_special_character_is_escaped_once(char):
    assert latex_escape(f"a{char}b") == f"a{SPECIALS[char]}b"


def test_a_hostile_name_becomes_text_in_every_latex_table():
    name = r"\input{/etc/passwd}$x^~"
    escaped = r"\textbackslash{}input\{/etc/passwd\}\$x\^{}\~{}"
    assert latex_escape(name) == escaped
    assert SystemId.from_label(f"bm25>>{name}").display("latex") == f"bm25 $\\gg$ {escaped}"
    assert latex_escape("line\n\\input{x}") == r"line \textbackslash{}input\{x\}"
    assert latex_escape("ce_l12 & 50%") == r"ce\_l12 \& 50\%"       # as before


def test_comparison_latex_escapes_names():
    from rankify_lite import compare
    from rankify_lite.types import Qrels, Run

    qrels = Qrels({"q1": {"d1": 1}})
    runs = [Run.from_scores({"q1": {"d1": 2.0, "d2": 1.0}}, name="bm25"),
            Run.from_scores({"q1": {"d1": 1.0, "d2": 2.0}}, name=r"bm25>>\input{/etc/passwd}")]
    tex = compare(runs, qrels, ["ndcg@10"]).to_latex()
    assert r"\input" not in tex and r"\textbackslash{}input\{/etc/passwd\}" in tex
