"""Quotes, signals and monitors."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import InvalidEvent
from ..events import (
    MonitorCancelled,
    MonitorMoved,
    MonitorSet,
    MonitorStatus,
    MonitorTriggered,
    QuoteReceived,
    QuotesConflated,
    SignalEmitted,
)
from ..events.base import Event
from ..params.records import Monitor, Signal, quote
from ..params.state import SIGNAL_HISTORY, Values
from .projection import Changes, planner
from .trading import account_figures


@planner(QuoteReceived)
def _quote(values: Values, ev: QuoteReceived) -> Changes:
    quotes = values["market"]["quotes"]
    prev = quotes.get(ev.symbol)
    if (
        prev is not None
        and ev.exchange_ts is not None
        and prev.exchange_ts is not None
        and ev.exchange_ts < prev.exchange_ts
    ):
        raise InvalidEvent(
            f"QuoteReceived {ev.symbol}: exchange time {ev.exchange_ts} is before the last quote's {prev.exchange_ts}"
        )
    if TYPE_CHECKING:  # planned events are stamped (seq, ts set): see projection.plan
        assert ev.seq is not None and ev.ts is not None
    q = quote(ev.seq, ev.ts, ev.symbol, ev.last, ev.bid, ev.ask, ev.exchange_ts)
    changes: Changes = {"market": {"quotes": quotes.with_item(ev.symbol, q)}}
    by_symbol = values["positions"]["by_symbol"]
    pos = by_symbol.get(ev.symbol)
    if pos is not None and pos.mark != ev.last:
        positions = by_symbol.with_item(ev.symbol, replace(pos, mark=ev.last, seq=ev.seq, updated_at=ev.ts))
        changes["positions"] = {"by_symbol": positions}
        changes["account"] = account_figures(values, values["account"]["cash"], positions)
    return changes


@planner(QuotesConflated)
def _conflated(values: Values, ev: QuotesConflated) -> Changes:
    return {}  # a record in the journal: the state holds the quotes that were applied


@planner(SignalEmitted)
def _signal(values: Values, ev: SignalEmitted) -> Changes:
    if TYPE_CHECKING:  # planned events are stamped (seq, ts set): see projection.plan
        assert ev.seq is not None and ev.ts is not None
    sig = Signal(
        seq=ev.seq,
        updated_at=ev.ts,
        strategy=ev.strategy,
        symbol=ev.symbol,
        direction=ev.direction,
        strength=ev.strength,
        price=ev.price,
        reason=ev.reason,
    )
    s = values["signals"]
    return {
        "signals": {
            "latest": s["latest"].with_item(f"{ev.strategy}/{ev.symbol}", sig),
            "history": (s["history"] + (sig,))[-SIGNAL_HISTORY:],
        }
    }


def _monitor(values: Values, monitor_id: str, ev: Event) -> Monitor:
    mon: Monitor | None = values["monitors"]["by_id"].get(monitor_id)
    if mon is None:
        raise InvalidEvent(f"{type(ev).__name__}: unknown monitor {monitor_id!r}")
    if mon.status != MonitorStatus.ACTIVE:
        raise InvalidEvent(f"{type(ev).__name__}: monitor {monitor_id!r} is already {mon.status}")
    return mon


def _set_monitor(values: Values, mon: Monitor) -> Changes:
    return {"monitors": {"by_id": values["monitors"]["by_id"].with_item(mon.monitor_id, mon)}}


@planner(MonitorSet)
def _monitor_set(values: Values, ev: MonitorSet) -> Changes:
    if TYPE_CHECKING:  # planned events are stamped (seq, ts set): see projection.plan
        assert ev.seq is not None and ev.ts is not None
    return _set_monitor(
        values,
        Monitor(
            seq=ev.seq,
            updated_at=ev.ts,
            monitor_id=ev.monitor_id,
            symbol=ev.symbol,
            kind=ev.kind,
            trigger=ev.trigger,
            trail=ev.trail,
        ),
    )


@planner(MonitorMoved)
def _monitor_moved(values: Values, ev: MonitorMoved) -> Changes:
    mon = _monitor(values, ev.monitor_id, ev)
    if TYPE_CHECKING:  # planned events are stamped (seq, ts set): see projection.plan
        assert ev.seq is not None and ev.ts is not None
    return _set_monitor(
        values, replace(mon, seq=ev.seq, updated_at=ev.ts, trigger=ev.trigger, high_water=ev.high_water)
    )


@planner(MonitorTriggered)
def _monitor_triggered(values: Values, ev: MonitorTriggered) -> Changes:
    mon = _monitor(values, ev.monitor_id, ev)
    if TYPE_CHECKING:  # planned events are stamped (seq, ts set): see projection.plan
        assert ev.seq is not None and ev.ts is not None
    return _set_monitor(
        values, replace(mon, seq=ev.seq, updated_at=ev.ts, status=MonitorStatus.TRIGGERED, triggered_price=ev.price)
    )


@planner(MonitorCancelled)
def _monitor_cancelled(values: Values, ev: MonitorCancelled) -> Changes:
    mon = _monitor(values, ev.monitor_id, ev)
    if TYPE_CHECKING:  # planned events are stamped (seq, ts set): see projection.plan
        assert ev.seq is not None and ev.ts is not None
    return _set_monitor(values, replace(mon, seq=ev.seq, updated_at=ev.ts, status=MonitorStatus.CANCELLED))
