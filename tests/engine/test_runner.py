"""The runner in-process: determinism, restart, broker faults, bad ticks, the daily loss limit."""

from __future__ import annotations

import json
import sqlite3

import pytest

from seamless.brokers import PaperBroker
from seamless.brokers.paper import default_broker_db
from seamless.engine.risk import RiskLimits
from seamless.errors import InvalidEvent
from seamless.events import BreachReset, TradingStateChanged
from seamless.feeds import SimFeed
from seamless.store import Store
from seamless.wiring import resume_ts

SYMBOLS = ("AAPL", "MSFT", "GOOG", "IBM")


@pytest.fixture
def run(open_account):
    """``run(db, ticks=3000, seed=0, limits=None, feed=None, before=None)``: one runner session
    on `db` (and its broker beside it), both closed after it; returns the runner."""

    def session(db, ticks=3000, seed=0, limits=None, feed=None, before=None):
        with open_account(db) as acct:
            start = resume_ts(acct.store)  # a restart continues exchange time where the store left it
            feed = feed(start) if callable(feed) else feed
            runner = acct.runner(
                feed or SimFeed(symbols=SYMBOLS, seed=seed, volatility=3.0, **({"start_ts": start} if start else {})),
                limits or RiskLimits(),
            )
            if before:
                before(runner, acct.broker)
            runner.run(max_ticks=ticks)
            return runner

    return session


def journal(db):
    with sqlite3.connect(db) as c:
        return c.execute("SELECT topic, type, payload FROM journal ORDER BY seq").fetchall()


def positions(db):
    from seamless.replay import replay

    return {s: p.qty for s, p in replay(db).values["positions"]["by_symbol"].items() if p.qty}


def broker_positions(db):
    with PaperBroker(default_broker_db(str(db))) as b:
        return {s: p.qty for s, p in b.positions().items()}


def test_same_seed_same_journal(tmp_path, run):
    run(tmp_path / "a.db", seed=7)
    run(tmp_path / "b.db", seed=7)
    run(tmp_path / "c.db", seed=8)
    a, b, c = journal(tmp_path / "a.db"), journal(tmp_path / "b.db"), journal(tmp_path / "c.db")
    fills = [r for r in a if r[0] == "order.filled"]
    assert len(fills) > 10, "the run should trade"
    assert a == b
    assert a != c


def test_store_equals_broker_after_runs_and_restarts(tmp_path, run):
    db = tmp_path / "s.db"
    for seed in range(3):
        runner = run(db, ticks=2000, seed=seed)
        assert runner.ticks == 2000 and not runner.rejected  # a restart's quotes are not refused as stale
        assert positions(db) == broker_positions(db)
        assert positions(db), "the run should hold positions"
    with Store(db) as store:
        assert store.state.runner.status == "STOPPED"
        assert not [o for o in store.state.orders.by_id.values() if o.is_open]


def test_timeout_on_submit_is_resolved_by_client_order_id(tmp_path, run):
    db = tmp_path / "s.db"
    runner = run(db, ticks=1500, before=lambda r, b: b.inject("timeout", count=3))
    events = journal(db)
    sent = [json.loads(p)["client_order_id"] for t, _, p in events if t == "order.submitting"]
    assert len(sent) == len(set(sent)) and sent
    assert positions(db) == broker_positions(db)
    assert runner.orders.pending == ()
    with PaperBroker(default_broker_db(str(db))) as b:
        assert all(b.order(coid) is not None for coid in sent[:3]), "the timed-out orders were placed once"


def test_dropped_fill_report_is_recovered(tmp_path, run):
    db = tmp_path / "s.db"
    run(db, ticks=1500, before=lambda r, b: b.inject("drop_fill", count=2))
    with PaperBroker(default_broker_db(str(db))) as b:
        broker_trades = {f.trade_id for f in b.fills_since(0)}
    store_trades = {json.loads(p)["trade_id"] for t, _, p in journal(db) if t == "order.filled"}
    assert broker_trades == store_trades and broker_trades
    assert positions(db) == broker_positions(db)


def test_rejected_order_is_journaled(tmp_path, run):
    db = tmp_path / "s.db"
    run(db, ticks=1500, before=lambda r, b: b.inject("reject", count=1))
    rejected = [json.loads(p) for t, _, p in journal(db) if t == "order.rejected"]
    assert len(rejected) == 1 and rejected[0]["reason"] == "injected reject"
    assert positions(db) == broker_positions(db)


