/* The console's own script: charts from the numbers the page carries, and the diagrams.
   Loaded as a file (the Content-Security-Policy allows no inline script). */
(function () {
  "use strict";
  function ready(fn) { if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); } }
  ready(function () {
    var block = document.getElementById("chart-data");
    if (block && window.echarts) {
      var d = JSON.parse(block.textContent);
      var en = d.lang === "en";
      var opts = { animation: false, textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" } };
      var states = echarts.init(document.getElementById("chart-states"), null, { renderer: "svg" });
      var sk = Object.keys(d.states);
      states.setOption(Object.assign({}, opts, {
        tooltip: {}, xAxis: { type: "category", data: sk, axisLabel: { interval: 0, rotate: 30 } }, yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", data: sk.map(function (k) { return d.states[k]; }), label: { show: true, position: "top" } }]
      }));
      var lights = echarts.init(document.getElementById("chart-lights"), null, { renderer: "svg" });
      function s(name, key, color) { return { name: name, type: "bar", stack: "l", data: d.lights[key], itemStyle: { color: color } }; }
      lights.setOption(Object.assign({}, opts, {
        tooltip: {}, legend: {}, xAxis: { type: "category", data: d.lights.units, axisLabel: { interval: 0, rotate: 20 } }, yAxis: { type: "value", minInterval: 1 },
        series: [s(en ? "red" : "红", "red", "#d9363e"), s(en ? "yellow" : "黄", "yellow", "#e6a700"), s(en ? "green" : "绿", "green", "#2f9e44")]
      }));
      var burn = echarts.init(document.getElementById("chart-burn"), null, { renderer: "svg" });
      burn.setOption(Object.assign({}, opts, {
        tooltip: {}, xAxis: { type: "category", data: d.burn_down.map(function (w) { return w.week_ending; }) }, yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "line", data: d.burn_down.map(function (w) { return w.open; }) }]
      }));
      document.body.setAttribute("data-charts", "drawn");
    }
    var diagram = document.querySelector("pre.mermaid");
    if (diagram && window.mermaid) {
      window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
      window.mermaid.run({ nodes: [diagram] }).then(function () { document.body.setAttribute("data-diagram", "drawn"); });
    }
  });
})();
