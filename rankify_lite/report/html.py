"""One self-contained HTML page: inline CSS, inline SVG plots, inline JavaScript, the data as
JSON inside the page. Nothing is fetched (no CDN, no fonts, no images), so it opens offline.

Per dataset (a "view"): the comparison table with significance marks, the effectiveness-latency
and win/loss plots, and a per-query view: pick a query (a list, or ``#q=<view>:<qid>`` in the
address) and see each system's top 10 with relevance grades and how far each reranker moved
each document from where the stage before it had put it.

Every value reaches the page in one place, escaped: the Jinja2 template
``templates/report.html.j2`` under ``autoescape=True`` (table, legend, notes, plot labels), and
the data the script reads, embedded by :func:`json_script` the way Django's ``json_script``
does (``<``, ``>``, ``&`` written as ``\\u003c``, ``\\u003e``, ``\\u0026``, so no text in it can
end or comment out its ``<script>`` element). The only markup inserted unescaped is the
package's own CSS and JavaScript files beside the template.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from rankify_lite.report.svg import color, latency_plot, winloss_plot

_JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


@lru_cache(maxsize=1)
def _template():
    import jinja2

    folder = resources.files("rankify_lite.report") / "templates"
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    return (env.from_string((folder / "report.html.j2").read_text(encoding="utf-8")),
            (folder / "report.css").read_text(encoding="utf-8"),
            (folder / "report.js").read_text(encoding="utf-8"))


def json_script(data: Any) -> str:
    """``data`` as JSON that is safe inside ``<script type="application/json">``: no ``<``,
    ``>`` or ``&`` survive (so neither ``</script>`` nor ``<!--`` can), and non-ASCII (U+2028
    included) is ``\\u`` escaped. NaN is refused (JSON has none)."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.translate(_JSON_ESCAPES)


def _seconds(v: float | None, precomputed: bool = False) -> str:
    if not v:
        return "precomputed" if precomputed else "not timed"
    return f"{v * 1000:.1f}" if v < 0.1 else f"{v * 1000:,.0f}"


def _rows(view: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for k, s in enumerate(view["systems"]):
        cells = []
        for m in view["metrics"]:
            if m not in s["mean"]:
                cells.append({"metric": m, "value": None})
                continue
            p = s.get("p", {}).get(m) if s["name"] != view["baseline"] else None
            cells.append({"metric": m, "value": f"{s['mean'][m]:.4f}", "raw": repr(s["mean"][m]),
                          "letters": "".join(s["beats"].get(m, [])),
                          "dagger": bool(s["dagger"].get(m)),
                          "tip": f"p = {p:.3g} against the baseline (corrected)"
                                 if p is not None else ""})
        rows.append({"name": s["name"], "letter": s["letter"], "display": s["display"],
                     "color": color(k), "cells": cells, "changed": s.get("changed"),
                     "seconds": _seconds(s["seconds"], s.get("precomputed", False))})
    return rows


def _view(view: dict[str, Any]) -> dict[str, Any]:
    base = next((s for s in view["systems"] if s["name"] == view["baseline"]), None)
    return {**view, "rows": _rows(view), "latency": latency_plot(view),
            "winloss_plot": winloss_plot(view),
            "base": f"{base['letter']}: {base['display']}" if base else ""}


def render_html(data: dict[str, Any]) -> str:
    """The page for the data of :func:`rankify_lite.report.load.load_folder`."""
    import markupsafe

    from rankify_lite import __version__

    views = [_view({**v, "index": i}) for i, v in enumerate(data["views"])]  # data unchanged
    template, css, js = _template()
    return template.render(
        title=data["title"], source=data["source"], version=__version__,
        changed=data.get("changed", []), views=views, average=data.get("average"),
        payload=markupsafe.Markup(json_script(data)), css=markupsafe.Markup(css),
        js=markupsafe.Markup(js))
