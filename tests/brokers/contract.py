"""The broker contract: what every :class:`~seamless.brokers.Broker` adapter must do, run
unchanged against each venue.

A venue is given to the tests as a :class:`Venue` (the ``venue`` fixture): the broker
under test and the levers of its venue (prices, faults, someone trading outside Seamless).
A venue without some fault (the paper broker has no rate limit) makes that lever a no-op:
the test still checks the broker's ordinary behaviour.

To run it against a new adapter: write a ``Venue`` for it (a loopback server speaking the
venue's protocol, as ``seamless.fakes.alpaca`` does for Alpaca), add it to the ``venue``
fixture's params in ``tests/brokers/test_contract.py``, and run
``pytest tests/brokers/test_contract.py``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol

import pytest

from seamless.brokers import (
    Broker,
    BrokerDisconnected,
    BrokerError,
    BrokerFill,
    BrokerRejected,
    BrokerTimeout,
    OrderRequest,
)
from seamless.reconcile import Reconciler
from seamless.store import Store


class Venue(Protocol):
    """A broker under test and the levers of its venue."""

    broker: Broker

    def price(self, symbol: str, price: float) -> None:
        """Set the venue's price of ``symbol`` (working orders fill against it)."""

    def lose_next_answer(self) -> None:
        """The next order is placed but its answer never arrives."""

    def refuse_next(self) -> None:
        """The next order never reaches the venue (a refused connection)."""

    def partial_next(self) -> None:
        """The next market order fills in two parts: some now, the rest at the next price."""

    def rate_limit_next(self, count: int) -> None:
        """The next ``count`` requests are refused for the rate limit (429, Retry-After)."""

    def server_error_next(self, count: int) -> None:
        """The next ``count`` requests fail with a server error (5xx)."""

    def garble_updates(self, count: int) -> None:
        """The next ``count`` pushed reports come twice and in reverse order."""

    def drop_pushes(self) -> None:
        """Reports of fills made from now on are not pushed until :meth:`restore_pushes`."""

    def restore_pushes(self) -> None:
        """Pushes flow again (a stream reconnects)."""

    def trade_outside(self, symbol: str, qty: float) -> None:
        """Someone trades at the venue outside Seamless (by hand, in the venue's own app)."""

    def order_outside(self, symbol: str, qty: float, limit_price: float) -> str:
        """Someone places a limit order at the venue outside Seamless; its client order id."""

    def reopen(self) -> Broker:
        """A new connection to the same account (a restart); the old one is closed."""


