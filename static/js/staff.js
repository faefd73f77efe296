/* The staff menu collapses on phones: the <details> of templates/staff/layout.html is rendered
   open (so it works without JavaScript) and closed here when the screen is narrow. */
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 760px)");
  function fit() {
    var menu = document.querySelector(".staff-menu");
    if (menu) menu.open = !narrow.matches;
  }
  fit();
  narrow.addEventListener("change", fit);
})();
