"""Bad files give one clear error naming the file and line, never a traceback (issue #11)."""

from __future__ import annotations

import gzip

import pytest

from rankify_lite.errors import InputError
from rankify_lite.io.jsonl import read_corpus
from rankify_lite.io.trec import read_qrels, read_run


def test_non_utf8_corpus_bytes_name_file_and_line(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b'{"_id": "d1", "text": "fine"}\n{"_id": "d2", "text": "caf\xe9"}\n')
    with pytest.raises(InputError, match="not UTF-8") as err:
        read_corpus(path)
    assert str(err.value).startswith(f"{path}:2:")


def test_compression_is_detected_by_content_not_name(tmp_path):
    lines = "q1 Q0 d1 1 2.5 t\nq1 Q0 d2 2 1.5 t\n"
    disguised = tmp_path / "run.trec"           # gzip bytes under a plain name
    disguised.write_bytes(gzip.compress(lines.encode()))
    plain = tmp_path / "run.trec.gz"            # plain text under a .gz name
    plain.write_text(lines)
    assert read_run(disguised).to_dict() == read_run(plain).to_dict() == \
        {"q1": {"d1": 2.5, "d2": 1.5}}


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "run.trec.gz"
    body = "".join(f"q1 Q0 d{i} {i} {1.0 / (i + 1)!r} t\n" for i in range(3000)).encode()
    path.write_bytes(gzip.compress(body)[:2000])
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_run(path)


def test_missing_file_and_folder_given_as_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_run(tmp_path / "nope.trec")
    with pytest.raises(InputError, match="is a folder, not a file"):
        read_qrels(tmp_path)


def test_headerless_qrels_keep_a_first_line_graded_3_0(tmp_path):
    path = tmp_path / "qrels.txt"
    path.write_text("q1 0 d1 3.0\nq1 0 d2 1\n")
    assert read_qrels(path).to_dict() == {"q1": {"d1": 3, "d2": 1}}
    header = tmp_path / "h.tsv"
    header.write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\n")
    assert read_qrels(header).to_dict() == {"q1": {"d1": 2}}
    half = tmp_path / "half.tsv"
    half.write_text("q1\td1\t0.5\n")
    with pytest.raises(InputError, match="grade .*'0.5' is not a whole number"):
        read_qrels(half)


@pytest.mark.parametrize("score", ["inf", "-inf", "nan"])
def test_non_finite_scores_are_refused_alike(tmp_path, score):
    path = tmp_path / "run.trec"
    path.write_text(f"q1 Q0 d1 1 {score} t\n")
    with pytest.raises(InputError, match="not finite") as err:
        read_run(path)
    assert f"{path}:1:" in str(err.value)
