// Parley's own behaviour, kept out of the HTML so the CSP needs no
// 'unsafe-inline'. Everything here is progressive: pages work without it.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="element-id">Copy</button> copies the
  // text of that element and says so for a moment.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });
})();
