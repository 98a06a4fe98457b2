"""push/history.py: the equity curve a tab opened later starts from."""
from __future__ import annotations

import types

import pytest

from seamless.events.catalog import CashSet
from seamless.push import Hub
from seamless.push.history import EquityHistory
from seamless.store import Store
from seamless.views.overview import OverviewView


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "acct.db"))
    yield s
    s.close()


def test_one_point_a_second_at_most_and_the_last_ones_kept():
    account = types.SimpleNamespace(equity=100.0)
    history = EquityHistory(account, every_s=1.0, maxlen=3)
    history.note(10.0)
    account.equity = 101.0
    history.note(10.5)  # within the second: no point
    history.note(11.0)
    for ts in (12.0, 13.0):
        account.equity += 1
        history.note(ts)
    assert history.columns() == {"t": [11_000.0, 12_000.0, 13_000.0], "equity": [101.0, 102.0, 103.0]}


def test_a_session_opened_later_starts_from_the_curve_so_far_and_goes_on_with_its_own(store):
    hub = Hub(store)
    try:
        store.commit(CashSet(cash=1_000.0, reason="opening balance"))
        assert hub.equity.columns()["equity"] == [1_000.0]
        view = OverviewView(store, history=hub.equity)
        assert view.equity_source.data["equity"] == [1_000.0]
        view.update([])  # the account has not changed since the curve's last point: nothing new
        assert view.equity_source.data["equity"] == [1_000.0]
        store.commit(CashSet(cash=1_500.0, reason="deposit"))  # within the hub's second
        assert hub.equity.columns()["equity"] == [1_000.0]
        view.update([])
        assert view.equity_source.data["equity"] == [1_000.0, 1_500.0]
        assert view.equity_source.data["t"][1] == store.state.account.updated_at * 1000
    finally:
        hub.close()
