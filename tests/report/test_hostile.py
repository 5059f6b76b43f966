"""Values from files reach the page escaped, in every string field (issue #38 item 1).

A result folder and a leaderboard folder are written by hand with a hostile value in every
free-text field the page shows (system names, query ids and texts, document ids and texts,
the dataset's name, notes, the leaderboard's name and label, per_query.csv's ids): markup that
runs a handler, ``<!--<script>`` (which, left raw in a script element, swallows the page's own
script), a ``</script>`` break-out, attribute break-outs, HTML entities and U+2028. The page
must show them as text: no handler runs, and it works as the clean twin of the folder does.
"""

from __future__ import annotations

import json

import pytest
from helpers.browser import open_page
from helpers.report_folders import write_dataset, write_leaderboard, write_result

from rankify_lite.report import build_report, report_html

PWN = "window.__pwned=1"
#: hostile ids (no whitespace: TREC columns are split on it)
IDS = [f"<img/src=x/onerror={PWN}>", "<!--<script>", f"</script><script>{PWN}</script>",
       f"\"'><svg/onload={PWN}>", "&amp;&lt;b&gt;&#60;", "x</title><b>"]
#: hostile texts
TEXTS = [f"<img src=x onerror=\"{PWN};document.title='X'\">", "<!--<script>",
         f"</script><script>{PWN}</script>", f"\"'><svg onload={PWN}>",
         "&amp; &lt;b&gt; &#x3c;", "line\u2028sep\u2029end"]
CLEAN_IDS = ["q-a", "q-b", "q-c", "q-d", "doc-e", "doc-f"]
CLEAN_TEXTS = ["alpha words", "beta words", "gamma words", "delta words", "eps words",
               "zeta words"]


def _result(root, ids, texts):
    """A result folder: 3 queries, 6 documents, a first stage, a reranker and another system."""
    qids, dids = ids[:3], ids
    queries = dict(zip(qids, texts[:3], strict=True))
    docs = {d: f"{texts[i]} {texts[-1 - i]}" for i, d in enumerate(dids)}
    qrels = {q: {dids[k]: (k + j) % 3 for k in range(4)} for j, q in enumerate(qids)}
    data = write_dataset(root / "data", queries, docs, qrels)
    first, rerank, other = ids[4], f"{ids[4]}>>{ids[0]}", ids[2]
    runs = {first: {q: dids for q in qids},
            rerank: {q: list(reversed(dids)) for q in qids},
            other: {q: dids[1:] + dids[:1] for q in qids}}
    meta = write_result(root / "result", data, runs, notes=[texts[1], texts[2]])
    edited = json.loads(meta.read_text())
    edited["dataset"]["name"] = texts[0]
    meta.write_text(json.dumps(edited))
    return meta.parent


def _leaderboard(root, ids, texts):
    return write_leaderboard(root / "lb", texts[2], texts[3], [ids[0], ids[2], ids[3]],
                             [ids[1], ids[4], ids[5]])


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    clean, hostile = tmp_path_factory.mktemp("clean"), tmp_path_factory.mktemp("hostile")
    return {"result": (_result(clean, CLEAN_IDS, CLEAN_TEXTS), _result(hostile, IDS, TEXTS)),
            "leaderboard": (_leaderboard(clean, CLEAN_IDS, CLEAN_TEXTS),
                            _leaderboard(hostile, IDS, TEXTS))}


@pytest.mark.parametrize("kind", ["result", "leaderboard"])
def test_no_hostile_value_reaches_the_page_raw(folders, kind):
    page = report_html(folders[kind][1])
    for value in IDS + TEXTS:
        if "<" in value or ">" in value or "&" in value:
            assert value not in page, value
    payload = page.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in payload and ">" not in payload and "&" not in payload
    data = json.loads(payload)                            # and it holds the values as they are
    names = [s["name"] for s in data["views"][0]["systems"]]
    if kind == "result":
        assert names == [IDS[4], f"{IDS[4]}>>{IDS[0]}", IDS[2]]
        assert TEXTS[0] in data["views"][0]["docs"][IDS[0]]
        assert data["views"][0]["notes"][:2] == [TEXTS[1], TEXTS[2]]
    else:
        assert names == [IDS[0], IDS[2], IDS[3]] and data["title"].endswith(TEXTS[2])


