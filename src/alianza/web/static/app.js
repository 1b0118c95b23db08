// alianza's page script. Draws every chart on the page with Chart.js from the JSON next to its
// <canvas> (<script type="application/json" class="chart-data">), so that pages need no inline
// script and the Content-Security-Policy stays strict. Numbers are formatted for the page's
// language (<html lang>). Chart spec (templates/macros.html, macro chart):
//   {type: "bar" | "line" | "stacked" | "doughnut", labels: [...],
//    datasets: [{label, data, type?}], format: "number" | "money" | "percent", currency}
"use strict";
(function () {
  var PALETTE = ["#1c6e4a", "#c77d14", "#3b6fb6", "#8e3b7a", "#5b6b70", "#2a9d8f", "#d1495b", "#7a6c2e"];

  function formatter(spec, compact) {
    var locale = document.documentElement.lang || "en";
    var options = {};
    if (spec.format === "money" && spec.currency && /^[A-Za-z]{3}$/.test(spec.currency)) {
      options = { style: "currency", currency: spec.currency.toUpperCase() };
    } else if (spec.format === "percent") {
      options = { style: "percent", maximumFractionDigits: 1 };
    }
    if (compact) {
      options.notation = "compact";
      options.maximumFractionDigits = 1;
    }
    var format;
    try {
      format = new Intl.NumberFormat(locale, options);
    } catch (error) {
      format = new Intl.NumberFormat(locale);
    }
    return function (value) { return format.format(value); };
  }

  function datasets(spec) {
    var doughnut = spec.type === "doughnut";
    return spec.datasets.map(function (dataset, index) {
      var color = PALETTE[index % PALETTE.length];
      var out = { label: dataset.label, data: dataset.data };
      if (doughnut) {
        out.backgroundColor = dataset.data.map(function (_, i) { return PALETTE[i % PALETTE.length]; });
        out.borderColor = "#ffffff";
      } else if (dataset.type === "line" || spec.type === "line") {
        out.type = "line";
        out.borderColor = color;
        out.backgroundColor = color;
        out.borderWidth = 2;
        out.pointRadius = 3;
        out.tension = 0;
        if (spec.type === "stacked") out.stack = "line-" + index; // a line is never stacked
        out.order = 0;
      } else {
        out.backgroundColor = color;
        out.order = 1;
      }
      return out;
    });
  }

  function config(spec) {
    var full = formatter(spec, false);
    var short = formatter(spec, true);
    var type = spec.type === "stacked" ? "bar" : spec.type;
    var stacked = spec.type === "stacked";
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      locale: document.documentElement.lang || "en",
      plugins: {
        legend: { position: "bottom" },
        tooltip: {
          callbacks: {
            label: function (context) {
              var value = context.parsed && typeof context.parsed === "object" ? context.parsed.y : context.parsed;
              return (context.dataset.label || context.label) + ": " + full(value);
            }
          }
        }
      }
    };
    if (type !== "doughnut") {
      options.scales = {
        x: { stacked: stacked },
        y: { stacked: stacked, ticks: { callback: function (value) { return short(value); } } }
      };
    } else {
      options.plugins.tooltip.callbacks.label = function (context) {
        return context.label + ": " + full(context.parsed);
      };
    }
    return { type: type, data: { labels: spec.labels, datasets: datasets(spec) }, options: options };
  }

  function draw(root) {
    var figures = (root || document).querySelectorAll("figure.chart");
    Array.prototype.forEach.call(figures, function (figure) {
      var canvas = figure.querySelector("canvas");
      var data = figure.querySelector("script.chart-data");
      if (!canvas || !data || canvas.dataset.drawn || typeof window.Chart !== "function") return;
      try {
        new window.Chart(canvas, config(JSON.parse(data.textContent)));
        canvas.dataset.drawn = "true";
      } catch (error) {
        figure.classList.add("chart-failed"); // the data table below still has the numbers
        if (window.console) window.console.error("chart", figure.id, error);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  // Content swapped in by htmx may carry charts too.
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
