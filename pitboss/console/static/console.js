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
