// The supplier's quote form: line and total figures worked out as prices are typed. The
// server works them out again on save; these are only a preview. No inline script (CSP).
(function () {
  "use strict";
  var form = document.querySelector("[data-quote-form]");
  if (!form) return;
  var currency = form.dataset.currency || "EUR";
  var lang = (form.dataset.locale || document.documentElement.lang || "en").slice(0, 2);
  var locale = lang === "pl" ? "pl-PL" : "en-IE";
  var money;
  try {
    money = new Intl.NumberFormat(locale, { style: "currency", currency: currency });
  } catch (e) {
    money = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  // A typed number the Polish or the English way ("1 234,50", "1234.50"); NaN otherwise.
  function parse(text) {
    var t = String(text || "").replace(/[\s\u00a0\u202f]/g, "");
    if (!/^[+-]?[0-9]+([.,][0-9]+)?$/.test(t)) return NaN;
    return parseFloat(t.replace(",", "."));
  }
  // Cents as integers, so the preview adds up like the server's rounded lines.
  function cents(value) { return Math.round(value * 100); }
  function show(el, c) { if (el) el.textContent = c === null ? "—" : money.format(c / 100); }

  function recalc() {
    var lines = 0, any = false;
    form.querySelectorAll("[data-line]").forEach(function (row) {
      var input = row.querySelector("input[name$='_unit_price']");
      var out = row.querySelector("[data-line-net]");
      var price = input ? parse(input.value) : NaN;
      var qty = parse(row.dataset.qty);
      if (isNaN(price) || price <= 0 || isNaN(qty)) { show(out, null); return; }
      var c = cents(price * qty);
      lines += c; any = true;
      show(out, c);
    });
    var charges = 0;
    ["freight", "other_charges"].forEach(function (name) {
      var el = form.querySelector("input[name='" + name + "']");
      var v = el ? parse(el.value) : NaN;
      if (!isNaN(v) && v > 0) charges += cents(v);
    });
    show(form.querySelector("[data-lines-total]"), any ? lines : null);
    show(form.querySelector("[data-charges-total]"), charges);
    show(form.querySelector("[data-grand-total]"), any ? lines + charges : null);
  }

  form.addEventListener("input", recalc);
  recalc();
})();
