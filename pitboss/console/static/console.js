// Pitboss console: load the latest feature snapshot when its section is opened.
(function () {
  "use strict";
  var latest = document.querySelector("details.latest[data-src]");
  if (!latest) { return; }
  latest.addEventListener("toggle", function () {
    if (!latest.open || latest.dataset.loaded) { return; }
    latest.dataset.loaded = "1";
    fetch(latest.dataset.src, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : "<span>not available</span>"; })
      .then(function (html) { latest.querySelector(".latest-features").innerHTML = html; })
      .catch(function () { latest.dataset.loaded = ""; });
  });
})();

// Pitboss console: after a verdict, wait for the worker's answer and reload the case when it lands.
(function () {
  "use strict";
  var head = document.querySelector(".case-head[data-awaiting]");
  if (!head) { return; }
  var url = "/case/" + encodeURIComponent(head.dataset.decision) + "/status";
  var shown = head.dataset.status;
  function check() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (state && (state.status !== shown || state.finalised > 0)) {
          window.location.replace(window.location.pathname);
        } else {
          window.setTimeout(check, 1500);
        }
      })
      .catch(function () { window.setTimeout(check, 3000); });
  }
  window.setTimeout(check, 1000);
})();
