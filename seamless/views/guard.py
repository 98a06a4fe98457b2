"""A browser-side guard for a race in Panel's Tabulator (panel 1.9, tabulator 6.4).

Tabulator builds a table asynchronously after it is rendered; Panel forwards a ``patch`` or
``stream`` to it at once, and one that arrives before the table is built throws in the page
("Cannot read properties of null (reading 'verticalFillMode')") and is lost — the cell would
stay wrong until it changes again. A push that starts as the page loads hits this. The guard
defers such updates until the table's ``tableBuilt`` event. It patches Tabulator's prototype
once per page, before any table exists (the component sits at the top of the page).
"""
from __future__ import annotations

import panel as pn

_JS = """
const T = window.Tabulator;
if (T && !T.prototype.__seamlessGuard) {
  T.prototype.__seamlessGuard = true;
  for (const name of ["updateOrAddData", "addData", "updateData", "replaceData", "setData"]) {
    const original = T.prototype[name];
    if (typeof original !== "function") continue;
    T.prototype[name] = function (...args) {
      const built = this.initialized && this.rowManager && this.rowManager.renderer;
      if (built) return original.apply(this, args);
      return new Promise((resolve, reject) => {
        this.on("tableBuilt", () => Promise.resolve(original.apply(this, args)).then(resolve, reject));
      });
    };
  }
}
"""


class TableGuard(pn.reactive.ReactiveHTML):
    """Invisible; its render script installs the guard (see the module's docstring)."""

    _template = '<div id="seamless_table_guard" style="display:none"></div>'
    _scripts = {"render": _JS}

    def __init__(self, **params) -> None:
        super().__init__(height=0, width=0, margin=0, **params)
