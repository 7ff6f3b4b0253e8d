// Disclosure buttons without a framework: a button[data-toggle] adds/removes the class "open" on its target
// (data-toggle="parent", or a CSS selector) and keeps aria-expanded in step. The top bar's menu starts
// collapsed only once this script runs, so without JavaScript the navigation stays visible.
(function () {
  "use strict";
  function target(button) {
    var how = button.getAttribute("data-toggle");
    return how === "parent" ? button.parentElement : document.querySelector(how);
  }
  document.documentElement.classList.add("js");
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-toggle]");
    if (!button) return;
    var element = target(button);
    if (!element) return;
    var open = element.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