def wait_for(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def pushed(broker: Broker) -> list[BrokerFill]:
    got: list[BrokerFill] = []
    broker.on_fill(got.append)
    return got


def market(coid: str, qty: float, symbol: str = "AAPL") -> OrderRequest:
    return OrderRequest(client_order_id=coid, symbol=symbol, qty=qty)


# -- orders ----------------------------------------------------------------------------------------


def test_submit_fills_a_market_order_and_reports_it(venue: Venue):
    venue.price("AAPL", 100.0)
    b = venue.broker
    got = pushed(b)
    order = b.submit(market("c-1", 10))
    assert order.client_order_id == "c-1" and order.symbol == "AAPL" and order.qty == 10
    wait_for(lambda: b.order("c-1").status == "filled", "the order to fill")
    done = b.order("c-1")
    assert done.filled_qty == 10 and math.isclose(done.avg_fill_price, 100.0, rel_tol=0.01)
    fills = b.fills_since(0)
    assert [(f.client_order_id, f.qty, f.cursor) for f in fills] == [("c-1", 10, 1)]
    assert b.positions()["AAPL"].qty == 10
    wait_for(lambda: len(got) == 1, "the fill's push")
    assert got[0].trade_id == fills[0].trade_id and got[0].cursor == 1
    sell = b.submit(market("c-2", -10))
    assert sell.qty == -10
    wait_for(lambda: "AAPL" not in b.positions(), "the position to close")
    assert [f.cursor for f in b.fills_since(1)] == [2]


def test_a_repeated_client_order_id_returns_the_same_order(venue: Venue):
    venue.price("AAPL", 100.0)
    b = venue.broker
    first = b.submit(market("c-1", 5))
    again = b.submit(market("c-1", 5))
    assert again.broker_order_id == first.broker_order_id
    with pytest.raises(BrokerError, match="already used by a different order"):
        b.submit(market("c-1", 7))
    wait_for(lambda: len(b.fills_since(0)) == 1, "the one fill")
    assert b.positions()["AAPL"].qty == 5  # placed once


def test_a_lost_answer_leaves_exactly_one_order(venue: Venue):
    venue.price("AAPL", 100.0)
    b = venue.broker
    venue.lose_next_answer()
    with pytest.raises(BrokerTimeout):
        b.submit(market("c-lost", 3))
    found = b.order("c-lost")  # ask, never resend blindly
    assert found is not None and found.qty == 3
    again = b.submit(market("c-lost", 3))  # a resend after the answer is lost: the same order
    assert again.broker_order_id == found.broker_order_id
    wait_for(lambda: b.positions().get("AAPL") is not None, "the fill")
    assert b.positions()["AAPL"].qty == 3 and len(b.fills_since(0)) == 1


def test_a_refused_connection_places_nothing(venue: Venue):
    venue.price("AAPL", 100.0)
    b = venue.broker
    venue.refuse_next()
    with pytest.raises(BrokerDisconnected):
        b.submit(market("c-refused", 2))
    wait_for(lambda: _reachable(b), "the venue to be reachable again")
    assert b.order("c-refused") is None
    assert b.submit(market("c-refused", 2)).qty == 2  # sending it now cannot make a second one
    wait_for(lambda: len(b.fills_since(0)) == 1, "its one fill")


def _reachable(b: Broker) -> bool:
    try:
        b.account()
        return True
    except BrokerError:
        return False


def test_rate_limits_and_server_errors_are_retried(venue: Venue):
    venue.price("AAPL", 100.0)
    b = venue.broker
    venue.rate_limit_next(1)
    assert b.account().cash > 0
    venue.server_error_next(2)
    assert b.positions() == {}
    venue.rate_limit_next(1)
    assert b.submit(market("c-429", 1)).qty == 1  # a 429 was not processed: sent again
    wait_for(lambda: len(b.fills_since(0)) == 1, "its one fill")


def test_a_server_error_on_submit_is_an_unknown_outcome_resolved_by_asking(venue: Venue):
    venue.price("AAPL", 100.0)
    b = venue.broker
    venue.server_error_next(1)
    try:
        b.submit(market("c-500", 4))
    except BrokerTimeout:
        pass  # outcome unknown: the order manager asks
    order = b.order("c-500")
    if order is None:  # the error came before it was placed: placing it now is safe
        b.submit(market("c-500", 4))
    wait_for(lambda: len(b.fills_since(0)) == 1, "exactly one fill")
    assert b.positions()["AAPL"].qty == 4


def test_partial_fills_report_each_part_once(venue: Venue):
    venue.price("AAPL", 100.0)
    b = venue.broker
    got = pushed(b)
    venue.partial_next()
    first = b.submit(market("c-part", 10))
    wait_for(lambda: b.order("c-part").filled_qty > 0, "the first part")
    assert b.order("c-part").status == "partially_filled" or first.status == "partially_filled"
    assert b.order("c-part").is_open
    venue.price("AAPL", 101.0)
    wait_for(lambda: b.order("c-part").status == "filled", "the rest")
    fills = b.fills_since(0)
    assert len(fills) == 2 and math.isclose(sum(f.qty for f in fills), 10)
    assert [f.cursor for f in fills] == [1, 2]
    wait_for(lambda: len(got) == 2, "both pushes")
    assert sorted(f.trade_id for f in got) == sorted(f.trade_id for f in fills)


def test_duplicated_and_reordered_reports_still_give_each_fill_once(venue: Venue):
    venue.price("AAPL", 100.0)
    b = venue.broker
    got = pushed(b)
    venue.garble_updates(3)  # Alpaca: new, partial_fill, fill
    venue.partial_next()
    b.submit(market("c-garbled", 10))
    venue.price("AAPL", 100.5)
    wait_for(lambda: b.order("c-garbled").status == "filled", "the order to fill")
    wait_for(lambda: len({f.trade_id for f in got}) == 2, "both fills pushed")
    ids = [f.trade_id for f in got]
    assert len(ids) == len(set(ids)), f"a fill was pushed twice: {ids}"
    assert [f.cursor for f in b.fills_since(0)] == [1, 2]


def test_fills_made_while_disconnected_are_caught_up_once(venue: Venue):
    venue.price("AAPL", 100.0)
    b = venue.broker
    got = pushed(b)
    venue.partial_next()
    b.submit(market("c-dis", 10))
    wait_for(lambda: len(got) == 1, "the first part's push")
    venue.drop_pushes()
    venue.price("AAPL", 99.0)  # the rest fills while no one listens
    wait_for(lambda: b.order("c-dis").status == "filled", "the rest to fill")
    venue.restore_pushes()
    fills = b.fills_since(got[0].cursor)  # catching up from the cursor: the missing fill, once
    assert [f.cursor for f in fills] == [2]
    reopened = venue.reopen()  # a restart catches up from the cursor too
    assert [f.trade_id for f in reopened.fills_since(1)] == [fills[0].trade_id]
    assert len(reopened.fills_since(0)) == 2


def test_cancel_a_working_limit_order(venue: Venue):
    venue.price("AAPL", 100.0)
    b = venue.broker
    b.submit(OrderRequest(client_order_id="c-lim", symbol="AAPL", qty=5, order_type="limit", limit_price=95.0))
    assert [o.client_order_id for o in b.open_orders()] == ["c-lim"]
    cancelled = b.cancel("c-lim")
    assert cancelled.status == "cancelled" and cancelled.filled_qty == 0
    assert b.cancel("c-lim").status == "cancelled"  # idempotent
    assert b.open_orders() == []
    with pytest.raises(BrokerRejected):
        b.cancel("never-sent")


def test_an_order_the_venue_refuses_is_rejected(venue: Venue):
    venue.price("AAPL", 100.0)
    with pytest.raises(BrokerRejected):
        venue.broker.submit(market("c-huge", 1_000_000))  # far more than the account can pay
    assert "AAPL" not in venue.broker.positions()


# -- reconciliation ----------------------------------------------------------------------------


def test_trades_made_outside_seamless_are_adopted_by_reconciliation(venue: Venue, tmp_path):
    venue.price("AAPL", 100.0)
    b = venue.broker
    store = Store(tmp_path / "acct.db")
    try:
        from seamless.events import CashSet

        store.commit(CashSet(cash=b.account().cash, reason="opening balance"))
        venue.trade_outside("AAPL", 7)
        wait_for(lambda: "AAPL" in b.positions(), "the outside trade")
        report = Reconciler(store, b).run(by="test")
        assert report.findings, "the outside trade must be found"
        assert store.state.positions.by_symbol["AAPL"].qty == 7
        assert math.isclose(store.state.account.cash, b.account().cash, rel_tol=1e-9)
        again = Reconciler(store, b).run(by="test")
        assert again.ok and not again.findings
    finally:
        store.close()


def test_an_open_order_placed_outside_seamless_is_adopted_as_external(venue: Venue, tmp_path):
    venue.price("AAPL", 100.0)
    b = venue.broker
    coid = venue.order_outside("AAPL", 3, 90.0)  # below the price: it keeps working
    assert [o.client_order_id for o in b.open_orders()] == [coid]
    store = Store(tmp_path / "acct.db")
    try:
        from seamless.events import CashSet

        store.commit(CashSet(cash=b.account().cash, reason="opening balance"))
        Reconciler(store, b).run(by="test")
        adopted = store.state.orders.by_id[coid]
        assert adopted.is_open and adopted.strategy == "external" and adopted.qty == 3
        assert Reconciler(store, b).run(by="test").ok
    finally:
        store.close()
