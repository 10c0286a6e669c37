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

  // List tables (class "cards") turn into cards on a phone, each cell under its column's label:
  // give every cell without a data-label the text of its column heading (colspans counted).
  function cardLabels() {
    document.querySelectorAll("table.cards").forEach(function (table) {
      var labels = [];
      table.querySelectorAll("thead tr:first-child th").forEach(function (th) {
        var label = th.getAttribute("data-label");
        if (label === null) {
          var copy = th.cloneNode(true);
          copy.querySelectorAll("[aria-hidden=true]").forEach(function (el) { el.remove(); });
          label = copy.textContent.replace(/\s+/g, " ").trim();
        }
        for (var i = 0; i < (th.colSpan || 1); i++) labels.push(label);
      });
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        var column = 0;
        Array.prototype.forEach.call(tr.cells, function (td) {
          if (!td.hasAttribute("data-label") && labels[column]) td.setAttribute("data-label", labels[column]);
          column += td.colSpan || 1;
        });
      });
    });
  }

  // A styled file picker (macros/forms.html): show the chosen file's name beside its button,
  // in place of the browser's own "No file chosen" (which speaks the browser's language).
  function filePickers(root) {
    root.querySelectorAll("[data-file-picker]").forEach(function (picker) {
      var input = picker.querySelector("input[type=file]");
      var chosen = picker.querySelector("[data-file-chosen]");
      if (!input || !chosen || input.dataset.bound) return;
      input.dataset.bound = "1";
      function show() {
        var names = Array.prototype.map.call(input.files || [], function (file) { return file.name; });
        chosen.textContent = names.length ? names.join(", ") : chosen.getAttribute("data-none");
        picker.classList.toggle("has-file", names.length > 0);
      }
      input.addEventListener("change", show);
      show();
    });
  }

  function init(root) {
    dismissible(root);
    toggles(root);
    confirms(root);
    filePickers(root);
    cardLabels();
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
