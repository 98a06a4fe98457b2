"""Derived: a value the views derive from the state, built once and shared by every session.

Built again only when what it is built from moved, and then at once after a critical event,
otherwise once ``max_age_s`` has passed (the module's monotonic clock is replaced by a settable
one). Readers are told when the state moved past the value they got."""

from __future__ import annotations

import dataclasses
import types

import pytest

import seamless.push.derived as derived_mod
from seamless.events.catalog import OrderAccepted, OrderFilled, QuoteReceived
from seamless.push import Derived


@pytest.fixture
def now(monkeypatch):
    t = [1000.0]
    monkeypatch.setattr(derived_mod, "time", types.SimpleNamespace(monotonic=lambda: t[0]))
    return t


class Source:
    """A version that the test moves, and a builder that counts its calls."""

    def __init__(self) -> None:
        self.version = 0
        self.built = 0

    def build(self) -> dict:
        self.built += 1
        return {"version": self.version}


def stamped(ev, seq: int):
    """``ev`` as the store publishes it: with its seq."""
    return dataclasses.replace(ev, seq=seq, ts=1.0)


def fill(seq: int, symbol: str = "AAPL") -> OrderFilled:
    return stamped(OrderFilled(trade_id=f"t{seq}", client_order_id="c", symbol=symbol, qty=1, price=10.0), seq)


def quote(seq: int) -> QuoteReceived:
    return stamped(QuoteReceived(symbol="AAPL", last=10.0, exchange_ts=1.0), seq)


def test_every_reader_after_a_critical_event_shares_one_build(now):
    src = Source()
    d = Derived(lambda: src.version, max_age_s=0.05)
    first, _ = d.get("frame", src.build)
    for seq in range(1, 4):  # three fills, each read by ten sessions
        src.version = seq
        d.note(fill(seq))
        got = [d.get("frame", src.build) for _ in range(10)]
        assert all(value is got[0][0] for value, _ in got), "every session gets the same object"
        assert got[0][0] == {"version": seq}, "built after the critical event: it shows it"
        assert not any(behind for _, behind in got)
    assert src.built == 4 and d.builds["frame"] == 4 and d.reads["frame"] == 31


def test_a_quote_is_shared_for_max_age_then_built_again_and_readers_know_they_are_behind(now):
    src = Source()
    d = Derived(lambda: src.version, max_age_s=0.05)
    d.get("frame", src.build)
    src.version = 1
    d.note(quote(1))  # not critical: the build of a moment ago still serves
    now[0] += 0.01
    value, behind = d.get("frame", src.build)
    assert value == {"version": 0} and behind, "an older value, and the reader is told so"
    assert src.built == 1
    now[0] += 0.05  # max_age passed: built again, up to date
    value, behind = d.get("frame", src.build)
    assert value == {"version": 1} and not behind and src.built == 2


def test_a_value_whose_source_did_not_move_is_never_built_again(now):
    src = Source()
    d = Derived(lambda: src.version, max_age_s=0.05)
    d.get("frame", src.build)
    d.note(fill(5, "MSFT"))
    now[0] += 10.0  # a critical event elsewhere, and time: its source is where it was
    assert d.get("frame", src.build) == ({"version": 0}, False)
    assert src.built == 1


def test_values_are_kept_apart_by_name(now):
    a, b = Source(), Source()
    d = Derived(lambda: 0, max_age_s=0.05)
    assert d.get("a", a.build)[0] is not d.get("b", b.build)[0]
    assert (a.built, b.built) == (1, 1)


def test_only_the_critical_events_of_its_topics_build_a_value_again_at_once(now):
    src = Source()
    d = Derived(lambda: src.version, max_age_s=0.05)
    d.get("positions", src.build, topics=("order.filled",))
    src.version = 1  # a quote moved a mark, then an order was accepted (critical, another topic)
    d.note(stamped(OrderAccepted(client_order_id="c"), 2))
    assert d.get("positions", src.build, topics=("order.filled",)) == ({"version": 0}, True)
    d.note(fill(3))
    src.version = 3
    assert d.get("positions", src.build, topics=("order.filled",)) == ({"version": 3}, False)
    assert src.built == 2
