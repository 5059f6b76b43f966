"""A UTF-8 byte order mark is skipped by every reader; a lone surrogate escape is a
``path:line:`` error at read time, not a UnicodeEncodeError later (issue #23, item 10)."""

from __future__ import annotations

import pytest

from rankify_lite.errors import InputError
from rankify_lite.io.jsonl import read_corpus, read_queries_jsonl
from rankify_lite.io.trec import read_qrels, read_run, read_topics
from rankify_lite.io.yaml_file import load_yaml_file

BOM = "\ufeff".encode()


def test_bom_is_skipped_by_every_reader(tmp_path):
    queries = tmp_path / "queries.jsonl"
    queries.write_bytes(BOM + b'{"_id": "q1", "text": "hello"}\n')
    assert read_topics(queries).texts() == read_queries_jsonl(queries).texts() == {"q1": "hello"}
    tsv = tmp_path / "topics.tsv"
    tsv.write_bytes(BOM + b"q1\thello\n")
    assert read_topics(tsv).texts() == {"q1": "hello"}
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_bytes(BOM + b'{"_id": "d1", "text": "x"}\n')
    assert list(read_corpus(corpus)) == ["d1"]
    run = tmp_path / "run.trec"
    run.write_bytes(BOM + b"q1 Q0 d1 1 2.0 t\n")
    assert read_run(run).to_dict() == {"q1": {"d1": 2.0}}
    qrels = tmp_path / "qrels.txt"
    qrels.write_bytes(BOM + b"q1 0 d1 1\n")
    assert read_qrels(qrels).to_dict() == {"q1": {"d1": 1}}
    yml = tmp_path / "x.yaml"
    yml.write_bytes(BOM + b"name: x\n")
    assert load_yaml_file(yml) == {"name": "x"}


def test_lone_surrogate_is_a_read_time_error_naming_the_line(tmp_path):
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"_id": "q1", "text": "fine"}\n{"_id": "q2", "text": "bad \\ud800 x"}\n')
    for reader in (read_queries_jsonl, read_topics):
        with pytest.raises(InputError, match="lone surrogate") as err:
            reader(queries)
        assert str(err.value).startswith(f"{queries}:2:")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"_id": "d\\udfff", "text": "x"}\n')
    with pytest.raises(InputError, match="lone surrogate"):
        read_corpus(corpus)
    pair = tmp_path / "pair.jsonl"  # a valid surrogate pair is a real character
    pair.write_text('{"_id": "q1", "text": "\\ud83d\\ude00"}\n')
    assert read_queries_jsonl(pair).texts() == {"q1": "\U0001f600"}
