"""Checkpoints: what an interrupted stage kept travels with the interrupt itself (no module
state): the cached-stage runner attaches the stopped stage's (checkpointed, total) to the
KeyboardInterrupt, and the CLI's one line reads it from there."""

from __future__ import annotations

import pytest

from rankify_lite.cli.main import _interrupted
from rankify_lite.pipeline.checkpoint import JsonlCheckpoint
from rankify_lite.pipeline.run_cache import RunCache
from rankify_lite.pipeline.run_cached import CHECKPOINTED, run_cached
from rankify_lite.types import RankedList


def test_progress_counts_what_was_checkpointed(tmp_path):
    ck = JsonlCheckpoint(tmp_path / "stage.jsonl", total=3)
    ck.add("q1", RankedList(("d1", "d2"), (2.0, 1.0)))
    assert ck.progress() == (1, 3)
    ck.close()
    again = JsonlCheckpoint(tmp_path / "stage.jsonl", total=3)  # reopened: what was kept
    assert again.progress() == (1, 3)
    again.close(remove=True)
    assert not (tmp_path / "stage.jsonl").exists()


def test_an_interrupt_after_the_fsync_still_counts_the_line_it_wrote(tmp_path, monkeypatch):
    """Ctrl-C can land between a line's fsync and the in-memory bookkeeping; the count the
    CLI reports is what a resumed run keeps (the CI flake of stop 47: "1 kept", 2 lines)."""
    import os

    ck = JsonlCheckpoint(tmp_path / "stage.jsonl", total=3)
    ck.add("q1", RankedList(("d1", "d2"), (2.0, 1.0)))
    real = os.fsync

    def fsync_then_interrupt(fd):
        real(fd)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", fsync_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        ck.add("q2", RankedList(("d2", "d1"), (2.0, 1.0)))
    monkeypatch.setattr(os, "fsync", real)
    assert ck.progress() == (2, 3)
    ck.close()
    again = JsonlCheckpoint(tmp_path / "stage.jsonl", total=3)
    assert sorted(again.done()) == ["q1", "q2"]
    again.close(remove=True)


def test_an_interrupted_stage_reports_its_own_checkpoint(tmp_path):
    def stopped_after_two(checkpoint):
        checkpoint.add("q1", RankedList(("d1",), (1.0,)))
        checkpoint.add("q2", RankedList(("d2",), (1.0,)))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as stop:
        run_cached(RunCache(tmp_path), "rerank-x", "x", "reranked run x", stopped_after_two,
                   resumable=True, total=5)
    assert getattr(stop.value, CHECKPOINTED) == (2, 5)
    assert _interrupted(stop.value) == ("interrupted: 2 of 5 queries checkpointed; run the "
                                        "same command again to resume")
    assert (tmp_path / "rerank-x.partial.jsonl").is_file()  # kept for the resume


def test_an_interrupt_outside_a_resumable_stage_says_nothing_was_checkpointed(tmp_path):
    def stopped(_checkpoint):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as stop:
        run_cached(RunCache(tmp_path), "first-x", "x", "first-stage run", stopped)
    assert not hasattr(stop.value, CHECKPOINTED)
    assert _interrupted(stop.value).startswith("interrupted: no reranking was checkpointed yet")
