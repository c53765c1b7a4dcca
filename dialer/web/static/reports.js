// Reports and calendar pages: submit filters on change, draw the report charts (Chart.js).
(function () {
  "use strict";
  var COLOURS = ["#7fb0ff", "#32a852", "#d92d20", "#b54708", "#6941c6", "#0e9384"];

  function autosubmit() {
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  function bar(canvas, labels, datasets, stacked) {
    if (!canvas || !window.Chart) { return; }
    return new window.Chart(canvas, {
      type: "bar", data: {labels: labels, datasets: datasets},
      options: {responsive: true, maintainAspectRatio: false, animation: false,
                scales: {x: {stacked: !!stacked}, y: {beginAtZero: true, ticks: {precision: 0}}}}
    });
  }

  function charts() {
    var node = document.getElementById("report-data");
    if (!node) { return; }
    var data = JSON.parse(node.textContent), days = [], sets = [];
    data.campaigns.forEach(function (c, i) {
      if (!days.length) { days = c.daily.map(function (d) { return d.day; }); }
      sets.push({label: c.name + " dials", data: c.daily.map(function (d) { return d.dials; }), backgroundColor: COLOURS[(3 * i) % COLOURS.length]});
      sets.push({label: c.name + " contacts", data: c.daily.map(function (d) { return d.contacts; }), backgroundColor: COLOURS[(3 * i + 1) % COLOURS.length]});
      sets.push({label: c.name + " abandons", data: c.daily.map(function (d) { return d.abandoned; }), backgroundColor: COLOURS[(3 * i + 2) % COLOURS.length]});
    });
    bar(document.getElementById("campaign-chart"), days, sets, false);
    var names = data.agents.map(function (a) { return a.name; });
    bar(document.getElementById("agent-chart"), names, [
      {label: "Calls", data: data.agents.map(function (a) { return a.attempts; }), backgroundColor: COLOURS[0]},
      {label: "Contacts", data: data.agents.map(function (a) { return a.contacts; }), backgroundColor: COLOURS[1]},
      {label: "Talk time (min)", data: data.agents.map(function (a) { return Math.round(a.talk_time_s / 6) / 10; }), backgroundColor: COLOURS[3]}
    ], false);
  }

  document.addEventListener("DOMContentLoaded", function () { autosubmit(); charts(); });
})();
