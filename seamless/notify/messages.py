"""Which events become which messages: pure, ``event -> Message | None``.

Each message has a kind, the name a person turns on or off (``SEAMLESS_NOTIFY_EVENTS``):

| kind | from |
|---|---|
| ``fills`` | ``OrderFilled`` (``order.filled``) |
| ``closes`` | ``PositionClosed`` (``position.closed``) |
| ``breach`` | ``DailyLossBreached`` (``risk.daily_loss_breached``) |
| ``trading`` | ``TradingStateChanged`` (``risk.trading_state``) |
| ``reconcile`` | ``ReconcileMismatch`` (``reconcile.mismatch``) |
| ``not_ready`` | no event: not ready for longer than a threshold, and ready again (:mod:`.readiness`) |
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

from ..events import (
    DailyLossBreached,
    Event,
    OrderFilled,
    PositionClosed,
    ReconcileMismatch,
    TradingState,
    TradingStateChanged,
)

#: Every kind of notification, in the order a summary names them.
KINDS = ("breach", "trading", "not_ready", "reconcile", "closes", "fills")

#: kind -> the topic of the events it comes from (``not_ready`` comes from no event).
TOPICS = {
    "fills": "order.filled",
    "closes": "position.closed",
    "breach": "risk.daily_loss_breached",
    "trading": "risk.trading_state",
    "reconcile": "reconcile.mismatch",
}

#: How urgent a message is: apprise's notify types (``apprise.NotifyType`` values).
Level = Literal["info", "success", "warning", "failure"]
_LEVELS: tuple[Level, ...] = ("info", "success", "warning", "failure")

#: A summary lists this many messages one line each, then counts the rest.
SUMMARY_LINES = 40

_NOUNS = {  # kind -> (one, several)
    "fills": ("fill", "fills"),
    "closes": ("position closed", "positions closed"),
    "breach": ("daily loss breach", "daily loss breaches"),
    "trading": ("trading state change", "trading state changes"),
    "reconcile": ("reconciliation mismatch", "reconciliation mismatches"),
    "not_ready": ("readiness change", "readiness changes"),
}


@dataclass(frozen=True)
class Message:
    """One notification: ``title`` and ``body`` as a person reads them."""

    kind: str
    title: str
    body: str
    level: Level = "info"
    #: the event's sequence number (None: not from an event).
    seq: int | None = None


def message(ev: Event) -> Message | None:
    """The message for ``ev``, or None for an event no kind covers. Told apart by topic,
    which names the event's class (the casts say which to the type checker)."""
    t = ev.topic
    at = f" (#{ev.seq})" if ev.seq is not None else ""
    if t == "order.filled":
        f = cast(OrderFilled, ev)
        side = "BUY" if f.qty > 0 else "SELL"
        return Message(
            "fills",
            f"Fill: {side} {abs(f.qty):g} {f.symbol} @ {f.price:,.2f}",
            f"{side} {abs(f.qty):g} {f.symbol} at {f.price:,.4f}, commission {f.commission:,.2f}; "
            f"order {f.client_order_id or '(external)'}, trade {f.trade_id}{at}",
            "info",
            ev.seq,
        )
    if t == "position.closed":
        c = cast(PositionClosed, ev)
        return Message(
            "closes",
            f"Position closed: {c.symbol}",
            f"{c.symbol} is flat and left the book" + (f": {c.reason}" if c.reason else "") + at,
            "info",
            ev.seq,
        )
    if t == "risk.daily_loss_breached":
        b = cast(DailyLossBreached, ev)
        return Message(
            "breach",
            "Daily loss limit breached: trading HALTED",
            f"Loss {b.loss:,.2f} over the limit of {b.limit:,.2f}; equity {b.equity:,.2f}"
            + (f" on {b.day}" if b.day else "")
            + f". Trading is HALTED until the breach is reset{at}.",
            "failure",
            ev.seq,
        )
    if t == "risk.trading_state":
        s = cast(TradingStateChanged, ev)
        level: Level = (
            "failure"
            if s.state == TradingState.HALTED
            else "warning"
            if s.state == TradingState.REDUCING
            else "success"
        )
        return Message(
            "trading",
            f"Trading {s.state}",
            f"Trading is {s.state}, by {s.by}" + (f": {s.reason}" if s.reason else "") + at,
            level,
            ev.seq,
        )
    if t == "reconcile.mismatch":
        m = cast(ReconcileMismatch, ev)
        return Message(
            "reconcile",
            f"Reconciliation mismatch: {m.kind.replace('_', ' ')} {m.subject}",
            f"{m.kind.replace('_', ' ')} {m.subject}: store {m.store_value}, broker {m.broker_value}; "
            f"{m.resolution} (run {m.run_id}){at}",
            "warning",
            ev.seq,
        )
    return None


def not_ready_for(reason: str, for_s: float) -> Message:
    """Not ready for ``for_s`` seconds, because of ``reason``."""
    return Message("not_ready", "Seamless not ready", f"Not ready for {for_s:.0f} s: {reason}", "failure")


def ready_again(after_s: float) -> Message:
    """Ready again after ``after_s`` seconds not ready."""
    return Message("not_ready", "Seamless ready again", f"Ready again after {after_s:.0f} s not ready", "success")


def summary(messages: Sequence[Message]) -> Message:
    """One message for several (past the rate limit): what they are, then one line each
    (the first :data:`SUMMARY_LINES`) and how many more; as urgent as the most urgent."""
    counts = Counter(m.kind for m in messages)
    what = ", ".join(
        f"{counts[k]} {_NOUNS.get(k, (k, k))[counts[k] > 1]}"
        for k in sorted(counts, key=lambda k: KINDS.index(k) if k in KINDS else len(KINDS))
    )
    lines = [f"- {m.title}" + (f" (#{m.seq})" if m.seq is not None else "") for m in messages[:SUMMARY_LINES]]
    if len(messages) > SUMMARY_LINES:
        lines.append(f"... and {len(messages) - SUMMARY_LINES} more (the journal has every event)")
    levels: list[Level] = [m.level for m in messages] or ["info"]
    level = max(levels, key=_LEVELS.index)
    return Message("summary", f"Seamless: {len(messages)} notifications ({what})", "\n".join(lines), level)
