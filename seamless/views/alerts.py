"""Critical events that raise a notification in every open tab (each names its ``#seq``)."""

from __future__ import annotations

import logging
from typing import cast

from ..events import (
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
    "risk.trading_state",
    "reconcile.mismatch",
    "history.corrupt",
)

# Critical (journaled durably) but shown at the normal rate: refusals come many a second when
# a strategy is over its order budget, and change no position or open order.
ROUTINE_TOPICS = ("order.refused",)


def alert(toasts, events: list[Event]) -> None:
    """Show ``events`` in one session (``toasts``: that session's :class:`~seamless.views.toasts.Toasts`)."""
    if toasts is not None:
        toasts.show_many([_described(ev) for ev in events])


def _described(ev: Event) -> tuple[str, str, int]:
    """``describe``, or the bare topic and seq: one odd event must not cost the burst its toasts."""
    try:
        return describe(ev)
    except Exception:
        log.exception("no description for %s #%s; showing it bare", ev.topic, ev.seq)
        return "warning", f"{ev.topic} #{ev.seq}", 10000


def describe(ev: Event) -> tuple[str, str, int]:
    """(notification kind, text, duration in ms; 0 stays until closed).  Told apart by topic,
    which names the event's class (the casts say which to the type checker)."""
    t = ev.topic
    if t == "order.filled":
        ev = cast(OrderFilled, ev)
        side = "BUY" if ev.qty > 0 else "SELL"
        return "success", f"Fill #{ev.seq}: {side} {abs(ev.qty):g} {ev.symbol} @ {ev.price:,.2f}", 5000
    if t == "position.closed":
        ev = cast(PositionClosed, ev)
        return "info", f"Position closed #{ev.seq}: {ev.symbol} {ev.reason}".rstrip(), 5000
    if t == "risk.daily_loss_breached":
        ev = cast(DailyLossBreached, ev)
        return (
            "error",
            f"Daily loss limit breached #{ev.seq}: loss {ev.loss:,.2f} over limit {ev.limit:,.2f} — trading HALTED",
            0,
        )
    if t == "risk.trading_state":
        ev = cast(TradingStateChanged, ev)
        kind = (
            "error" if ev.state == TradingState.HALTED else "warning" if ev.state == TradingState.REDUCING else "info"
        )
        return (
            kind,
            f"Trading {ev.state} #{ev.seq} by {ev.by}" + (f": {ev.reason}" if ev.reason else ""),
            0 if ev.state == TradingState.HALTED else 5000,
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
