"""Browser-side fixes for Panel's Tabulator, installed once per page by ``views.guard.TableGuard``.

**What it patches.** Tabulator's prototype in the page (JavaScript): ``setData``,
``replaceData``, ``updateData``, ``addData`` and ``updateOrAddData`` are wrapped; the wrappers
read Tabulator's internals (``rowManager``, its ``renderer`` and ``rows``, ``columnManager``,
``blockRedraw``/``restoreRedraw``, a cell's ``setValueProcessData``).

**Why: the guard.** Tabulator builds a table asynchronously after it is rendered; Panel forwards a
``patch`` or ``stream`` to it at once, and one that arrives before the table is built throws
in the page ("Cannot read properties of null (reading 'verticalFillMode')") and is lost — the
cell would stay wrong until it changes again. A push that starts as the page loads hits this.
The guard defers such updates until the table's ``tableBuilt`` event.

**Why: row by row.** Panel answers every ``patch`` and ``stream`` by handing Tabulator the whole
table again (``setData``): every row rebuilt, every column measured, in every open tab, for
each fill and each price move. When the new data is the old less some rows (told apart by
their label, Panel's ``index`` field: ``_index`` is the row's position, and ``sync_table``
keeps each staying row's label), with changes, plus rows after them, the
page deletes the rows gone (``deleteRow``), sets the changed cells and adds the new rows
(``addData``, which sorts them in), all under one redraw; anything else (rows reordered, a
column added) goes through ``setData`` as before. With a fixed row height (``rowHeight``, set
by ``views.base.table``) a changed cell is set alone: Tabulator's own row update reads the
row's visibility and height, two forced layouts a row, ~1 ms each. Counted in
``window.__seamlessTables`` (``full``, ``incremental``) for the tests.

**Why: a P&L formatter.** ``seamlessPnl``, registered with Tabulator's format module
(``Tabulator.extendModule``): money coloured by its sign (``views.base.table``'s ``pnl``
columns: the positions table). Panel's path for a colour per value is a Bokeh formatter model,
which Panel clones each time it builds the columns: each value set whole (a position opened or
closed) then sends new columns and new models, and the page rebuilds the table (measured: the
page's main thread per update 14.9 -> 20.8 ms). Tabulator's own formatters are named in plain
dicts, equal from one build to the next.

All patch Tabulator before any table exists (the component sits at the top of the page).

**Versions.** Panel 1.9 and the Tabulator it ships, 6.4 (``TESTED``; Tabulator's version is
Panel's ``panel.models.tabulator.TABULATOR_VERSION``). The JavaScript cannot be checked from
here beyond the versions: it wraps only the prototype methods that exist.

**Fallback.** Outside them :func:`install` returns False (one
:class:`~seamless.compat.check.CompatFallbackWarning`) and the dashboard leaves the guard out
(``views.guard.table_guard``): the page keeps Tabulator's own prototype, Panel's
whole-table ``setData`` for each change, and the lost early update.
"""

from __future__ import annotations

from .check import Patch

TESTED = {"panel": ">=1.9,<1.10", "tabulator": ">=6.4,<6.5"}

#: The page's script: ``TableGuard``'s render script, run once per page.
JS = """
const T = window.Tabulator;
if (T && !T.prototype.__seamlessGuard) {
  T.prototype.__seamlessGuard = true;
  const counts = window.__seamlessTables = {full: 0, incremental: 0};
  const same = (a, b) => a === b || (a !== a && b !== b);  // NaN equals NaN here
  // [rows to delete, [row, its new data] to update, data to add], or null when the new data is
  // not the old less some rows, plus changes, plus rows after them. Rows are told apart by
  // their label (the frame's index, Panel's "index" field, which sync_table keeps for the rows
  // that stay); Panel numbers "_index" by position, so a kept row may get a new one.
  const delta = (table, data) => {
    const rows = table.rowManager.rows;
    if (!Array.isArray(data) || !rows.length) return null;
    const key = "index" in rows[0].data ? "index" : "_index";
    const labels = new Set(data.map((d) => d[key]));
    const removed = rows.filter((r) => !labels.has(r.data[key]));
    const kept = removed.length ? rows.filter((r) => labels.has(r.data[key])) : rows;
    const changed = [];
    for (let i = 0; i < kept.length; i++) {
      const a = kept[i].data, b = data[i];
      const keys = Object.keys(b);
      if (a[key] !== b[key] || keys.length !== Object.keys(a).length) return null;
      if (keys.some((k) => !same(a[k], b[k]))) changed.push([kept[i], b]);
    }
    return [removed, changed, data.slice(kept.length)];
  };
  // Tabulator's own row update reads the row's visibility and height (two forced layouts a
  // row); with a fixed row height (``rowHeight``) a new value cannot move anything, so only
  // the changed cells are set.
  const setCells = (changed) => {
    for (const [row, d] of changed) {
      for (const k of Object.keys(d)) {
        if (same(row.data[k], d[k])) continue;
        const cell = row.table.columnManager.findColumn(k) ? row.getCell(k) : false;
        if (cell) cell.setValueProcessData(d[k]);  // the row's data too; redrawn if shown
        else row.data[k] = d[k];
      }
    }
  };
  // Tabulator draws at least 20 rows of a table however few show, and draws them all again
  // when rows are added or deleted: with fixed rows, what shows and a margin will do (the
  // margin: renderVerticalBuffer, set by views.base.table; scrolling draws more as usual).
  const window_rows = (table) => {
    const renderer = table.rowManager.renderer;
    if (renderer.vDomWindowMinTotalRows > 8) renderer.vDomWindowMinTotalRows = 8;
  };
  // Money coloured by its sign (params: symbol, gain, loss, neutral, dash), the colour on the cell.
  if (typeof T.extendModule === "function") {
    const money = new Intl.NumberFormat("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
    T.extendModule("format", "formatters", {
      seamlessPnl: (cell, p) => {
        const v = cell.getValue();
        const none = v === null || v === undefined || v !== v;
        cell.getElement().style.color = none ? p.neutral : v >= 0.005 ? p.gain : v <= -0.005 ? p.loss : p.neutral;
        return none ? p.dash : (v <= -0.005 ? "-" : "") + p.symbol + money.format(Math.abs(v));
      },
    });
  }
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
        if (this.options.rowHeight) window_rows(this);
        const d = delta(this, args[0]);
        if (d !== null) {
          counts.incremental++;
          const [removed, changed, added] = d;
          const work = [];
          // One redraw of the rows for the lot, when restored (the table's own blockRedraw
          // would also re-measure every column header: nothing here changes them).
          this.rowManager.blockRedraw();
          try {
            if (removed.length) work.push(this.deleteRow(removed));
            if (this.options.rowHeight) setCells(changed);
            else for (const [row, b] of changed) work.push(row.updateData(b));
            if (added.length) work.push(this.addData(added));
          } finally {
            this.rowManager.restoreRedraw();
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

PATCH = Patch("tabulator_js", TESTED, lambda: None, lambda: None, lambda: None)
install, uninstall = PATCH.install, PATCH.uninstall
