// imagetrust report: sorting, filtering and expanding, on the page's own data attributes.
// Untrusted text is only ever read from data attributes and compared; nothing here writes
// HTML (no innerHTML), so nothing from the Hub, the docs or an image can become markup.
"use strict";

(function () {
  function byId(id) { return document.getElementById(id); }

  function norm(text) { return (text || "").toLowerCase(); }

  // --- the overview: one <tbody class="repo"> per repository -----------------------------
  function overview() {
    var table = byId("overview");
    if (!table) return;
    var groups = Array.prototype.slice.call(table.querySelectorAll("tbody.repo"));
    var text = byId("f-text"), verdict = byId("f-verdict"), os = byId("f-os");
    var deprecated = byId("f-deprecated"), shown = byId("shown");

    function apply() {
      var words = norm(text.value).split(/\s+/).filter(Boolean);
      var count = 0;
      groups.forEach(function (group) {
        var d = group.dataset;
        var haystack = norm(d.search);
        var ok = words.every(function (w) { return haystack.indexOf(w) !== -1; });
        if (ok && verdict.value) ok = d.verdict === verdict.value;
        if (ok && os.value) ok = d.os === os.value;
        if (ok && deprecated.value === "hide") ok = d.deprecated !== "yes";
        if (ok && deprecated.value === "only") ok = d.deprecated === "yes";
        group.hidden = !ok;
        if (ok) count += 1;
      });
      shown.textContent = "showing " + count + " of " + groups.length;
    }

    [text, verdict, os, deprecated].forEach(function (input) {
      input.addEventListener("input", apply);
      input.addEventListener("change", apply);
    });
    byId("filters").addEventListener("submit", function (event) { event.preventDefault(); });
    document.querySelectorAll("[data-verdict-filter]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var wanted = link.dataset.verdictFilter;
        verdict.value = verdict.value === wanted ? "" : wanted;
        apply();
        table.scrollIntoView({ behavior: "smooth", block: "start" });
      });
    });

    table.querySelectorAll("button.expand").forEach(function (button) {
      button.addEventListener("click", function () {
        var detail = byId(button.getAttribute("aria-controls"));
        var open = button.getAttribute("aria-expanded") === "true";
        button.setAttribute("aria-expanded", open ? "false" : "true");
        button.textContent = open ? "\u25b8" : "\u25be";
        detail.hidden = open;
      });
    });

    var headers = Array.prototype.slice.call(table.querySelectorAll("th[data-sort]"));
    headers.forEach(function (th) {
      th.tabIndex = 0;
      function sort() {
        var key = th.dataset.sort;
        var numeric = th.dataset.type === "num";
        var current = th.getAttribute("aria-sort");
        // numbers: largest first on the first click; text: A to Z
        var descending = current ? current === "ascending" : numeric;
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var attr = key === "verdict" ? "verdictRank" : key;
        var sorted = groups.slice().sort(function (a, b) {
          var x = a.dataset[attr], y = b.dataset[attr], order;
          if (numeric) {
            order = parseFloat(x) - parseFloat(y);
          } else {
            // empty values last in either direction
            if (!x && y) return 1;
            if (x && !y) return -1;
            order = x < y ? -1 : x > y ? 1 : 0;
          }
          if (descending) order = -order;
          if (order === 0) order = a.dataset.name < b.dataset.name ? -1 : 1;
          return order;
        });
        sorted.forEach(function (group) { table.appendChild(group); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });
    apply();
  }

  // --- an image page: the packages table --------------------------------------------------
  function packages() {
    var table = byId("packages-table");
    var text = byId("p-text"), show = byId("p-show"), shown = byId("p-shown");
    if (!table || !text) return;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    function apply() {
      var words = norm(text.value).split(/\s+/).filter(Boolean);
      var count = 0;
      rows.forEach(function (row) {
        var d = row.dataset;
        var haystack = norm(d.search);
        var ok = words.every(function (w) { return haystack.indexOf(w) !== -1; });
        if (ok && show.value === "vulnerable") ok = d.vulnerable === "yes";
        if (ok && show.value === "fixable") ok = d.fixable === "yes";
        row.hidden = !ok;
        if (ok) count += 1;
        row.querySelectorAll(".finding").forEach(function (finding) {
          finding.hidden = show.value === "fixable" && finding.dataset.fixable !== "yes";
        });
      });
      shown.textContent = "showing " + count + " of " + rows.length;
    }
    text.addEventListener("input", apply);
    show.addEventListener("change", apply);
    byId("pkg-filters").addEventListener("submit", function (event) { event.preventDefault(); });
    apply();
  }

  overview();
  packages();
})();
