"""Checkpoints: the one closed unfinished is what an interrupted command reports, until the
next command forgets it; a finished or removed checkpoint is not reported."""

from __future__ import annotations

from rankify_lite.pipeline import checkpoint
from rankify_lite.pipeline.checkpoint import JsonlCheckpoint, forget_unfinished, last_unfinished
from rankify_lite.types import RankedList


def test_unfinished_checkpoint_is_reported_until_forgotten(tmp_path):
    forget_unfinished()
    assert last_unfinished() is None
    ck = JsonlCheckpoint(tmp_path / "stage.jsonl", total=3)
    ck.add("q1", RankedList(("d1", "d2"), (2.0, 1.0)))
    ck.close()
    assert last_unfinished() == (1, 3)
    forget_unfinished()
    assert last_unfinished() is None and checkpoint._last_unfinished is None


def test_finished_or_removed_checkpoint_is_not_reported(tmp_path):
    forget_unfinished()
    done = JsonlCheckpoint(tmp_path / "done.jsonl", total=1)
    done.add("q1", RankedList(("d1",), (1.0,)))
    done.close()
    assert last_unfinished() is None
    cut = JsonlCheckpoint(tmp_path / "cut.jsonl", total=2)
    cut.add("q1", RankedList(("d1",), (1.0,)))
    cut.close(remove=True)
    assert last_unfinished() is None and not (tmp_path / "cut.jsonl").exists()
