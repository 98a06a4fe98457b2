"""Critical events that raise a notification in every open tab (each names its ``#seq``)."""

from __future__ import annotations

import logging
from typing import cast

from .. import fmt
from ..events import (
    BreachReset,
    DailyLossBreached,
    Event,
    HistoryCorrupt,
    OrderFilled,
    PositionClosed,
    ReconcileMismatch,
    TradingState,
    TradingStateChanged,
)

log = logging.getLogger("seamless.views")

ALERT_TOPICS = (
    "order.filled",
    "position.closed",
    "risk.daily_loss_breached",
    "risk.breach_reset",
    "risk.trading_state",
    "reconcile.mismatch",
    "history.corrupt",
)

# Critical (journaled durably) but shown at the normal rate: refusals come many a second when
# a strategy is over its order budget, and change no position or open order.
ROUTINE_TOPICS = ("order.refused",)


GROUP_AFTER = 3  # more fills than this in one burst show as one toast ("12 fills")


def alert(toasts, events: list[Event]) -> None:
    """Show ``events`` in one session (``toasts``: that session's :class:`~seamless.views.toasts.Toasts`)."""
    if toasts is not None:
        toasts.show_many(described(events))


_LAST: list[tuple[tuple, list[tuple]]] = []  # the last burst described: (its seqs, its toasts)


def described(events: list[Event]) -> list[tuple]:
    """The toasts of ``events``: a burst of fills is one toast, the rest one each. Every session
    gets the same burst in turn: it is described once (the last one is kept, read-only)."""
    seqs = tuple(ev.seq for ev in events)
    last = _LAST[0] if _LAST else None
    if last is not None and last[0] == seqs and None not in seqs:
        return last[1]
    fills = [ev for ev in events if ev.topic == "order.filled"]
    if len(fills) <= GROUP_AFTER:
        toasts = [_described(ev) for ev in events]
    else:
        toasts = [*(_described(ev) for ev in events if ev.topic != "order.filled"), _fills(fills)]
    _LAST[:] = [(seqs, toasts)]
    return toasts


def _fills(fills: list[Event]) -> tuple[str, str, int]:
    """'12 fills #301–#342: AAPL +30, MSFT −20': the net quantity per symbol."""
    net: dict[str, float] = {}
    for ev in fills:
        sym = getattr(ev, "symbol", "?")
        net[sym] = net.get(sym, 0.0) + getattr(ev, "qty", 0.0)
    per = ", ".join(f"{s} {q:+g}".replace("-", "−") for s, q in sorted(net.items()))
    return "success", f"{len(fills)} fills #{fills[0].seq}–#{fills[-1].seq}: {per}", 5000


def _described(ev: Event) -> tuple:
    """``describe``, or the bare topic and seq: one odd event must not cost the burst its toasts."""
    try:
        return describe(ev)
    except Exception:
        log.exception("no description for %s #%s; showing it bare", ev.topic, ev.seq)
        return "warning", f"{ev.topic} #{ev.seq}", 10000


TRADING_KEY = "trading"  # the standing 'trading HALTED' alert, cleared when trading is ACTIVE again


def describe(ev: Event) -> tuple:
    """(notification kind, text, duration in ms; 0 stays until closed[, key: a standing
    alert, replaced or cleared by the next of its key]). Told apart by topic, which names the
    event's class (the casts say which to the type checker)."""
    t = ev.topic
    if t == "order.filled":
        ev = cast(OrderFilled, ev)
        side = "BUY" if ev.qty > 0 else "SELL"
        return "success", f"Fill #{ev.seq}: {side} {fmt.qty(abs(ev.qty))} {ev.symbol} @ {fmt.price(ev.price)}", 5000
    if t == "position.closed":
        ev = cast(PositionClosed, ev)
        return "info", f"Position closed #{ev.seq}: {ev.symbol} {ev.reason}".rstrip(), 5000
    if t == "risk.daily_loss_breached":
        ev = cast(DailyLossBreached, ev)
        return (
            "error",
            f"Daily loss limit breached #{ev.seq}: loss {fmt.money(ev.loss)} over limit {fmt.money(ev.limit)}"
            " — trading HALTED",
            0,
            TRADING_KEY,
        )
    if t == "risk.breach_reset":
        ev = cast(BreachReset, ev)
        return "info", f"Daily-loss breach reset #{ev.seq} by {ev.by} — trading ACTIVE", 5000, TRADING_KEY
    if t == "risk.trading_state":
        ev = cast(TradingStateChanged, ev)
        kind = (
            "error" if ev.state == TradingState.HALTED else "warning" if ev.state == TradingState.REDUCING else "info"
        )
        # Each trading state replaces the last one's toast: HALTED stands until resolved.
        return (
            kind,
            f"Trading {ev.state} #{ev.seq} by {ev.by}" + (f": {ev.reason}" if ev.reason else ""),
            0 if ev.state == TradingState.HALTED else 5000,
            TRADING_KEY,
        )
    if t == "reconcile.mismatch":
        ev = cast(ReconcileMismatch, ev)
        return (
            "warning",
            f"Reconciliation mismatch #{ev.seq}: {ev.kind.replace('_', ' ')} {ev.subject} — {ev.resolution}",
            10000,
        )
    if t == "history.corrupt":
        ev = cast(HistoryCorrupt, ev)
        halted = " — trading HALTED" if ev.halt else ""
        return "error", f"History failed verification #{ev.seq} at {ev.where}: {ev.reason}{halted}", 0
    return "info", f"{t} #{ev.seq}", 5000
