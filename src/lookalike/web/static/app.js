/* Lookalike UI: the few behaviours HTML cannot do alone. Every page works without this file
   (the condition builder stays hidden, forms submit as usual); texts come from the page (catalogue). */
(function () {
  "use strict";

  /* Forms marked data-progress: one submit only, and a visible "working" line with the seconds elapsed. */
  function busyForms(root) {
    root.querySelectorAll("form[data-progress]").forEach(function (form) {
      if (form.dataset.busyReady) return;
      form.dataset.busyReady = "1";
      form.addEventListener("submit", function (event) {
        if (form.dataset.busy) { event.preventDefault(); return; }
        if (!form.checkValidity()) return;
        form.dataset.busy = "1";
        form.setAttribute("aria-busy", "true");
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
        var busy = form.querySelector(".busy");
        if (!busy) return;
        busy.hidden = false;
        var seconds = busy.querySelector(".busy-seconds"), t0 = Date.now();
        if (seconds) setInterval(function () { seconds.textContent = Math.round((Date.now() - t0) / 1000) + " s"; }, 1000);
      });
    });
  }

  /* A page shown again from the back/forward cache keeps no disabled buttons. */
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) return;
    document.querySelectorAll("form[data-busy]").forEach(function (form) {
      delete form.dataset.busy;
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
      var busy = form.querySelector(".busy");
      if (busy) busy.hidden = true;
    });
  });

  /* Charts wider than the screen scroll sideways: make them reachable by keyboard. */
  function scrollableCharts(root) {
    root.querySelectorAll(".chart").forEach(function (chart) {
      if (chart.scrollWidth > chart.clientWidth + 1) {
        chart.tabIndex = 0;
      } else {
        chart.removeAttribute("tabindex");
      }
    });
  }

  /* The size slider shows its value. */
  function sizeOutput() {
    var slider = document.getElementById("size_pct"), out = document.getElementById("size_out");
    if (!slider || !out) return;
    slider.addEventListener("input", function () { out.value = slider.value; });
  }

  /* The condition builder: column, operator and values from the data write a condition of the rule text. */
  function quote(v) {
    if (/^[^|,'"()\[\]{}]+$/.test(v) && v === v.trim() && isNaN(Number(v))) return v;
    return v.indexOf("'") < 0 ? "'" + v + "'" : '"' + v + '"';
  }

  function builder() {
    var cb = document.getElementById("cb");
    if (!cb) return;
    cb.hidden = false;
    var column = document.getElementById("cb-column"), message = document.getElementById("cb-message");
    var panels = cb.querySelectorAll(".cb-panel");
    function current() {
      var found = null;
      panels.forEach(function (p) { if (p.dataset.column === column.value) found = p; });
      return found;
    }
    column.addEventListener("change", function () {
      panels.forEach(function (p) { p.hidden = p.dataset.column !== column.value; });
      message.textContent = "";
    });
    cb.querySelectorAll(".chip").forEach(function (chip) {
      chip.addEventListener("click", function () {
        var panel = chip.closest(".cb-panel"), op = panel.querySelector(".cb-op");
        panel.querySelector(".cb-value").value = chip.dataset.value;
        if (op.value === "top" || op.value === "bottom") op.value = ">=";
      });
    });
    function condition(panel) {
      var name = panel.dataset.column, op = panel.querySelector(".cb-op").value;
      if (panel.dataset.kind === "number") {
        var v = panel.querySelector(".cb-value").value;
        if (v === "" || isNaN(Number(v))) return [null, message.dataset.number];
        if (op === "top" || op === "bottom") return [name + " " + op + " " + v + "%", null];
        return [name + " " + op + " " + v, null];
      }
      if (panel.dataset.kind === "category") {
        var chosen = [];
        panel.querySelectorAll("input[type=checkbox]:checked").forEach(function (c) { chosen.push(c.value); });
        if (!chosen.length) return [null, message.dataset.values];
        if (chosen.some(function (v) { return /\sand\s/i.test(v); })) return [null, message.dataset.and];
        return [name + " " + op + " " + chosen.map(quote).join("|"), null];
      }
      return [name + " == " + op, null];
    }
    document.getElementById("cb-add").addEventListener("click", function () {
      var panel = current();
      if (!panel) { message.textContent = message.dataset.pick; return; }
      var made = condition(panel);
      if (!made[0]) { message.textContent = made[1]; return; }
      var target = document.getElementById(document.getElementById("cb-target").value);
      target.value = target.value.trim() ? target.value.trim() + " and " + made[0] : made[0];
      if (target.id === "seed_rule") document.getElementById("seed_rule_r").checked = true;
      var adv = target.closest("details");
      if (adv) adv.open = true;
      message.textContent = message.dataset.added + " " + made[0];
      target.dispatchEvent(new Event("change", { bubbles: true }));
    });
    document.getElementById("cb-clear").addEventListener("click", function () {
      var target = document.getElementById(document.getElementById("cb-target").value);
      target.value = "";
      message.textContent = "";
      target.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  /* Typing ids or a rule chooses that kind of seeds. */
  function seedKind() {
    [["seed_ids", "seed_ids_r"], ["seed_file", "seed_ids_r"], ["seed_rule", "seed_rule_r"]].forEach(function (pair) {
      var input = document.getElementById(pair[0]), radio = document.getElementById(pair[1]);
      if (!input || !radio) return;
      input.addEventListener("input", function () { if (input.value) radio.checked = true; });
      input.addEventListener("change", function () { if (input.value) radio.checked = true; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    busyForms(document);
    scrollableCharts(document);
    sizeOutput();
    seedKind();
    builder();
  });
  window.addEventListener("resize", function () { scrollableCharts(document); });
  document.addEventListener("htmx:afterSwap", function (e) { scrollableCharts(e.target); busyForms(e.target); });
})();
