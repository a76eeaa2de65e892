// The report form, improved when JavaScript runs (it works without): add rows without a round
// trip, and keep the running totals up to date as amounts are typed.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) return;
  var french = form.dataset.language !== "en";

  // The same reading as portal/numbers.py, for display only (the server decides).
  function parseAmount(text) {
    text = (text || "").trim();
    if (!text) return 0;
    if (/^\d{1,3}([ \u00a0\u202f]\d{3})+([.,]\d+)?$/.test(text)) {
      text = text.replace(/[ \u00a0\u202f]/g, "").replace(",", ".");
    } else if (/^\d{1,3}((,\d{3}){2,}(\.\d+)?|,\d{3}\.\d+)$/.test(text)) {
      text = text.replace(/,/g, "");
    } else if (/^\d+([.,]\d+)?$/.test(text) && !/^\d{1,3},\d{3}$/.test(text)) {
      text = text.replace(",", ".");
    } else {
      return NaN;
    }
    return Number(text);
  }

  function formatAmount(value) {
    var parts = value.toFixed(2).split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, french ? "\u00a0" : ",");
    return french ? whole + "," + parts[1] + "\u00a0$" : "$" + whole + "." + parts[1];
  }

  function updateTotals() {
    var report = 0;
    form.querySelectorAll("[data-project]").forEach(function (section) {
      var total = 0;
      section.querySelectorAll("input.money-input").forEach(function (input) {
        var row = input.closest("tr");
        var deleted = row && row.querySelector("input[type=checkbox][name$='-DELETE']");
        if (deleted && deleted.checked) return;
        var amount = parseAmount(input.value);
        if (!isNaN(amount)) total += amount;
      });
      var output = section.querySelector("[data-total]");
      if (output) output.textContent = formatAmount(total);
      report += total;
    });
    var reportOutput = document.getElementById("report-total");
    if (reportOutput) reportOutput.textContent = formatAmount(report);
  }

  // After a refused save, take keyboard and screen-reader users to what needs their attention.
  var alert = document.getElementById("error-summary") || document.getElementById("stale");
  if (alert) {
    alert.setAttribute("tabindex", "-1");
    alert.focus();
  }

  form.addEventListener("input", updateTotals);
  form.addEventListener("change", updateTotals);

  form.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      var prefix = button.dataset.addRow;
      var template = form.querySelector("template[data-empty-row='" + prefix + "']");
      var body = form.querySelector("table[data-formset='" + prefix + "'] tbody");
      var total = form.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
      if (!template || !body || !total) return; // let the button post: the server adds rows
      event.preventDefault();
      var index = Number(total.value);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      body.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var first = body.lastElementChild.querySelector("input, select");
      if (first) first.focus();
    });
  });
})();
