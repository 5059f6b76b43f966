(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  // a key's own value, never an inherited one: a document or query id such as "constructor"
  // or "toString" must not find Object.prototype's function
  function own(obj, key) {
    return obj && Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
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
      tr.appendChild(el("td", "", s.letter + " " + s.display +
                        (s.changed ? "  [CHANGED run file]" : "")));
      view.metrics.forEach(function (m) {
        var pq = own(own(view.per_query, s.name), m) || {};
        var td = el("td", "num", fmt(own(pq, qid)));
        td.setAttribute("data-system", s.name); td.setAttribute("data-metric", m);
        tr.appendChild(td);
      });
      t.appendChild(tr);
    });
    box.appendChild(t);
    if (!view.has_runs) { return; }
    var lists = el("div", "lists"), grades = own(view.grades, qid) || {};
    view.systems.forEach(function (s) {
      var card = el("div", "list");
      card.setAttribute("data-system", s.name);
      card.appendChild(el("h4", "", s.letter + " " + s.display +
        (s.parent ? "  (moves vs " + s.parent + ")" : "") +
        (s.changed ? "  [CHANGED run file]" : "")));
      var ol = el("ol");
      (own(own(view.top, s.name), qid) || []).forEach(function (entry, rank) {
        var li = el("li"), doc = entry[0], g = own(grades, doc);
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
        var snip = own(view.docs, doc);
        if (snip) { li.appendChild(el("span", "snip", snip)); }
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
    // open on the first query where the systems' scores differ (load.py: first_query)
    if (view.queries.length) { pick(vi, view.first_query || view.queries[0].id, false); }
  });
  var m = /^#q=(\d+):(.+)$/.exec(location.hash);
  if (m && DATA.views[+m[1]]) { pick(+m[1], decodeURIComponent(m[2]), false); }
})();
