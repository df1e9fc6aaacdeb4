// Reveal the emergency banner as soon as any cauda equina question is answered "yes".
// The banner is always in the page (hidden); the server shows it too on submit, so this
// script only makes the warning immediate. No inline script: the CSP allows 'self' only.
(function () {
  "use strict";
  function update() {
    var banner = document.getElementById("ces-banner");
    if (!banner) { return; }
    var yes = document.querySelectorAll('input[data-ces="1"][value="yes"]:checked').length > 0;
    var wasHidden = banner.hidden;
    banner.hidden = !yes;
    if (yes && wasHidden) {
      banner.setAttribute("tabindex", "-1");
      banner.scrollIntoView({ block: "start" });
    }
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.getAttribute && target.getAttribute("data-ces") === "1") { update(); }
  });
  document.addEventListener("DOMContentLoaded", update);
})();
