// The live dashboard (F8): draws a snapshot, then follows /api/dashboard/stream (server-sent events).
(function () {
  "use strict";
  var root, source, chart, snapshot, receivedAt = Date.now();
  var REASONS = {
    campaign_not_active: "campaign not active", outside_operating_schedule: "outside its operating schedule",
    no_agent_ready: "no agent ready", abandon_cap_reached: "abandon cap reached"
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function pct(x) { return (100 * (x || 0)).toFixed(1) + "%"; }
  function duration(s) {
    if (s === null || s === undefined) { return ""; }
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return (h ? h + ":" + two(m) : m) + ":" + two(r);
  }
  function localTime(iso) {
    if (!iso) { return ""; }
    return new Date(iso).toLocaleString([], {weekday: "short", hour: "2-digit", minute: "2-digit"});
  }

  function drawAgents(data) {
    var body = $("agents-table").querySelector("tbody"), staff = root.dataset.isStaff === "true";
    body.textContent = "";
    if (!data.agents.length) {
      body.appendChild(el("tr")).appendChild(el("td", {colspan: staff ? 5 : 4, "class": "muted"}, "No agent logged in."));
    }
    data.agents.forEach(function (a) {
      var row = el("tr", {"data-testid": "agent-row", "data-agent": a.name, "data-user-id": a.user_id});
      row.appendChild(el("td", {}, a.name));
      row.appendChild(el("td", {"data-testid": "agent-state", "class": "state-" + a.state}, a.state + (a.reason ? " (" + a.reason + ")" : "")));
      row.appendChild(el("td", {"data-testid": "agent-time", "data-seconds": a.seconds_in_state === null ? "" : a.seconds_in_state}, duration(a.seconds_in_state)));
      row.appendChild(el("td", {"data-testid": "agent-call"}, a.call_id ? a.call_id + (a.number ? " · " + a.number : "") : ""));
      if (staff) {
        var cell = el("td"), button = el("button", {type: "button", "data-testid": "force-not-ready", "data-agent": a.name}, "Force not ready");
        button.disabled = a.state === "not_ready" || a.state === "logged_out";
        button.addEventListener("click", function () { forceNotReady(a, button); });
        cell.appendChild(button);
        row.appendChild(cell);
      }
      body.appendChild(row);
    });
  }

  function forceNotReady(agent, button) {
    button.disabled = true;
    window.api("POST", "/api/agents/" + agent.user_id + "/force-not-ready").then(function () {
      $("dashboard-error").textContent = "";
    }, function (error) {
      button.disabled = false;
      $("dashboard-error").textContent = agent.name + ": " + (error.message || error.id);
    });
  }

  function gauge(id, rate, cap) {
    var box = $(id), fill = box.querySelector("span"), over = rate > cap;
    fill.style.width = Math.min(100, cap > 0 ? 100 * rate / cap : 0) + "%";
    box.classList.toggle("over", over);
    box.title = pct(rate) + " of a " + pct(cap) + " cap";
  }

  function drawAbandon(data) {
    var ab = data.abandon;
    $("abandon-today").textContent = pct(ab.today);
    $("abandon-30d").textContent = pct(ab["d30"]);
    gauge("gauge-today", ab.today, ab.cap);
    gauge("gauge-30d", ab["d30"], ab.cap);
    $("abandon-cap").textContent = "cap " + pct(ab.cap) + (ab.is_over_cap ? " · over the cap" : "");
  }

  function drawCallbacks(data) {
    var list = $("callbacks-due");
    list.textContent = "";
    $("callback-hours").textContent = data.callback_hours;
    if (!data.callbacks_due.length) { list.appendChild(el("li", {"class": "muted"}, "None.")); }
    data.callbacks_due.forEach(function (c) {
      var item = el("li", {"data-testid": "callback-due", "data-callback-id": c.id});
      item.appendChild(el("a", {href: "/admin/callbacks/" + c.id}, c.customer || ("callback " + c.id)));
      item.appendChild(document.createTextNode(" · " + localTime(c.window_start_at) + "–" + localTime(c.window_end_at) +
        " · " + (c.owner || "anyone") + (c.is_due ? " · due now" : "")));
      list.appendChild(item);
    });
  }

  function drawNotDialing(data) {
    var list = $("not-dialing"), nd = data.not_dialing, names = {};
    data.campaigns.forEach(function (c) { names[c.id] = c.name; });
    list.textContent = "";
    nd.campaigns.forEach(function (r) {
      list.appendChild(el("li", {"data-testid": "not-dialing-reason", "data-reason": r.reason, "data-campaign": r.campaign},
        r.campaign + ": " + (REASONS[r.reason] || r.reason)));
    });
    Object.keys(nd.records).forEach(function (reason) {
      list.appendChild(el("li", {"data-testid": "not-dialing-reason", "data-reason": reason},
        reason.replace(/_/g, " ") + ": " + nd.records[reason] + (nd.records[reason] === 1 ? " record" : " records")));
    });
    if (!list.children.length) { list.appendChild(el("li", {"class": "muted"}, "Nothing blocks dialing.")); }
  }

  function drawChart(data) {
    var labels = data.hourly.map(function (h) { return h.label; });
    var series = ["dials", "answers", "abandons"].map(function (k) { return data.hourly.map(function (h) { return h[k]; }); });
    $("chart-tz").textContent = data.tz;
    if (!window.Chart) { return; }
    if (!chart) {
      chart = new window.Chart($("dials-chart"), {
        type: "bar",
        data: {labels: labels, datasets: [
          {label: "Dials", data: series[0], backgroundColor: "#7fb0ff"},
          {label: "Answers", data: series[1], backgroundColor: "#32a852"},
          {label: "Abandons", data: series[2], backgroundColor: "#d92d20"}]},
        options: {responsive: true, maintainAspectRatio: false, animation: false,
                  scales: {y: {beginAtZero: true, ticks: {precision: 0}}}}
      });
    } else {
      chart.data.labels = labels;
      series.forEach(function (s, i) { chart.data.datasets[i].data = s; });
      chart.update("none");
    }
  }

  function draw(data) {
    snapshot = data;
    receivedAt = Date.now();
    $("dials-today").textContent = data.dials_today;
    $("calls-ringing").textContent = data.calls.ringing;
    $("calls-connected").textContent = data.calls.connected;
    $("calls-waiting").textContent = data.calls.waiting;
    $("hopper-depth").textContent = data.hopper_depth;
    $("source").textContent = data.source;
    $("updated-at").textContent = new Date(data.at).toLocaleTimeString();
    drawAgents(data);
    drawAbandon(data);
    drawCallbacks(data);
    drawNotDialing(data);
    drawChart(data);
    root.setAttribute("data-updated-at", data.at);
  }

  function tick() {
    var passed = (Date.now() - receivedAt) / 1000;
    document.querySelectorAll("[data-testid=agent-time]").forEach(function (cell) {
      if (cell.dataset.seconds !== "") { cell.textContent = duration(Number(cell.dataset.seconds) + passed); }
    });
  }

  function connect() {
    if (source) { source.close(); }
    var params = new URLSearchParams({hours: root.dataset.hours});
    if (root.dataset.campaignId) { params.set("campaign_id", root.dataset.campaignId); }
    source = new EventSource("/api/dashboard/stream?" + params.toString());
    source.addEventListener("snapshot", function (event) {
      $("stream-state").textContent = "live";
      draw(JSON.parse(event.data));
    });
    source.onerror = function () { $("stream-state").textContent = "reconnecting…"; };
  }

  function choose(event) {
    root.dataset.campaignId = event.target.value;
    var url = new URL(window.location.href);
    if (event.target.value) { url.searchParams.set("campaign_id", event.target.value); } else { url.searchParams.delete("campaign_id"); }
    window.history.replaceState(null, "", url.toString());
    connect();
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = $("dashboard");
    if (!root) { return; }
    draw(JSON.parse($("dashboard-initial").textContent));
    $("dashboard-campaign").addEventListener("change", choose);
    window.setInterval(tick, 1000);
    connect();
    window.addEventListener("beforeunload", function () { if (source) { source.close(); } });
  });
})();
