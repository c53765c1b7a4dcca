// /admin/lists: upload (streamed, with upload progress) -> map columns -> import -> live
// progress (server-sent events, polling as a fallback) -> summary and reject download.
(function () {
  "use strict";
  var form = document.getElementById("list-upload-form");
  if (!form) { return; }
  var state = {upload: null, described: null, campaign: null, listName: "", priority: null};

  function $(id) { return document.getElementById(id); }
  function el(tag, text) { var e = document.createElement(tag); if (text !== undefined) { e.textContent = text; } return e; }

  function sendFile(data) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      var bar = $("upload-progress");
      xhr.open("POST", "/api/uploads");
      xhr.setRequestHeader("X-CSRF-Token", window.csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) { bar.hidden = false; bar.value = 100 * event.loaded / event.total; }
      };
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText || "{}"); } catch (e) { body = {}; }
        if (xhr.status >= 200 && xhr.status < 300) { resolve(body); }
        else { reject(body.error || {message: "upload failed (" + xhr.status + ")", fields: {}}); }
      };
      xhr.onerror = function () { reject({message: "the upload was interrupted", fields: {}}); };
      xhr.send(data);
    });
  }

  function fieldSelect(field, header, chosen) {
    var label = el("label", field.replace("_", " ") + " ");
    var select = el("select");
    select.name = field;
    select.setAttribute("data-field", field);
    select.setAttribute("data-testid", "map-" + field);
    if (field === "alt_phone") { select.multiple = true; select.size = Math.min(4, header.length); }
    else { select.appendChild(el("option", "")); select.options[0].value = ""; }
    var wanted = Array.isArray(chosen) ? chosen : (chosen ? [chosen] : []);
    header.forEach(function (column) {
      var option = el("option", column);
      option.value = column;
      option.selected = wanted.indexOf(column) >= 0;
      select.appendChild(option);
    });
    label.appendChild(select);
    return label;
  }

  function showMapping(described) {
    $("mapping-file").textContent = described.filename + " · " + described.size_bytes + " bytes · " +
      described.header.length + " columns (" + described.encoding + ")" +
      (described.has_phone ? "" : " · choose the phone column");
    var fields = $("mapping-fields");
    fields.textContent = "";
    described.fields.forEach(function (field) {
      fields.appendChild(fieldSelect(field, described.header, described.mapping[field]));
    });
    var table = $("mapping-sample");
    table.textContent = "";
    var head = el("tr");
    described.header.forEach(function (c) { head.appendChild(el("th", c)); });
    var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
    var body = el("tbody");
    described.sample.forEach(function (row) {
      var tr = el("tr");
      row.forEach(function (cell) { tr.appendChild(el("td", cell)); });
      body.appendChild(tr);
    });
    table.appendChild(body);
    $("list-mapping").hidden = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.admin.clearError(form);
    var data = new FormData();
    data.append("file", form.file.files[0]);
    state.campaign = Number(form.campaign.value);
    state.listName = form.list_name.value;
    state.priority = form.priority.value === "" ? null : Number(form.priority.value);
    var button = form.querySelector("[type=submit]");
    button.disabled = true;
    $("list-mapping").hidden = true;
    $("import-status").hidden = true;
    sendFile(data).then(function (described) {
      state.upload = described.upload;
      state.described = described;
      showMapping(described);
    }).catch(function (error) { window.admin.showError(form, error); })
      .finally(function () { button.disabled = false; });
  });

  function mapping() {
    var out = {};
    document.querySelectorAll("#mapping-fields select").forEach(function (select) {
      if (select.multiple) {
        var picked = Array.prototype.filter.call(select.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        if (picked.length) { out[select.name] = picked; }
      } else if (select.value) {
        out[select.name] = select.value;
      }
    });
    return out;
  }

  function showJob(job) {
    var bar = $("import-progress");
    bar.value = job.percent;
    $("import-progress-text").textContent = job.status + " · " + job.percent + "% of " + job.size_bytes + " bytes";
    if (job.status !== "done" && job.status !== "failed") { return false; }
    var summary = $("import-summary");
    summary.hidden = false;
    summary.textContent = "";
    if (job.status === "failed") {
      var p = el("p", "Import failed: " + job.error);
      p.className = "error";
      summary.appendChild(p);
      return true;
    }
    bar.value = 100;
    var reasons = Object.keys(job.rejected).map(function (k) { return job.rejected[k] + " " + k; }).join(", ");
    var line = el("p", "List " + job.list_name + ": " + job.rows + " rows, imported " + job.imported +
      ", rejected " + job.rejected_total + (reasons ? " (" + reasons + ")" : ""));
    line.className = "ok";
    summary.appendChild(line);
    var link = $("reject-download");
    link.href = "/api/import-jobs/" + job.id + "/rejects";
    link.hidden = false;
    return true;
  }

  function poll(id) {
    api("GET", "/api/import-jobs/" + id).then(function (job) {
      if (!showJob(job)) { setTimeout(function () { poll(id); }, 1000); }
    }).catch(function (error) { $("import-progress-text").textContent = error.message; });
  }

  function follow(id) {
    if (!window.EventSource) { poll(id); return; }
    var source = new EventSource("/api/import-jobs/" + id + "/events");
    var finished = false;
    function handle(event) {
      var job = JSON.parse(event.data);
      if (showJob(job)) { finished = true; source.close(); }
    }
    source.addEventListener("progress", handle);
    source.addEventListener("done", handle);
    source.addEventListener("failed", handle);
    source.onerror = function () { source.close(); if (!finished) { poll(id); } };
  }

  $("list-import").addEventListener("click", function () {
    var button = this;
    $("mapping-errors").textContent = "";
    button.disabled = true;
    var body = {upload: state.upload, campaign: state.campaign, list_name: state.listName,
                mapping: mapping(), priority: state.priority};
    api("POST", "/api/import-jobs", body).then(function (job) {
      $("list-mapping").hidden = true;
      $("import-status").hidden = false;
      $("import-summary").hidden = true;
      $("reject-download").hidden = true;
      showJob(job);
      follow(job.id);
    }).catch(function (error) {
      var box = $("mapping-errors");
      box.textContent = error.message + Object.keys(error.fields || {}).map(function (k) {
        return " · " + k + ": " + error.fields[k]; }).join("");
    }).finally(function () { button.disabled = false; });
  });
})();
