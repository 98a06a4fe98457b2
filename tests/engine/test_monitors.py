"""Monitors: stop-loss, take-profit, price alert and trailing stop, for longs and shorts."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from seamless.engine.monitors import evaluate, protective_monitors
from seamless.events import MonitorMoved, MonitorSet, MonitorTriggered
from seamless.feeds import Tick
from seamless.params.records import Monitor

LONG, SHORT = 10.0, -10.0


def mon(
    kind: str,
    trigger: float,
    trail: float | None = None,
    *,
    monitor_id: str = "m1",
    symbol: str = "AAPL",
    status: str = "active",
    high_water: float | None = None,
) -> Monitor:
    return Monitor(
        seq=1,
        updated_at=0.0,
        monitor_id=monitor_id,
        symbol=symbol,
        kind=kind,
        trigger=trigger,
        trail=trail,
        high_water=high_water,
        status=status,
    )


def tick(price: float, symbol: str = "AAPL", ts: float = 1_000.0) -> Tick:
    return Tick(symbol, price, None, None, ts)


def fired(events) -> list[tuple[str, float]]:
    assert all(type(e) is MonitorTriggered for e in events)
    return [(e.monitor_id, e.price) for e in events]


# -- fixed triggers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, qty, trigger, quiet, firing",
    [
        ("stop_loss", LONG, 95.0, [95.01, 100.0, 200.0], [95.0, 94.99, 1.0]),
        ("stop_loss", SHORT, 105.0, [104.99, 100.0, 1.0], [105.0, 105.01, 200.0]),
        ("take_profit", LONG, 110.0, [109.99, 100.0, 1.0], [110.0, 110.01, 200.0]),
        ("take_profit", SHORT, 90.0, [90.01, 100.0, 200.0], [90.0, 89.99, 1.0]),
        ("price_alert", LONG, 120.0, [119.99, 100.0, 1.0], [120.0, 150.0]),
        ("price_alert", SHORT, 80.0, [80.01, 100.0, 200.0], [80.0, 50.0]),
    ],
)
def test_fixed_trigger_kinds_fire_on_their_side_of_the_position(kind, qty, trigger, quiet, firing):
    m = mon(kind, trigger)
    for price in quiet:
        assert evaluate(tick(price), [m], qty) == [], (kind, qty, price)
    for price in firing:
        assert fired(evaluate(tick(price), [m], qty)) == [("m1", price)], (kind, qty, price)


def test_nothing_fires_without_a_position():
    monitors = [
        mon("stop_loss", 95.0, monitor_id="a"),
        mon("take_profit", 110.0, monitor_id="b"),
        mon("price_alert", 120.0, monitor_id="c"),
        mon("trailing_stop", 90.0, 10.0, monitor_id="d"),
    ]
    for price in (1.0, 95.0, 100.0, 150.0):
        assert evaluate(tick(price), monitors, 0.0) == []
        assert evaluate(tick(price), monitors, math.nan) == []
    assert len(evaluate(tick(150.0), monitors, 1.0)) == 3  # b, c fire; d moves


def test_only_active_monitors_of_the_tick_symbol_are_looked_at():
    monitors = [
        mon("stop_loss", 95.0, monitor_id="done", status="triggered"),
        mon("stop_loss", 95.0, monitor_id="off", status="cancelled"),
        mon("stop_loss", 95.0, monitor_id="msft", symbol="MSFT"),
        mon("trailing_stop", 90.0, 10.0, monitor_id="trail_off", status="cancelled"),
        mon("stop_loss", 95.0, monitor_id="live"),
    ]
    assert fired(evaluate(tick(90.0), monitors, LONG)) == [("live", 90.0)]
    assert evaluate(tick(200.0), monitors[:4], LONG) == []  # nor does a cancelled trail move


@pytest.mark.parametrize("price", [math.nan, 0.0, -5.0, math.inf, -math.inf])
def test_bad_ticks_never_trigger(price):
    # Each of these satisfies some condition below if compared naively (0 <= 95, inf >= 110).
    monitors = [
        mon("stop_loss", 95.0, monitor_id="sl"),
        mon("take_profit", 110.0, monitor_id="tp"),
        mon("price_alert", 120.0, monitor_id="pa"),
        mon("trailing_stop", 90.0, 10.0, monitor_id="ts"),
    ]
    assert evaluate(tick(price), monitors, LONG) == []
    assert evaluate(tick(price), monitors, SHORT) == []


def test_events_follow_the_monitor_order_and_carry_exchange_time():
    monitors = [
        mon("take_profit", 110.0, monitor_id="tp"),
        mon("price_alert", 105.0, monitor_id="pa"),
        mon("stop_loss", 95.0, monitor_id="sl"),
    ]
    events = evaluate(tick(111.0, ts=1_234.5), monitors, LONG)
    assert fired(events) == [("tp", 111.0), ("pa", 111.0)]
    assert all(e.exchange_ts == 1_234.5 for e in events)
    assert fired(evaluate(tick(111.0), list(reversed(monitors)), LONG)) == [("pa", 111.0), ("tp", 111.0)]
    assert evaluate(tick(111.0, ts=math.nan), monitors, LONG)[0].exchange_ts is None


# -- trailing stops ----------------------------------------------------------------------------


def follow(m: Monitor, prices: list[float], qty: float) -> tuple[Monitor, list]:
    """Feed prices one at a time, applying each MonitorMoved the way the store's planner does."""
    seen = []
    for p in prices:
        events = evaluate(tick(p), [m], qty)
        seen.append(events)
        for e in events:
            if isinstance(e, MonitorMoved):
                m = replace(m, trigger=e.trigger, high_water=e.high_water)
            else:
                m = replace(m, status="triggered", triggered_price=e.price)
    return m, seen


