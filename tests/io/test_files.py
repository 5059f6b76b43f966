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


def test_corrupt_gzip_body_is_a_clear_error_not_zlib_error(tmp_path, capsys):
    """A deflate stream with flipped bytes raises zlib.error, none of EOFError/OSError/LZMA
    (review 10): one InputError naming the file, one line through the CLI."""
    from rankify_lite.cli.main import main

    path = tmp_path / "run.trec.gz"
    data = bytearray(gzip.compress("".join(f"q{i} Q0 d{i} 1 1.0 t\n"
                                           for i in range(2000)).encode()))
    for off in range(20, 60):
        data[off] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="truncated or corrupt") as exc:
        read_run(path)
    assert str(exc.value).startswith(str(path))
    qrels = tmp_path / "q.tsv"
    qrels.write_text("q1\t0\td1\t1\n")
    assert main(["eval", "--qrels", str(qrels), "--run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "truncated or corrupt" in err


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
