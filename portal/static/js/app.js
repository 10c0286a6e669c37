// Small behaviours without inline scripts (the CSP forbids them).
(function () {
  "use strict";

  function dismissible(root) {
    root.querySelectorAll("[data-dismiss]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var box = btn.closest(".flash");
        if (box) box.remove();
      });
    });
  }

  function toggles(root) {
    root.querySelectorAll("[data-toggle]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var target = document.querySelector(btn.getAttribute("data-toggle"));
        if (!target) return;
        var open = target.classList.toggle("open");
        btn.setAttribute("aria-expanded", open ? "true" : "false");
      });
    });
  }

  function confirms(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  function init(root) {
    dismissible(root);
    toggles(root);
    confirms(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
  // Success messages travel as an HX-Trigger "flash" event: a toast in the corner that does not
  // move the page under the user's hands; a newer one replaces the older.
  document.addEventListener("flash", function (event) {
    if (!event.detail) return;
    var region = document.getElementById("toasts");
    if (!region) {
      region = document.createElement("div");
      region.id = "toasts";
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    region.textContent = "";
    var box = document.createElement("div");
    box.className = "flash toast flash-" + (event.detail.category || "success");
    box.setAttribute("role", "status");
    var text = document.createElement("span");
    text.textContent = event.detail.message || event.detail.value || "";
    box.appendChild(text);
    region.appendChild(box);
    setTimeout(function () { box.remove(); }, 6000);
  });
})();
