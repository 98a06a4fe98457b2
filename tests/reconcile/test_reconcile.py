"""Broker reconciliation on real files: the store, the paper broker's file, the journal."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import time

import pytest

from seamless.brokers import OrderRequest, PaperBroker
from seamless.engine.orders import OrderManager
from seamless.engine.risk import RiskLimits, RiskManager
from seamless.errors import StoreError
from seamless.events import (
    CashSet,
    OrderAccepted,
    OrderCancelled,
    OrderSubmitting,
    PositionAdjusted,
    PositionClosed,
    QuoteReceived,
)
from seamless.feeds import SimFeed
from seamless.reconcile import Finding, ReconcilePolicy, Reconciler, compare
from seamless.store import Store
from seamless.wiring import resume_ts

RECONCILE_TOPICS = ("reconcile.started", "reconcile.mismatch", "reconcile.completed")


class Account:
    """A store and its paper broker on disk (``open_account``'s), an order manager as the
    runner has, and a second broker connection for trading "by hand" (out of band)."""

    def __init__(self, opened, *, setup=True):
        self.db = str(opened.db)
        self.broker_db = str(opened.broker_db)
        self.store = opened.store
        self.broker = opened.broker
        self.hand = PaperBroker(self.broker_db)
        self.om = OrderManager(self.store, self.broker, RiskManager(self.store, RiskLimits()))
        if setup:
            self.store.commit(CashSet(cash=self.broker.account().cash, reason="opening balance from the broker"))
            self.quote("AAPL", 100.0, 1.0)
            self.quote("MSFT", 50.0, 1.0)

    def quote(self, symbol, price, ts):
        self.store.commit(QuoteReceived(symbol=symbol, last=price, exchange_ts=ts))
        self.broker.mark(symbol, price, ts)

    def buy(self, symbol, qty, coid):
        return self.om.submit(symbol, qty, client_order_id=coid, strategy="test")

    def close(self):
        for x in (self.hand, self.broker, self.store):
            x.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def account(open_account):
    """``account(**broker_kw) -> Account`` on ``acct.db`` in the test's temp dir; closed at
    teardown unless the test closed it."""
    made = []

    def make(**broker_kw):
        made.append(Account(open_account(**broker_kw)))
        return made[-1]

    yield make
    for a in made:
        a.close()


@pytest.fixture
def acct(account):
    return account()


def journal(db, after=0):
    with sqlite3.connect(db) as c:
        return [
            (seq, topic, json.loads(payload))
            for seq, topic, payload in c.execute(
                "SELECT seq, topic, payload FROM journal WHERE seq > ? ORDER BY seq", (after,)
            )
        ]


def store_positions(store):
    return {s: (p.qty, p.avg_price) for s, p in store.state.positions.by_symbol.items() if p.qty}


def broker_positions(broker):
    return {s: (p.qty, p.avg_price) for s, p in broker.positions().items()}


def assert_agree(a):
    assert compare(a.store, a.broker) == []
    sp, bp = store_positions(a.store), broker_positions(a.broker)
    assert sp.keys() == bp.keys()
    for s in sp:
        assert sp[s] == pytest.approx(bp[s], rel=1e-9)
    assert a.store.state.account.cash == pytest.approx(a.broker.account().cash, abs=0.01)


def assert_journaled(a, report, before_seq):
    """The run is in the journal: started, one mismatch per finding (with its resolution), completed."""
    rows = [(t, p) for _, t, p in journal(a.db, before_seq) if t in RECONCILE_TOPICS]
    assert rows[0][0] == "reconcile.started" and rows[0][1]["run_id"] == report.run_id
    mismatches = [p for t, p in rows if t == "reconcile.mismatch"]
    assert [(m["kind"], m["subject"], m["resolution"]) for m in mismatches] == [
        (f.kind, f.subject, r) for f, r in zip(report.findings, report.resolutions)
    ]
    assert rows[-1][0] == "reconcile.completed"
    done = rows[-1][1]
    assert done["run_id"] == report.run_id and done["mismatches"] == len(report.findings)
    assert done["ok"] is report.ok
    st = a.store.state.reconcile
    assert st.run_id == report.run_id and st.status == ("ok" if report.ok else "mismatch")


def kinds(findings):
    return [(f.kind, f.subject) for f in findings]


def reconcile(a, policy=None):
    seq = a.store.seq
    report = Reconciler(a.store, a.broker, policy).run()
    assert_journaled(a, report, seq)
    return report


# -- the faults -------------------------------------------------------------------------------


def test_agreeing_store_and_broker_have_no_findings(acct):
    acct.buy("AAPL", 10, "c1")
    assert compare(acct.store, acct.broker) == []
    report = reconcile(acct)
    assert report.findings == [] and report.ok and not report.escalated


def test_manual_trade_at_the_broker_is_caught_up(acct):
    acct.buy("AAPL", 10, "c1")
    fill = acct.hand.trade("AAPL", 5, 101.0)  # by hand, in the broker's own app
    found = compare(acct.store, acct.broker)
    assert kinds(found) == [("fill_missing_in_store", fill.trade_id), ("qty_differs", "AAPL"), ("cash_differs", "cash")]
    assert found[2].size == pytest.approx(505.0)
    report = reconcile(acct)
    assert kinds(report.findings) == [("fill_missing_in_store", fill.trade_id)]
    assert "journaled the broker's fill" in report.resolutions[0] and report.ok
    assert fill.trade_id in acct.store.state.orders.trade_ids
    assert acct.store.state.orders.fill_cursor == fill.cursor
    assert_agree(acct)
    assert acct.store.state.positions.by_symbol["AAPL"].qty == 15


def test_position_closed_at_the_broker(acct):
    acct.buy("AAPL", 10, "c1")
    acct.buy("MSFT", 4, "c2")
    acct.hand.trade("AAPL", -10)  # at the mark
    assert "AAPL" not in acct.broker.positions()
    assert ("qty_differs", "AAPL") not in kinds(compare(acct.store, acct.broker))
    assert ("position_missing_in_store", "AAPL") not in kinds(compare(acct.store, acct.broker))
    assert ("position_missing_at_broker", "AAPL") in kinds(compare(acct.store, acct.broker))
    report = reconcile(acct)
    assert [f.kind for f in report.findings] == ["fill_missing_in_store"] and report.ok
    assert_agree(acct)
    assert set(store_positions(acct.store)) == {"MSFT"}


def test_dropped_fill_report_after_a_runner_session(open_account):
    with open_account() as opened:
        db, store, broker = str(opened.db), opened.store, opened.broker
        feed = SimFeed(symbols=("AAPL", "MSFT"), seed=3, volatility=3.0)
        opened.runner(feed, RiskLimits()).run(max_ticks=1500)
        assert store.state.orders.fills, "the runner should trade"
        assert compare(store, broker) == []  # a clean session agrees
        start = resume_ts(store)
        last = store.state.market.quotes["AAPL"].last
        store.commit(QuoteReceived(symbol="AAPL", last=last, exchange_ts=start))
        broker.mark("AAPL", last, start)
        broker.inject("drop_fill")
        om = OrderManager(store, broker, RiskManager(store, RiskLimits()))
        before = dict(store_positions(store))
        om.submit("AAPL", 3, client_order_id="runner-AAPL-x", strategy="ma_cross")
        order = store.state.orders.by_id["runner-AAPL-x"]
        assert order.status == "accepted" and order.filled_qty == 0  # the fill report never came
        assert store_positions(store) == before
        missing = [f for f in compare(store, broker) if f.kind == "fill_missing_in_store"]
        assert len(missing) == 1
        seq = store.seq
        report = Reconciler(store, broker, ReconcilePolicy(size_threshold=1e12)).run()
        a = type("A", (), {"db": db, "store": store, "broker": broker})
        assert_journaled(a, report, seq)
        assert kinds(report.findings) == kinds(missing) and report.ok
        assert store.state.orders.by_id["runner-AAPL-x"].status == "filled"
        assert_agree(a)


def test_partial_fill_the_store_missed(account):
    with account(partial_fills=True) as a:
        a.broker.inject("drop_fill")
        a.buy("AAPL", 10, "c1")  # half fills now (report dropped), half at the next mark
        assert a.store.state.orders.by_id["c1"].filled_qty == 0
        assert a.broker.order("c1").status == "partially_filled"
        found = compare(a.store, a.broker)
        assert [f.kind for f in found] == ["fill_missing_in_store", "position_missing_in_store", "cash_differs"]
        report = reconcile(a)
        assert [f.kind for f in report.findings] == ["fill_missing_in_store"] and report.ok
        order = a.store.state.orders.by_id["c1"]
        assert order.status == "partially_filled" and order.filled_qty == 5
        assert_agree(a)
        a.quote("AAPL", 100.5, 2.0)  # the rest fills, pushed as usual
        assert a.store.state.orders.by_id["c1"].status == "filled"
        assert_agree(a)


def test_cash_difference_adopts_the_brokers_cash(acct):
    acct.buy("AAPL", 10, "c1")
    acct.store.commit(CashSet(cash=12_345.0, reason="a wrong figure"))
    broker_cash = acct.broker.account().cash
    assert kinds(compare(acct.store, acct.broker)) == [("cash_differs", "cash")]
    report = reconcile(acct)
    assert kinds(report.findings) == [("cash_differs", "cash")]
    assert report.findings[0].store_value == "12345" and report.ok
    assert report.escalated  # 87,655 off: above the 10,000 size threshold
    assert acct.store.state.risk.trading_state == "HALTED"
    assert acct.store.state.account.cash == broker_cash
    cash_sets = [p for _, t, p in journal(acct.db) if t == "account.cash_set"]
    assert cash_sets[-1]["cash"] == broker_cash and "cash_differs" in cash_sets[-1]["reason"]
    assert_agree(acct)


def test_order_lost_in_a_disconnect_is_cancelled(acct):
    acct.broker.inject("disconnect")
    acct.buy("AAPL", 10, "c1")
    assert acct.store.state.orders.by_id["c1"].status == "submitting"
    assert acct.broker.order("c1") is None
    assert kinds(compare(acct.store, acct.broker)) == [("order_unknown_to_broker", "c1")]
    report = reconcile(acct)
    assert kinds(report.findings) == [("order_unknown_to_broker", "c1")] and report.ok
    order = acct.store.state.orders.by_id["c1"]
    assert order.status == "cancelled" and order.reason == "unknown to the broker at reconciliation"
    assert_agree(acct)


def test_open_broker_order_unknown_to_the_store_is_adopted(acct):
    acct.hand.submit(OrderRequest(client_order_id="app-1", symbol="AAPL", qty=5, order_type="limit", limit_price=90.0))
    assert kinds(compare(acct.store, acct.broker)) == [("order_unknown_to_store", "app-1")]
    report = reconcile(acct)
    assert report.ok
    order = acct.store.state.orders.by_id["app-1"]
    assert (order.strategy, order.status, order.qty, order.limit_price) == ("external", "accepted", 5, 90.0)
    submitting = [p for _, t, p in journal(acct.db) if t == "order.submitting"][-1]
    assert submitting["by"] == "reconciler" and submitting["client_order_id"] == "app-1"
    assert_agree(acct)
    acct.quote("AAPL", 89.0, 2.0)  # it fills later: against the adopted order
    assert acct.store.state.orders.by_id["app-1"].status == "filled"
    assert_agree(acct)


def test_adopting_external_orders_can_be_turned_off(acct):
    acct.hand.submit(OrderRequest(client_order_id="app-1", symbol="AAPL", qty=5, order_type="limit", limit_price=90.0))
    report = reconcile(acct, ReconcilePolicy(adopt_external_orders=False))
    assert not report.ok and "app-1" not in acct.store.state.orders.by_id
    assert report.resolutions == ["not resolved: adopt_external_orders is off"]


@pytest.mark.parametrize(
    "drift, kind",
    [
        (
            lambda s: s.commit(PositionAdjusted(symbol="MSFT", qty=7, avg_price=50.0, reason="drift")),
            ("position_missing_at_broker", "MSFT"),
        ),
        (
            lambda s: s.commit(PositionAdjusted(symbol="AAPL", qty=3, avg_price=100.0, reason="drift")),
            ("qty_differs", "AAPL"),
        ),
        (
            lambda s: s.commit(PositionAdjusted(symbol="AAPL", qty=10, avg_price=99.0, reason="drift")),
            ("avg_price_differs", "AAPL"),
        ),
        (
            lambda s: (
                s.commit(PositionAdjusted(symbol="AAPL", qty=0, avg_price=0.0, reason="drift")),
                s.commit(PositionClosed(symbol="AAPL", reason="drift")),
            ),
            ("position_missing_in_store", "AAPL"),
        ),
    ],
)
def test_position_drift_adopts_the_brokers_position(acct, drift, kind):
    acct.buy("AAPL", 10, "c1")
    drift(acct.store)
    assert kinds(compare(acct.store, acct.broker)) == [kind]
    report = reconcile(acct)
    assert kinds(report.findings) == [kind] and report.ok and not report.escalated
    assert report.resolutions[0].startswith("adopted the broker's position")
    adjusted = [p for _, t, p in journal(acct.db) if t == "position.adjusted"][-1]
    assert adjusted["symbol"] == kind[1] and kind[0] in adjusted["reason"]
    if kind[0] == "position_missing_at_broker":  # flat at the broker: out of the store's book too
        assert kind[1] not in acct.store.state.positions.by_symbol
    assert_agree(acct)


# -- escalation -------------------------------------------------------------------------------


@pytest.mark.parametrize("restart", [False, True])
def test_persistent_mismatch_escalates_after_persistent_runs(account, restart):
    with account() as a:
        a.store.commit(PositionAdjusted(symbol="MSFT", qty=7, avg_price=50.0, reason="drift"))
        policy = ReconcilePolicy(adopt_broker_positions=False, persistent_runs=3)
        rec = Reconciler(a.store, a.broker, policy)
        for i in range(3):
            if restart:  # a new process each time: the history comes from the store
                a.store.close()
                a.store = Store(a.db)
                rec = Reconciler(a.store, a.broker, policy)
            seq = a.store.seq
            report = rec.run()
            assert_journaled(a, report, seq)
            assert kinds(report.findings) == [("position_missing_at_broker", "MSFT")]
            assert report.resolutions == ["not resolved: adopt_broker_positions is off"] and not report.ok
            assert report.escalated == (i == 2)
            assert a.store.state.risk.trading_state == ("HALTED" if i == 2 else "ACTIVE")
        change = [p for _, t, p in journal(a.db) if t == "risk.trading_state"]
        assert len(change) == 1 and change[0]["by"] == "reconciler" and "3 runs in a row" in change[0]["reason"]


def test_a_clean_run_breaks_the_streak(acct):
    policy = ReconcilePolicy(adopt_broker_positions=False, persistent_runs=2)
    acct.store.commit(PositionAdjusted(symbol="MSFT", qty=7, avg_price=50.0, reason="drift"))
    assert not Reconciler(acct.store, acct.broker, policy).run().escalated
    acct.store.commit(PositionAdjusted(symbol="MSFT", qty=0, avg_price=0.0, reason="fixed by hand"))
    assert Reconciler(acct.store, acct.broker, policy).run().findings == []
    acct.store.commit(PositionAdjusted(symbol="MSFT", qty=7, avg_price=50.0, reason="drift again"))
    assert not Reconciler(acct.store, acct.broker, policy).run().escalated  # restarted each time
    assert acct.store.state.risk.trading_state == "ACTIVE"
    assert Reconciler(acct.store, acct.broker, policy).run().escalated


def test_large_mismatch_escalates_at_once_to_the_policys_state(acct):
    acct.hand.trade("AAPL", 200, 100.0)  # 20,000 of stock bought by hand
    report = reconcile(acct, ReconcilePolicy(escalate_to="REDUCING"))
    assert report.escalated and report.ok
    assert acct.store.state.risk.trading_state == "REDUCING"
    assert "above 10000" in acct.store.state.risk.state_reason
    assert_agree(acct)


# -- idempotence, dry run, the CLI --------------------------------------------------------------


def test_reconciling_twice_changes_nothing_the_second_time(acct):
    acct.buy("AAPL", 10, "c1")
    acct.hand.trade("AAPL", 5, 101.0)
    acct.hand.submit(OrderRequest(client_order_id="app-1", symbol="MSFT", qty=5, order_type="limit", limit_price=46.0))
    acct.store.commit(PositionAdjusted(symbol="GOOG", qty=2, avg_price=10.0, reason="drift"))
    first = reconcile(acct)
    assert len(first.findings) == 3 and first.ok
    positions, cash, seq = store_positions(acct.store), acct.store.state.account.cash, acct.store.seq
    second = reconcile(acct)
    assert second.findings == [] and second.ok and not second.escalated
    assert [t for _, t, _ in journal(acct.db, seq)] == ["reconcile.started", "reconcile.completed"]
    assert store_positions(acct.store) == positions and acct.store.state.account.cash == cash


def test_dry_run_journals_nothing(acct):
    acct.hand.trade("AAPL", 5, 101.0)
    seq = acct.store.seq
    report = Reconciler(acct.store, acct.broker).run(dry_run=True)
    assert [f.kind for f in report.findings] == ["fill_missing_in_store", "position_missing_in_store", "cash_differs"]
    assert not report.ok and acct.store.seq == seq
    doc = json.loads(report.to_json())
    assert doc["dry_run"] is True and len(doc["findings"]) == 3
    assert isinstance(report.findings[0], Finding)


def test_cli_reconcile_exit_codes_and_json(tmp_path, account, seamless_run):
    with account() as a:
        a.buy("AAPL", 10, "c1")
        a.hand.trade("AAPL", -4, 99.0)
        a.store.commit(PositionAdjusted(symbol="MSFT", qty=7, avg_price=50.0, reason="drift"))

    def cli(*args):
        return seamless_run("reconcile", "--db", a.db, *args)

    dry = cli("--dry-run", "--json")
    assert dry.returncode == 1, dry.stderr
    doc = json.loads(dry.stdout)
    assert doc["ok"] is False and doc["dry_run"] is True
    assert ("position_missing_at_broker", "MSFT") in [(f["kind"], f["subject"]) for f in doc["findings"]]
    fixed = cli("--json", "--broker-db", a.broker_db)
    assert fixed.returncode == 0, fixed.stderr
    doc = json.loads(fixed.stdout)
    assert doc["ok"] is True and doc["remaining"] == []
    assert [f["kind"] for f in doc["findings"]] == ["fill_missing_in_store", "position_missing_at_broker"]
    assert all(f["resolution"] for f in doc["findings"])
    again = cli("--json")
    assert again.returncode == 0 and json.loads(again.stdout)["findings"] == []
    with Store(a.db) as store, PaperBroker(a.broker_db) as broker:
        assert compare(store, broker) == []
        assert store.state.reconcile.status == "ok"

    missing = seamless_run("reconcile", "--db", a.db, "--broker-db", str(tmp_path / "nope.db"))
    assert missing.returncode == 2 and missing.stderr.startswith("seamless: error: no paper broker database")


def test_cli_exit_1_when_a_mismatch_is_left(account, seamless_run):
    with account() as a:
        a.buy("AAPL", 10, "c1")
        # An order closed in the store but still working at the broker: nothing in the store can fix it.
        a.hand.submit(OrderRequest(client_order_id="c2", symbol="MSFT", qty=1, order_type="limit", limit_price=46.0))
        a.store.commit(
            OrderSubmitting(client_order_id="c2", symbol="MSFT", qty=1, order_type="limit", limit_price=46.0)
        )
        a.store.commit(OrderAccepted(client_order_id="c2"))
        a.store.commit(OrderCancelled(client_order_id="c2", reason="cancelled in the store only"))
    proc = seamless_run("reconcile", "--db", a.db, "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(f["kind"], f["subject"]) for f in doc["findings"]] == [("order_status_differs", "c2")]
    assert doc["findings"][0]["resolution"].startswith("not resolved")


def test_the_runner_reconciles_at_start_and_on_its_schedule(tmp_path, open_account):
    from seamless.feeds import SimFeed
    from seamless.reconcile import ReconcilePolicy

    db = tmp_path / "s.db"
    clock = [0.0]
    with open_account(db) as opened:
        store, broker = opened.store, opened.broker
        broker.mark("AAPL", 100.0)
        broker.trade("AAPL", 7, 100.0)  # by hand at the broker, before the runner ever ran
        runner = opened.runner(
            SimFeed(symbols=("AAPL", "MSFT"), seed=2, volatility=3.0),
            resolve_every_s=0.0,
            reconcile=ReconcilePolicy(interval_s=10.0),
            clock=lambda: clock[0],
        )
        assert runner.start()
        runs = [m for m in store.state.reconcile.mismatches]
        assert store.state.reconcile.status == "ok" and runs  # the startup run found and fixed it
        assert store.state.positions.by_symbol["AAPL"].qty == 7
        first = store.state.reconcile.run_id
        runner._housekeeping()  # not due yet: no new run
        assert store.state.reconcile.run_id == first
        clock[0] = 10.0
        runner._housekeeping()  # due: exactly one more run
        second = store.state.reconcile.run_id
        assert second != first
        runner._housekeeping()
        assert store.state.reconcile.run_id == second
        runner.shutdown()


def test_a_clean_run_between_mismatches_breaks_the_streak_across_restarts(tmp_path):
    from seamless.brokers import PaperBroker
    from seamless.events import CashSet, PositionAdjusted
    from seamless.reconcile import ReconcilePolicy, Reconciler
    from seamless.store import Store

    db, bdb = tmp_path / "s.db", tmp_path / "s.broker.db"
    policy = ReconcilePolicy(persistent_runs=3, adopt_broker_positions=False)
    broker = PaperBroker(bdb)

    def adjust(store, qty):
        store.commit(PositionAdjusted(symbol="AAPL", qty=qty, avg_price=100.0 if qty else 0.0, reason="test"))

    try:
        with Store(db) as store:
            store.commit(CashSet(cash=broker.account().cash, reason="opening"))
            rec = Reconciler(store, broker, policy)
            adjust(store, 5)
            assert not rec.run().ok  # run 1: the store holds 5 the broker does not
            adjust(store, 0)
            assert rec.run().ok  # run 2: clean
            adjust(store, 5)
            assert not rec.run().ok  # run 3: the mismatch again (a streak of 1)
        with Store(db) as store:  # a restart: the history comes from the store
            rec = Reconciler(store, broker, policy)
            assert not rec.run().escalated  # run 4: a streak of 2, not 3
            assert store.state.risk.trading_state == "ACTIVE"
            assert rec.run().escalated  # run 5: 3 in a row
            assert store.state.risk.trading_state == "HALTED"
            assert [r for r, _ in store.state.reconcile.recent_runs][-5:] == [r for r, _ in rec.history][-5:]
    finally:
        broker.close()


# -- read-only: a dry run beside a live writer -------------------------------------------------


def test_a_dry_run_compares_a_follower_with_a_read_only_broker_beside_the_writer(acct):
    from seamless.brokers import BrokerError
    from seamless.store import Follower

    acct.buy("AAPL", 10, "c1")
    acct.hand.trade("MSFT", 3, 50.0)  # by hand: a fill, a position and cash the store lacks
    follower = Follower(acct.db)  # the store stays open for writing here: no writer lock needed
    reader = PaperBroker(acct.broker_db, read_only=True)
    try:
        seq, rows = acct.store.seq, len(journal(acct.db))
        report = Reconciler(follower, reader).run(dry_run=True)
        assert kinds(report.findings) == [
            ("fill_missing_in_store", "T2"),
            ("position_missing_in_store", "MSFT"),
            ("cash_differs", "cash"),
        ]
        assert report.dry_run and not report.ok and report.remaining == report.findings
        assert report.findings == compare(acct.store, acct.broker)  # the writer's own comparison
        assert acct.store.seq == seq and len(journal(acct.db)) == rows
        with pytest.raises(TypeError, match="needs the writing Store, not a read-only Follower"):
            Reconciler(follower, reader).run()
        with pytest.raises(BrokerError, match="open read-only"):
            reader.trade("MSFT", 1, 50.0)
    finally:
        reader.close()
        follower.close()
    assert len(journal(acct.db)) == rows


def _journal_rows(db, topic="%"):
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        return c.execute("SELECT COUNT(*) FROM journal WHERE topic LIKE ?", (topic,)).fetchone()[0]


def _files(*paths):
    """Bytes and mtime of each file (the broker's main file and its WAL: its -shm is readers' scratch)."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths if p.exists()}


def _wait(what, check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (StoreError, sqlite3.Error):  # not a store yet: the runner is still creating it
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _quiet(db, seconds=1.0, timeout=60.0):
    """The journal's row count, once it has not changed for ``seconds``."""
    rows, deadline = _journal_rows(db), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(seconds)
        if rows == (rows := _journal_rows(db)):
            return rows
    raise AssertionError(f"the journal of {db} kept growing")


def _in_use(db, pid):
    return (
        f"seamless: error: {db} is already open for writing by pid {pid}; one writer per store "
        f"(a runner or the dashboard): compare beside it with seamless reconcile --dry-run; "
        f'resolve with the dashboard\'s "Reconcile now", or once the runner has stopped\n'
    )


def test_dry_run_beside_a_trading_seamless_run(tmp_path, seamless_cmd, seamless_run):
    db = tmp_path / "live.db"
    runner = subprocess.Popen(
        [*seamless_cmd, "run", "--db", str(db), "--speed", "0", "--duration", "120", "--reconcile-interval", "3600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait("the runner's first fills", lambda: _journal_rows(db, "order.filled") >= 3)
        reconciles = _journal_rows(db, "reconcile.%")  # the runner's own, at its start
        for _ in range(3):
            dry = seamless_run("reconcile", "--db", str(db), "--dry-run", "--json")
            assert dry.returncode in (0, 1), dry.stderr
            doc = json.loads(dry.stdout)
            # exit 1 exactly when something differs (an order in flight can, at that instant)
            assert doc["dry_run"] is True and doc["ok"] is (dry.returncode == 0) is (doc["findings"] == [])
            assert all(f["resolution"] == "dry run: nothing done" for f in doc["findings"])
        refused = seamless_run("reconcile", "--db", str(db))
        assert (refused.returncode, refused.stdout, refused.stderr) == (2, "", _in_use(db, runner.pid))
        assert _journal_rows(db, "reconcile.%") == reconciles  # neither journaled a run
        assert runner.poll() is None  # and the runner trades on
        assert _journal_rows(db, "order.filled") > 3
    finally:
        runner.send_signal(signal.SIGTERM)
        out, err = runner.communicate(timeout=60)
    assert runner.returncode == 0, err
    assert out.startswith("stopped at seq ")


def test_an_out_of_band_trade_beside_a_live_runner_is_a_finding_and_the_dry_run_writes_nothing(
    tmp_path, seamless_cmd, seamless_run
):
    db, broker_db = tmp_path / "acct.db", tmp_path / "acct.broker.db"
    first = seamless_run("run", "--db", str(db), "--speed", "0", "--max-ticks", "20000", "--symbols", "AAPL", "MSFT")
    assert first.returncode == 0, first.stderr
    assert _journal_rows(db, "order.filled") > 0  # it traded
    # Live again, paced so slowly that after its first tick it waits: nothing writes meanwhile,
    # not even its fill catch-up (which would journal the trade by hand at once).
    runner = subprocess.Popen(
        [*seamless_cmd, "run", "--db", str(db), "--speed", "1e-6", "--reconcile-interval", "3600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        from seamless.replay import replay

        _wait("the runner to be running", lambda: replay(db).document()["runner"]["status"] == "RUNNING")
        rows = _quiet(db)

        def dry_run(expect: int) -> dict:
            files = _files(broker_db, broker_db.with_name(broker_db.name + "-wal"))
            proc = seamless_run("reconcile", "--db", str(db), "--dry-run", "--json")
            assert proc.returncode == expect, proc.stderr
            assert _journal_rows(db) == rows  # journals nothing
            assert _files(*files) == files  # writes nothing at the broker
            return json.loads(proc.stdout)

        assert dry_run(0)["findings"] == []  # the runner reconciled at its start: they agree
        trade = seamless_run("broker", "trade", "--broker-db", str(broker_db), "--symbol", "AAPL", "--qty", "3")
        assert trade.returncode == 0, trade.stderr
        trade_id = trade.stdout.split()[0]
        doc = dry_run(1)
        found = {(f["kind"], f["subject"]) for f in doc["findings"]}
        assert ("fill_missing_in_store", trade_id) in found and ("cash_differs", "cash") in found
        assert found & {("qty_differs", "AAPL"), ("position_missing_in_store", "AAPL")}
        assert doc["ok"] is False and doc["remaining"] == [
            {k: v for k, v in f.items() if k != "resolution"} for f in doc["findings"]
        ]
        refused = seamless_run("reconcile", "--db", str(db))
        assert (refused.returncode, refused.stderr) == (2, _in_use(db, runner.pid))
        assert _journal_rows(db) == rows
        assert runner.poll() is None
    finally:
        runner.kill()  # its pacing sleep outlasts the test; the store is crash-safe
        runner.communicate(timeout=60)
