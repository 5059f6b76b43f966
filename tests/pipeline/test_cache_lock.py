"""Two identical runs on one cache: the second waits for the first and reuses its result; a
lock left by a dead process is broken (issue #23, item 15)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rankify_lite.pipeline.run_cache import RunCache
from rankify_lite.types import Run

TESTS = Path(__file__).resolve().parents[1]
SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from helpers.slow_reranker import HashReranker
from rankify_lite import Pipeline, load_dataset

class Counting(HashReranker):
    calls = 0
    def _rerank_batch(self, items):
        Counting.calls += len(items)
        return super()._rerank_batch(items)

result = Pipeline("run:bm25.top10", Counting(delay={delay}), depth=5, cache={cache!r},
                  progress=False).run(load_dataset({data!r}))
print(json.dumps({{"calls": Counting.calls, "cached": result.timing.cached,
                   "notes": result.notes, "run": result.runs[list(result.runs)[-1]].to_dict()}}))
"""


def _start(data: Path, cache: Path, delay: float) -> subprocess.Popen:
    code = SCRIPT.format(tests=str(TESTS), delay=delay, cache=str(cache), data=str(data))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_the_second_identical_run_waits_and_reuses_the_first(shared_data, tmp_path):
    from helpers.small_data import small_dl19

    data = small_dl19(shared_data, tmp_path / "data")
    cache = tmp_path / "cache"
    first = _start(data, cache, 0.5)
    for _ in range(3000):  # until the first run holds the reranking entry's lock
        if any(p.name.startswith("rerank-") for p in cache.glob("*.lock")) or first.poll():
            break
        time.sleep(0.05)
    second = _start(data, cache, 0.5)
    outs = []
    for proc in (first, second):
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    a, b = outs
    assert a["calls"] == 6 and b["calls"] == 0  # the second computed nothing
    assert any("waited for process" in n for n in b["notes"])
    assert a["run"] == b["run"]
    assert not list(cache.glob("*.lock"))


