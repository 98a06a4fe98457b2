"""Browser-side fixes for Panel's Tabulator (panel 1.9, tabulator 6.4), installed once per page.

**The guard.** Tabulator builds a table asynchronously after it is rendered; Panel forwards a
``patch`` or ``stream`` to it at once, and one that arrives before the table is built throws
in the page ("Cannot read properties of null (reading 'verticalFillMode')") and is lost — the
cell would stay wrong until it changes again. A push that starts as the page loads hits this.
The guard defers such updates until the table's ``tableBuilt`` event.

**Row by row.** Panel answers every ``patch`` and ``stream`` by handing Tabulator the whole
table again (``setData``): every row rebuilt, every column measured, in every open tab, for
each fill and each price move. When the new data keeps the rows already shown (same
positions) and at most adds rows after them, only the rows that changed are updated
(``updateData``) and the new ones added (``addData``, which sorts them in); anything else
(rows removed or reordered, a column added) goes through ``setData`` as before. Counted in
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
  // The rows to update and to add, or null when the new data is not the old plus changes.
  const delta = (table, data) => {
    if (!Array.isArray(data)) return null;
    const old = table.getData();
    if (!old.length || data.length < old.length) return null;
    const changed = [];
    for (let i = 0; i < old.length; i++) {
      const a = old[i], b = data[i];
      const keys = Object.keys(b);
      if (a._index !== b._index || keys.length !== Object.keys(a).length) return null;
      if (keys.some((k) => !same(a[k], b[k]))) changed.push(b);
    }
    return [changed, data.slice(old.length)];
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
          const [changed, added] = d;
          const work = [];
          if (changed.length) work.push(this.updateData(changed));
          if (added.length) work.push(this.addData(added));
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
