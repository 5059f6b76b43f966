"""One self-contained HTML page: inline CSS, inline SVG plots, inline JavaScript, the data as
JSON inside the page. Nothing is fetched (no CDN, no fonts, no images), so it opens offline.

Per dataset (a "view"): the comparison table with significance marks, the effectiveness-latency
and win/loss plots, and a per-query view: pick a query (a list, or ``#q=<view>:<qid>`` in the
address) and see each system's top 10 with relevance grades and how far each reranker moved
each document from where the stage before it had put it.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from rankify_lite.report.svg import color, latency_svg, winloss_svg

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}.meta{color:#666;font-size:12px}
table.cmp{border-collapse:collapse;margin:8px 0}table.cmp th,table.cmp td{padding:4px 10px;
border-bottom:1px solid #eee;text-align:left}table.cmp td.num{text-align:right;
font-variant-numeric:tabular-nums}table.cmp sup{color:#1565c0}.dag{color:#c62828;margin-left:2px}
.legend{color:#555;font-size:12px;max-width:900px}.notes li{color:#555;font-size:12px}
.plots{display:flex;flex-wrap:wrap;gap:16px}.plot{background:#fff;border:1px solid #eee}
.frame{fill:none;stroke:#999}.grid{stroke:#eee}.tick{font-size:10px;fill:#555}
.axis{font-size:11px;fill:#333}.pt{font-size:10px;fill:#222}.count{font-size:10px;fill:#fff}
.win{fill:#2e7d32}.tie{fill:#bdbdbd}.loss{fill:#c62828}
.qbar{margin:8px 0}.qbar select{max-width:100%;font-size:13px;padding:2px}
.qtext{font-weight:600;margin:6px 0}.lists{display:flex;flex-wrap:wrap;gap:12px}
.list{flex:1 1 260px;min-width:240px;border:1px solid #e0e0e0;border-radius:6px;padding:6px 8px}
.list h4{margin:2px 0 6px;font-size:13px}.list ol{margin:0;padding-left:22px}
.list li{margin:2px 0;font-size:12px}.doc{font-family:ui-monospace,monospace}
.g{display:inline-block;min-width:18px;text-align:center;border-radius:3px;font-size:11px;
margin:0 4px;color:#fff}.g0{background:#9e9e9e}.g1{background:#7cb342}.g2{background:#388e3c}
.g3{background:#1b5e20}.gx{background:#e0e0e0;color:#555}.up{color:#2e7d32}.down{color:#c62828}
.new{color:#1565c0}.same{color:#999}.snip{color:#666;display:block;margin-left:2px}
table.qs td{padding:2px 8px;font-variant-numeric:tabular-nums}
"""

JS = r"""
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function fmt(v) { return (v === undefined || v === null) ? "\u2013" : v.toFixed(4); }
  function move(before, now) {
    if (before === null || before === undefined) {
      return ["new", "new", "not in the previous stage's list"];
    }
    var d = before - now;
    if (d > 0) { return ["up", "\u25B2" + d, "moved up from rank " + (before + 1)]; }
    if (d < 0) { return ["down", "\u25BC" + (-d), "moved down from rank " + (before + 1)]; }
    return ["same", "=", "same rank as before"];
  }
  function render(vi, qid) {
    var view = DATA.views[vi], box = document.getElementById("qview-" + vi);
    box.textContent = "";
    var q = null;
    view.queries.forEach(function (x) { if (x.id === qid) { q = x; } });
    if (!q) { return; }
    box.setAttribute("data-qid", qid);
    box.appendChild(el("div", "qtext", "query " + q.id + (q.text ? ": " + q.text : "")));
    var t = el("table", "qs"), head = el("tr");
    head.appendChild(el("th", "", "system"));
    view.labels.forEach(function (l) { head.appendChild(el("th", "", l)); });
    t.appendChild(head);
    view.systems.forEach(function (s) {
      var tr = el("tr");
      tr.appendChild(el("td", "", s.letter + " " + s.display));
      view.metrics.forEach(function (m) {
        var pq = (view.per_query[s.name] || {})[m] || {};
        var td = el("td", "num", fmt(pq[qid]));
        td.setAttribute("data-system", s.name); td.setAttribute("data-metric", m);
        tr.appendChild(td);
      });
      t.appendChild(tr);
    });
    box.appendChild(t);
    if (!view.has_runs) { return; }
    var lists = el("div", "lists"), grades = view.grades[qid] || {};
    view.systems.forEach(function (s) {
      var card = el("div", "list");
      card.setAttribute("data-system", s.name);
      card.appendChild(el("h4", "", s.letter + " " + s.display +
        (s.parent ? "  (moves vs " + s.parent + ")" : "")));
      var ol = el("ol");
      ((view.top[s.name] || {})[qid] || []).forEach(function (entry, rank) {
        var li = el("li"), doc = entry[0], g = grades[doc];
        li.setAttribute("data-doc", doc);
        var badge = el("span", "g " + (g === undefined ? "gx" : "g" + Math.min(g, 3)),
                       g === undefined ? "?" : String(g));
        badge.title = g === undefined ? "not judged" : "relevance grade " + g;
        li.appendChild(badge);
        li.appendChild(el("span", "doc", doc));
        if (s.parent) {
          var mv = move(entry[1], rank), m = el("span", mv[0], " " + mv[1]);
          m.title = mv[2]; li.appendChild(m);
        }
        if (view.docs[doc]) { li.appendChild(el("span", "snip", view.docs[doc])); }
        ol.appendChild(li);
      });
      card.appendChild(ol);
      lists.appendChild(card);
    });
    box.appendChild(lists);
  }
  function pick(vi, qid, updateHash) {
    var sel = document.getElementById("qpick-" + vi);
    if (sel.value !== qid) { sel.value = qid; }
    render(vi, qid);
    if (updateHash) { history.replaceState(null, "", "#q=" + vi + ":" + encodeURIComponent(qid)); }
  }
  DATA.views.forEach(function (view, vi) {
    var sel = document.getElementById("qpick-" + vi);
    view.queries.forEach(function (q) {
      var o = el("option", "", q.id + (q.text ? " \u2013 " + q.text.slice(0, 90) : ""));
      o.value = q.id; sel.appendChild(o);
    });
    sel.addEventListener("change", function () { pick(vi, sel.value, true); });
    if (view.queries.length) { pick(vi, view.queries[0].id, false); }
  });
  var m = /^#q=(\d+):(.+)$/.exec(location.hash);
  if (m && DATA.views[+m[1]]) { pick(+m[1], decodeURIComponent(m[2]), false); }
})();
"""