def test_trailing_stop_on_a_long_follows_new_highs_then_triggers():
    m = mon("trailing_stop", 90.0, 10.0)  # set at 100 with a 10-point trail
    m, seen = follow(m, [100.0, 105.0, 103.0, 110.0, 109.0, 100.5, 100.0, 95.0], LONG)
    assert seen[0] == []  # 100 - 10 is the trigger already: no move
    assert seen[1] == [MonitorMoved(monitor_id="m1", trigger=95.0, high_water=105.0, exchange_ts=1_000.0)]
    assert seen[2] == []  # a lower price never moves it back
    assert [(e.trigger, e.high_water) for e in seen[3]] == [(100.0, 110.0)]
    assert seen[4] == [] and seen[5] == []
    assert fired(seen[6]) == [("m1", 100.0)]
    assert seen[7] == []  # triggered: no longer active
    assert (m.status, m.trigger, m.high_water, m.triggered_price) == ("triggered", 100.0, 110.0, 100.0)


def test_trailing_stop_on_a_short_follows_new_lows_then_triggers():
    m = mon("trailing_stop", 110.0, 10.0)  # set short at 100
    m, seen = follow(m, [100.0, 95.0, 97.0, 90.0, 99.99, 100.0], SHORT)
    assert seen[0] == []
    assert [(e.trigger, e.high_water) for e in seen[1]] == [(105.0, 95.0)]
    assert seen[2] == []
    assert [(e.trigger, e.high_water) for e in seen[3]] == [(100.0, 90.0)]
    assert seen[4] == []
    assert fired(seen[5]) == [("m1", 100.0)]
    assert m.status == "triggered"


def test_trailing_stop_triggers_at_the_price_that_gaps_through_it():
    assert fired(evaluate(tick(80.0), [mon("trailing_stop", 90.0, 10.0, high_water=100.0)], LONG)) == [("m1", 80.0)]
    assert fired(evaluate(tick(120.0), [mon("trailing_stop", 110.0, 10.0)], SHORT)) == [("m1", 120.0)]


# -- protective_monitors -----------------------------------------------------------------------


