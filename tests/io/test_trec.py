import gzip

import pytest

from rankify_lite.errors import InputError
from rankify_lite.io.jsonl import read_corpus
from rankify_lite.io.trec import read_qrels, read_run, read_topics, write_run
from rankify_lite.types import Run


def test_run_round_trip_is_byte_stable(tmp_path):
    run = Run.from_scores({"1": {"d1": 2.5, "d2": 1.25}, "2": {"d3": 0.5}}, name="sys")
    path = tmp_path / "a.trec"
    write_run(run, path)
    assert path.read_text().splitlines()[0] == "1 Q0 d1 1 2.5 sys"
    again = tmp_path / "b.trec"
    write_run(read_run(path), again, tag="sys")
    assert again.read_bytes() == path.read_bytes()


def test_close_scores_survive_a_round_trip(tmp_path):
    run = Run.from_scores({"q": {"a": 0.12345671, "b": 0.12345669, "c": 0.12345670}})
    write_run(run, tmp_path / "r.trec")
    assert read_run(tmp_path / "r.trec")["q"] == run["q"]


def test_gzipped_run(tmp_path):
    path = tmp_path / "r.trec.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("q Q0 d 1 1.0 t\n")
    assert read_run(path)["q"].doc_ids == ("d",)


@pytest.mark.parametrize("line,match", [
    ("q Q0 d 1 1.0\n", "6 columns"),
    ("q Q0 d 1 high tag\n", "not a number"),
])
def test_bad_run_lines_name_file_and_line(tmp_path, line, match):
    path = tmp_path / "bad.trec"
    path.write_text("q Q0 ok 1 2.0 t\n" + line)
    with pytest.raises(InputError, match=match) as err:
        read_run(path)
    assert f"{path}:2:" in str(err.value)
    assert "Fix:" in str(err.value)


def test_duplicate_pair_in_run(tmp_path):
    path = tmp_path / "dup.trec"
    path.write_text("q Q0 d 1 2.0 t\nq Q0 d 2 1.0 t\n")
    with pytest.raises(InputError, match="twice") as err:
        read_run(path)
    assert f"{path}:2:" in str(err.value)


def test_failed_write_leaves_no_half_file(tmp_path):
    class Boom(Run):
        def items(self):
            yield "q", self.lists["q"]
            raise RuntimeError("disk full")

    run = Boom.from_scores({"q": {"d": 1.0}})
    path = tmp_path / "out.trec"
    with pytest.raises(RuntimeError):
        write_run(run, path)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_qrels_with_and_without_header_agree(tmp_path):
    with_header = tmp_path / "h.tsv"
    with_header.write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\n")
    no_header = tmp_path / "n.tsv"
    no_header.write_text("q1\td1\t1\nq1\td2\t0\n")
    trec = tmp_path / "t.qrels"
    trec.write_text("q1 0 d1 1\nq1 0 d2 0\n")
    assert read_qrels(with_header).to_dict() == read_qrels(no_header).to_dict() \
        == read_qrels(trec).to_dict() == {"q1": {"d1": 1, "d2": 0}}


def test_qrels_bad_grade_later_line(tmp_path):
    path = tmp_path / "q.tsv"
    path.write_text("q1\td1\t1\nq1\td2\tyes\n")
    with pytest.raises(InputError, match="grade .*'yes' is not a whole number") as err:
        read_qrels(path)
    assert f"{path}:2:" in str(err.value)


def test_malformed_jsonl_names_the_line(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": "1", "text": "a"}\n{"_id": "2", "text": \n')
    with pytest.raises(InputError, match="malformed JSON") as err:
        read_corpus(path)
    assert f"{path}:2:" in str(err.value)


def test_topic_formats(tmp_path):
    tsv = tmp_path / "t.tsv"
    tsv.write_text("1\thello world\n2\tfoo\n")
    sgml = tmp_path / "t.txt"
    sgml.write_text("<top>\n<num> Number: 301\n<title> International Organized Crime\n"
                    "<desc> Description:\nx\n</top>\n")
    assert read_topics(tsv)["1"].text == "hello world"
    assert read_topics(sgml)["301"].text == "International Organized Crime"


@pytest.mark.parametrize("rank,score,match", [
    ("1_0", "2.0", "rank .*'1_0'"),               # Python's int() reads 10
    ("1", "1_0.5", "score .*'1_0.5'"),            # Python's float() reads 10.5
    ("\u0661", "2.0", "rank .*'\u0661'"),         # an Arabic-Indic one
    ("1", "\u0662.5", "score .*'\u0662.5'"),
    ("1", "nan", "score .*'nan' is not finite"),
    ("1", "1e999", "score .*'1e999' is not finite"),
    ("-1", "2.0", "rank .*'-1' is out of range"),
    ("1.5", "2.0", "rank .*'1.5' is not a whole number"),
    ("x", "2.0", "rank .*'x' is not a whole number"),
])
def test_run_numbers_are_plain_ascii_and_finite(tmp_path, rank, score, match):
    path = tmp_path / "r.trec"
    path.write_text(f"q Q0 ok 1 3.0 t\nq Q0 d {rank} {score} t\n", encoding="utf-8")
    with pytest.raises(InputError, match=match) as err:
        read_run(path)
    assert f"{path}:2:" in str(err.value) and "Fix:" in str(err.value)


def test_run_ranks_from_zero_and_written_as_floats_are_read(tmp_path):
    path = tmp_path / "r.trec"
    path.write_text("q Q0 a 0 1.5e0 t\nq Q0 b 1.0 -.5 t\nq Q0 c 2 +3 t\n")
    assert read_run(path).to_dict() == {"q": {"c": 3.0, "a": 1.5, "b": -0.5}}


@pytest.mark.parametrize("grade,match", [
    ("1_0", "'1_0' is not a whole number"), ("\u0662", "'\u0662' is not a whole number"),
    ("nan", "'nan' is not finite"), ("inf", "'inf' is not finite"),
    ("2.5", "'2.5' is not a whole number"), ("1e99", "out of range"),
])
def test_qrels_grades_follow_the_number_rule_on_any_line(tmp_path, grade, match):
    """A bad grade on the first line is refused too, not skipped as if it were a header."""
    for lines in ([f"q1 0 d1 {grade}", "q1 0 d2 1"], ["q1 0 d2 1", f"q1 0 d1 {grade}"]):
        path = tmp_path / "q.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with pytest.raises(InputError, match=match) as err:
            read_qrels(path)
        assert f"{path}:{1 + lines.index(next(x for x in lines if grade in x))}:" in \
            str(err.value)


def test_qrels_negative_grades_and_repeated_equal_judgements(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text("q1 0 spam -2\nq1 0 d1 2\nq1 0 d1 2.0\n")
    assert read_qrels(path).to_dict() == {"q1": {"spam": -2, "d1": 2}}
    path.write_text("q1 0 d1 2\nq1 0 d1 1\n")
    with pytest.raises(InputError, match="judged twice .* different grades") as err:
        read_qrels(path)
    assert f"{path}:2:" in str(err.value)
