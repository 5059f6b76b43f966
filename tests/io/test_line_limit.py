"""No input line is read into memory beyond a bound (issue #38, item 7): a compressed corpus,
run, qrels or topics file whose one line expands without limit is refused with the file and
the line number, in the one place input lines are read (io/files.iter_lines); gzip, bzip2 and
xz are recognised by their magic bytes."""

from __future__ import annotations

import bz2
import gzip
import lzma
import tracemalloc

import pytest

from rankify_lite.errors import InputError
from rankify_lite.io import files
from rankify_lite.io.files import MAX_LINE_BYTES, iter_lines
from rankify_lite.io.jsonl import read_corpus, read_queries_jsonl
from rankify_lite.io.trec import read_qrels, read_run

COMPRESS = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress, "txt": lambda b: b}


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(files, "MAX_LINE_BYTES", 100)
    return 100


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_each_compression_reads_alike(tmp_path, kind):
    path = tmp_path / f"run.{kind}"
    path.write_bytes(COMPRESS[kind](b"q1 Q0 d1 1 2.5 t\nq1 Q0 d2 2 1.5 t\n"))
    assert read_run(path).to_dict() == {"q1": {"d1": 2.5, "d2": 1.5}}


def test_a_plain_file_starting_like_bzip2_is_plain(tmp_path):
    path = tmp_path / "queries.jsonl"
    path.write_text("BZh9 is not a header\n")
    assert [t for _, t in iter_lines(path)] == ["BZh9 is not a header\n"]


@pytest.mark.parametrize("kind", sorted(COMPRESS))
@pytest.mark.parametrize("reader, good, what", [
    (read_corpus, '{"_id": "d%d", "text": "x"}\n', "JSONL file"),
    (read_queries_jsonl, '{"_id": "q%d", "text": "x"}\n', "JSONL file"),
    (read_run, "q1 Q0 d%d 1 2.5 t\n", "run file"),
    (read_qrels, "q1 0 d%d 1\n", "qrels file"),
])
def test_a_long_line_is_refused_with_its_number(tmp_path, small_limit, kind, reader, good,
                                                what):
    lines = [good % i for i in range(3)]
    lines.insert(2, good.replace("x", "x" * 200) if "x" in good else good[:-1] + " " * 200
                 + "\n")
    path = tmp_path / f"in.{kind}"
    path.write_bytes(COMPRESS[kind]("".join(lines).encode()))
    with pytest.raises(InputError) as err:
        reader(path)
    message = str(err.value)
    assert message.startswith(f"{path}:3: {what} line 3 is longer than 100 bytes"), message
    assert "\n" not in message


def test_the_bound_is_exact(tmp_path, small_limit):
    path = tmp_path / "t.txt"
    path.write_bytes(b"a" * 100 + b"\n" + b"b" * 100)  # both at the limit: fine
    assert [len(t.rstrip("\n")) for _, t in iter_lines(path)] == [100, 100]
    path.write_bytes(b"a" * 100 + b"\n" + b"b" * 101)  # one byte over, at the end of the file
    with pytest.raises(InputError, match=":2: file line 2 is longer"):
        list(iter_lines(path))


def test_a_gzip_bomb_line_is_refused_at_the_real_bound_without_reading_it_whole(tmp_path):
    path = tmp_path / "corpus.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:  # < 1 MiB on disk, 256 MiB one line
        fh.write(b'{"_id": "d1", "text": "ok"}\n{"_id": "d2", "text": "')
        block = b"a" * (1 << 20)
        for _ in range(256):
            fh.write(block)
        fh.write(b'"}\n')
    assert path.stat().st_size < 1 << 20 and MAX_LINE_BYTES == 64 << 20
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r":2: JSONL file line 2 is longer than 64 MiB"):
            read_corpus(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * MAX_LINE_BYTES < 256 << 20  # a bounded read, not the line it expands to
