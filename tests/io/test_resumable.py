"""ResumableMatrix: rows recorded after their pages are flushed, resumed by the next writer;
a mismatched or garbled record starts over with a note; the lock serialises writers."""

from __future__ import annotations

import threading
import time

import numpy as np

from rankify_lite.io.resumable import ResumableMatrix, exclusive


def test_resume_and_finish(tmp_path):
    path = tmp_path / "m.npy"
    m = ResumableMatrix(path, 10, 3)
    assert m.done == 0 and not m.notes
    m.rows[0:4] = 1.5
    m.commit(4, seen=4)
    del m  # the writer dies here
    again = ResumableMatrix(path, 10, 3)
    assert again.done == 4 and again.extra == {"seen": 4}
    assert np.all(again.rows[:4] == 1.5)
    again.rows[4:] = 2.0
    again.commit(10)
    assert again.finish() == path
    out = np.load(path)
    assert out.shape == (10, 3) and out[3, 0] == 1.5 and out[9, 2] == 2.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npy"]


def test_unfinished_matrix_is_refused(tmp_path):
    m = ResumableMatrix(tmp_path / "m.npy", 5, 2)
    m.commit(3)
    try:
        m.finish()
    except RuntimeError as err:
        assert "3 of 5 rows" in str(err)
    else:
        raise AssertionError("finish() accepted an incomplete matrix")


def test_mismatch_and_garbage_start_over(tmp_path):
    path = tmp_path / "m.npy"
    m = ResumableMatrix(path, 6, 2)
    m.commit(2)
    del m
    other = ResumableMatrix(path, 8, 2)  # another corpus size: the record does not match
    assert other.done == 0 and "does not match" in other.notes[0]
    other.commit(3)
    del other
    (tmp_path / ".m.progress.json").write_text("{not json")
    garbled = ResumableMatrix(path, 8, 2)
    assert garbled.done == 0 and "unreadable progress record" in garbled.notes[0]


def test_exclusive_lock_serialises_writers(tmp_path, capsys):
    lock, order = tmp_path / ".m.lock", []

    def second():
        with exclusive(lock, "test"):
            order.append("second")

    with exclusive(lock, "test"):
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.3)
        order.append("first")
    t.join(5)
    assert order == ["first", "second"]
    assert "waiting for another process" in capsys.readouterr().err
