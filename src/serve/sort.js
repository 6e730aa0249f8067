// Sorts the report's table by the column whose header is clicked (again: the other way).
// Number and duration cells sort by value, dates and instants by their data-v, other cells
// by text; empty cells go last and total rows stay at the end. Without script the table
// keeps the report's order.
(function () {
  var table = document.querySelector('.table table');
  if (!table || !table.tHead) return;
  var body = table.tBodies[0];
  function key(td) {
    if (!td) return null;
    var v = td.getAttribute('data-v');
    if (v !== null) return Number(v);
    var s = td.textContent.trim();
    if (s === '') return null;
    if (!td.classList.contains('n')) return s.toLowerCase();
    var d = /^(\d+):(\d\d):(\d\d)$/.exec(s);
    if (d) return d[1] * 3600 + d[2] * 60 + Number(d[3]);
    return parseFloat(s);
  }
  function compare(a, b) {
    if (a === b) return 0;
    if (a === null) return 1;
    if (b === null) return -1;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    th.classList.add('sortable');
    th.tabIndex = 0;
    function sort() {
      var up = th.getAttribute('aria-sort') !== 'ascending';
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) {
        h.removeAttribute('aria-sort');
      });
      th.setAttribute('aria-sort', up ? 'ascending' : 'descending');
      var rows = Array.prototype.slice.call(body.rows);
      var totals = rows.filter(function (r) { return r.classList.contains('total'); });
      var keyed = rows
        .filter(function (r) { return !r.classList.contains('total'); })
        .map(function (r, i) { return { row: r, key: key(r.cells[col]), i: i }; });
      keyed.sort(function (a, b) {
        if (a.key === null || b.key === null) return compare(a.key, b.key) || a.i - b.i;
        return (up ? compare(a.key, b.key) : compare(b.key, a.key)) || a.i - b.i;
      });
      keyed.forEach(function (k) { body.appendChild(k.row); });
      totals.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener('click', sort);
    th.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); }
    });
  });
})();
