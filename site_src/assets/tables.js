// Generated tables: a "Columns" control that shows the optional columns (hidden
// by default so wide tables fit), and a filter box on long tables. Runs on every
// page Material's instant navigation swaps in (document$), once per table.
(function () {
  var FILTER_MIN_ROWS = 15; // display constant: tables longer than this get a filter box

  function setColumn(table, col, on) {
    table.querySelectorAll('[data-col="' + col + '"], td:nth-child(' + (Number(col) + 1) + ')').forEach(
      function (cell) { cell.classList.toggle("opsbench-on", on); }
    );
  }

  function columnsControl(box, table) {
    var optional = table.querySelectorAll("thead th.opsbench-opt");
    if (!optional.length) return null;
    var details = document.createElement("details");
    details.className = "opsbench-columns";
    var summary = document.createElement("summary");
    summary.textContent = "Columns (" + optional.length + " more)";
    details.appendChild(summary);
    optional.forEach(function (th) {
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.addEventListener("change", function () { setColumn(table, th.getAttribute("data-col"), box.checked); });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + th.textContent));
      details.appendChild(label);
    });
    return details;
  }

  function filterBox(table) {
    var body = table.tBodies[0];
    if (!body || body.rows.length <= FILTER_MIN_ROWS) return null;
    var label = document.createElement("label");
    label.className = "opsbench-filter";
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "Filter rows";
    input.setAttribute("aria-label", "Filter the rows of this table");
    var count = document.createElement("span");
    count.className = "opsbench-filter-count";
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      Array.prototype.forEach.call(body.rows, function (row) {
        var text = row.textContent.toLowerCase();
        var hit = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.hidden = !hit;
        if (hit) shown += 1;
      });
      count.textContent = words.length ? " " + shown + " of " + body.rows.length + " rows" : "";
    });
    label.appendChild(input);
    label.appendChild(count);
    return label;
  }

  function init() {
    document.querySelectorAll(".opsbench-table").forEach(function (box) {
      if (box.dataset.tables === "1") return;
      var table = box.querySelector("table");
      if (!table || !table.tHead) return;
      box.dataset.tables = "1";
      box.classList.add("opsbench-js");
      var bar = document.createElement("div");
      bar.className = "opsbench-tablebar";
      [filterBox(table), columnsControl(box, table)].forEach(function (el) { if (el) bar.appendChild(el); });
      if (bar.childNodes.length) box.insertBefore(bar, box.firstChild);
    });
  }

  if (typeof document$ !== "undefined") document$.subscribe(init);
  else document.addEventListener("DOMContentLoaded", init);
})();
