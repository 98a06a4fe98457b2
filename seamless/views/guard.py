"""Browser-side fixes for Panel's Tabulator (panel 1.9, tabulator 6.4), installed once per page.

**The guard.** Tabulator builds a table asynchronously after it is rendered; Panel forwards a
``patch`` or ``stream`` to it at once, and one that arrives before the table is built throws
in the page ("Cannot read properties of null (reading 'verticalFillMode')") and is lost — the
cell would stay wrong until it changes again. A push that starts as the page loads hits this.
The guard defers such updates until the table's ``tableBuilt`` event.

**Row by row.** Panel answers every ``patch`` and ``stream`` by handing Tabulator the whole
table again (``setData``): every row rebuilt, every column measured, in every open tab, for
each fill and each price move. When the new data is the old less some rows (told apart by
``_index``: ``sync_table`` keeps each row's label), with changes, plus rows after them, the
page deletes the rows gone (``deleteRow``), sets the changed cells and adds the new rows
(``addData``, which sorts them in), all under one redraw; anything else (rows reordered, a
column added) goes through ``setData`` as before. With a fixed row height (``rowHeight``, set
by ``views.base.table``) a changed cell is set alone: Tabulator's own row update reads the
row's visibility and height, two forced layouts a row, ~1 ms each. Counted in
``window.__seamlessTables`` (``full``, ``incremental``) for the tests.

Both patch Tabulator's prototype, before any table exists (the component sits at the top of
the page).
"""
from __future__ import annotations

import panel as pn

_JS = """
const T = window.Tabulator;
if (T && !T.prototype.__seamlessGuard) {
  T.prototype.__seamlessGuard = true;
  const counts = window.__seamlessTables = {full: 0, incremental: 0};
  const same = (a, b) => a === b || (a !== a && b !== b);  // NaN equals NaN here
  // [labels of rows to delete, rows to update, rows to add], or null when the new data is not
  // the old less some rows, plus changes, plus rows after them (rows are known by _index).
  const delta = (table, data) => {
    if (!Array.isArray(data)) return null;
    const old = table.getData();
    if (!old.length) return null;
    const labels = new Set(data.map((d) => d._index));
    const removed = old.filter((a) => !labels.has(a._index)).map((a) => a._index);
    const kept = removed.length ? old.filter((a) => labels.has(a._index)) : old;
    const changed = [];
    for (let i = 0; i < kept.length; i++) {
      const a = kept[i], b = data[i];
      const keys = Object.keys(b);
      if (a._index !== b._index || keys.length !== Object.keys(a).length) return null;
      if (keys.some((k) => !same(a[k], b[k]))) changed.push(b);
    }
    return [removed, changed, data.slice(kept.length)];
  };
  // Tabulator's own row update reads each row's visibility and height (two forced layouts a
  // row); with a fixed row height (``rowHeight``) a new value cannot move anything, so only
  // the changed cells are set. False (nothing changed yet) if a row is not found.
  const setCells = (table, items) => {
    const rows = items.map((d) => table.rowManager.findRow(d._index));
    if (!table.options.rowHeight || rows.some((r) => !r)) return false;
    items.forEach((d, i) => {
      const row = rows[i];
      for (const k of Object.keys(d)) {
        if (same(row.data[k], d[k])) continue;
        const cell = table.columnManager.findColumn(k) ? row.getCell(k) : false;
        if (cell) cell.setValueProcessData(d[k]);  // the row's data too; redrawn if shown
        else row.data[k] = d[k];
      }
    });
    return true;
  };
  const built = (table) => table.initialized && table.rowManager && table.rowManager.renderer;
  for (const name of ["updateOrAddData", "addData", "updateData", "replaceData", "setData"]) {
    const original = T.prototype[name];
    if (typeof original !== "function") continue;
    T.prototype[name] = function (...args) {
      if (!built(this)) {
        return new Promise((resolve, reject) => {
          this.on("tableBuilt", () => Promise.resolve(this[name](...args)).then(resolve, reject));
        });
      }
      if (name === "setData" && args.length === 1) {
        const d = delta(this, args[0]);
        if (d !== null) {
          counts.incremental++;
          const [removed, changed, added] = d;
          const work = [];
          this.blockRedraw();  // one redraw for the lot, when restored
          try {
            if (removed.length) work.push(this.deleteRow(removed));
            if (changed.length && !setCells(this, changed)) work.push(this.updateData(changed));
            if (added.length) work.push(this.addData(added));
          } finally {
            this.restoreRedraw();
          }
          return Promise.all(work).then(() => undefined);
        }
        counts.full++;
      }
      return original.apply(this, args);
    };
  }
}
"""


class TableGuard(pn.reactive.ReactiveHTML):
    """Invisible; its render script installs the fixes (see the module's docstring)."""

    _template = '<div id="seamless_table_guard" style="display:none"></div>'
    _scripts = {"render": _JS}

    def __init__(self, **params) -> None:
        super().__init__(height=0, width=0, margin=0, **params)
