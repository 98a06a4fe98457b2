"""The hot path's shortcuts make exactly what the plain code makes: the quote planner's record
(``records.quote``) equals ``Quote(...)``, and the writer's rows (``journal.encode_all``) are
row for row those of ``journal.encode`` chained one after another, a quote's payload text
(``QuoteReceived._encode_payload``) is the reference encoder's, and an event's ``__init__``
takes, checks and freezes what its dataclass's would."""

from __future__ import annotations

import dataclasses
import inspect
import json
import pickle
from typing import Any

import pytest

from seamless.errors import InvalidEvent
from seamless.events import REGISTRY, CashSet, OrderAccepted, OrderFilled, OrderSubmitting, QuoteReceived
from seamless.params.records import Quote, quote
from seamless.persist import chain, journal


def test_quote_takes_every_field_of_quote() -> None:
    assert list(inspect.signature(quote).parameters) == [f.name for f in dataclasses.fields(Quote)]


def test_quote_is_the_record_quote_makes() -> None:
    fields: dict[str, Any] = dict(
        seq=7, updated_at=1.5, symbol="AAPL", last=101.25, bid=101.0, ask=101.5, exchange_ts=1.25
    )
    made, plain = quote(**fields), Quote(**fields)
    assert type(made) is Quote
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert made.to_dict() == plain.to_dict() == fields
    assert pickle.loads(pickle.dumps(made)) == plain
    try:
        made.last = 1.0  # type: ignore[misc]  # the record stays frozen for everyone else
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("a quote record could be changed in place")


def _events() -> list:
    evs: list = [CashSet(cash=1e6, reason="test")]
    for i in range(300):
        k = i % 50
        if k == 10:
            evs += [
                OrderSubmitting(client_order_id=f"c{i}", symbol="MSFT", qty=2.0),
                OrderAccepted(client_order_id=f"c{i}"),
                OrderFilled(trade_id=f"t{i}", client_order_id=f"c{i}", symbol="MSFT", qty=2.0, price=50.0),
            ]
        bid = None if i % 3 else 99.5
        evs.append(QuoteReceived(symbol="AAPL", last=100.0 + i, bid=bid, exchange_ts=None if i % 5 else i))
    for seq, ev in enumerate(evs, start=1):
        ev._stamp(seq, 1_700_000_000 + seq if seq % 4 == 0 else 1_700_000_000.0 + seq / 7)  # int time stamps too
    return evs


def test_encode_all_is_encode_chained_row_for_row() -> None:
    evs = _events()
    for start in (0, 1, chain.MASK, 0x9E3779B9):
        rows, head = journal.encode_all(evs, start)
        prev, expected = start, []
        for ev in evs:
            row = journal.encode(ev, prev)
            prev = chain.chained(row[7])
            expected.append(row)
        assert rows == expected and head == prev
        assert [tuple(map(type, r)) for r in rows] == [tuple(map(type, r)) for r in expected]  # 1 and 1.0 are ==
        assert any(r[7] < 0 for r in rows) and any(r[7] > 0 for r in rows)  # both sides of the sign wrap
        for row in rows:
            journal.verify(row)


class FloatSub(float):
    def __repr__(self) -> str:
        return f"FloatSub({float(self)!r})"


REFERENCE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


@pytest.mark.parametrize(
    "fields",
    [
        dict(symbol="AAPL", last=100.5),
        dict(symbol="BTC/USD", last=0.1, bid=1e-07, ask=1e22),
        dict(symbol="BRK.B", last=5e-324, bid=None, ask=1.7976931348623157e308),
        dict(symbol="X:Y-Z_1", last=123456789.123456789, bid=3.0, ask=None),
        dict(symbol="AAPL", last=3, bid=2, ask=4),  # ints: the encoder's path
        dict(symbol="AAPL", last=FloatSub(2.5), bid=FloatSub(2.0)),
    ],
)
def test_a_quotes_payload_is_the_reference_encoders(fields) -> None:
    ev = QuoteReceived(**fields)
    assert ev.payload_json() == REFERENCE(ev.payload())


def test_every_event_takes_its_dataclass_fields_with_their_defaults() -> None:
    for cls in REGISTRY.values():
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        fields = dataclasses.fields(cls)
        assert [p.name for p in params if p.kind is not p.KEYWORD_ONLY] == [f.name for f in fields if not f.kw_only]
        assert {p.name for p in params if p.kind is p.KEYWORD_ONLY} == {f.name for f in fields if f.kw_only}
        defaults = {p.name: p.default for p in params if p.default is not p.empty}
        assert defaults == {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}, cls


def test_an_event_is_made_checked_and_frozen_as_a_dataclass_would() -> None:
    ev = QuoteReceived("AAPL", 100.5, bid=100.25, exchange_ts=3.0)
    assert list(ev.__dict__)[: len(dataclasses.fields(ev))] == [f.name for f in dataclasses.fields(ev)]
    assert (ev.symbol, ev.last, ev.bid, ev.ask, ev.exchange_ts, ev.ts, ev.seq) == (
        "AAPL",
        100.5,
        100.25,
        None,
        3.0,
        None,
        None,
    )
    assert ev.payload_json() == '{"symbol":"AAPL","last":100.5,"bid":100.25,"ask":null}'
    with pytest.raises(InvalidEvent, match="last"):
        QuoteReceived("AAPL", -1.0)
    with pytest.raises(TypeError, match=r"QuoteReceived.__init__\(\) missing 1 required positional argument: 'last'"):
        QuoteReceived(symbol="AAPL")  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.last = 1.0  # type: ignore[misc]


def _prune_by_scan(orders: dict) -> dict:
    """The orders planners' pruning without its shortcut: every closed order counted."""
    from seamless.params.state import RECENT_ORDERS

    closed = [k for k, o in orders.items() if not o.is_open]
    if len(closed) <= RECENT_ORDERS + RECENT_ORDERS // 4:
        return orders
    drop = set(closed[: len(closed) - RECENT_ORDERS])
    return {k: o for k, o in orders.items() if k not in drop}


@pytest.mark.parametrize("open_every", [0, 1, 2, 7, 300])  # 0: none open, 1: all open
def test_pruning_the_orders_keeps_what_counting_every_closed_one_keeps(open_every: int) -> None:
    from seamless.apply.trading import _prune
    from seamless.params.records import Order
    from seamless.params.state import RECENT_ORDERS

    limit = RECENT_ORDERS + RECENT_ORDERS // 4
    for n in (0, 1, limit - 1, limit, limit + 1, limit + 2, 2 * limit):
        orders = {
            f"c{i}": Order(
                seq=i + 1,
                updated_at=1.0 + i,
                client_order_id=f"c{i}",
                symbol="AAPL",
                qty=1.0,
                status="accepted" if open_every and i % open_every == 0 else "filled",
            )
            for i in range(n)
        }
        pruned = _prune(orders)
        assert pruned == _prune_by_scan(orders)
        assert list(pruned) == list(_prune_by_scan(orders))  # the same orders, in the same order
        if n > limit and open_every != 1:
            assert sum(not o.is_open for o in pruned.values()) <= limit
