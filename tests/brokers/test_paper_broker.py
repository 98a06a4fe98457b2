"""The paper broker: a venue simulator in its own SQLite file, and the `seamless broker` commands.

Real SQLite files in tmp_path; the CLI and the fault-arming "other process" run as real
subprocesses against a file a PaperBroker in this process holds open.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from seamless.brokers import (
    Broker,
    BrokerDisconnected,
    BrokerError,
    BrokerRejected,
    BrokerTimeout,
    InvalidBrokerRequest,
    NewerBrokerVersion,
    OrderRequest,
    PaperBroker,
)
from seamless.brokers.paper import net_position
from seamless.errors import SeamlessError
from seamless.events import QuoteReceived
from seamless.store import Store


class Clock:
    """A clock the test sets: fill and order times are exact."""

    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "broker.db"


@pytest.fixture
def broker(db: Path):
    with PaperBroker(db, starting_cash=10_000.0, clock=Clock()) as b:
        yield b


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def buy(coid: str, qty: float = 10, symbol: str = "AAPL") -> OrderRequest:
    return OrderRequest(client_order_id=coid, symbol=symbol, qty=qty)


# -- fills, prices, cash ---------------------------------------------------------------------


def test_market_orders_fill_at_the_mark_with_slippage_and_commission(db):
    clock = Clock()
    b = PaperBroker(
        db,
        starting_cash=10_000.0,
        slippage_bps=10,
        commission_per_share=0.01,
        min_commission=1.0,
        margin=50_000.0,  # a margin account: the last buy (500 x 110) borrows
        clock=clock,
    )
    try:
        b.mark("AAPL", 100.0)
        clock.t += 5
        order = b.submit(buy("c1", 10))
        assert (order.status, order.filled_qty, order.broker_order_id) == ("filled", 10, "P1")
        assert order.avg_fill_price == pytest.approx(100.1)  # buys pay up 10 bps
        (fill,) = b.fills_since(0)
        assert (fill.trade_id, fill.client_order_id, fill.qty, fill.cursor) == ("T1", "c1", 10, 1)
        assert fill.commission == 1.0  # 10 x 0.01 = 0.10, below the 1.00 minimum
        assert fill.ts == 1_800_000_005.0  # the injected clock, not the wall clock
        assert b.account().cash == pytest.approx(10_000 - 10 * 100.1 - 1.0)

        b.mark("AAPL", 110.0)
        b.submit(buy("c2", -4))  # sell 4: sells receive 10 bps less
        pos = b.positions()["AAPL"]
        assert (pos.qty, pos.avg_price) == (6, pytest.approx(100.1))  # reducing keeps the entry price
        cash = 10_000 - 10 * 100.1 - 1.0 + 4 * 110 * 0.999 - 1.0
        assert b.account().cash == pytest.approx(cash)
        assert b.account().equity == pytest.approx(cash + 6 * 110.0)  # positions at their mark

        b.submit(buy("c3", 500))  # 500 x 0.01 = 5.00 beats the minimum
        assert b.fills_since(2)[0].commission == pytest.approx(5.0)
    finally:
        b.close()


def test_average_price_through_zero_and_flat_positions_leave_the_book(broker):
    broker.trade("AAPL", 10, 100.0)
    broker.trade("AAPL", 10, 110.0)
    assert broker.positions()["AAPL"].avg_price == pytest.approx(105.0)
    broker.trade("AAPL", -30, 120.0)  # through zero: the remaining short opened at 120
    pos = broker.positions()["AAPL"]
    assert (pos.qty, pos.avg_price) == (-10, 120.0)
    broker.trade("AAPL", 10, 90.0)
    assert broker.positions() == {}
    # cash: -1000 -1100 +3600 -900 = +600, no commission configured
    assert broker.account().cash == pytest.approx(10_600.0)
    assert broker.account().equity == pytest.approx(10_600.0)
    # float residue of a round trip is flat, not a 5e-17 share position
    for q in (0.1, 0.2, -0.3):
        broker.trade("MSFT", q, 50.0)
    assert "MSFT" not in broker.positions()


@pytest.mark.parametrize(
    "pos, fill, expected",
    [
        ((0, 0), (5, 10.0), (5, 10.0)),
        ((5, 10.0), (5, 20.0), (10, 15.0)),
        ((-5, 10.0), (-5, 20.0), (-10, 15.0)),
        ((10, 10.0), (-4, 30.0), (6, 10.0)),
        ((10, 10.0), (-10, 30.0), (0, 0.0)),
        ((10, 10.0), (-15, 30.0), (-5, 30.0)),
        ((-10, 10.0), (15, 30.0), (5, 30.0)),
    ],
)
def test_net_position(pos, fill, expected):
    assert net_position(*pos, *fill) == pytest.approx(expected)


def test_market_order_without_a_mark_is_rejected_with_the_reason(broker):
    with pytest.raises(BrokerRejected, match="no price for MSFT") as e:
        broker.submit(buy("c1", symbol="MSFT"))
    assert e.value.order.status == "rejected"
    assert broker.order("c1").reason == e.value.reason
    assert broker.fills_since(0) == [] and broker.positions() == {}
    assert broker.account().cash == 10_000.0


def test_limit_orders_fill_only_when_the_mark_crosses(db):
    b = PaperBroker(db, slippage_bps=10, clock=Clock())
    try:
        b.mark("AAPL", 100.0)
        o = b.submit(OrderRequest("buy99", "AAPL", 10, "limit", 99.0))
        assert (o.status, o.filled_qty) == ("accepted", 0)
        assert b.mark("AAPL", 99.5) == [] and b.order("buy99").status == "accepted"
        assert [o.client_order_id for o in b.open_orders()] == ["buy99"]
        (fill,) = b.mark("AAPL", 98.95)  # slipped price 99.049 would be worse than the limit
        assert (fill.client_order_id, fill.qty, fill.price) == ("buy99", 10, 99.0)
        assert b.order("buy99").status == "filled" and b.open_orders() == []

        # a limit sell placed below the mark is marketable: fills at submit, at the slipped mark
        o = b.submit(OrderRequest("sell95", "AAPL", -4, "limit", 95.0))
        assert o.status == "filled" and o.avg_fill_price == pytest.approx(98.95 * 0.999)

        # a limit order for a symbol with no mark yet rests, then fills when touched
        assert b.submit(OrderRequest("msft", "MSFT", -1, "limit", 300.0)).status == "accepted"
        assert b.mark("MSFT", 299.99) == []
        assert [f.price for f in b.mark("MSFT", 300.0)] == [300.0]
    finally:
        b.close()


def test_partial_fills_fill_half_now_and_the_rest_at_the_next_mark(db):
    b = PaperBroker(db, partial_fills=True, clock=Clock())
    try:
        b.mark("AAPL", 100.0)
        o = b.submit(buy("c1", 5))
        assert (o.status, o.filled_qty, o.remaining_qty) == ("partially_filled", 2, 3)
        assert b.positions()["AAPL"].qty == 2
        assert b.mark("MSFT", 10.0) == []  # another symbol's mark does not touch it
        (rest,) = b.mark("AAPL", 102.0)
        assert (rest.qty, rest.price) == (3, 102.0)
        o = b.order("c1")
        assert (o.status, o.filled_qty) == ("filled", 5)
        assert o.avg_fill_price == pytest.approx((2 * 100 + 3 * 102) / 5)
        assert [f.qty for f in b.fills_since(0)] == [2, 3]

        # cancelled between the parts: the filled half stays, the rest never fills
        b.submit(buy("c2", -4))
        assert b.cancel("c2").filled_qty == -2
        assert b.mark("AAPL", 103.0) == []
        assert b.order("c2").status == "cancelled" and b.positions()["AAPL"].qty == 3
    finally:
        b.close()


def test_cancel(broker):
    broker.mark("AAPL", 100.0)
    broker.submit(OrderRequest("lim", "AAPL", 1, "limit", 90.0))
    assert broker.cancel("lim").status == "cancelled"
    assert broker.cancel("lim").status == "cancelled"  # idempotent
    assert broker.mark("AAPL", 80.0) == []  # a cancelled limit does not fill
    broker.submit(buy("mkt"))
    with pytest.raises(BrokerRejected, match="already filled") as e:
        broker.cancel("mkt")
    assert e.value.order.status == "filled"
    with pytest.raises(BrokerRejected, match="unknown order 'nope'"):
        broker.cancel("nope")


# -- idempotency -------------------------------------------------------------------------------


def test_submit_is_idempotent_by_client_order_id(broker):
    broker.mark("AAPL", 100.0)
    first = broker.submit(buy("c1", 10))
    again = broker.submit(buy("c1", 10))
    assert again == first
    assert len(broker.fills_since(0)) == 1 and broker.positions()["AAPL"].qty == 10
    with pytest.raises(BrokerError, match="already used by a different order"):
        broker.submit(buy("c1", 20))
    assert len(broker.fills_since(0)) == 1 and broker.order("c1") == first


def test_concurrent_submits_of_one_id_from_two_connections_place_one_order(db, broker):
    broker.mark("AAPL", 100.0)
    other = PaperBroker(db)
    results: list = []
    start = threading.Barrier(8)

    def go(b: PaperBroker) -> None:
        start.wait()
        results.append(b.submit(buy("same", 3)))

    threads = [threading.Thread(target=go, args=(b,)) for b in [broker, other] * 4]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert len(results) == 8 and len({r.broker_order_id for r in results}) == 1
        assert len(broker.fills_since(0)) == 1 and broker.positions()["AAPL"].qty == 3
    finally:
        other.close()


# -- faults -----------------------------------------------------------------------------------


def test_injected_reject(broker):
    broker.mark("AAPL", 100.0)
    broker.inject("reject")
    with pytest.raises(BrokerRejected) as e:
        broker.submit(buy("c1"))
    assert e.value.reason == "injected reject" and broker.order("c1").status == "rejected"
    with pytest.raises(BrokerRejected):  # the outcome of an id does not change on a repeat
        broker.submit(buy("c1"))
    assert broker.submit(buy("c2")).status == "filled"  # count=1: used up
    assert broker.positions()["AAPL"].qty == 10


def test_injected_timeout_places_the_order_and_order_finds_it(broker):
    pushed = []
    broker.on_fill(pushed.append)
    broker.mark("AAPL", 100.0)
    broker.inject("timeout")
    with pytest.raises(BrokerTimeout):
        broker.submit(buy("c1", 7))
    found = broker.order("c1")
    assert found is not None and (found.status, found.filled_qty) == ("filled", 7)
    assert broker.positions()["AAPL"].qty == 7
    assert [f.client_order_id for f in pushed] == ["c1"]  # the fill report is a separate channel
    assert broker.submit(buy("c1", 7)) == found  # resubmitting the id places nothing new
    assert len(broker.fills_since(0)) == 1


def test_injected_disconnect_places_nothing(broker):
    broker.mark("AAPL", 100.0)
    broker.inject("disconnect", count=2)
    for _ in range(2):
        with pytest.raises(BrokerDisconnected):
            broker.submit(buy("c1"))
    assert broker.order("c1") is None
    assert broker.fills_since(0) == [] and broker.positions() == {} and broker.account().cash == 10_000.0
    assert broker.submit(buy("c1")).status == "filled"  # the same id, once connected again


def test_injected_drop_fill_skips_the_push_but_not_fills_since(broker):
    pushed = []
    broker.on_fill(pushed.append)
    broker.mark("AAPL", 100.0)
    broker.inject("drop_fill")
    broker.submit(buy("c1"))
    assert pushed == []
    assert [f.client_order_id for f in broker.fills_since(0)] == ["c1"]
    broker.submit(buy("c2"))
    assert [f.client_order_id for f in pushed] == ["c2"]


def test_faults_can_be_scoped_to_a_symbol(broker):
    broker.mark("AAPL", 100.0)
    broker.mark("MSFT", 300.0)
    broker.inject("reject", symbol="MSFT")
    assert broker.submit(buy("a")).status == "filled"
    with pytest.raises(BrokerRejected, match="injected reject"):
        broker.submit(buy("m", symbol="MSFT"))


def test_another_process_arms_a_fault_for_an_open_broker(db, broker):
    broker.mark("AAPL", 100.0)
    code = f"from seamless.brokers import PaperBroker; PaperBroker({str(db)!r}).inject('disconnect')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(BrokerDisconnected):
        broker.submit(buy("c1"))
    assert broker.order("c1") is None


# -- push delivery -----------------------------------------------------------------------------


def test_a_new_connection_pushes_only_fills_made_after_it_opened(db, broker):
    broker.trade("AAPL", 1, 100.0)
    with PaperBroker(db) as later:
        got = []
        later.on_fill(got.append)
        later.trade("AAPL", 1, 101.0)
        assert [f.trade_id for f in got] == ["T2"]  # T1 is history: fills_since, not a push
        assert [f.trade_id for f in later.fills_since(0)] == ["T1", "T2"]


def test_a_failing_callback_does_not_cost_the_others_their_report(broker, caplog):
    def broken(fill):
        raise RuntimeError("subscriber bug")

    got = []
    broker.on_fill(broken)
    broker.on_fill(got.append)
    broker.mark("AAPL", 100.0)
    assert broker.submit(buy("c1")).status == "filled"
    assert [f.trade_id for f in got] == ["T1"]
    assert "subscriber bug" in caplog.text


def test_a_callback_may_trade_and_reports_stay_in_order(broker):
    got = []

    def hedge(fill):
        got.append(fill.cursor)
        if fill.client_order_id == "c1":
            broker.trade("SPY", -1, 400.0)  # re-enters the broker from inside a report

    broker.on_fill(hedge)
    broker.mark("AAPL", 100.0)
    broker.submit(buy("c1"))
    assert got == [1, 2]
    assert broker.positions()["SPY"].qty == -1


# -- the CLI, another process trading at the same broker ---------------------------------------


def test_out_of_band_trade_via_the_cli_is_visible_to_an_open_broker(db, broker, seamless_run):
    pushed = []
    broker.on_fill(pushed.append)
    broker.mark("AAPL", 100.0)
    broker.submit(buy("c1", 10))

    proc = seamless_run("broker", "trade", "--broker-db", str(db), "--symbol", "AAPL", "--qty", "-4")
    assert proc.returncode == 0, proc.stderr
    assert "T2" in proc.stdout and "AAPL" in proc.stdout and "SELL 4" in proc.stdout

    # visible at once: read from the file, no cache to go stale
    assert broker.positions()["AAPL"].qty == 6
    assert broker.account().cash == pytest.approx(10_000 - 1000 + 400)
    oob = broker.fills_since(1)
    assert [(f.trade_id, f.client_order_id, f.qty, f.price) for f in oob] == [("T2", "", -4, 100.0)]

    proc = seamless_run("broker", "trade", "--broker-db", str(db), "--symbol", "MSFT", "--qty", "2", "--price", "250.5")
    assert proc.returncode == 0, proc.stderr
    assert broker.positions()["MSFT"].avg_price == 250.5

    # the other process's fills are pushed to this connection at its next call
    assert [f.trade_id for f in pushed] == ["T1"]
    broker.mark("AAPL", 101.0)
    assert [f.trade_id for f in pushed] == ["T1", "T2", "T3"]


def test_cli_positions_json_and_table(db, broker, seamless_run):
    broker.trade("AAPL", 10, 100.0)
    broker.trade("TSLA", -3, 200.0)
    broker.trade("MSFT", 5, 300.0)
    broker.trade("MSFT", -5, 310.0)  # flat: omitted
    proc = seamless_run("broker", "positions", "--broker-db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"AAPL": {"qty": 10, "avg_price": 100.0}, "TSLA": {"qty": -3, "avg_price": 200.0}}
    proc = seamless_run("broker", "positions", "--broker-db", str(db))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [ln.split()[0] for ln in lines[1:]] == ["AAPL", "TSLA"]
    assert "-3" in lines[2] and "200.0000" in lines[2]


def test_cli_errors(db, broker, seamless_run, tmp_path):
    cases = [
        (["trade", "--symbol", "MSFT", "--qty", "1"], "no price for MSFT"),  # no mark, no --price
        (["trade", "--symbol", "aapl", "--qty", "1", "--price", "1"], "symbol='aapl'"),
        (["trade", "--symbol", "AAPL", "--qty", "0", "--price", "1"], "qty=0.0: must not be zero"),
        (["trade", "--symbol", "AAPL", "--qty", "nan", "--price", "1"], "qty=nan: must be a finite number"),
        (["trade", "--symbol", "AAPL", "--qty", "1", "--price", "inf"], "price=inf: must be a finite number"),
        (["trade", "--symbol", "AAPL", "--qty", "1", "--price", "-2"], "price=-2.0: must be > 0"),
        (["positions"], None),
    ]
    for args, message in cases:
        broker_db = ["--broker-db", str(db)] if message else ["--broker-db", str(tmp_path / "missing.db")]
        proc = seamless_run("broker", args[0], *broker_db, *args[1:])
        assert proc.returncode == 2, (args, proc.stdout)
        assert proc.stderr.startswith("seamless: error: "), proc.stderr
        assert (message or "no paper broker database at") in proc.stderr
    assert broker.fills_since(0) == []
    assert not (tmp_path / "missing.db").exists()


def test_a_seamless_store_is_not_mistaken_for_a_broker(tmp_path, seamless_run):
    path = tmp_path / "account.db"
    with Store(path) as store:
        store.commit(QuoteReceived(symbol="AAPL", last=100.0))
    before = digest(path)
    with pytest.raises(BrokerError, match="not a paper broker database"):
        PaperBroker(path)
    proc = seamless_run("broker", "trade", "--broker-db", str(path), "--symbol", "AAPL", "--qty", "1", "--price", "1")
    assert proc.returncode == 2 and "not a paper broker database" in proc.stderr
    assert digest(path) == before


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(qty=float("nan")), "qty=nan: must be a finite number"),
        (dict(qty=float("inf")), "qty=inf"),
        (dict(qty=0), "qty=0: must not be zero"),
        (dict(qty=True), "qty=True"),
        (dict(symbol="aapl"), "symbol='aapl'"),
        (dict(symbol=""), "symbol=''"),
        (dict(symbol="AAPL\n"), "symbol='AAPL\\\\n'"),
        (dict(symbol="A" * 33), "must be an upper-case symbol"),
        (dict(client_order_id=""), "client_order_id=''"),
        (dict(order_type="stop"), "order_type='stop'"),
        (dict(order_type="limit"), "limit_price=None: must be a finite number"),
        (dict(order_type="limit", limit_price=-1.0), "limit_price=-1.0: must be > 0"),
        (dict(order_type="limit", limit_price=float("nan")), "limit_price=nan"),
        (dict(limit_price=10.0), "a market order has no limit price"),
    ],
)
def test_malformed_order_requests_are_refused_before_the_broker(kw, message):
    fields = {"client_order_id": "c1", "symbol": "AAPL", "qty": 1, **kw}
    with pytest.raises(InvalidBrokerRequest, match=message.replace("(", r"\(")) as e:
        OrderRequest(**fields)
    assert isinstance(e.value, ValueError) and isinstance(e.value, SeamlessError)


def test_malformed_broker_calls_change_nothing(broker):
    bad_calls = [
        lambda: broker.mark("AAPL", float("nan")),
        lambda: broker.mark("AAPL", 0.0),
        lambda: broker.mark("AAPL", float("inf")),
        lambda: broker.mark("AAPL", 1.0, ts=float("nan")),
        lambda: broker.mark("aapl", 1.0),
        lambda: broker.trade("AAPL", 0, 1.0),
        lambda: broker.trade("AAPL", 1, -1.0),
        lambda: broker.inject("explode"),
        lambda: broker.inject("reject", count=0),
        lambda: broker.inject("reject", symbol="bad symbol"),
        lambda: broker.fills_since(-1),
        lambda: broker.submit({"client_order_id": "c1"}),
    ]
    for call in bad_calls:
        with pytest.raises(InvalidBrokerRequest):
            call()
    assert broker.last_mark("AAPL") is None and broker.fills_since(0) == []
    broker.mark("AAPL", 100.0)
    assert broker.submit(buy("c1")).status == "filled"  # no fault was armed by the bad inject calls


# -- the file ----------------------------------------------------------------------------------


def test_state_survives_reopening_and_starting_cash_applies_only_to_a_new_file(db):
    with PaperBroker(db, starting_cash=5_000.0) as b:
        b.mark("AAPL", 100.0)
        b.submit(buy("c1", 10))
        b.submit(OrderRequest("lim", "AAPL", 1, "limit", 95.0))
        b.inject("reject")
    with PaperBroker(db, starting_cash=1.0) as b:
        assert b.account().cash == 4_000.0
        assert b.positions()["AAPL"].qty == 10 and b.last_mark("AAPL") == 100.0
        assert [o.client_order_id for o in b.open_orders()] == ["lim"]
        with pytest.raises(BrokerRejected, match="injected reject"):  # armed faults persist
            b.submit(buy("c2"))


def test_a_newer_schema_version_is_refused_untouched(db, seamless_run):
    PaperBroker(db).close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = digest(db)
    with pytest.raises(NewerBrokerVersion, match="schema version 99"):
        PaperBroker(db)
    proc = seamless_run("broker", "positions", "--broker-db", str(db))
    assert proc.returncode == 2 and "schema version 99" in proc.stderr
    assert digest(db) == before


def test_a_closed_broker_is_disconnected(db):
    b = PaperBroker(db)
    b.close()
    b.close()  # idempotent
    with pytest.raises(BrokerDisconnected):
        b.submit(buy("c1"))
    with pytest.raises(BrokerDisconnected):
        b.positions()


def test_latency_delays_submit_and_cancel(db):
    with PaperBroker(db, latency_s=0.15) as b:
        b.mark("AAPL", 100.0)
        t0 = time.monotonic()
        b.submit(OrderRequest("lim", "AAPL", 1, "limit", 95.0))
        t1 = time.monotonic()
        b.cancel("lim")
        t2 = time.monotonic()
        b.mark("AAPL", 99.0)  # a price update is not a network round trip to the broker
        t3 = time.monotonic()
    assert t1 - t0 >= 0.15 and t2 - t1 >= 0.15
    assert t3 - t2 < 0.15


def test_paper_broker_implements_the_interface():
    assert issubclass(PaperBroker, Broker)
    assert not PaperBroker.__abstractmethods__


# -- sanity limits: max notional, price band, cash -------------------------------------------------


def test_the_limits_default_to_the_settings_defaults():
    from seamless.config import Config

    b = PaperBroker.__init__.__kwdefaults__
    c = Config()
    defaults = (b["max_order_notional"], b["price_band"], b["margin"])
    assert defaults == (c.broker_max_notional, c.broker_price_band, c.broker_margin) == (1_000_000.0, 0.10, 0.0)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(max_order_notional=0), "max_order_notional=0: must be > 0"),
        (dict(max_order_notional=float("inf")), "max_order_notional=inf: must be a finite number"),
        (dict(price_band=-0.1), "price_band=-0.1: must be > 0"),
        (dict(margin=-1.0), "margin=-1.0: must be >= 0"),
    ],
)
def test_bad_limits_are_refused(db, kw, message):
    with pytest.raises(InvalidBrokerRequest, match=message):
        PaperBroker(db, **kw)
    assert not db.exists()


def test_an_order_past_a_limit_is_rejected_with_its_reason_and_changes_nothing(db):
    with PaperBroker(db, starting_cash=10_000.0, max_order_notional=5_000.0, clock=Clock()) as b:
        b.mark("AAPL", 100.0)
        cases = [
            (buy("big", 51), "notional 5100 (51 x 100) is above the broker's max order notional 5000"),
            (
                OrderRequest("far", "AAPL", 1, "limit", 89.0),
                "price 89 is outside the broker's price band: more than 10% from AAPL's last mark 100",
            ),
            (
                OrderRequest("high", "AAPL", -1, "limit", 111.0),
                "price 111 is outside the broker's price band: more than 10% from AAPL's last mark 100",
            ),
        ]
        for req, reason in cases:
            with pytest.raises(BrokerRejected) as e:
                b.submit(req)
            assert e.value.reason == reason and b.order(req.client_order_id).status == "rejected"
        assert b.fills_since(0) == [] and b.positions() == {} and b.account().cash == 10_000.0

        # within the limits: taken (a band is inclusive; a limit for a symbol with no mark is free)
        assert b.submit(OrderRequest("edge", "AAPL", 1, "limit", 90.0)).status == "accepted"
        assert b.submit(OrderRequest("msft", "MSFT", 1, "limit", 1.0)).status == "accepted"
        assert b.submit(buy("ok", 40)).status == "filled"


def test_a_cash_account_never_goes_negative_and_a_margin_lends_up_to_itself(db):
    with PaperBroker(db, starting_cash=10_000.0, commission_per_share=0.01, clock=Clock()) as b:
        b.mark("AAPL", 100.0)
        with pytest.raises(BrokerRejected) as e:
            b.submit(buy("c1", 100))  # 10,000 + 1.00 commission
        assert e.value.reason == (
            "insufficient cash: buying costs 10001.00 and the cash is 10000.00, in a cash account (margin 0)"
        )
        assert b.submit(OrderRequest("rest", "AAPL", 60, "limit", 95.0)).status == "accepted"  # holds 5,700.60
        with pytest.raises(BrokerRejected, match=r"and the cash is 10000.00, 5700.60 of it held by working buy orders"):
            b.submit(buy("c2", 45))
        assert b.submit(buy("c3", 42)).status == "filled"
        assert b.submit(buy("sell", -500)).status == "filled"  # a sale (here a short) needs no cash
        assert b.account().cash == pytest.approx(10_000 - 42 * 100 - 0.42 + 500 * 100 - 5.0)
    path2 = db.with_name("margin.db")
    with PaperBroker(path2, starting_cash=1_000.0, margin=500.0) as b:
        b.mark("AAPL", 100.0)
        assert b.submit(buy("c1", 15)).status == "filled"
        assert b.account().cash == -500.0
        with pytest.raises(BrokerRejected, match="with a margin of 500.00"):
            b.trade("AAPL", 1)


def test_an_out_of_band_trade_past_a_limit_is_refused_untouched(db):
    with PaperBroker(db, starting_cash=10_000.0) as b:
        b.mark("AAPL", 100.0)
    before = digest(db)
    with PaperBroker(db) as b:
        for args, says in [
            ((1e12,), "notional 1e+14 (1e+12 x 100) is above the broker's max order notional 1000000"),
            ((1, 150.0), "price 150 is outside the broker's price band: more than 10% from AAPL's last mark 100"),
            ((101,), "insufficient cash: buying costs 10100.00 and the cash is 10000.00"),
        ]:
            with pytest.raises(BrokerRejected, match=r"^trade refused: ") as e:
                b.trade("AAPL", *args)
            assert says in str(e.value)
        assert b.fills_since(0) == []
    assert digest(db) == before


# -- read-only ---------------------------------------------------------------------------------


def test_a_read_only_broker_reads_without_waiting_for_a_writer_and_never_writes(db, broker):
    broker.mark("AAPL", 100.0)
    broker.submit(buy("c1", 10))
    broker.submit(OrderRequest("rest", "AAPL", 5, "limit", 95.0))
    # Another process's write transaction is open: a writer opening the file would wait on it.
    holder = sqlite3.connect(db, isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        t0 = time.monotonic()
        with PaperBroker(db, read_only=True) as reader:
            assert reader.read_only
            assert reader.positions() == broker.positions()
            assert reader.account() == broker.account()
            assert reader.fills_since(0) == broker.fills_since(0)
            assert [o.client_order_id for o in reader.open_orders()] == ["rest"]
            assert reader.order("c1") == broker.order("c1")
            for call in (
                lambda: reader.trade("AAPL", 1),
                lambda: reader.submit(buy("c2")),
                lambda: reader.cancel("rest"),
                lambda: reader.mark("AAPL", 101.0),
                lambda: reader.inject("reject"),
            ):
                with pytest.raises(BrokerError, match=r"is open read-only; nothing was changed$"):
                    call()
        assert time.monotonic() - t0 < 2.0  # not the 5 s busy timeout
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert broker.positions()["AAPL"].qty == 10


def test_a_read_only_broker_creates_nothing(tmp_path):
    missing = tmp_path / "none.db"
    with pytest.raises(BrokerError, match=f"^no paper broker database at {missing}$"):
        PaperBroker(missing, read_only=True)
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(BrokerError, match="is not a paper broker database"):
        PaperBroker(empty, read_only=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"] and empty.stat().st_size == 0


def test_an_outage_makes_every_client_call_fail_for_its_time_then_ends(db: Path):
    with PaperBroker(db, starting_cash=10_000.0) as venue, PaperBroker(db) as client:
        venue.mark("AAPL", 100.0)
        venue.outage(0.5)
        calls = {
            "account": client.account,
            "positions": client.positions,
            "open_orders": client.open_orders,
            "order": lambda: client.order("c1"),
            "fills_since": lambda: client.fills_since(0),
            "submit": lambda: client.submit(OrderRequest(client_order_id="c1", symbol="AAPL", qty=1)),
            "cancel": lambda: client.cancel("c1"),
        }
        for name, call in calls.items():  # another process's connection sees it too
            with pytest.raises(BrokerDisconnected, match="an outage"):
                call()
                pytest.fail(f"{name} answered during the outage")
        assert venue.mark("AAPL", 101.0) == []  # the venue's prices still move
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.account()
                break
            except BrokerDisconnected:
                time.sleep(0.05)
        assert client.submit(OrderRequest(client_order_id="c1", symbol="AAPL", qty=1)).status in ("filled", "accepted")
        with pytest.raises(InvalidBrokerRequest, match="seconds=0"):
            venue.outage(0)
