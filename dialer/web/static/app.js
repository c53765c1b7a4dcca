// Small helpers shared by the pages (no build step).
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  // fetch() with the session's CSRF token and JSON in and out; rejects with the API's error object.
  window.api = function (method, url, body) {
    var init = {method: method, credentials: "same-origin",
                headers: {"X-CSRF-Token": csrf(), "Accept": "application/json"}};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        var data = text ? JSON.parse(text) : {};
        if (!response.ok) { throw (data.error || {id: "http-" + response.status, message: text, fields: {}}); }
        return data;
      });
    });
  };
  window.csrfToken = csrf;
})();
