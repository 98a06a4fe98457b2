"""push/history.py: the day's equity curve, kept once and mirrored by every session's overview."""

from __future__ import annotations

import types

from seamless.events.catalog import CashSet
from seamless.push import Hub
from seamless.push.history import EquityHistory
from seamless.views import base as views_base
from seamless.views.overview import OverviewView


def test_a_point_a_second_then_thinned_to_keep_the_whole_run():
    account = types.SimpleNamespace(equity=100.0, updated_at=0.0)  # opened
    history = EquityHistory(account, every_s=1.0, maxlen=4)
    for ts in (0.0, 0.5, 1.0, 2.0, 3.0):  # 0.5: within the second, no point
        history.note(ts)
        account.equity += 1
    assert history.since(0, 0) == (0, [(0.0, 100.0), (1.0, 102.0), (2.0, 103.0), (3.0, 104.0)], False)
    assert history.since(0, 3) == (0, [(3.0, 104.0)], False)
    history.note(4.0)  # a fifth point: every other one goes (the newest stays), spaced 2 s now
    assert (history.generation, history.every_s) == (1, 2.0)
    assert history.since(0, 4) == (1, [(0.0, 100.0), (2.0, 103.0), (4.0, 105.0)], True)
    history.note(5.0)
    history.note(6.0)
    assert history.since(1, 3) == (1, [(6.0, 105.0)], False)
    odd = EquityHistory(account, every_s=1.0, maxlen=3)  # four points thinned: the newest stays
    for ts in (0.0, 1.0, 2.0, 3.0):
        odd.note(ts)
    assert [t for t, _ in odd.since(-1, 0)[1]] == [1.0, 3.0]


def test_the_drawdown_is_the_fall_from_the_peak_so_far_across_streams(store):
    hub = Hub(store)
    try:
        view = OverviewView(store, hub.equity)
        view.equity_source.data = view._columns([(1.0, 100.0), (2.0, 120.0), (3.0, 90.0)])
        assert view.equity_source.data["drawdown"] == [0.0, 0.0, -30.0]
        assert view._columns([(4.0, 110.0), (5.0, 130.0)])["drawdown"] == [-10.0, 0.0], "the peak goes on"
    finally:
        hub.close()


def test_every_session_mirrors_the_hubs_curve_from_its_start(store, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(views_base, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    hub = Hub(store)
    try:
        store.commit(CashSet(cash=1_000.0, reason="opening balance"))
        ts0 = hub.equity.since(-1, 0)[1][0][0]
        view = OverviewView(store, hub.equity)  # a tab opened later: the curve so far
        assert view.equity_source.data["equity"] == [1_000.0]
        store.commit(CashSet(cash=1_500.0, reason="deposit"))  # within the hub's second: no point
        view.update([])
        assert view.equity_source.data["equity"] == [1_000.0]
        hub.equity.note(ts0 + 1.0)  # an event a second later
        view.update([])
        assert view.equity_source.data == {
            "t": [ts0 * 1000, (ts0 + 1) * 1000],
            "equity": [1_000.0, 1_500.0],
            "drawdown": [0.0, 0.0],
        }
        hub.equity.maxlen = 2
        hub.equity.note(ts0 + 2.0)  # thinned: the whole curve goes again, at most once a second
        view.update([])
        assert view.equity_source.data["equity"] == [1_000.0, 1_500.0] and view.deferred
        now[0] += 1.0
        view.update([])
        assert view.equity_source.data == {
            "t": [ts0 * 1000, (ts0 + 2) * 1000],
            "equity": [1_000.0, 1_500.0],
            "drawdown": [0.0, 0.0],
        }
    finally:
        hub.close()


def test_the_curve_starts_at_the_accounts_first_value_not_zero(store):
    """Events before the opening balance (the runner starting) make no point: a 0 first point
    made the axis run from 0 to 100,000 and the curve a flat line."""
    from seamless.events.catalog import RunnerStatusChanged

    hub = Hub(store)
    try:
        store.commit(RunnerStatusChanged(status="STARTING", by="t"))
        assert len(hub.equity) == 0
        store.commit(CashSet(cash=100_000.0, reason="opening balance"))
        assert [e for _, e in hub.equity.since(-1, 0)[1]] == [100_000.0]
    finally:
        hub.close()
