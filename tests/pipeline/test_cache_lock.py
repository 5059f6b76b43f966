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