def _counts(page) -> dict[str, int]:
    return {sel: page.locator(sel).count() for sel in
            ("#qpick-0 option", "#table-0 tr", "#qview-0 li", "#qview-0 .list",
             "#latency-0 circle", "#winloss-0 rect", ".notes li", "#qview-0 table.qs tr")}


@pytest.mark.parametrize("kind", ["result", "leaderboard"])
def test_hostile_page_in_chromium_runs_nothing_and_works_as_the_clean_one(browser, folders,
                                                                         kind, tmp_path):
    clean, hostile = folders[kind]
    pages = {}
    for name, folder in (("clean", clean), ("hostile", hostile)):
        html = build_report(folder, tmp_path / f"{name}.html")
        page, problems, requests = open_page(browser, html)
        assert problems == [] and requests == [html.as_uri()], (name, problems, requests)
        assert page.evaluate("window.__pwned") is None
        pages[name] = page
    page = pages["hostile"]
    data = json.loads(page.locator("#report-data").text_content())
    assert page.title() == data["title"]                  # the title is the text, unchanged
    assert _counts(page) == _counts(pages["clean"])
    assert _counts(page)["#qpick-0 option"] == 3
    qids = [o.get_attribute("value") for o in page.locator("#qpick-0 option").all()]
    view = data["views"][0]
    assert qids == [q["id"] for q in view["queries"]]
    page.select_option("#qpick-0", qids[1])              # the picker works on hostile ids
    assert page.get_attribute("#qview-0", "data-qid") == qids[1]
    assert qids[1] in page.inner_text("#qview-0 .qtext")
    rows = [r.get_attribute("data-system") for r in page.locator("#table-0 tr[data-system]").all()]
    assert rows == [s["name"] for s in view["systems"]]
    assert page.locator("#view-0 h2").inner_text() == view["label"]
    if kind == "result":
        first = view["systems"][0]["name"]
        docs = [li.get_attribute("data-doc")
                for li in page.locator(f'#qview-0 .list[data-system="{first}"] li').all()]
        assert docs == [d for d, _ in view["top"][first][qids[1]]] == IDS
        assert page.locator(".notes li").first.inner_text() == TEXTS[1]
    assert page.evaluate("window.__pwned") is None


#: ids that name properties every JavaScript object inherits (corpora with word ids have them)
PROTO_IDS = ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"]


def test_ids_naming_object_prototype_properties_find_nothing(browser, tmp_path):
    """grades[doc] / docs[doc] on plain objects found Object.prototype's functions: a badge
    'function Object() { [native code] }' and a snippet of its source (review 12)."""
    data = write_dataset(tmp_path / "data", {"constructor": "one", "q2": "two"},
                         {"d0": "a text", "d1": "b text"},
                         {"constructor": {"d0": 1}, "q2": {"d1": 1}})
    ranking = [*PROTO_IDS, "d0", "d1"]
    meta = write_result(tmp_path / "result", data,
                        {"bm25": {"constructor": ranking, "q2": ranking},
                         "bm25>>x": {"constructor": ranking[::-1], "q2": ranking[::-1]}})
    html = build_report(meta.parent, tmp_path / "r.html")
    page, problems, _ = open_page(browser, html)
    assert problems == []
    page.select_option("#qpick-0", "constructor")
    card = page.locator('#qview-0 .list[data-system="bm25"] li')
    assert [li.get_attribute("data-doc") for li in card.all()] == ranking
    badges = [li.locator(".g").inner_text() for li in card.all()]
    assert badges == ["?"] * len(PROTO_IDS) + ["1", "?"]
    text = page.inner_text("#qview-0")
    assert "native code" not in text and "function" not in text
    assert page.locator('#qview-0 .list[data-system="bm25"] .snip').count() == 2   # d0, d1
