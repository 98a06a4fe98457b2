"""Position monitors: which stops, targets and alerts a tick sets off.

Pure functions: :func:`evaluate` reads a tick, the monitors and the position and returns
the events to commit; it changes nothing itself, so the runner commits them (and the
store's planners apply them) exactly as it would any other event, live or in replay.

Every monitor protects or watches the position in its symbol, and its side comes from
that position's sign at evaluation time:

============== ================================ ================================
kind           long position (qty > 0)          short position (qty < 0)
============== ================================ ================================
stop_loss      triggers at price <= trigger     triggers at price >= trigger
take_profit    triggers at price >= trigger     triggers at price <= trigger
price_alert    triggers at price >= trigger     triggers at price <= trigger
trailing_stop  triggers at price <= trigger;    triggers at price >= trigger;
               follows new highs up             follows new lows down
============== ================================ ================================

A price alert is therefore "the price reached this level in the position's favour": a
take-profit that only notifies. An alert on the other side of the price (below a long)
fires on the next tick; set a stop-loss for that instead. With no position (qty == 0)
nothing triggers or moves: there is nothing to protect, and the runner is expected to
cancel a closed position's monitors.

A trailing stop keeps ``trigger`` at ``trail`` (price units) behind the best price seen:
when a long's price makes ``price - trail`` exceed the trigger, it moves up
(``MonitorMoved`` with the new trigger and ``high_water`` = that price); it never moves
back. For a short, ``high_water`` holds the low-water mark and the trigger moves down.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..events import MonitorMoved, MonitorSet, MonitorStatus, MonitorTriggered
from ..feeds.base import Tick
from ..params.records import Monitor

__all__ = ["evaluate", "protective_monitors"]

_INF = math.inf


def evaluate(tick: Tick, monitors: Iterable[Monitor], position_qty: float) -> list[MonitorTriggered | MonitorMoved]:
    """The monitor events this tick causes, in the order of ``monitors``.

    Only ``active`` monitors of ``tick.symbol`` are looked at; at most one event per
    monitor (``MonitorTriggered`` or, for a trailing stop, ``MonitorMoved``). A bad tick
    (price NaN, infinite or <= 0) causes nothing: a stop must never fire on a bad print.
    Events carry the tick's exchange time.
    """
    price = tick.last
    if not 0 < price < _INF:
        return []
    side = (position_qty > 0) - (position_qty < 0)  # NaN qty compares False both ways: flat
    if side == 0:
        return []
    ts = tick.exchange_ts if math.isfinite(tick.exchange_ts) else None
    symbol = tick.symbol
    events: list[MonitorTriggered | MonitorMoved] = []
    for mon in monitors:
        if mon.status != MonitorStatus.ACTIVE or mon.symbol != symbol:
            continue
        kind, trigger = mon.kind, mon.trigger
        if kind == "stop_loss" or kind == "trailing_stop":
            # Against the position: below the trigger for a long, above it for a short.
            hit = price <= trigger if side > 0 else price >= trigger
        elif kind == "take_profit" or kind == "price_alert":
            hit = price >= trigger if side > 0 else price <= trigger
        else:
            continue  # the catalog allows no other kind; nothing to evaluate
        if hit:
            events.append(MonitorTriggered(monitor_id=mon.monitor_id, price=price, exchange_ts=ts))
        elif kind == "trailing_stop" and mon.trail is not None:
            # Compare new trigger with old (not price with high_water): it is what must
            # only ratchet, and it also covers a stop not yet moved (high_water None).
            moved = price - mon.trail if side > 0 else price + mon.trail
            if (moved > trigger) if side > 0 else (moved < trigger):
                events.append(MonitorMoved(monitor_id=mon.monitor_id, trigger=moved, high_water=price, exchange_ts=ts))
    return events


def protective_monitors(
    symbol: str,
    qty: float,
    avg_price: float,
    *,
    stop_loss_pct: float | None = None,
    take_profit_pct: float | None = None,
    trailing_pct: float | None = None,
    id_prefix: str,
) -> list[MonitorSet]:
    """``MonitorSet`` events protecting a newly opened position.

    Percentages are fractions of ``avg_price`` (0.02 = 2 %), each optional; for a long
    the stop-loss sits at ``avg_price * (1 - stop_loss_pct)``, the take-profit at
    ``avg_price * (1 + take_profit_pct)`` and the trailing stop starts at
    ``avg_price * (1 - trailing_pct)`` with a trail of ``avg_price * trailing_pct``;
    mirrored for a short. Monitor ids are ``f"{id_prefix}:{kind}"``, so the same position
    always gets the same ids. Returned in the order stop-loss, take-profit, trailing stop.

    Raises ValueError for a flat position, a non-positive price, or a percentage that is
    not positive or would put a trigger at or below zero.
    """
    if not (isinstance(id_prefix, str) and id_prefix):
        raise ValueError("protective_monitors: id_prefix must be a non-empty string")
    if not (math.isfinite(qty) and qty != 0):
        raise ValueError(f"protective_monitors: {symbol} has no position to protect (qty={qty})")
    if not 0 < avg_price < _INF:
        raise ValueError(f"protective_monitors: avg_price must be positive and finite, not {avg_price}")
    side = 1 if qty > 0 else -1
    out: list[MonitorSet] = []
    # (kind, fraction, which way the trigger sits from avg_price for a long)
    for kind, pct, long_sign in (
        ("stop_loss", stop_loss_pct, -1),
        ("take_profit", take_profit_pct, +1),
        ("trailing_stop", trailing_pct, -1),
    ):
        if pct is None:
            continue
        if not 0 < pct < _INF:
            raise ValueError(f"protective_monitors: {kind} percentage must be positive, not {pct}")
        trigger = avg_price * (1 + side * long_sign * pct)
        if trigger <= 0:
            raise ValueError(
                f"protective_monitors: a {kind} of {pct:.0%} puts the trigger at "
                f"{trigger} for a {'long' if side > 0 else 'short'} at {avg_price}"
            )
        trail = avg_price * pct if kind == "trailing_stop" else None
        out.append(MonitorSet(monitor_id=f"{id_prefix}:{kind}", symbol=symbol, kind=kind, trigger=trigger, trail=trail))
    return out