def test_disconnect_retries_with_the_same_client_order_id(tmp_path, run):
    db = tmp_path / "s.db"
    runner = run(
        db, ticks=1500, before=lambda r, b: (b.inject("disconnect", count=1), setattr(r.orders, "backoff_s", 0.0))
    )
    assert runner.orders.pending == ()
    assert positions(db) == broker_positions(db)


def test_bad_ticks_are_counted_and_never_applied(tmp_path, run):
    db = tmp_path / "s.db"
    runner = run(db, ticks=2000, feed=SimFeed(symbols=SYMBOLS, seed=1, volatility=3.0, bad_tick_every=10))
    assert set(runner.rejected) == {"nan", "non_positive", "out_of_order", "unknown_symbol"}
    assert sum(runner.rejected.values()) >= 200
    with Store(db) as store:
        assert set(store.state.market.quotes) == set(SYMBOLS)
        assert all(q.last > 0 for q in store.state.market.quotes.values())


def test_daily_loss_breach_halts_survives_restart_and_needs_a_reset(tmp_path, run):
    db = tmp_path / "s.db"
    tight = RiskLimits(daily_loss_limit=50.0)

    def wild(start):
        return SimFeed(symbols=SYMBOLS, seed=3, volatility=60.0, **({"start_ts": start} if start else {}))

    run(db, ticks=4000, limits=tight, feed=wild)
    with Store(db) as store:
        assert store.state.risk.trading_state == "HALTED"
        breach = store.state.risk.breach
        assert breach is not None and breach["loss"] >= 50.0
        halted_at = store.seq
    orders_before = len([r for r in journal(db) if r[0] == "order.submitting"])
    restarted = run(db, ticks=2000, limits=tight, feed=wild)  # restart: still halted, no new orders
    assert restarted.ticks == 2000 and not restarted.rejected  # its quotes were applied
    assert len([r for r in journal(db) if r[0] == "order.submitting"]) == orders_before
    with Store(db) as store:
        assert store.seq > halted_at and store.state.risk.trading_state == "HALTED"
        assert store.state.runner.status == "STOPPED"
        with pytest.raises(InvalidEvent, match="until the breach is reset"):
            store.commit(TradingStateChanged(state="ACTIVE", by="tester"))
        store.commit(BreachReset(by="tester", reason="reviewed"))
        assert store.state.risk.trading_state == "ACTIVE"


def test_protective_stops_are_set_on_new_positions_and_close_them(tmp_path, open_account):
    db = tmp_path / "s.db"
    with open_account(db) as acct:
        store = acct.store
        runner = acct.runner(
            SimFeed(symbols=SYMBOLS, seed=5, volatility=30.0), stop_loss_pct=0.0005, take_profit_pct=0.0005
        )
        runner.run(max_ticks=3000)
        mons = store.state.monitors.by_id.values()
        triggered = [m for m in mons if m.status == "triggered"]
        assert any(m.kind == "stop_loss" for m in mons) and triggered
        closes = [o for o in store.state.orders.by_id.values() if o.client_order_id.startswith("close-")]
        assert closes and all("triggered" in o.reason for o in closes)
        # no monitor guards a position that is not held any more
        held = {s for s, p in store.state.positions.by_symbol.items() if p.qty}
        assert {m.symbol for m in mons if m.status == "active"} <= held
    assert positions(db) == broker_positions(db)


