// The agent desktop (F10-F14) and My callbacks (F13): plain JavaScript over /api/agent and /api/callbacks.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var state = null, wrapShown = null, checkSeq = 0, checkOk = false, checkTimer = null;
  var dispositions = [];

  function text(id, value) { var el = $(id); if (el) { el.textContent = value == null ? "" : String(value); } }
  function clock(date, tz) {
    try {
      return new Intl.DateTimeFormat("en-GB", {timeZone: tz, weekday: "short", hour: "2-digit",
        minute: "2-digit", second: "2-digit", hour12: false}).format(date);
    } catch (e) { return date.toISOString(); }
  }
  function showError(error) { text("desk-error", error ? (error.message || error.id || String(error)) : ""); }
  function call(method, url, body) {
    return window.api(method, url, body).then(function (data) { showError(null); return data; },
      function (error) { showError(error); throw error; });
  }

  // ---------------------------------------------------------------- desktop state
  function tick() {
    var desk = $("desk");
    if (!desk) { return; }
    var now = new Date();
    text("agent-local-time", clock(now, desk.dataset.agentTz || "UTC"));
    if (state && state.since) {
      var seconds = Math.max(0, Math.floor((now - new Date(state.since)) / 1000));
      var m = Math.floor(seconds / 60), s = seconds % 60;
      text("time-in-state", m + ":" + (s < 10 ? "0" : "") + s);
    }
    var pop = state && state.screen_pop;
    if (pop && pop.customer_tz) {
      text("customer-local-time", clock(now, pop.customer_tz));
      text("minutes-left", minutesLeft(pop, now));
    }
  }

  function minutesLeft(pop, now) {
    var windows = pop.windows_today || [];
    for (var i = 0; i < windows.length; i++) {
      var start = new Date(windows[i][0]), end = new Date(windows[i][1]);
      if (start <= now && now < end) { return Math.floor((end - now) / 60000) + " min left today"; }
      if (now < start) { return "closed now; opens " + clock(start, pop.customer_tz); }
    }
    return pop.next_legal_at ? "closed; next " + pop.next_legal_at : "no legal minute left today";
  }

  function render(next) {
    state = next;
    text("agent-state", next.state);
    text("state-reason", next.reason ? "(" + next.reason + ")" : "");
    var pop = next.screen_pop, box = $("screen-pop");
    if (pop) {
      box.hidden = false;
      box.setAttribute("data-record-id", pop.record.id);
      text("customer-name", pop.record.name || ("Record " + pop.record.id));
      text("record-status", pop.record.status);
      text("customer-tz", (pop.zones || []).join(", ") || "zone unknown");
      renderRecord(pop);
    }  // else: the last customer stays on screen until the next one
    $("preview-box").hidden = !next.preview;
    if (next.dispositions) { dispositions = next.dispositions; }
    if (next.wrap && next.wrap.attempt_id && wrapShown !== next.wrap.attempt_id) { openWrap(next); }
    if (!next.wrap && wrapShown !== null) { closeWrap(); }
    tick();
  }

  function renderRecord(pop) {
    var dl = $("record-fields");
    dl.textContent = "";
    var r = pop.record, rows = [["Language", r.language], ["State", r.state], ["ZIP", r.zip],
      ["E-mail", r.email], ["Attempts", r.attempts_count]];
    Object.keys(r.fields || {}).forEach(function (k) { rows.push([k, r.fields[k]]); });
    Object.keys(r.custom_fields || {}).forEach(function (k) { rows.push([k, r.custom_fields[k]]); });
    rows.forEach(function (row) {
      if (row[1] === "" || row[1] == null) { return; }
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = row[0]; dd.textContent = String(row[1]);
      dl.appendChild(dt); dl.appendChild(dd);
    });
    list("record-numbers", pop.numbers, function (n) { return n.e164 + " · " + n.kind + (n.line_type ? " · " + n.line_type : "") + (n.is_valid ? "" : " (invalid)"); });
    list("callbacks", pop.callbacks, function (c) { return c.status + " · " + c.window_start_at + " – " + c.window_end_at + " (" + c.tz + ")" + (c.owner ? " · " + c.owner : "") + (c.notes ? " · " + c.notes : ""); });
    var body = $("attempts");
    body.textContent = "";
    (pop.attempts || []).forEach(function (a) {
      var tr = document.createElement("tr");
      [a.started_at, a.number, a.outcome, a.disposition, a.notes].forEach(function (v) {
        var td = document.createElement("td"); td.textContent = v == null ? "" : v; tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function list(id, items, label) {
    var ul = $(id);
    ul.textContent = "";
    (items || []).forEach(function (item) { var li = document.createElement("li"); li.textContent = label(item); ul.appendChild(li); });
    if (!(items || []).length) { var li = document.createElement("li"); li.className = "muted"; li.textContent = "none"; ul.appendChild(li); }
  }

  // ---------------------------------------------------------------- wrap-up
  function openWrap(next) {
    var pop = next.screen_pop || {}, form = $("wrapup-form");
    wrapShown = next.wrap.attempt_id;
    $("wrapup-attempt").value = next.wrap.attempt_id;
    var select = $("disposition");
    select.textContent = "";
    var blank = document.createElement("option");
    blank.value = ""; blank.textContent = "— choose —"; select.appendChild(blank);
    dispositions.forEach(function (d) {
      var o = document.createElement("option"); o.value = d.code; o.textContent = d.label; select.appendChild(o);
    });
    var numbers = $("cb-number");
    numbers.textContent = "";
    (pop.numbers || []).filter(function (n) { return n.is_valid; }).forEach(function (n) {
      var o = document.createElement("option"); o.value = n.e164; o.textContent = n.e164 + " (" + n.kind + ")";
      if (n.e164 === pop.number) { o.selected = true; }
      numbers.appendChild(o);
    });
    var tz = pop.customer_tz || "UTC";
    $("cb-tz").value = tz;
    $("cb-date").value = pop.customer_local_time ? pop.customer_local_time.slice(0, 10) : "";
    ["cb-from", "cb-to", "cb-new-number", "wrapup-note"].forEach(function (id) { $(id).value = ""; });
    text("next-call-check", ""); text("both-zones", ""); text("wrapup-error", "");
    $("next-call").hidden = true;
    form.hidden = false;
    $("no-wrap").hidden = true;
    updateSubmit();
    select.focus();
  }

  function closeWrap() {
    wrapShown = null;
    $("wrapup-form").hidden = true;
    $("no-wrap").hidden = false;
  }

  function chosen() {
    var code = $("disposition").value;
    return dispositions.filter(function (d) { return d.code === code; })[0] || null;
  }

  function needsNextCall() { var d = chosen(); return !!(d && d.next_call); }

  function updateSubmit() {
    var d = chosen();
    $("wrapup-submit").disabled = !d || (d.next_call && !checkOk);
  }

  function nextCallBody() {
    var body = {date: $("cb-date").value, from: $("cb-from").value, to: $("cb-to").value,
      tz: $("cb-tz").value, number: $("cb-number").value, new_number: $("cb-new-number").value.trim(),
      note: $("wrapup-note").value, is_personal: $("cb-personal").checked};
    return body;
  }

  function scheduleCheck() {
    checkOk = false;
    updateSubmit();
    clearTimeout(checkTimer);
    checkTimer = setTimeout(runCheck, 150);
  }

  function runCheck() {
    if (!needsNextCall() || !state || !state.screen_pop) { return; }
    var body = nextCallBody();
    if (!body.date || !body.from || !body.to) {
      text("next-call-check", ""); text("both-zones", "");
      return;
    }
    body.record_id = state.screen_pop.record.id;
    delete body.note; delete body.is_personal;
    var seq = ++checkSeq;
    window.api("POST", "/api/agent/next-call/check", body).then(function (result) {
      if (seq !== checkSeq) { return; }
      var zones = result.both_zones;
      text("both-zones", zones ? "Customer: " + zones.customer + " · You: " + zones.agent : "");
      var line = $("next-call-check");
      line.className = result.ok ? "good" : "bad";
      line.textContent = result.message;
      checkOk = !!result.ok;
      updateSubmit();
    }, function (error) {
      if (seq !== checkSeq) { return; }
      var line = $("next-call-check");
      line.className = "bad";
      line.textContent = error.message || error.id;
      checkOk = false;
      updateSubmit();
    });
  }

  function submitWrap(event) {
    event.preventDefault();
    var d = chosen();
    if (!d || $("wrapup-submit").disabled) { return; }
    var body = {attempt_id: Number($("wrapup-attempt").value), code: d.code, note: $("wrapup-note").value};
    if (d.next_call) { body.callback = nextCallBody(); }
    $("wrapup-submit").disabled = true;
    window.api("POST", "/api/agent/wrapup", body).then(function (result) {
      text("wrapup-error", "");
      closeWrap();
      render(result.state);
    }, function (error) {
      text("wrapup-error", error.message || error.id);
      updateSubmit();
    });
  }

  // ---------------------------------------------------------------- live updates
  var pollTimer = null;
  function poll() {
    window.api("GET", "/api/agent/state").then(render, function (error) { showError(error); });
  }
  function follow() {
    if (!window.EventSource) { pollTimer = setInterval(poll, 1000); return; }
    var source = new EventSource("/api/agent/events");
    source.addEventListener("state", function (event) { render(JSON.parse(event.data)); });
    source.onerror = function () {
      source.close();
      if (!pollTimer) { pollTimer = setInterval(poll, 1000); }
    };
  }

  function campaignIds() {
    return Array.prototype.map.call(document.querySelectorAll("[data-testid=campaign-choice]:checked"),
      function (box) { return Number(box.value); });
  }

  function initDesk() {
    if (!$("desk")) { return; }
    $("login-form").addEventListener("submit", function (event) {
      event.preventDefault();
      call("POST", "/api/agent/session", {campaign_ids: campaignIds()}).then(render);
    });
    $("agent-logout").addEventListener("click", function () { call("DELETE", "/api/agent/session").then(render); });
    $("agent-ready").addEventListener("click", function () { call("POST", "/api/agent/ready").then(render); });
    $("agent-not-ready").addEventListener("click", function () {
      call("POST", "/api/agent/not-ready", {reason: $("not-ready-reason").value}).then(render);
    });
    $("preview-dial").addEventListener("click", function () {
      call("POST", "/api/agent/preview/dial", {record_id: state.preview.record_id}).then(render);
    });
    $("preview-skip").addEventListener("click", function () {
      call("POST", "/api/agent/preview/skip", {record_id: state.preview.record_id, reason: $("skip-reason").value}).then(render);
    });
    $("disposition").addEventListener("change", function () {
      $("next-call").hidden = !needsNextCall();
      scheduleCheck();
    });
    ["cb-date", "cb-from", "cb-to", "cb-tz", "cb-number", "cb-new-number"].forEach(function (id) {
      $(id).addEventListener("input", scheduleCheck);
      $(id).addEventListener("change", scheduleCheck);
    });
    $("wrapup-form").addEventListener("submit", submitWrap);
    setInterval(tick, 1000);
    tick();
    poll();
    follow();
  }

  // ---------------------------------------------------------------- My callbacks
  function initCallbacks() {
    var root = document.querySelector("[data-testid=my-callbacks]");
    if (!root) { return; }
    root.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.dataset.action) { return; }
      event.preventDefault();
      var body = {};
      Array.prototype.forEach.call(form.elements, function (el) { if (el.name) { body[el.name] = el.value; } });
      var method = form.dataset.method || "POST";
      var out = form.querySelector(".result");
      window.api(method, form.dataset.action, body).then(function () { location.reload(); },
        function (error) { if (out) { out.textContent = error.message || error.id; } });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { initDesk(); initCallbacks(); });
})();
