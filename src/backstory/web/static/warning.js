// Reveal a safety banner as soon as a cauda equina question is answered: "yes" shows the
// emergency banner (HZ-11), "not sure" shows the advice to get help today (HZ-85); a "yes"
// anywhere wins. Both banners are always in the page (hidden); the server shows them too on
// submit, so this script only makes the warning immediate. No inline script: the CSP allows
// 'self' only.
(function () {
  "use strict";
  function reveal(banner, show) {
    if (!banner) { return; }
    var wasHidden = banner.hidden;
    banner.hidden = !show;
    if (show && wasHidden) {
      banner.setAttribute("tabindex", "-1");
      banner.scrollIntoView({ block: "start" });
    }
  }
  function update() {
    // a page without cauda equina questions keeps the banners the server showed
    if (!document.querySelector('input[data-ces="1"]')) { return; }
    var yes = document.querySelectorAll('input[data-ces="1"][value="yes"]:checked').length > 0;
    var unsure = document.querySelectorAll('input[data-ces="1"][value="not_sure"]:checked').length > 0;
    reveal(document.getElementById("ces-banner"), yes);
    reveal(document.getElementById("unsure-banner"), unsure && !yes);
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.getAttribute && target.getAttribute("data-ces") === "1") { update(); }
  });
  document.addEventListener("DOMContentLoaded", update);
})();
