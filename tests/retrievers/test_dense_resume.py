"""Dense corpus encoding survives a kill: the next run resumes at the first missing chunk,
recomputes nothing before it, and writes the same bytes as a run that was never stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from helpers.tiny import tiny_bert_folder, words_corpus  # noqa: E402

from rankify_lite.types import Corpus  # noqa: E402

CHUNK = 37  # many chunks, the last one partial (400 = 10 * 37 + 30)
TESTS = Path(__file__).resolve().parents[1]


def make_corpus() -> Corpus:
    return words_corpus(400)


class Counting:
    """Wraps an encoder: counts the documents it encodes; stops (as Ctrl-C would) at a call."""

    def __init__(self, inner, stop_at_call: int | None = None, delay_s: float = 0.0) -> None:
        self.inner, self.stop_at_call, self.delay_s = inner, stop_at_call, delay_s
        self.calls, self.encoded, self.last_truncated, self.progress = 0, 0, 0, False

    @property
    def dim(self) -> int:
        return self.inner.dim

    def config(self) -> dict:
        return self.inner.config()

    def encode_documents(self, texts, out=None):
        self.calls += 1
        if self.calls == self.stop_at_call:
            raise KeyboardInterrupt
        time.sleep(self.delay_s)
        self.encoded += len(texts)
        res = self.inner.encode_documents(texts, out=out)
        self.last_truncated = self.inner.last_truncated
        return res


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> str:
    return tiny_bert_folder(tmp_path_factory.mktemp("tiny-bert"))


def _dense(model: str, encoder=None):
    from rankify_lite.models import DenseEncoder
    from rankify_lite.retrievers.dense import Dense

    enc = DenseEncoder(model, batch_size=8, progress=False)
    return Dense(model, encoder=encoder(enc) if encoder else enc)


def _reference(tiny_bert, tmp_path, monkeypatch) -> np.ndarray:
    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "clean"))
    return np.array(_dense(tiny_bert).embed_corpus(make_corpus()))


@pytest.fixture
def chunked(monkeypatch):
    from rankify_lite.retrievers import dense as dense_mod

    monkeypatch.setattr(dense_mod, "ENCODE_CHUNK", CHUNK)
    return dense_mod


def test_interrupted_encoding_resumes_where_it_stopped(tiny_bert, tmp_path, monkeypatch,
                                                       chunked):
    clean = _reference(tiny_bert, tmp_path, monkeypatch)
    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "cache"))
    corpus = make_corpus()
    first = _dense(tiny_bert, lambda e: Counting(e, stop_at_call=4))
    with pytest.raises(KeyboardInterrupt):
        first.embed_corpus(corpus)
    path = first.embeddings_path
    assert not path.exists()  # an incomplete matrix is never served
    record = json.loads(path.with_name(f".{path.stem}.progress.json").read_text())
    assert record["done"] == 3 * CHUNK and record["rows"] == 400

    counting = []
    again = _dense(tiny_bert, lambda e: counting.append(Counting(e)) or counting[0])
    emb = again.embed_corpus(corpus)
    assert counting[0].encoded == 400 - 3 * CHUNK  # nothing before the stop is encoded again
    assert again.stats["resumed_at"] == 3 * CHUNK
    assert np.array_equal(np.asarray(emb), clean)  # byte for byte the uninterrupted result
    assert not list(path.parent.glob(f".{path.stem}.p*"))  # partial file and record are gone
    third = _dense(tiny_bert)
    third.embed_corpus(corpus)
    assert third.stats["embeddings_cached"] is True


def test_killed_process_resumes(tiny_bert, tmp_path, monkeypatch, chunked):
    """kill -9 of a real encoding process mid-corpus; this process finishes its file."""
    clean = _reference(tiny_bert, tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(cache))
    code = (f"import sys; sys.path[:0] = [{str(TESTS)!r}, {str(TESTS / 'retrievers')!r}]\n"
            "import test_dense_resume as t\n"
            "from rankify_lite.retrievers import dense as d\n"
            f"d.ENCODE_CHUNK = {CHUNK}\n"
            f"t._dense({tiny_bert!r}, lambda e: t.Counting(e, delay_s=0.3))"
            ".embed_corpus(t.make_corpus())\n")
    child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ},
                             stderr=subprocess.PIPE)
    records = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and child.poll() is None:
            records = list(cache.glob("embeddings/.*.progress.json"))
            if records and json.loads(records[0].read_text() or "{}").get("done", 0) >= 2 * CHUNK:
                break
            time.sleep(0.05)
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    done = json.loads(records[0].read_text())["done"]
    assert 2 * CHUNK <= done < 400 and done % CHUNK == 0
    counting = []
    again = _dense(tiny_bert, lambda e: counting.append(Counting(e)) or counting[0])
    emb = again.embed_corpus(make_corpus())
    assert again.stats["resumed_at"] == done
    assert counting[0].encoded == 400 - done
    assert np.array_equal(np.asarray(emb), clean)


def test_progress_record_that_does_not_match_starts_over(tiny_bert, tmp_path, monkeypatch,
                                                         chunked, capsys):
    clean = _reference(tiny_bert, tmp_path, monkeypatch)
    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "cache"))
    first = _dense(tiny_bert, lambda e: Counting(e, stop_at_call=3))
    with pytest.raises(KeyboardInterrupt):
        first.embed_corpus(make_corpus())
    path = first.embeddings_path
    path.with_name(f".{path.stem}.progress.json").write_text('{"rows": 400, "dim": 7, "done": 74}')
    counting = []
    again = _dense(tiny_bert, lambda e: counting.append(Counting(e)) or counting[0])
    emb = again.embed_corpus(make_corpus())
    assert counting[0].encoded == 400 and again.stats["resumed_at"] == 0
    assert "does not match" in capsys.readouterr().err
    assert np.array_equal(np.asarray(emb), clean)


def test_one_progress_bar_over_the_whole_corpus(tiny_bert, tmp_path, monkeypatch, chunked):
    """The encoder's own per-call bar is off; the corpus bar counts every document once."""
    from rankify_lite.models import DenseEncoder
    from rankify_lite.retrievers import dense as dense_mod

    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "cache"))
    made = []

    class Bar:
        def __init__(self, total, enabled, desc):
            self.wanted, self.n = (total, enabled, desc), 0

        def update(self, k):
            self.n += k

        def set_postfix_str(self, text):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def spy(total, enabled, desc):
        made.append(Bar(total, enabled, desc))
        return made[-1]

    monkeypatch.setattr(dense_mod, "progress_bar", spy)
    monkeypatch.setattr("rankify_lite.models.dense_encoder.progress_bar", spy)
    enc = DenseEncoder(tiny_bert, batch_size=8, progress=True)
    dense_mod.Dense(tiny_bert, encoder=enc).embed_corpus(make_corpus())
    assert [b.wanted for b in made] == [(400, True, "encoding corpus")]
    assert made[0].n == 400
    assert enc.progress is True and enc.progress_to is None  # restored afterwards
