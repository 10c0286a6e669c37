// "Copy" buttons beside a secret shown once (API tokens, webhook signing secrets): a button
// with data-copy="#id" copies that element's text; data-copied is the word shown after.
(function () {
  "use strict";

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function done(button) {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || label;
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }

  function bind(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      if (button.dataset.bound) return;
      button.dataset.bound = "1";
      button.addEventListener("click", function () {
        var source = document.querySelector(button.getAttribute("data-copy"));
        if (!source) return;
        var text = source.textContent.trim();
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(function () { done(button); },
                                                   function () { selectText(source); });
        } else {
          // Plain http (a local demo): select the text for Ctrl+C.
          selectText(source);
          try { if (document.execCommand("copy")) done(button); } catch (e) { /* selected */ }
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { bind(document); });
})();
