"""The page's fixes for Panel's Tabulator: a component at the top of the page whose render
script patches Tabulator's prototype before any table exists (what it does and why:
``seamless.compat.tabulator_js``). Only where that patch is installed (the tested Panel and
Tabulator versions): elsewhere the page keeps Tabulator's own prototype.
"""

from __future__ import annotations

import panel as pn

from ..compat import tabulator_js


class TableGuard(pn.reactive.ReactiveHTML):
    """Invisible; its render script installs the fixes (``seamless.compat.tabulator_js``)."""

    _template = '<div id="seamless_table_guard" style="display:none"></div>'
    _scripts = {"render": tabulator_js.JS}

    def __init__(self, **params) -> None:
        super().__init__(height=0, width=0, margin=0, **params)


def table_guard() -> list[TableGuard]:
    """``[TableGuard()]`` for a page, if ``seamless.compat.tabulator_js`` is installed; else
    nothing."""
    return [TableGuard()] if tabulator_js.PATCH.installed else []
