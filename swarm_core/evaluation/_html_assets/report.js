/* swarm eval report: draws the charts into the page's empty SVGs from its JSON data block.
   Text goes in through textContent and attributes only (never markup), so nothing from the
   report can become an element. Each drawn mark carries data-bar or data-point. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 640;
  var data = JSON.parse(document.getElementById("swarm-data").textContent);

  function el(parent, name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) { node.textContent = text; }
    parent.appendChild(node);
    return node;
  }
  function pct(v) { return Math.round(v * 100) + " %"; }
  function fmt(v, unit) {
    if (unit === "usd") { return "$" + (v < 1 ? v.toFixed(4) : v.toFixed(2)); }
    if (unit === "seconds") { return v.toFixed(1) + " s"; }
    return Math.round(v).toLocaleString("en");
  }
  function niceMax(v) {
    if (!(v > 0)) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 4, 8, 10];  // a quarter of each is a round number
    for (var i = 0; i < steps.length; i++) { if (steps[i] * p >= v) { return steps[i] * p; } }
    return 10 * p;
  }
  function day(ms) { return new Date(ms).toISOString().slice(0, 10); }
  function svgOf(name) {
    var fig = document.querySelector('figure[data-chart="' + name + '"]');
    return fig ? fig.querySelector("svg") : null;
  }
  function done(svg, height, marks) {
    svg.setAttribute("viewBox", "0 0 " + W + " " + height);
    svg.closest("figure").setAttribute("data-drawn", String(marks));
  }
  // A vertical value axis from 0 to max at x=left, `ticks` gridlines, labelled by `label`.
  function yAxis(svg, left, top, h, max, label) {
    for (var i = 0; i <= 4; i++) {
      var y = top + h - (h * i) / 4;
      el(svg, "line", { x1: left, x2: W - 10, y1: y, y2: y, "class": "grid" });
      el(svg, "text", { x: left - 6, y: y + 4, "class": "tick end" }, label((max * i) / 4));
    }
  }

  function lanes(svg, rows) {
    var left = 190, row = 46, top = 28, width = W - left - 60;
    for (var i = 0; i <= 4; i++) {
      var x = left + (width * i) / 4;
      el(svg, "line", { x1: x, x2: x, y1: top - 6, y2: top + rows.length * row, "class": "grid" });
      el(svg, "text", { x: x, y: top - 10, "class": "tick mid" }, pct(i / 4));
    }
    var marks = 0;
    rows.forEach(function (r, n) {
      var y = top + n * row;
      el(svg, "text", { x: left - 8, y: y + row / 2 + 4, "class": "label end" }, r.lane);
      [["precision", "precision proxy", "s1"], ["recall", "recall", "s2"]].forEach(function (m, k) {
        var v = r[m[0]], by = y + 6 + k * 17;
        if (v === null) {
          el(svg, "text", { x: left + 4, y: by + 12, "class": "tick" }, m[1] + ": no data");
          return;
        }
        var bar = el(svg, "rect", { x: left, y: by, width: Math.max(1, width * Math.min(v, 1)), height: 14,
          "class": "bar " + m[2], "data-bar": r.lane, "data-metric": m[0], "data-value": v });
        el(bar, "title", {}, r.lane + " " + m[1] + ": " + pct(v));
        el(svg, "text", { x: left + width * Math.min(v, 1) + 5, y: by + 11, "class": "tick" }, pct(v));
        marks++;
      });
    });
    done(svg, top + rows.length * row + 8, marks);
  }

  function timeline(svg, points) {
    var left = 44, top = 14, h = 200, width = W - left - 20;
    var ts = points.map(function (p) { return p.t; });
    var t0 = Math.min.apply(null, ts), t1 = Math.max.apply(null, ts);
    if (t1 === t0) { t0 -= 43200000; t1 += 43200000; }
    var first = t0, last = t1, pad = (t1 - t0) * 0.03;  // keeps the first and last points off the frame
    t0 -= pad; t1 += pad;
    // Counts: the axis ends at a multiple of four, so every gridline is a whole number.
    var max = Math.max(4, 4 * Math.ceil(Math.max.apply(null, points.map(function (p) { return p.findings; })) / 4));
    yAxis(svg, left, top, h, max, String);
    function px(p) { return left + ((p.t - t0) / (t1 - t0)) * width; }
    function py(p) { return top + h - (p.findings / max) * h; }
    for (var i = 0; i <= 3; i++) {  // dates from the first change to the last, not the padding's
      var t = first + ((last - first) * i) / 3;
      el(svg, "text", { x: px({ t: t }), y: top + h + 18, "class": "tick " + ["start", "mid", "mid", "end"][i] }, day(t));
    }
    var sorted = points.slice().sort(function (a, b) { return a.t - b.t; });
    sorted.forEach(function (p) {
      var dot = el(svg, "circle", { cx: px(p), cy: py(p), r: 4.5, "class": "dot " + p.verdict,
        "data-point": p.sha, "data-findings": p.findings, "data-date": day(p.t) });
      el(dot, "title", {}, p.sha + " · " + day(p.t) + " · " + p.findings + " finding(s)\n" + p.subject);
    });
    done(svg, top + h + 26, sorted.length);
  }

  function costs(svg, c) {
    var left = 70, top = 14, h = 180, width = W - left - 20, n = c.reviews.length;
    var max = niceMax(Math.max.apply(null, c.reviews.map(function (r) { return r.value; })));
    yAxis(svg, left, top, h, max, function (v) { return fmt(v, c.unit); });
    var slot = width / n, bw = Math.max(1, Math.min(28, slot * 0.7));
    c.reviews.forEach(function (r, i) {
      var bh = (r.value / max) * h, x = left + i * slot + (slot - bw) / 2;
      var bar = el(svg, "rect", { x: x, y: top + h - bh, width: bw, height: Math.max(bh, 0.5),
        "class": "bar " + (r.kind === "regression" ? "s2" : "s1"), "data-bar": r.label, "data-kind": r.kind, "data-value": r.value });
      el(bar, "title", {}, r.label + " (" + r.kind + "): " + fmt(r.value, c.unit) + "\n" + r.subject);
    });
    el(svg, "text", { x: left, y: top + h + 18, "class": "tick start" }, "oldest");
    el(svg, "text", { x: W - 20, y: top + h + 18, "class": "tick end" }, "newest · " + n + " reviews");
    done(svg, top + h + 26, n);
  }

  function stacked(svg, parts) {
    var left = 10, width = W - 20, total = 0, x = left, marks = 0;
    parts.forEach(function (p) { total += p.value; });
    parts.forEach(function (p) {
      var w = total ? (width * p.value) / total : 0;
      var bar = el(svg, "rect", { x: x, y: 8, width: w, height: 34, "class": "bar " + p.cls, "data-bar": p.name, "data-value": p.value });
      el(bar, "title", {}, p.value + " " + p.name);
      if (w > 60) { el(svg, "text", { x: x + 8, y: 30, "class": "inbar" }, p.value + " " + p.name); }
      x += w;
      marks++;
    });
    done(svg, 50, marks);
  }

  function scores(svg, s) {
    var left = 50, top = 14, h = 150, keys = ["precision", "recall", "f1"], slot = (W - left - 20) / 3;
    yAxis(svg, left, top, h, 1, pct);
    var marks = 0;
    keys.forEach(function (k, i) {
      var x = left + i * slot + slot * 0.25;
      el(svg, "text", { x: x + slot * 0.25, y: top + h + 18, "class": "tick mid" }, k === "f1" ? "F1" : k);
      if (s[k] === null) { return; }
      var bh = Math.min(s[k], 1) * h;
      var bar = el(svg, "rect", { x: x, y: top + h - bh, width: slot * 0.5, height: Math.max(bh, 0.5), "class": "bar s1", "data-bar": k, "data-value": s[k] });
      el(bar, "title", {}, k + ": " + pct(s[k]));
      el(svg, "text", { x: x + slot * 0.25, y: top + h - bh - 5, "class": "tick mid" }, pct(s[k]));
      marks++;
    });
    done(svg, top + h + 26, marks);
  }

  var svg;
  if ((svg = svgOf("lanes"))) { lanes(svg, data.lanes); }
  if ((svg = svgOf("timeline"))) { timeline(svg, data.timeline); }
  if ((svg = svgOf("costs"))) { costs(svg, data.costs); }
  if ((svg = svgOf("regressions"))) {
    stacked(svg, [{ name: "hit", value: data.regressions.hit, cls: "s1" }, { name: "missed", value: data.regressions.missed, cls: "s3" }]);
  }
  if ((svg = svgOf("dataset"))) { scores(svg, data.dataset); }
  document.documentElement.setAttribute("data-charts", "drawn");

  // Printing shows every drill-down: open them all, and close again the ones that were closed.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.filter.call(document.querySelectorAll("details:not([open])"), function (d) { d.open = true; return true; });
  });
  window.addEventListener("afterprint", function () { opened.forEach(function (d) { d.open = false; }); opened = []; });
})();
