"""Many sessions, one computation: what the overview derives from the state (its tables and
figures) is built once per critical event and shared by every session's view, each session's
table goes to the new frame by one shared plan, a burst's toasts are described once, and every
session still shows every critical event.

A real store and hub; each session is the dashboard's pieces (an overview, toasts, its feed);
a session's document records the callbacks it is given and the test runs them, as the
server's loop would, one session after another."""

from __future__ import annotations

import contextlib
import json
from functools import partial

import pytest

from seamless.events.catalog import (
    CashSet,
    DayStarted,
    OrderAccepted,
    OrderFilled,
    OrderSubmitting,
    QuoteReceived,
    RunnerStatusChanged,
)
from seamless.push import Derived, Hub, SessionFeed
from seamless.views import alerts as alerts_mod
from seamless.views import base as base_mod
from seamless.views.alerts import ALERT_TOPICS, alert
from seamless.views.overview import OverviewView
from seamless.views.toasts import Toasts

SESSIONS = 8
SHARED = ("OverviewView._positions_frame", "OverviewView._orders_frame", "OverviewView._figures_now")


class LoopDoc:
    """A session's document on a loop the test turns: callbacks run when it says."""

    def __init__(self) -> None:
        self.pending: list = []

    def add_next_tick_callback(self, fn, urgent=False):
        self.pending.append(fn)

    def add_timeout_callback(self, fn, ms):
        self.pending.append(fn)

    def batch(self):
        return contextlib.nullcontext()

    def run(self) -> None:
        pending, self.pending = self.pending, []
        for fn in pending:
            fn()


class Session:
    def __init__(self, store, hub: Hub) -> None:
        self.doc = LoopDoc()
        self.toasts = Toasts()
        self.view = OverviewView(store, hub.equity, None, hub.derived)
        self.view.prefill()
        self.feed = SessionFeed(
            self.doc, [self.view], notify=partial(alert, self.toasts), alert_topics=ALERT_TOPICS, max_rate=1e6
        )
        self.shown: list[str] = []  # every toast's text, in order
        self.toasts.param.watch(lambda e: self.shown.extend(t[2] for t in json.loads(e.new)), "recent")
        hub.attach(self.feed)


@pytest.fixture
def sessions(store):
    hub = Hub(store)
    for ev in (
        CashSet(cash=10_000.0, reason="opening"),
        DayStarted(day="2026-11-25"),
        RunnerStatusChanged(status="RUNNING"),
        QuoteReceived(symbol="AAPL", last=100.0, exchange_ts=1.0),
    ):
        store.commit(ev)
    all_ = [Session(store, hub) for _ in range(SESSIONS)]
    turn(all_)
    yield hub, all_
    hub.close()


def turn(sessions: list[Session]) -> None:
    """The loop's turns until nothing is pending: every session's callbacks, one after another."""
    for _ in range(20):
        if not any(s.doc.pending for s in sessions):
            return
        for s in sessions:
            s.doc.run()
    raise AssertionError("the sessions never settled")


def test_each_critical_event_is_computed_once_for_every_session_and_shown_in_each(store, sessions):
    hub, all_ = sessions
    for i in range(1, 4):
        before = {name: hub.derived.builds[name] for name in SHARED}
        order = f"c{i}"
        store.commit(OrderSubmitting(client_order_id=order, symbol="AAPL", qty=5))
        store.commit(OrderAccepted(client_order_id=order))
        turn(all_)
        fill = store.commit(OrderFilled(trade_id=f"t{i}", client_order_id=order, symbol="AAPL", qty=5, price=101.0))
        turn(all_)
        built = {name: hub.derived.builds[name] - before[name] for name in SHARED}
        # Two order events and the fill: at most one build each, never one per session.
        assert 1 <= built["OverviewView._positions_frame"] <= 3, built
        assert all(n <= 3 for n in built.values()), built
        assert hub.derived.builds["OverviewView._fills_frame"] == i + 1, "one fills frame per fill (and the first)"
        for s in all_:
            assert s.view.positions.value["qty"].tolist() == [5.0 * i], "each session shows the position"
            assert fill.seq in s.view.fills.value["seq"].tolist(), "each session shows the fill"
            assert s.view.kpis.shown["open_orders"] == 0 and s.view.kpis.shown["fills_today"] == i
            assert f"Fill #{fill.seq}: BUY 5 AAPL @ 101.00" in s.shown, "each session toasts it"
        first = all_[0].view.positions.value
        assert all(s.view.positions.value is first for s in all_), "one plan, one frame for every table"


