// Draws the overview's charts from /api/series (one sample every 10 s, the last hour),
// and redraws every 10 s. Each chart is a <figure data-series="field" data-label="...">.
(function () {
  "use strict";
  var figures = Array.prototype.slice.call(document.querySelectorAll("figure[data-series]"));
  if (!figures.length || typeof uPlot === "undefined") return;
  var plots = [];
  function draw(samples) {
    var t = samples.map(function (s) { return s.t; });
    figures.forEach(function (fig, i) {
      var field = fig.getAttribute("data-series");
      var ys = samples.map(function (s) { return s[field]; });
      var data = [t, ys];
      if (plots[i]) { plots[i].setData(data); return; }
      var holder = fig.querySelector(".chart");
      var width = Math.max(260, holder.clientWidth || 320);
      plots[i] = new uPlot({
        width: width, height: 140,
        series: [{}, { label: fig.getAttribute("data-label"), stroke: "#1d5fbf", width: 2, fill: "rgba(29,95,191,0.08)" }],
        axes: [{}, { size: 50 }],
        legend: { show: false },
      }, data, holder);
      fig.setAttribute("data-drawn", String(samples.length));
    });
    figures.forEach(function (fig) { fig.setAttribute("data-drawn", String(samples.length)); });
  }
  function load() {
    fetch("/api/series", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) { if (j && j.samples) draw(j.samples); })
      .catch(function () {});
  }
  load();
  setInterval(load, 10000);
})();
