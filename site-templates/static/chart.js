// sglci interactive charts. Each <figure class="chart"> carries its data as JSON; this script
// draws it as SVG with hover tooltips (value, night, image, link to the run), a legend that
// toggles series, and a page-wide date range. Without JavaScript the page shows the static SVG
// inside <noscript> instead (and with JavaScript that image is never fetched).
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 900, H = 420, M = { l: 70, r: 16, t: 34, b: 40 };
  var DAY = 86400000;
  var GAP_DAYS = 3;
  var root = (function () {
    var s = document.querySelector('script[src$="static/chart.js"]');
    return s ? s.getAttribute("src").replace(/static\/chart\.js$/, "") : "";
  })();
  var range = { from: null, to: null };
  var charts = [];

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function isoOfDay(d) { return new Date(d * DAY).toISOString().slice(0, 10); }
  function dayOfIso(s) { var t = Date.parse(s + "T00:00:00Z"); return isNaN(t) ? null : Math.round(t / DAY); }
  function fmt(v, step) {
    if (step > 0) return v.toFixed(Math.min(6, Math.max(0, -Math.floor(Math.log10(step)))));
    var a = Math.abs(v);
    return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  }
  function ticks(lo, hi, n) {
    var span = hi - lo || 1, step = Math.pow(10, Math.floor(Math.log10(span / n)));
    [1, 2, 5, 10].some(function (m) { if (span / (step * m) <= n) { step *= m; return true; } return false; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
    return out;
  }

  function Chart(fig, spec) {
    this.fig = fig; this.spec = spec; this.hidden = {};
    this.svg = el("svg", { viewBox: "0 0 " + W + " " + H, class: "ichart", role: "img", "aria-label": spec.title });
    fig.insertBefore(this.svg, fig.querySelector("figcaption"));
    this.legend = document.createElement("div");
    this.legend.className = "legend";
    fig.insertBefore(this.legend, this.svg);
    this.tip = document.createElement("div");
    this.tip.className = "tooltip"; this.tip.hidden = true;
    this.tip.setAttribute("role", "tooltip");
    fig.appendChild(this.tip);
    var self = this;
    spec.series.forEach(function (s, i) {
      var b = document.createElement("button");
      b.type = "button"; b.setAttribute("aria-pressed", "true");
      var sw = document.createElement("span"); sw.className = "swatch"; sw.style.background = s.color;
      b.appendChild(sw); b.appendChild(document.createTextNode(s.label));
      b.addEventListener("click", function () {
        self.hidden[i] = !self.hidden[i];
        b.setAttribute("aria-pressed", self.hidden[i] ? "false" : "true");
        self.draw();
      });
      self.legend.appendChild(b);
    });
    this.svg.addEventListener("mouseleave", function () { self.tip.hidden = true; });
    this.draw();
  }

  Chart.prototype.visible = function () {
    var self = this;
    return this.spec.series.map(function (s, i) {
      if (self.hidden[i]) return [];
      return s.points.filter(function (p) {
        return (range.from === null || p.day >= range.from) && (range.to === null || p.day <= range.to);
      });
    });
  };

  Chart.prototype.draw = function () {
    var svg = this.svg, self = this, spec = this.spec;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    el("text", { x: W / 2, y: 20, "text-anchor": "middle", "font-size": 15, "font-weight": 600 }, svg).textContent = spec.title;
    var sets = this.visible(), all = [].concat.apply([], sets);
    if (!all.length) {
      el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#59636e" }, svg).textContent = "No data in the chosen range";
      return;
    }
    var x0 = Math.min.apply(null, all.map(function (p) { return p.day; })) - 1;
    var x1 = Math.max.apply(null, all.map(function (p) { return p.day; })) + 1;
    var y0 = Math.min.apply(null, all.map(function (p) { return p.value; }));
    var y1 = Math.max.apply(null, all.map(function (p) { return p.value; }));
    var pad = (y1 - y0) * 0.08 || Math.max(Math.abs(y0), 1) * 0.05;
    y0 -= pad; y1 += pad;
    var px = function (d) { return M.l + (d - x0) / (x1 - x0) * (W - M.l - M.r); };
    var py = function (v) { return H - M.b - (v - y0) / (y1 - y0) * (H - M.t - M.b); };
    var axis = el("g", { class: "axis", "font-size": 12, fill: "#59636e" }, svg);
    var yt = ticks(y0, y1, 6), ystep = yt.length > 1 ? yt[1] - yt[0] : 0;
    yt.forEach(function (v) {
      el("line", { x1: M.l, x2: W - M.r, y1: py(v), y2: py(v), stroke: "#eaeef2" }, axis);
      el("text", { x: M.l - 6, y: py(v) + 4, "text-anchor": "end" }, axis).textContent = fmt(v, ystep);
    });
    var nx = Math.max(2, Math.min(Math.floor((W - M.l - M.r) / 110), x1 - x0));
    for (var i = 0; i <= nx; i++) {
      var d = Math.round(x0 + (x1 - x0) * i / nx);
      el("line", { x1: px(d), x2: px(d), y1: M.t, y2: H - M.b, stroke: "#f3f4f6" }, axis);
      var anchor = i === 0 ? "start" : i === nx ? "end" : "middle";
      el("text", { x: px(d), y: H - M.b + 16, "text-anchor": anchor }, axis).textContent = isoOfDay(d);
    }
    el("text", { x: 14, y: H / 2, transform: "rotate(-90 14 " + H / 2 + ")", "text-anchor": "middle" }, axis).textContent = spec.y_label;
    el("rect", { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, fill: "none", stroke: "#d1d9e0" }, axis);
    (spec.markers || []).forEach(function (m) {
      if (m.day < x0 || m.day > x1) return;
      var line = el("line", { x1: px(m.day), x2: px(m.day), y1: M.t, y2: H - M.b,
        stroke: m.kind === "note" ? "#0969da" : "#cf222e",
        "stroke-width": 2, "stroke-dasharray": "6 4", class: "marker" }, svg);
      el("title", {}, line).textContent = m.label;
    });
    sets.forEach(function (pts, si) {
      if (!pts.length) return;
      var s = spec.series[si], g = el("g", { class: "series", "data-label": s.label }, svg);
      var d = "", last = null;
      pts.forEach(function (p) {
        d += (last === null || p.day - last > GAP_DAYS ? "M" : "L") + px(p.day).toFixed(1) + " " + py(p.value).toFixed(1);
        last = p.day;
      });
      el("path", { d: d, fill: "none", stroke: s.color, "stroke-width": 2 }, g);
      pts.forEach(function (p) {
        var c = el("circle", { cx: px(p.day), cy: py(p.value), r: 4, fill: s.color, class: "point", tabindex: 0 }, g);
        var t = el("title", {}, c);
        t.textContent = s.label + ": " + fmt(p.value) + " " + spec.y_label + " on " + p.date + (p.tag ? " (" + p.tag + ")" : "");
        var show = function () { self.show(s, p, c); };
        c.addEventListener("mouseenter", show);
        c.addEventListener("focus", show);
        if (p.href) {
          c.style.cursor = "pointer";
          c.addEventListener("click", function () { window.location.href = root + p.href; });
        }
      });
    });
  };

  Chart.prototype.show = function (s, p, c) {
    var tip = this.tip;
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    var b = document.createElement("strong"); b.textContent = s.label + ": " + fmt(p.value) + " " + this.spec.y_label;
    tip.appendChild(b);
    [p.date, p.tag].forEach(function (line) {
      if (!line) return;
      tip.appendChild(document.createElement("br"));
      tip.appendChild(document.createTextNode(line));
    });
    if (p.href) {
      tip.appendChild(document.createElement("br"));
      var a = document.createElement("a"); a.href = root + p.href; a.textContent = "run and raw logs";
      tip.appendChild(a);
    }
    var box = this.fig.getBoundingClientRect(), pt = c.getBoundingClientRect();
    tip.style.left = Math.min(pt.left - box.left + 10, box.width - 240) + "px";
    tip.style.top = (pt.top - box.top + 10) + "px";
    tip.hidden = false;
  };

  function init() {
    document.querySelectorAll("figure.chart").forEach(function (fig) {
      var data = fig.querySelector("script.chart-data");
      if (!data) return;
      try { charts.push(new Chart(fig, JSON.parse(data.textContent))); }
      catch (e) { fig.setAttribute("data-error", String(e)); }
    });
    document.querySelectorAll("form[data-range]").forEach(function (form) {
      var update = function () {
        range.from = form.elements.from.value ? dayOfIso(form.elements.from.value) : null;
        range.to = form.elements.to.value ? dayOfIso(form.elements.to.value) : null;
        charts.forEach(function (c) { c.draw(); });
      };
      form.addEventListener("input", update);
      form.addEventListener("reset", function () { setTimeout(update, 0); });
    });
    document.querySelectorAll("select[data-nav]").forEach(function (sel) {
      sel.addEventListener("change", function () { window.location.href = sel.value; });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
