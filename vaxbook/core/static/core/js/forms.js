// Progressive enhancement of every form page; the pages work the same without it.
(function () {
  "use strict";

  // An error summary takes the focus when the page loads, so that screen reader and
  // keyboard users land on it (GOV.UK error summary pattern).
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      // A link to a field focuses the field itself and brings its label into view, rather
      // than only scrolling to it.
      var link = event.target.closest("a[href^='#']");
      var input = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!input) {
        return;
      }
      event.preventDefault();
      var group = input.closest("fieldset, .field");
      var label = (group && group.querySelector("legend, label")) || input;
      label.scrollIntoView();
      input.focus({ preventScroll: true });
    });
  }

  // A second click on a submit button while the first request is on its way sends nothing:
  // the server refuses a second booking anyway, but the person sees the first answer.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.method.toLowerCase() !== "post") {
      return;
    }
    if (form.dataset.submitted) {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
  });
  // Coming back to a page from the browser's history lets its forms be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      delete form.dataset.submitted;
    });
  });
})();
