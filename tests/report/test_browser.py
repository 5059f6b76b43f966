"""The HTML report in a real headless Chromium (Debian's ``chromium`` package, driven by the
Playwright client; no browser download). Skips when either is missing.

The page is opened from a file:// URL with every network request blocked, and must: load without
console errors, show in its table exactly the numbers the saved result records, and switch the
per-query view when another query is picked (each system's top 10 are the run files' top 10,
with the qrels' grades). A screenshot is written (to ``$RANKIFY_LITE_SCREENSHOT_DIR`` too when set:
that is how the README's ``docs/report.png`` is made).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers.browser import open_page

from rankify_lite import read_run
from rankify_lite.report import build_report
from rankify_lite.report.load import load_folder

REPO = Path(__file__).resolve().parents[2]


def test_result_report_in_chromium(browser, dl19_result, dl19, tmp_path):
    folder, _ = dl19_result
    meta = json.loads((folder / "meta.json").read_text())
    html = build_report(folder, tmp_path / "report.html")
    page, problems, requests = open_page(browser, html)
    assert problems == []
    assert requests == [html.as_uri()]                   # nothing but the file itself
    # the table holds the saved result's numbers
    for system, means in meta["metrics"].items():
        for metric, value in means.items():
            cell = page.locator(f'#table-0 td[data-system="{system}"][data-metric="{metric}"]')
            assert cell.count() == 1
            assert float(cell.inner_text().split("†")[0].rstrip("abcdefghijklmnopqrstuvwxyz ")) == \
                round(value, 4)
    assert page.locator("#latency-0 circle").count() == 3
    assert page.locator("#winloss-0 rect.tie").count() >= 1
    # the per-query view switches queries
    qids = [o.get_attribute("value") for o in page.locator("#qpick-0 option").all()]
    opened = load_folder(folder)["views"][0]["first_query"]      # where the systems differ
    assert len(qids) == 43 and page.get_attribute("#qview-0", "data-qid") == opened
    target = qids[7]
    page.select_option("#qpick-0", target)
    assert page.get_attribute("#qview-0", "data-qid") == target
    assert target in page.inner_text("#qview-0 .qtext")
    assert dl19.queries[target].text in page.inner_text("#qview-0 .qtext")
    for system, fname in meta["files"].items():
        run = read_run(folder / fname)
        card = page.locator(f'#qview-0 .list[data-system="{system}"] li')
        docs = [li.get_attribute("data-doc") for li in card.all()]
        assert docs == list(run[target].doc_ids[:10])
        grade = card.first.locator(".g").inner_text()
        expected = dl19.qrels[target].get(docs[0])
        assert grade == ("?" if expected is None else str(expected))
    moved = page.locator('#qview-0 .list[data-system$="hash-test"] .up, '
                         '#qview-0 .list[data-system$="hash-test"] .down, '
                         '#qview-0 .list[data-system$="hash-test"] .new')
    assert moved.count() >= 1                             # the reordering is shown as moves
    assert page.evaluate("location.hash") == f"#q=0:{target}"
    assert problems == []
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    if os.environ.get("RANKIFY_LITE_SCREENSHOT_DIR"):
        out = Path(os.environ["RANKIFY_LITE_SCREENSHOT_DIR"])
        out.mkdir(parents=True, exist_ok=True)
        page.locator("#qview-0").scroll_into_view_if_needed()
        page.screenshot(path=str(out / "report.png"), full_page=True)
    # a link with #q= opens on that query
    page2, problems2, _ = open_page(browser, html, f"#q=0:{qids[3]}")
    assert page2.get_attribute("#qview-0", "data-qid") == qids[3] and problems2 == []


def test_leaderboard_report_in_chromium(browser, tmp_path):
    lb = REPO / "benchmarks" / "leaderboards" / "main"
    if not (lb / "results.json").is_file():
        pytest.skip("no committed leaderboard folder")
    summary = json.loads((lb / "results.json").read_text())
    html = build_report(lb, tmp_path / "lb.html")
    page, problems, requests = open_page(browser, html)
    assert problems == [] and requests == [html.as_uri()]
    for i, d in enumerate(summary["datasets"].values()):
        for system, info in d["systems"].items():
            for metric, value in info["mean"].items():
                cell = page.locator(f'#table-{i} td[data-system="{system}"][data-metric="{metric}"]')
                assert float(cell.inner_text().split("†")[0].rstrip("abcdefghijklmnopqrstuvwxyz ")) == \
                    round(value, 4)
    before = page.inner_text("#qview-1")
    second = page.locator("#qpick-1 option").nth(1).get_attribute("value")
    page.select_option("#qpick-1", second)
    assert page.get_attribute("#qview-1", "data-qid") == second
    assert page.inner_text("#qview-1") != before and problems == []