def _cell(s: dict[str, Any], m: str, baseline: str) -> str:
    if m not in s["mean"]:
        return f'<td class="num" data-system="{escape(s["name"])}" data-metric="{m}">–</td>'
    letters = "".join(s["beats"].get(m, []))
    marks = (f"<sup>{letters}</sup>" if letters else "") + \
        ('<span class="dag" title="significantly different from the baseline">†</span>'
         if s["dagger"].get(m) else "")
    p = s.get("p", {}).get(m) if s["name"] != baseline else None
    tip = f' title="p = {p:.3g} against the baseline (corrected)"' if p is not None else ""
    return (f'<td class="num" data-system="{escape(s["name"])}" data-metric="{escape(m)}" '
            f'data-value="{s["mean"][m]!r}"{tip}>{s["mean"][m]:.4f}{marks}</td>')


def _seconds(v: float | None, precomputed: bool = False) -> str:
    if not v:
        return "precomputed" if precomputed else "not timed"
    return f"{v * 1000:.1f}" if v < 0.1 else f"{v * 1000:,.0f}"


def _view_html(view: dict[str, Any]) -> str:
    i = view["index"]
    head = "".join(f"<th>{escape(lb)}</th>" for lb in view["labels"])
    rows = []
    for k, s in enumerate(view["systems"]):
        swatch = f'<span style="color:{color(k)}">●</span>'
        rows.append(f'<tr data-system="{escape(s["name"])}"><td>{escape(s["letter"])}</td>'
                    f'<td>{swatch} {escape(s["display"])}</td>'
                    + "".join(_cell(s, m, view["baseline"]) for m in view["metrics"])
                    + f'<td class="num">{_seconds(s["seconds"], s.get("precomputed", False))}</td></tr>')
    base = next((s for s in view["systems"] if s["name"] == view["baseline"]), None)
    level = (f" Binary metrics count grade >= {view['rel_level']}."
             if view.get("rel_level") is not None else "")
    legend = (f"Letters: significantly better than that system; † significantly different from "
              f"the baseline ({escape(base['letter'] + ': ' + base['display']) if base else ''})."
              f" Paired {escape(str(view['test']))}, {escape(str(view['correction']))}-corrected "
              f"per metric, alpha={view['alpha']}; {view['queries_n']} queries.{level} ms/query: "
              "mean wall time per query of the system's stages, kept with cached stages "
              "('precomputed': a shipped run, never timed here; 'not timed': no timing was "
              "recorded).")
    notes = "".join(f"<li>{escape(n)}</li>" for n in view.get("notes", []))
    return (f'<section class="view" id="view-{i}"><h2>{escape(view["label"])}</h2>'
            f'<table class="cmp" id="table-{i}"><tr><th></th><th>system</th>{head}'
            f'<th>ms/query</th></tr>{"".join(rows)}</table><p class="legend">{legend}</p>'
            + (f'<ul class="notes">{notes}</ul>' if notes else "")
            + f'<h3>Effectiveness against cost, and wins against the baseline</h3>'
            f'<div class="plots">{latency_svg(view)}{winloss_svg(view)}</div>'
            f'<h3>Per query</h3><div class="qbar"><label for="qpick-{i}">query </label>'
            f'<select id="qpick-{i}" class="qpick"></select></div>'
            f'<div class="qview" id="qview-{i}"></div></section>')


def render_html(data: dict[str, Any]) -> str:
    """The page for the data of :func:`rankify_lite.report.load.load_folder`."""
    from rankify_lite import __version__

    for i, view in enumerate(data["views"]):
        view["index"] = i
    payload = json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    payload = payload.replace("</", "<\\/")
    body = "".join(_view_html(v) for v in data["views"])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(data['title'])}</title><style>{CSS}</style></head><body>"
            f"<h1>{escape(data['title'])}</h1><div class=\"meta\">from {escape(data['source'])}"
            f" &middot; rankify_lite {escape(__version__)} &middot; self-contained, works "
            f"offline</div>{body}"
            f"<script type=\"application/json\" id=\"report-data\">{payload}</script>"
            f"<script>{JS}</script></body></html>\n")