def test_a_burst_is_described_once_for_every_session(store, sessions, monkeypatch):
    hub, all_ = sessions
    calls = []
    describe = alerts_mod._described
    monkeypatch.setattr(alerts_mod, "_described", lambda ev: calls.append(ev.seq) or describe(ev))
    store.commit(OrderSubmitting(client_order_id="b", symbol="AAPL", qty=2))
    store.commit(OrderAccepted(client_order_id="b"))
    fills = [
        store.commit(OrderFilled(trade_id=f"b{k}", client_order_id="b", symbol="AAPL", qty=1, price=100.0 + k))
        for k in range(2)
    ]
    turn(all_)
    assert sorted(calls) == [f.seq for f in fills], "each fill described once, not once per session"
    for s in all_:
        assert all(f"Fill #{f.seq}:" in " ".join(s.shown) for f in fills)


def test_a_view_shown_an_older_build_comes_back_for_the_rest(store):
    """A quote (not critical) within ``max_age_s`` of the last build gets that build: the view
    is marked deferred, so the push refreshes it again at its next turn."""
    hub = Hub(store)
    try:
        derived = Derived(lambda: store.seq, max_age_s=3600.0)  # nothing but a critical event rebuilds
        store.commit(QuoteReceived(symbol="AAPL", last=100.0, exchange_ts=1.0))
        store.commit(OrderSubmitting(client_order_id="c", symbol="AAPL", qty=5))
        store.commit(OrderAccepted(client_order_id="c"))
        fill = store.commit(OrderFilled(trade_id="t", client_order_id="c", symbol="AAPL", qty=5, price=100.0))
        derived.note(fill)
        a, b = (OverviewView(store, hub.equity, None, derived) for _ in range(2))
        a.refresh([])
        assert a.positions.value["mark"].tolist() == [100.0] and not a.deferred
        store.commit(QuoteReceived(symbol="AAPL", last=104.0, exchange_ts=2.0))
        b.refresh([])
        assert b.positions.value["mark"].tolist() == [100.0], "the shared build of a moment ago"
        assert b.deferred, "and the view knows it is behind"
        derived.note(store.commit(OrderSubmitting(client_order_id="d", symbol="MSFT", qty=1)))
        derived.note(store.commit(OrderAccepted(client_order_id="d")))
        b.deferred = False
        b.refresh([])
        assert b.positions.value["mark"].tolist() == [100.0], "an order changes no position: no new build"
        fill = store.commit(OrderFilled(trade_id="u", client_order_id="d", symbol="MSFT", qty=1, price=50.0))
        derived.note(fill)  # a fill does: built again at once, with the quote that came before
        b.deferred = False
        b.refresh([])
        assert b.positions.value["symbol"].tolist() == ["AAPL", "MSFT"]
        assert b.positions.value["mark"].tolist()[0] == 104.0 and not b.deferred
    finally:
        hub.close()