def test_protective_monitors_for_a_long():
    sets = protective_monitors(
        "AAPL", 10.0, 200.0, stop_loss_pct=0.05, take_profit_pct=0.10, trailing_pct=0.02, id_prefix="pos-AAPL-7"
    )
    assert all(type(s) is MonitorSet and s.symbol == "AAPL" for s in sets)
    assert [s.monitor_id for s in sets] == [
        "pos-AAPL-7:stop_loss",
        "pos-AAPL-7:take_profit",
        "pos-AAPL-7:trailing_stop",
    ]
    assert [s.kind for s in sets] == ["stop_loss", "take_profit", "trailing_stop"]
    assert [s.trigger for s in sets] == pytest.approx([190.0, 220.0, 196.0])
    assert [s.trail for s in sets[:2]] == [None, None] and sets[2].trail == pytest.approx(4.0)


def test_protective_monitors_for_a_short_are_mirrored():
    sets = protective_monitors(
        "MSFT", -3.0, 200.0, stop_loss_pct=0.05, take_profit_pct=0.10, trailing_pct=0.02, id_prefix="p"
    )
    assert [s.trigger for s in sets] == pytest.approx([210.0, 180.0, 204.0])
    assert sets[2].trail == pytest.approx(4.0)


def test_protective_monitors_only_what_is_asked_and_same_ids_every_time():
    assert protective_monitors("AAPL", 1.0, 50.0, id_prefix="x") == []
    one = protective_monitors("AAPL", 1.0, 50.0, take_profit_pct=1.5, id_prefix="x")
    assert [(s.monitor_id, s.kind, s.trigger) for s in one] == [("x:take_profit", "take_profit", 125.0)]
    again = protective_monitors("AAPL", 1.0, 50.0, take_profit_pct=1.5, id_prefix="x")
    assert [s.payload() for s in again] == [s.payload() for s in one]


@pytest.mark.parametrize(
    "qty, avg, kw, message",
    [
        (0.0, 100.0, {"stop_loss_pct": 0.05}, "no position"),
        (math.nan, 100.0, {"stop_loss_pct": 0.05}, "no position"),
        (1.0, 0.0, {"stop_loss_pct": 0.05}, "avg_price"),
        (1.0, math.nan, {"stop_loss_pct": 0.05}, "avg_price"),
        (1.0, 100.0, {"stop_loss_pct": 1.0}, "puts the trigger"),  # a long's stop at 0
        (1.0, 100.0, {"trailing_pct": 1.2}, "puts the trigger"),  # a long's trailing stop below 0
        (-1.0, 100.0, {"take_profit_pct": 1.0}, "puts the trigger"),  # a short's target at 0
        (1.0, 100.0, {"take_profit_pct": 0.0}, "must be positive"),
        (1.0, 100.0, {"stop_loss_pct": -0.05}, "must be positive"),
        (1.0, 100.0, {"stop_loss_pct": math.nan}, "must be positive"),
        (1.0, 100.0, {"stop_loss_pct": 0.05, "id_prefix": ""}, "id_prefix"),
    ],
)
def test_protective_monitors_refuse_what_cannot_protect(qty, avg, kw, message):
    kw = {"id_prefix": "x", **kw}
    with pytest.raises(ValueError, match=message):
        protective_monitors("AAPL", qty, avg, **kw)


# -- through the store -------------------------------------------------------------------------


def test_evaluated_events_commit_through_the_store(store):
    """The events evaluate() returns are ones the store's planners accept, in sequence."""
    store.commit_all(
        protective_monitors(
            "AAPL", 5.0, 100.0, stop_loss_pct=0.2, take_profit_pct=0.5, trailing_pct=0.05, id_prefix="p1"
        )
    )
    for price in (100.0, 104.0, 108.0, 106.0, 103.5, 102.0, 101.0):
        events = evaluate(tick(price), store.state.monitors.by_id.values(), 5.0)
        if events:
            store.commit_all(events)
    by_id = store.state.monitors.by_id
    trail = by_id["p1:trailing_stop"]
    assert (trail.status, trail.high_water, trail.triggered_price) == ("triggered", 108.0, 102.0)
    assert trail.trigger == pytest.approx(103.0)
    assert by_id["p1:stop_loss"].status == by_id["p1:take_profit"].status == "active"
