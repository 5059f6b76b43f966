"""Disk full names the file being written and the fix; the checkpoint kept before it lets the
same command resume to byte-identical files (issue #23, item 12)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from rankify_lite.cli.main import main

TESTS = Path(__file__).resolve().parents[1]


def _small(shared_data: Path, folder: Path) -> Path:
    from helpers.small_data import small_dl19

    return small_dl19(shared_data, folder)


def test_disk_full_names_the_file_and_resume_is_byte_identical(shared_data, tmp_path,
                                                                monkeypatch, capsys):
    data = _small(shared_data, tmp_path / "data")
    args = ["run", "--dataset", str(data), "--retriever", "run:bm25.top10", "--reranker",
            "identity", "--depth", "5"]
    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "clean-cache"))
    assert main([*args, "--output", str(tmp_path / "clean")]) == 0
    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "cache"))
    real_fsync, calls = os.fsync, []

    def full(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".partial.jsonl"):
            calls.append(fd)
            if len(calls) == 3:  # the disk fills up at the third checkpointed query
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    capsys.readouterr()
    assert main([*args, "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    (partial,) = (tmp_path / "cache" / "runs").glob("*.partial.jsonl")
    assert err.startswith(f"rankify-lite: error: {partial}: No space left on device.")
    assert "free space" in err and "run the same command again to resume" in err
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert main([*args, "--output", str(tmp_path / "out")]) == 0
    names = sorted(p.name for p in (tmp_path / "clean").glob("*.trec"))
    assert names == sorted(p.name for p in (tmp_path / "out").glob("*.trec")) and names
    for name in names:
        assert (tmp_path / "clean" / name).read_bytes() == (tmp_path / "out" / name).read_bytes()


def test_a_full_disk_while_saving_names_the_output_file(tmp_path, monkeypatch):
    import pytest

    from rankify_lite.io.trec import write_run
    from rankify_lite.types import Run

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "out.trec"
    with pytest.raises(OSError) as err:
        write_run(Run.from_scores({"q1": {"d1": 1.0}}), target)
    assert err.value.filename == str(target) and err.value.errno == errno.ENOSPC
    assert not list(tmp_path.iterdir())  # no half-written file or temporary left behind
