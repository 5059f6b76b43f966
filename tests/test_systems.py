"""A system's typed identity, rendered in one place."""

from __future__ import annotations

import hashlib
import json

import pytest

from rankify_lite.errors import InputError
from rankify_lite.names import MAX_NAME
from rankify_lite.systems import HASH_MARK, SystemId, file_names, latex_escape


def test_labels_and_renderings():
    first = SystemId("bm25")
    reranked = SystemId("bm25_flat", "first-smollm2", 10)
    assert first.label == "bm25" and not first.is_reranked
    assert reranked.label == "bm25_flat>>first-smollm2" and str(reranked) == reranked.label
    assert reranked.display() == "bm25_flat » first-smollm2"
    assert reranked.display("latex") == "bm25\\_flat $\\gg$ first-smollm2"
    assert reranked.filename == "bm25_flat__first-smollm2"
    # a name a user spelled with spaces around >> reads with one space each side
    spaced = SystemId.from_label("BM25 >> MiniLM")
    assert spaced.display() == "BM25 » MiniLM" and spaced.label == "BM25 >> MiniLM"
    # a part that is not its own file name gets a readable slug plus a hash of the exact name
    assert SystemId("rrf(bm25+dense)", "x/y").filename.startswith("rrf(bm25+dense)__x_y~")
    assert SystemId("BM25 flat", "Mono+T5").slug == "bm25-flat-monopt5"


def test_from_label_reads_the_canonical_name_back():
    s = SystemId("splade++", "first", 100)
    assert SystemId.from_label(s.label, depth=100) == s
    assert SystemId.from_label("bm25") == SystemId("bm25")
    assert s.with_depth(None) == SystemId("splade++", "first")


# names that a file system would merge, split or refuse, each against what it must not become
CONFUSABLE = [
    (SystemId("bm25", "x/y"), SystemId("bm25", "x_y")),            # separator vs underscore
    (SystemId("bm25", "x\\y"), SystemId("bm25", "x_y")),           # Windows separator
    (SystemId("bm25", "A"), SystemId("bm25", "a")),               # case-insensitive disks
    (SystemId("BM25"), SystemId("bm25")),
    (SystemId("a_", "b"), SystemId("a", "_b")),                   # where '__' would be cut
    (SystemId("a__b"), SystemId("a", "b")),
    (SystemId("bm25", "x" * MAX_NAME + "1"), SystemId("bm25", "x" * MAX_NAME + "2")),  # cut
    (SystemId("bm25", "über"), SystemId("bm25", "_ber")),          # non-ASCII
    (SystemId("bm25", ".."), SystemId("bm25", "__")),
]


@pytest.mark.parametrize(("one", "other"), CONFUSABLE)
def test_file_names_are_injective_also_case_insensitively(one, other):
    a, b = one.filename, other.filename
    assert a.casefold() != b.casefold()
    assert file_names([one, other]) == {one.label: a + ".trec", other.label: b + ".trec"}


@pytest.mark.parametrize("system", [s for pair in CONFUSABLE for s in pair] + [
    SystemId("bm25", "../../etc/passwd"), SystemId("/abs/path"), SystemId("a\x00b", "c\nd"),
    SystemId("y" * 300, "z" * 300, 10, (("w" * 300, 5),))])
def test_a_file_name_is_one_safe_component_under_the_limits(system):
    stem = system.filename
    assert "/" not in stem and "\\" not in stem and "\x00" not in stem and "\n" not in stem
    assert not stem.startswith(".")
    # suffixes (.trec, atomic_write's .NAME.XXXXXXXX.tmp) leave it far under 255 bytes
    assert len(f".{stem}.trec.12345678.tmp".encode()) < 255
    exact = "__".join([system.first_stage, *system.rerankers])
    if stem != exact:  # the slug differs from the name: the exact name's hash is appended
        digest = hashlib.sha256(json.dumps([system.first_stage, *system.rerankers],
                                           ensure_ascii=False).encode()).hexdigest()[:8]
        assert stem.endswith(HASH_MARK + digest)


def test_plain_names_keep_their_old_file_names():
    """Results saved before hashing read the same files (their meta.json records them)."""
    assert SystemId("bm25").filename == "bm25"
    assert SystemId("bm25", "cross-encoder").filename == "bm25__cross-encoder"
    assert SystemId("splade-pp-ed.top100").filename == "splade-pp-ed.top100"


def test_a_name_that_looks_hashed_is_hashed_again():
    hashed = SystemId("A").filename
    assert SystemId(hashed).filename != hashed      # '~' is never plain: no forged collision


def test_two_systems_on_one_file_are_refused(monkeypatch):
    monkeypatch.setattr(SystemId, "filename", property(lambda self: "same"))
    with pytest.raises(InputError, match=r"'bm25>>a' and 'bm25>>b' would be saved to one "
                                         r"file, 'same.trec'.*Fix: rename") as err:
        file_names([SystemId("bm25", "a"), SystemId("bm25", "b")])
    assert "\n" not in str(err.value)


# the one LaTeX escaper, used by every .tex table: a name from a shared YAML is printed,
# never run (review 8)
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
