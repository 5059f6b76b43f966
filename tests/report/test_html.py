"""render_html (report/html.py) renders the loaded data without changing it (value objects, no
hidden mutation; review 12): the page's view ids come from a copy."""

from __future__ import annotations

import copy

from helpers.report_folders import write_dataset, write_result

from rankify_lite.report.html import render_html
from rankify_lite.report.load import load_folder


def test_render_html_leaves_its_input_unchanged(tmp_path):
    data = write_dataset(tmp_path / "data", {"q1": "one"}, {"d0": "a", "d1": "b"},
                         {"q1": {"d0": 1}})
    meta = write_result(tmp_path / "result", data, {"bm25": {"q1": ["d0", "d1"]},
                                                    "bm25>>x": {"q1": ["d1", "d0"]}})
    loaded = load_folder(meta.parent)
    before = copy.deepcopy(loaded)
    page = render_html(loaded)
    assert loaded == before
    assert 'id="view-0"' in page and 'id="latency-0"' in page and 'id="qpick-0"' in page
    assert render_html(loaded) == page                  # the same data, the same page
