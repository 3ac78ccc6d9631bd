// Click a column header to sort a generated table (again to reverse). Cells may
// carry data-sort with a machine value; otherwise numbers sort as numbers.
(function () {
  function key(cell) {
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    var num = parseFloat(String(raw).replace(/[,%\s]/g, ""));
    return isNaN(num) ? String(raw).toLowerCase() : num;
  }

  function sortBy(table, index, th) {
    var body = table.tBodies[0];
    var asc = th.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[index]), y = key(b.cells[index]);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
  }

  function init() {
    document.querySelectorAll(".opsbench-sortable table").forEach(function (table) {
      if (table.dataset.sortable === "1" || !table.tHead) return;
      table.dataset.sortable = "1";
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
        th.style.cursor = "pointer";
        th.title = "Sort";
        th.addEventListener("click", function () { sortBy(table, i, th); });
      });
    });
  }

  if (typeof document$ !== "undefined") document$.subscribe(init);
  else document.addEventListener("DOMContentLoaded", init);
})();