def test_pre_trade_checks_refuse_and_journal_the_reason(tmp_path, open_account):
    from seamless.engine.orders import OrderManager
    from seamless.engine.risk import RiskManager
    from seamless.events import QuoteReceived

    db = tmp_path / "s.db"
    with open_account(db) as acct:
        store, broker = acct.store, acct.broker
        risk = RiskManager(store, RiskLimits(max_order_qty=100, max_position=150, max_orders_per_minute=3))
        om = OrderManager(store, broker, risk)
        store.commit(QuoteReceived(symbol="AAPL", last=100.0, exchange_ts=1000.0))
        broker.mark("AAPL", 100.0)
        assert om.submit("AAPL", 101, client_order_id="big") is None
        assert om.submit("AAPL", 100, client_order_id="a1") is not None
        assert om.submit("AAPL", 100, client_order_id="a2") is None  # would hold 200 > 150
        store.commit(TradingStateChanged(state="REDUCING", reason="test", by="tester"))
        assert om.submit("AAPL", 10, client_order_id="adds") is None
        assert om.submit("AAPL", -10, client_order_id="reduces") is not None
        assert om.submit("AAPL", -200, client_order_id="flips") is None  # through zero adds risk
        assert om.submit("AAPL", -10, client_order_id="third") is not None
        assert om.submit("AAPL", -10, client_order_id="fourth") is None  # 3 per minute
        store.commit(TradingStateChanged(state="HALTED", reason="test", by="tester"))
        assert om.submit("AAPL", -10, client_order_id="halted") is None
        assert om.submit("AAPL", -80, client_order_id="flat", flatten=True) is not None  # a close passes
        reasons = {k: o.reason for k, o in store.state.orders.by_id.items() if o.status == "refused"}
        assert set(reasons) == {"big", "a2", "adds", "flips", "fourth", "halted"}
        assert "max order size" in reasons["big"] and "max position" in reasons["a2"]
        assert "REDUCING" in reasons["adds"] and "REDUCING" in reasons["flips"]
        assert "per minute" in reasons["fourth"] and "HALTED" in reasons["halted"]
        assert store.state.positions.by_symbol["AAPL"].qty == 0
    assert positions(db) == broker_positions(db) == {}


def test_replay_feed_of_real_prices_trades(tmp_path, run):
    from seamless.feeds import ReplayFeed

    db = tmp_path / "s.db"
    runner = run(db, ticks=4000, feed=ReplayFeed(symbols=["AAPL", "MSFT"]))
    assert runner.ticks == 4000 and not runner.rejected
    with Store(db) as store:
        assert set(store.state.market.quotes) == {"AAPL", "MSFT"}
        assert [o for o in store.state.orders.by_id.values() if o.status == "filled"]
    assert positions(db) == broker_positions(db)


