// The waiting room page keeps itself up to date: it asks where the person stands when the
// server says to (poll_after, already jittered), backs off with jitter when the server is
// busy or unreachable, and reloads the page when the state changes (the page then shows
// the next step). Without JavaScript, a <meta refresh> in <noscript> does the same.
(function () {
  "use strict";
  var root = document.getElementById("waiting-room");
  if (!root) { return; }
  var url = root.getAttribute("data-status-url");
  var state = root.getAttribute("data-state");
  var delay = parseFloat(root.getAttribute("data-poll-after")) || 10;
  var failures = 0;

  function put(field, value) {
    var element = root.querySelector('[data-field="' + field + '"]');
    if (element && value !== null && value !== undefined) { element.textContent = String(value); }
  }

  function countdown() {
    var element = root.querySelector("[data-countdown]");
    if (!element) { return; }
    var left = Math.max(0, Math.round(parseInt(element.getAttribute("data-countdown"), 10) - Date.now() / 1000));
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    element.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
  }

  function schedule(seconds) {
    window.setTimeout(poll, Math.max(1, seconds) * 1000);
  }

  function backoff() {
    failures += 1;
    var base = Math.min(60, 2 * Math.pow(2, failures));
    schedule(base * (0.5 + Math.random()));
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (body) {
        failures = 0;
        if (body.reload || body.state !== state) { window.location.reload(); return; }
        put("position", body.position);
        put("ahead", body.ahead);
        if (body.estimate) {
          put("low", Math.max(1, Math.floor(body.estimate.low_seconds / 60)));
          put("high", Math.max(1, Math.ceil(body.estimate.high_seconds / 60)));
        }
        schedule(body.poll_after);
      })
      .catch(backoff);
  }

  if (root.querySelector("[data-countdown]")) {
    countdown();
    window.setInterval(countdown, 1000);
  }
  if (state !== "admitted" && state !== "sold_out") { schedule(delay); }
})();
