"""Probes of issue #23 that already held on main, kept under test: registry imports from a
file refused, no pickle on cache files, CRLF inputs, duplicate ids, a read-only cache."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers.small_data import small_dl19

from rankify_lite import Pipeline
from rankify_lite.cli.main import main
from rankify_lite.errors import InputError
from rankify_lite.io.jsonl import read_corpus, read_queries_jsonl
from rankify_lite.io.trec import read_qrels, read_run, read_topics

PACKAGE = Path(__file__).resolve().parents[2] / "rankify_lite"


@pytest.fixture
def saved(shared_data, tmp_path) -> Path:
    data = small_dl19(shared_data, tmp_path / "data")
    result = Pipeline("run:bm25.top10", cache=False, progress=False).run(str(data))
    result.save(tmp_path / "result")
    return tmp_path / "result" / "meta.json"


@pytest.mark.parametrize("where", ["reranker", "first_stage"])
def test_an_import_path_as_family_is_refused(saved, capsys, tmp_path, where):
    marker = tmp_path / "marker"
    meta = json.loads(saved.read_text())
    spec = {"kind": "reranker", "family": "os:system", "options": {"command": f"touch {marker}"},
            "rebuildable": True}
    if where == "reranker":
        meta["pipeline"]["rerankers"] = [{"family": "os:system", "spec": spec}]
    else:
        meta["pipeline"]["first_stage"] = {**spec, "kind": "first-stage"}
    saved.write_text(json.dumps(meta))
    assert main(["rerun", str(saved)]) == 2
    err = capsys.readouterr().err
    assert "os:system" in err and "Traceback" not in err
    assert not marker.exists()
    from rankify_lite.leaderboard import parse_config

    with pytest.raises(InputError, match="os:system"):
        parse_config({"datasets": ["d"], "first_stages": [{"run": "r"}],
                      "rerankers": [{"family": "os:system"}]})


def test_no_pickle_is_read_from_cache_files():
    """Caches are text, JSON and .npy arrays read without pickle (numpy's default)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if re.search(r"allow_pickle\s*=\s*True|pickle\.loads?\(|joblib\.load|dill\.load|"
                     r"torch\.load\((?![^\n]*weights_only=True)", text):
            offenders.append(str(path.relative_to(PACKAGE)))
    assert not offenders


def test_crlf_files_read_as_lf(tmp_path):
    def both(name: str, text: str) -> tuple[Path, Path]:
        lf, crlf = tmp_path / f"lf-{name}", tmp_path / f"crlf-{name}"
        lf.write_bytes(text.encode())
        crlf.write_bytes(text.replace("\n", "\r\n").encode())
        return lf, crlf

    lf, crlf = both("run.trec", "q1 Q0 d1 1 2.5 t\nq1 Q0 d2 2 1.5 t\n")
    assert read_run(lf).to_dict() == read_run(crlf).to_dict() == {"q1": {"d1": 2.5, "d2": 1.5}}
    lf, crlf = both("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t2\n")
    assert read_qrels(lf).to_dict() == read_qrels(crlf).to_dict() == {"q1": {"d1": 2}}
    lf, crlf = both("topics.tsv", "q1\thello world\n")
    assert read_topics(lf).texts() == read_topics(crlf).texts() == {"q1": "hello world"}
    lf, crlf = both("queries.jsonl", '{"_id": "q1", "text": "hello"}\n')
    assert read_queries_jsonl(lf).texts() == read_queries_jsonl(crlf).texts()
    lf, crlf = both("corpus.jsonl", '{"_id": "d1", "text": "x y"}\n')
    assert read_corpus(lf)["d1"].text == read_corpus(crlf)["d1"].text == "x y"


@pytest.mark.parametrize("name, text, reader", [
    ("corpus.jsonl", '{"_id": "d1", "text": "a"}\n{"_id": "d1", "text": "b"}\n', read_corpus),
    ("queries.jsonl", '{"_id": "q1", "text": "a"}\n{"_id": "q1", "text": "b"}\n',
     read_queries_jsonl),
    ("topics.tsv", "q1\ta\nq1\tb\n", read_topics),
    ("run.trec", "q1 Q0 d1 1 2.0 t\nq1 Q0 d1 2 1.0 t\n", read_run),
])
def test_duplicate_ids_are_refused_naming_the_line(tmp_path, name, text, reader):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match="(?i)duplicate|twice") as err:
        reader(path)
    assert str(path) in str(err.value)


def test_a_read_only_cache_still_runs(shared_data, tmp_path, monkeypatch):
    """Every write into the cache fails (a read-only mount: root ignores permission bits, so
    the mount is simulated); the run still scores, uncached, and says so."""
    import builtins
    import errno
    import os
    import tempfile

    data = small_dl19(shared_data, tmp_path / "data")
    cache = tmp_path / "ro-cache"
    cache.mkdir()
    from rankify_lite import load_reranker

    truth = Pipeline("run:bm25.top10", load_reranker("identity"), depth=5, cache=False,
                     progress=False).run(str(data))

    def inside(path) -> bool:
        return str(path).startswith(str(cache))

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    real_open, real_mkstemp, real_write = builtins.open, tempfile.mkstemp, Path.write_text
    monkeypatch.setattr(builtins, "open", lambda f, mode="r", *a, **k: refuse(f) if inside(f)
                        and any(c in mode for c in "wax+") else real_open(f, mode, *a, **k))
    monkeypatch.setattr(tempfile, "mkstemp", lambda *a, **k: refuse(k.get("dir"))
                        if inside(k.get("dir")) else real_mkstemp(*a, **k))
    monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: refuse(self) if inside(self)
                        else real_write(self, *a, **k))
    got = Pipeline("run:bm25.top10", load_reranker("identity"), depth=5, cache=cache,
                   progress=False).run(str(data))
    assert got.metrics == truth.metrics
    assert any("read-only" in n and "not cached" in n for n in got.notes)
    assert not list(cache.iterdir())