def test_tables_showing_the_same_frame_share_one_plan():
    import pandas as pd

    plans = base_mod.table_plan
    tables = [base_mod.table(["symbol", "qty:f0"]) for _ in range(5)]
    first = pd.DataFrame({"symbol": ["AAPL"], "qty": [1.0]})
    second = pd.DataFrame({"symbol": ["AAPL", "MSFT"], "qty": [2.0, 3.0]})
    calls = plans.calls
    assert [base_mod.sync_table(t, first, "symbol") for t in tables] == ["replace"] * 5
    assert [base_mod.sync_table(t, second, "symbol") for t in tables] == ["patch+stream"] * 5
    assert plans.calls - calls == 2, "one plan per step for every table"
    assert all(t.value is tables[0].value for t in tables)
    assert tables[0].value["qty"].tolist() == [2.0, 3.0]
    other = base_mod.table(["symbol", "qty:f0"])  # a table that skipped a step gets a plan of its own
    assert base_mod.sync_table(other, second, "symbol") == "replace" and plans.calls - calls == 3
    assert other.value["qty"].tolist() == [2.0, 3.0]


def test_tail_tables_fed_the_same_rows_share_one_plan():
    import pandas as pd

    tails = base_mod.tail_plan
    tables = [base_mod.table(["seq:f0", "symbol"]) for _ in range(4)]
    frame = pd.DataFrame({"seq": [float(i) for i in range(12)], "symbol": ["AAPL"] * 12})
    calls = tails.calls
    for start in (0, 5, 9):  # three bursts, every table fed each
        rows = base_mod.rows_from(frame.iloc[: start + 3], start)
        for t in tables:
            base_mod.append_rows(t, rows, keep=4, slack=1)
    assert tails.calls - calls == 3, "one tail plan per burst for every table"
    assert all(t.value is tables[0].value for t in tables)
    assert tables[0].value["seq"].tolist() == [7.0, 9.0, 10.0, 11.0], "the newest keep, cut back past keep + slack"


def test_tables_that_went_different_ways_show_one_frame_again_after_their_next_step():
    import pandas as pd

    frames = [pd.DataFrame({"symbol": ["AAPL", "MSFT"], "mark": [100.0 + i, 50.0 + i]}) for i in range(3)]
    a, b = base_mod.table(["symbol", "mark:f2"]), base_mod.table(["symbol", "mark:f2"])
    for t in (a, b):
        base_mod.sync_table(t, frames[0], "symbol")
    assert base_mod.sync_table(a, frames[1], "symbol") == "patch"  # b skips this frame (its rate limit)
    assert base_mod.sync_table(a, frames[2], "symbol") == "patch"
    assert base_mod.sync_table(b, frames[2], "symbol") == "patch"
    assert a.value is b.value, "the same frame, the same labels: one object, so the next plan is shared"
    assert b.value["mark"].tolist() == [102.0, 52.0]


def test_tail_tables_that_took_a_burst_at_different_moments_share_one_frame_again():
    import pandas as pd

    whole = pd.DataFrame({"seq": [float(i) for i in range(8)], "symbol": ["AAPL"] * 8})
    frames = {n: whole.iloc[:n] for n in range(9)}  # the shared frame as the state grows
    a, b = base_mod.table(["seq:f0", "symbol"]), base_mod.table(["seq:f0", "symbol"])

    def step(t, upto: int, key="seq") -> None:  # the rows after the last shown, up to ``upto``
        shown = int(t.value["seq"].max()) + 1 if len(t.value) else 0
        base_mod.append_rows(t, base_mod.rows_from(frames[upto], shown), keep=6, slack=1, key=key)

    step(a, 2), step(a, 4), step(b, 3), step(b, 4)  # the same rows, by different steps
    assert a.value is b.value, "the same rows under the same labels: one frame"
    calls = base_mod.tail_plan.calls
    step(a, 6), step(b, 6)
    assert base_mod.tail_plan.calls - calls == 1, "so the next plan is shared"
    assert a.value is b.value and a.value["seq"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    step(a, 8), step(b, 8)  # past keep + slack: cut back to the newest keep, still one frame
    assert a.value is b.value and a.value["seq"].tolist() == [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]

    c, d = base_mod.table(["seq:f0", "symbol"]), base_mod.table(["seq:f0", "symbol"])
    step(c, 2, None), step(c, 4, None), step(d, 3, None), step(d, 4, None)
    assert c.value is not d.value, "without a key, nothing says the rows are the same"