def test_a_lock_of_a_dead_process_is_broken(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    cache = RunCache(tmp_path)
    (tmp_path / "x.lock").write_text(json.dumps({"pid": dead.pid,
                                                 "host": socket.gethostname()}))
    assert cache.load("x", "r", "reranked run r") is None  # not waiting: computing it now
    assert json.loads((tmp_path / "x.lock").read_text())["pid"] == os.getpid()
    assert any(f"process {dead.pid} (no longer running) was broken" in n for n in cache.notes)
    cache.store("x", Run.from_scores({"q1": {"d1": 1.0}}, name="r"))
    assert not (tmp_path / "x.lock").exists()
    assert cache.load("x", "r", "reranked run r").to_dict() == {"q1": {"d1": 1.0}}


def test_an_abandoned_entry_does_not_block_this_process(tmp_path):
    cache = RunCache(tmp_path)
    assert cache.load("y", "r", "run") is None
    assert (tmp_path / "y.lock").exists()
    again = RunCache(tmp_path)  # the same process computes it again (an earlier try failed)
    assert again.load("y", "r", "run") is None
    del cache, again
    import gc

    gc.collect()
    assert not (tmp_path / "y.lock").exists()


# -- a lock this host cannot check: said once, bounded, one line (issue #38, item 7) -----------

def _foreign_lock(path: Path, since: object = 1_700_000_000.0) -> None:
    path.write_text(json.dumps({"pid": 4242, "host": "node-17.cluster", "since": since}))


def test_a_lock_held_on_another_host_is_named_once_and_given_up_on(tmp_path, capsys):
    import pytest

    from rankify_lite.errors import InputError

    _foreign_lock(tmp_path / "x.lock")
    cache = RunCache(tmp_path, poll_s=0.02, lock_timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(InputError) as err:
        cache.load("x", "r", "reranked run r")
    assert time.monotonic() - started < 5
    message = str(err.value)
    assert "\n" not in message and "gave up after 0.3 s" in message
    for part in ("process 4242", "node-17.cluster", "2023-11-14 22:13:20 UTC",
                 f"delete {tmp_path / 'x.lock'}", "RANKIFY_LITE_LOCK_TIMEOUT"):
        assert part in message, part
    waiting = [ln for ln in capsys.readouterr().err.splitlines() if "waiting for" in ln]
    assert len(waiting) == 1 and f"delete {tmp_path / 'x.lock'}" in waiting[0]
    assert "node-17.cluster" in waiting[0] and "giving up after 0.3 s" in waiting[0]
    assert (tmp_path / "x.lock").exists()  # not ours to break


def test_since_falls_back_to_the_lock_files_time(tmp_path):
    import pytest

    from rankify_lite.errors import InputError

    lock = tmp_path / "y.lock"
    _foreign_lock(lock, since="yesterday")
    os.utime(lock, (1_600_000_000, 1_600_000_000))
    with pytest.raises(InputError, match="since 2020-09-13 12:26:40 UTC"):
        RunCache(tmp_path, poll_s=0.02, lock_timeout_s=0.1).load("y", "r", "run")


def test_a_live_holder_on_this_host_is_waited_for_past_the_timeout(tmp_path, capsys):
    """The timeout bounds only what this host cannot check: a live local holder (a multi-hour
    rerank) is waited for while it runs; once it is gone its lock is broken (review #3)."""
    import socket
    import threading

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5)"])
    threading.Thread(target=holder.wait, daemon=True).start()  # reaped when it ends: no zombie
    try:
        (tmp_path / "y.lock").write_text(json.dumps({"pid": holder.pid, "since": time.time(),
                                                     "host": socket.gethostname()}))
        cache = RunCache(tmp_path, poll_s=0.02, lock_timeout_s=0.1)
        started = time.monotonic()
        assert cache.load("y", "r", "run") is None          # the entry is ours to compute now
        assert time.monotonic() - started > 1.0              # well past the 0.1 s timeout
        assert any(f"process {holder.pid}" in n and "no longer running" in n
                   for n in cache.notes)
        waiting = [ln for ln in capsys.readouterr().err.splitlines() if "waiting for" in ln]
        assert len(waiting) == 1 and "while it runs on this host" in waiting[0]
    finally:
        holder.kill()
        holder.wait()


def test_the_timeout_comes_from_the_environment_and_a_bad_one_is_refused_up_front(
        tmp_path, monkeypatch):
    import pytest

    from rankify_lite.errors import InputError

    monkeypatch.setenv("RANKIFY_LITE_LOCK_TIMEOUT", "0.2")
    assert RunCache(tmp_path).lock_timeout_s == 0.2
    monkeypatch.delenv("RANKIFY_LITE_LOCK_TIMEOUT")
    assert RunCache(tmp_path).lock_timeout_s == 30 * 60
    for bad in ("abc", "-1", "0", "nan", "inf", "\uff11\uff10", "1_0", "1e999"):
        monkeypatch.setenv("RANKIFY_LITE_LOCK_TIMEOUT", bad)
        with pytest.raises(InputError, match="RANKIFY_LITE_LOCK_TIMEOUT") as err:
            RunCache(tmp_path)
        assert "\n" not in str(err.value)


def test_the_cli_gives_up_in_one_line(tmp_path, monkeypatch, capsys):
    from helpers.tie_reranker import registered, tie_dataset

    from rankify_lite.cli.main import main as cli

    with registered():
        _give_up_through_the_cli(tie_dataset(tmp_path / "data"), tmp_path, monkeypatch, capsys,
                                 cli)


def _give_up_through_the_cli(data, tmp_path, monkeypatch, capsys, cli) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(home))
    args = ["run", "--dataset", str(data), "--retriever", "run:first", "--reranker",
            "bucket-test", "--depth", "4"]
    assert cli(args) == 0
    for entry in (home / "runs").glob("rerank-*.trec"):  # the entry now held elsewhere
        entry.unlink()
        entry.with_suffix(".json").unlink()
        _foreign_lock(entry.with_suffix(".lock"))
    capsys.readouterr()
    monkeypatch.setenv("RANKIFY_LITE_LOCK_TIMEOUT", "0.3")
    assert cli(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "waiting for process 4242" in err[0]
    assert err[1].startswith("rankify-lite: error: ") and "gave up after 0.3 s" in err[1]
