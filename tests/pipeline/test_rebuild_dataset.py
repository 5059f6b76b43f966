"""The dataset of a saved result, found by one rule for report and rerun
(pipeline/rebuild.dataset_candidates, review 11): a relative source only inside the folder, an
absolute one only when its content hash is recorded (and then it must match), else the name;
a shared meta.json cannot make the report embed a dataset its author does not know."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers.report_folders import write_dataset, write_result

from rankify_lite.errors import InputError
from rankify_lite.pipeline.rebuild import dataset_candidates, dataset_of_meta
from rankify_lite.report.load import load_folder

SECRET = "private text nobody shared"


@pytest.fixture
def shared(tmp_path):
    """A result folder and, elsewhere on this machine, a private dataset it names."""
    public = write_dataset(tmp_path / "public", {"q1": "one"}, {"d0": "a", "d1": "b"},
                           {"q1": {"d0": 1}})
    private = write_dataset(tmp_path / "private", {"q1": SECRET}, {"d0": SECRET, "d1": "b"},
                            {"q1": {"d0": 1}})
    meta = write_result(tmp_path / "result", public, {"bm25": {"q1": ["d0", "d1"]},
                                                      "bm25>>x": {"q1": ["d1", "d0"]}})
    return meta, public, private


def _dataset(meta, **info) -> None:
    data = json.loads(meta.read_text())
    data["dataset"] = info
    meta.write_text(json.dumps(data))


def _refused(folder, needle) -> str:
    with pytest.raises(InputError) as exc:
        load_folder(folder)
    message = str(exc.value)
    assert len(message.splitlines()) == 1 and needle in message and "Fix:" in message, message
    return message


def test_an_absolute_path_without_a_recorded_hash_is_not_followed(shared):
    meta, _, private = shared
    _dataset(meta, source=str(private), name="no-such-dataset-x")
    assert dataset_candidates(json.loads(meta.read_text())["dataset"], meta.parent) == [
        "no-such-dataset-x"]
    _refused(meta.parent, "--dataset PATH")
    view = load_folder(meta.parent, dataset=str(private))["views"][0]   # given: read
    assert view["queries"][0]["text"] == SECRET


def test_an_absolute_path_whose_content_differs_from_the_record_is_refused(shared):
    meta, public, private = shared
    recorded = json.loads(meta.read_text())["dataset"]["content_hash"]   # the public one's
    _dataset(meta, source=str(private), name="tiny", content_hash=recorded)
    _refused(meta.parent, "content hash differs")
    from rankify_lite.report import report_html

    assert SECRET not in json.dumps(load_folder(meta.parent, dataset=str(public)))
    page = report_html(meta.parent, allow_changed=True)          # allowed: read, and noted
    assert "is not the one this result was scored on" in page


@pytest.mark.parametrize("source", ["../private", "sub/../../private", "~/private"])
def test_a_relative_source_is_read_only_inside_the_folder(shared, source):
    meta, _, _ = shared
    _dataset(meta, source=source, name="no-such-dataset-x")
    assert dataset_of_meta(json.loads(meta.read_text()), meta.parent) == "no-such-dataset-x"
    _refused(meta.parent, "--dataset PATH")


def test_report_and_rerun_read_the_same_copy_inside_the_folder(shared):
    meta, public, _ = shared
    shutil.copytree(public, meta.parent / "data")
    _dataset(meta, source="data", name="no-such-dataset-x")
    data = json.loads(meta.read_text())
    assert dataset_of_meta(data, meta.parent) == str(meta.parent / "data")
    assert load_folder(meta.parent)["views"][0]["queries"][0]["text"] == "one"
