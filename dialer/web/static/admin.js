// The admin console's small helpers (no build step): forms sent as JSON through api(),
// errors shown next to the form, and a few page behaviours bound by data attributes.
(function () {
  "use strict";

  // The form's named fields as an object: checkboxes as booleans, empty optional numbers dropped.
  function formJson(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.name === "csrf_token" || el.type === "file") { return; }
      if (el.type === "checkbox") { out[el.name] = el.checked; return; }
      if (el.type === "radio" && !el.checked) { return; }
      if (el.multiple) {
        out[el.name] = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        return;
      }
      if (el.type === "number") {
        if (el.value === "") { return; }
        out[el.name] = Number(el.value);
        return;
      }
      out[el.name] = el.value;
    });
    return out;
  }

  // Show an API error object in the form's [data-errors] element and mark the fields.
  function showError(form, error) {
    var box = form.querySelector("[data-errors]") || document.querySelector("[data-errors]");
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    if (!box) { alert(error.message || String(error)); return; }
    box.textContent = "";
    var head = document.createElement("p");
    head.textContent = error.message || String(error);
    box.appendChild(head);
    var fields = error.fields || {};
    var list = document.createElement("ul");
    Object.keys(fields).forEach(function (name) {
      var item = document.createElement("li");
      item.textContent = name + ": " + fields[name];
      list.appendChild(item);
      var input = form.querySelector('[name="' + name + '"]');
      if (input) { input.setAttribute("aria-invalid", "true"); }
    });
    if (list.children.length) { box.appendChild(list); }
  }

  function clearError(form) {
    var box = form.querySelector("[data-errors]");
    if (box) { box.textContent = ""; }
  }

  // <form data-api="POST /api/x" data-then="reload|/path/{id}|event"> sends its fields as JSON.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var spec = form.getAttribute("data-api");
    if (!spec) { return; }
    event.preventDefault();
    var parts = spec.split(" ");
    clearError(form);
    var button = form.querySelector("[type=submit]");
    if (button) { button.disabled = true; }
    window.api(parts[0], parts[1], formJson(form)).then(function (data) {
      var then = form.getAttribute("data-then") || "reload";
      if (then === "reload") { location.reload(); return; }
      if (then === "event") {
        form.dispatchEvent(new CustomEvent("api:done", {detail: data, bubbles: true}));
        return;
      }
      location.href = then.replace("{id}", data.id);
    }).catch(function (error) { showError(form, error); })
      .finally(function () { if (button) { button.disabled = false; } });
  });

  // <button data-call="POST /api/x" data-then="reload"> calls the API on click.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-call]");
    if (!button) { return; }
    var parts = button.getAttribute("data-call").split(" ");
    var confirmText = button.getAttribute("data-confirm");
    if (confirmText && !window.confirm(confirmText)) { return; }
    button.disabled = true;
    window.api(parts[0], parts[1]).then(function (data) {
      button.dispatchEvent(new CustomEvent("api:done", {detail: data, bubbles: true}));
      var then = button.getAttribute("data-then");
      if (then === "reload") { location.reload(); } else if (then) { location.href = then; }
    }).catch(function (error) {
      var box = document.querySelector(button.getAttribute("data-errors-in") || "[data-errors]");
      if (box) { box.textContent = error.message; } else { alert(error.message); }
    }).finally(function () { button.disabled = false; });
  });

  window.admin = {formJson: formJson, showError: showError, clearError: clearError};
})();
