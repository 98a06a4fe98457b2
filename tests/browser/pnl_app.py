"""The overview's positions table on a book of two positions, one at a gain and one at a loss
(the store at ``SEAMLESS_DB``), with the dashboard's table patches: served by test_face.py's
P&L colour test."""

import os

import panel as pn

from seamless import compat
from seamless.events import PositionAdjusted, QuoteReceived
from seamless.push.history import EquityHistory
from seamless.store import Store
from seamless.views.guard import table_guard
from seamless.views.overview import OverviewView

pn.extension("tabulator")
compat.install("tabulator_table")
compat.install("tabulator_js")


def book() -> Store:
    """The store, once per server (this script runs for each page)."""
    store = Store(os.environ["SEAMLESS_DB"])
    store.commit(PositionAdjusted(symbol="GAIN", qty=10.0, avg_price=100.0, reason="test"))
    store.commit(PositionAdjusted(symbol="LOSS", qty=5.0, avg_price=200.0, reason="test"))
    store.commit(QuoteReceived(symbol="GAIN", last=112.5))  # +$125.00
    store.commit(QuoteReceived(symbol="LOSS", last=190.0))  # -$50.00
    return store


store = pn.state.as_cached("seamless-test-book", book)
view = OverviewView(store, EquityHistory(store.state.account))
view.refresh([])


def fall(_event=None) -> None:
    """GAIN's price falls below its cost: its P&L turns a loss, patched into the page."""
    store.commit(QuoteReceived(symbol="GAIN", last=95.0))  # -$50.00
    view.refresh([])


button = pn.widgets.Button(label="fall", css_classes=["test-fall"])
button.on_click(fall)
pn.Column(*table_guard(), button, view.panel).servable()
