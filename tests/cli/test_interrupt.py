"""Ctrl-C and SIGTERM stop a run with one line and exit 130; the checkpoint is kept and the
same command resumes to byte-identical files (issue #23, item 8)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from rankify_lite.rerankers.registry import register
register("hash-test", "helpers.slow_reranker:HashReranker")
from rankify_lite.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _command(data: Path, out: Path, delay: float) -> list[str]:
    return [sys.executable, "-c", SCRIPT.format(tests=str(TESTS)), "run", "--dataset", str(data),
            "--retriever", "run:bm25.top10", "--reranker", "hash-test", "--option",
            f"delay={delay}", "--depth", "5", "--output", str(out), "--overwrite"]


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "RANKIFY_LITE_CACHE": str(cache), "PYTHONPATH": str(TESTS)}


@pytest.fixture(scope="module")
def clean(shared_data, tmp_path_factory) -> tuple[Path, Path]:
    """(dataset folder, folder of an uninterrupted run's files)."""
    from helpers.small_data import small_dl19

    tmp = tmp_path_factory.mktemp("interrupt")
    data = small_dl19(shared_data, tmp / "data")
    done = subprocess.run(_command(data, tmp / "clean", 0.0), env=_env(tmp / "cache"),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return data, tmp / "clean"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_is_one_line_exit_130_and_resume_is_byte_identical(clean, tmp_path, sig):
    data, clean_out = clean
    cache = tmp_path / "c2"
    proc = subprocess.Popen(_command(data, tmp_path / "out", 0.5), env=_env(cache),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(1200):  # wait (without a time limit on the result) for 2 checkpoints
            partial = list((cache / "runs").glob("*.partial.jsonl")) if cache.exists() else []
            if partial and len(partial[0].read_text().splitlines()) >= 2:
                break
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    got = re.fullmatch(r"interrupted: (\d+) of 6 queries checkpointed; run the same command "
                       r"again to resume", lines[-1])
    assert got and 1 <= int(got.group(1)) < 6, lines[-1]
    kept = int(got.group(1))
    (partial,) = (cache / "runs").glob("*.partial.jsonl")
    assert len(partial.read_text().splitlines()) == kept
    resumed = subprocess.run(_command(data, tmp_path / "out", 0.0), env=_env(cache),
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from a checkpoint ({kept} queries kept)" in resumed.stdout
    clean_files = sorted(p.name for p in clean_out.glob("*.trec"))
    assert clean_files == sorted(p.name for p in (tmp_path / "out").glob("*.trec"))
    for fname in clean_files:
        assert (clean_out / fname).read_bytes() == (tmp_path / "out" / fname).read_bytes()