def test_sigterm_stops_cleanly_with_a_snapshot(tmp_path, seamless_cmd):
    import os
    import signal
    import subprocess

    from seamless.persist import open_reader
    from seamless.replay import replay

    db = tmp_path / "s.db"
    proc = subprocess.Popen(
        [*seamless_cmd, "run", "--db", str(db), "--speed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = __import__("time").monotonic() + 30
        while True:  # await RUNNING in the store (a condition, read-only, not a sleep)
            if db.exists():
                try:
                    if replay(db).values["runner"]["status"] == "RUNNING":
                        break
                except Exception:
                    pass  # the store is being created
            assert __import__("time").monotonic() < deadline, "runner never reached RUNNING"
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped at seq" in out
    state = replay(db)
    assert state.values["runner"]["status"] == "STOPPED"
    conn = open_reader(db)
    try:
        snap_seq = conn.execute("SELECT max(seq) FROM snapshots").fetchone()[0]
    finally:
        conn.close()
    assert snap_seq == state.seq  # close() wrote a snapshot at the last event


class FlakyBroker(PaperBroker):
    """The paper broker behind the same interface, unreachable while `down` is set
    (what a remote broker's outage looks like to the runner)."""

    down = False

    def _check(self):
        from seamless.brokers import BrokerDisconnected

        if self.down:
            raise BrokerDisconnected("connection refused (test outage)")

    def fills_since(self, cursor):
        self._check()
        return super().fills_since(cursor)

    def order(self, client_order_id):
        self._check()
        return super().order(client_order_id)

    def submit(self, req):
        self._check()
        return super().submit(req)


def test_broker_outage_is_journaled_retried_and_recovered(tmp_path, run, open_account):
    db = tmp_path / "s.db"
    run(db, ticks=1500)  # some history
    with open_account(db, broker=FlakyBroker) as acct:
        store, broker = acct.store, acct.broker
        runner = acct.runner(
            SimFeed(symbols=SYMBOLS, seed=0, volatility=3.0, start_ts=resume_ts(store)), resolve_every_s=0.0
        )
        assert runner.start()
        broker.down = True
        ticks = runner.feed.ticks()
        for _ in range(500):  # trading on while the broker is down: no crash
            tick = next(ticks)
            runner.on_tick(tick)
            runner._housekeeping()
        rs = store.state.runner
        assert rs.broker_connected is False and "test outage" in rs.broker_error
        stale = store.read("positions", max_age=0.0)
        assert stale.stale and stale.refreshing  # a stale read asks the broker again
        broker.down = False
        runner._housekeeping(force=True)
        assert store.state.runner.broker_connected is True
        assert runner.orders.pending == ()
        runner.shutdown()
    assert positions(db) == broker_positions(db)
    topics = [t for t, _, _ in journal(db) if t == "broker.status"]
    assert len(topics) >= 2


def test_trading_day_follows_the_exchange_time_zone(store):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from seamless.engine.risk import RiskManager
    from seamless.events import CashSet

    ny = ZoneInfo("America/New_York")
    before = datetime(2026, 3, 9, 23, 59, 30, tzinfo=ny).timestamp()  # 03:59:30 UTC on the 10th
    after = datetime(2026, 3, 10, 0, 0, 30, tzinfo=ny).timestamp()
    risk = RiskManager(store, RiskLimits())
    assert risk.trading_day(before) == "2026-03-09" and risk.trading_day(after) == "2026-03-10"
    store.commit(CashSet(cash=1000.0, reason="test"))
    risk.on_tick(before)
    assert store.state.account.day == "2026-03-09"
    store.commit(CashSet(cash=900.0, reason="a loss"))
    risk.on_tick(before + 10)
    assert store.state.account.day_start_equity == 1000.0  # same day: no new start
    risk.on_tick(after)
    acct = store.state.account
    assert acct.day == "2026-03-10" and acct.day_start_equity == 900.0 and acct.daily_realized_pnl == 0.0


def test_auto_flatten_closes_every_position_after_a_breach(tmp_path, run):
    db = tmp_path / "s.db"

    def wild(start):
        return SimFeed(symbols=SYMBOLS, seed=3, volatility=60.0, **({"start_ts": start} if start else {}))

    run(db, ticks=4000, limits=RiskLimits(daily_loss_limit=50.0, auto_flatten=True), feed=wild)
    with Store(db) as store:
        assert store.state.risk.trading_state == "HALTED"
        assert not [p for p in store.state.positions.by_symbol.values() if p.qty]
        closes = [o for o in store.state.orders.by_id.values() if o.reason.startswith("auto-flatten")]
        assert closes and all(o.status == "filled" for o in closes)
    assert positions(db) == broker_positions(db) == {}


def test_a_second_runner_on_the_same_store_is_refused(tmp_path, seamless_cmd, seamless_run):
    import subprocess
    import time as _time

    from seamless.replay import replay

    db = tmp_path / "s.db"
    first = subprocess.Popen(
        [*seamless_cmd, "run", "--db", str(db), "--speed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = _time.monotonic() + 30
        while True:
            try:
                if db.exists() and replay(db).values["runner"]["status"] == "RUNNING":
                    break
            except Exception:
                pass
            assert _time.monotonic() < deadline
        second = seamless_run("run", "--db", str(db), "--max-ticks", "10", timeout=60)
        assert second.returncode == 2
        assert "already open for writing" in second.stderr and "one writer per store" in second.stderr
        assert first.poll() is None  # the first runner is untouched
    finally:
        first.terminate()
        first.communicate(timeout=30)
    assert first.returncode == 0


def test_several_monitors_firing_on_one_tick_do_not_stop_the_runner(tmp_path, open_account):
    """A trigger closes the position and cancels its other monitors: a trailing-stop move or a
    second trigger evaluated on the same tick must be dropped, not committed (InvalidEvent)."""
    db = tmp_path / "s.db"
    with open_account(db) as acct:
        store = acct.store
        runner = acct.runner(
            SimFeed(symbols=SYMBOLS, seed=3, volatility=3.0),
            stop_loss_pct=0.002,
            take_profit_pct=0.004,
            trailing_pct=0.003,
        )
        runner.run(max_ticks=6000)
        assert store.state.runner.status == "STOPPED", store.state.runner.last_error
        kinds = {m.kind for m in store.state.monitors.by_id.values() if m.status == "triggered"}
        assert kinds, "no monitor fired: the run does not exercise the case"
    assert positions(db) == broker_positions(db)


def test_the_brokers_sanity_limits_reject_the_runners_orders_with_their_reason(tmp_path, open_account):
    db = tmp_path / "s.db"
    with open_account(db, max_order_notional=500.0) as acct:
        runner = acct.runner(SimFeed(symbols=SYMBOLS, seed=0, volatility=3.0))
        runner.run(max_ticks=2000)
    rejected = [json.loads(p) for t, _, p in journal(db) if t == "order.rejected"]
    assert rejected and all("is above the broker's max order notional 500" in r["reason"] for r in rejected)
    assert not [t for t, _, _ in journal(db) if t == "order.filled"]
    assert positions(db) == broker_positions(db) == {}


def test_impossible_replay_bars_are_rejected_and_counted_as_bad_ticks(tmp_path, run):
    import pandas as pd

    from seamless.feeds import IMPOSSIBLE_BAR, ReplayFeed

    bars = tmp_path / "bars.csv"
    rows = ["date,symbol,open,high,low,close"]
    rows += [f"2024-02-{day:02d},AAPL,{100 + day},{102 + day},{99 + day},{101 + day}" for day in range(1, 30)]
    rows += [
        "2024-03-01,AAPL,130,128,131,129",  # high below low
        "2024-03-04,AAPL,140,132,129,131",  # open above the high
        "2024-03-05,AAPL,131,133,129,128",  # close below the low
        "2024-03-06,AAPL,0,133,0,131",  # a price at zero
        "2024-03-07,AAPL,131,133,129,",  # no close: a NaN tick, the bar itself is possible
        "2024-03-08,AAPL,131,133,129,132",
    ]
    bars.write_text("\n".join(rows) + "\n")
    feed = ReplayFeed(bars)
    assert feed.impossible_bars == 4
    assert [t.fault for t in feed.ticks()].count(IMPOSSIBLE_BAR) == 16
    runner = run(tmp_path / "s.db", ticks=10_000, feed=feed)
    assert runner.rejected == {IMPOSSIBLE_BAR: 16, "nan": 1}
    assert runner.ticks == (29 + 6) * 4 - 16 - 1
    with sqlite3.connect(tmp_path / "s.db") as c:
        days = {ts // 86_400 for (ts,) in c.execute("SELECT exchange_ts FROM journal WHERE topic = 'market.quote'")}
    impossible = {
        pd.Timestamp(d, tz="UTC").timestamp() // 86_400
        for d in ("2024-03-01", "2024-03-04", "2024-03-05", "2024-03-06")
    }
    assert len(days) == 29 + 2 and not days & impossible  # no quote of an impossible bar was applied


def test_the_open_quantity_per_symbol_is_the_sum_over_the_stores_open_orders(tmp_path, open_account):
    """The runner follows its open orders from the order events; at every one its open
    quantity per symbol is what summing over every order the store holds gives."""
    with open_account(tmp_path / "s.db", partial_fills=True) as acct:  # orders stay open until the next mark
        runner = acct.runner(SimFeed(symbols=SYMBOLS, seed=3, volatility=3.0), RiskLimits())
        checked: list[float] = []

        def check(ev) -> None:  # subscribed after the runner: it has seen the event
            for sym in SYMBOLS:
                plain = sum(
                    o.qty - o.filled_qty
                    for o in acct.store.state.orders.by_id.values()
                    if o.symbol == sym and o.is_open
                )
                assert runner._open_qty.get(sym, 0.0) == plain, (ev, sym)
                checked.append(plain)

        acct.store.bus.subscribe("order.*", check, queued=False)
        runner.run(max_ticks=3000)
        assert any(checked) and len(checked) > 100  # open orders were followed, not only empty books


def test_the_venue_is_priced_right_before_an_order_is_sent_and_not_for_one_refused(tmp_path, open_account):
    with open_account(tmp_path / "s.db") as acct:
        feed = SimFeed(symbols=SYMBOLS, seed=3, volatility=3.0, tick_interval_s=0.5)  # 25 minutes of market time
        runner = acct.runner(feed, RiskLimits(max_orders_per_minute=2))
        seen: list[tuple[str, str, float | None]] = []
        mark = acct.broker.mark

        def recorded(symbol, price, ts=None):
            seen.append(("mark", symbol, ts))
            return mark(symbol, price, ts)

        runner._mark = recorded
        for topic in ("order.submitting", "order.refused"):
            acct.store.bus.subscribe(topic, lambda ev: seen.append((ev.topic, ev.symbol, ev.exchange_ts)), queued=False)
        runner.run(max_ticks=3000)
    sent = [i for i, e in enumerate(seen) if e[0] == "order.submitting"]
    refused = [e for e in seen if e[0] == "order.refused"]
    assert len(sent) > 10 and len(refused) > 10
    assert all(seen[i - 1] == ("mark", *seen[i][1:]) for i in sent)  # the intent follows its tick's mark
    assert not {("mark", *e[1:]) for e in refused} & set(seen)  # a refused order's tick marked nothing
