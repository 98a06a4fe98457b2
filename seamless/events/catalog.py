"""Every event Seamless journals, one class per topic.

Critical events (orders, fills, positions, risk, runner, reconciliation, monitor
triggers) are durable before ``commit`` returns; the rest (quotes, signals,
trailing-stop moves) are persisted in batches by the background writer.
"""

from __future__ import annotations

from enum import StrEnum
from math import inf as _INF

from ..errors import InvalidEvent
from .base import (
    Event,
    Payload,
    event,
    finite,
    non_negative,
    nonzero,
    one_of,
    optional,
    positive,
    symbol,
    text,
    upcaster,
)


class TradingState(StrEnum):
    """Whether the engine may take risk: ACTIVE trades; REDUCING only reduces risk; HALTED takes none."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class RunnerStatus(StrEnum):
    """The runner's lifecycle (see :mod:`seamless.engine.runner`)."""

    STARTING = "STARTING"
    RECOVERING = "RECOVERING"
    RECONCILING = "RECONCILING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    HALTED = "HALTED"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    ERROR = "ERROR"


class OrderStatus(StrEnum):
    """An order's life: journaled before the broker hears of it (SUBMITTING), then the broker's word."""

    SUBMITTING = "submitting"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    REFUSED = "refused"


class MonitorStatus(StrEnum):
    """A monitor (stop-loss, take-profit, trailing stop, alert) is active until triggered or cancelled."""

    ACTIVE = "active"
    TRIGGERED = "triggered"
    CANCELLED = "cancelled"


TRADING_STATES = tuple(TradingState)
RUNNER_STATES = tuple(RunnerStatus)
MONITOR_KINDS = ("stop_loss", "take_profit", "trailing_stop", "price_alert")
ORDER_TYPES = ("market", "limit")
TIME_IN_FORCE = ("day", "gtc", "ioc")


# -- market data and signals (non-critical) -----------------------------------------------


@event("market.quote", critical=False)
class QuoteReceived(Event):
    symbol: str
    last: float
    bid: float | None = None
    ask: float | None = None

    def validate(self) -> None:
        # The hottest event: a positive finite float passes inline (0 < x < inf is False for
        # NaN, inf and x <= 0); anything else goes through the helpers, which name what is wrong.
        symbol(self, "symbol", self.symbol)
        last, bid, ask = self.last, self.bid, self.ask
        if not (type(last) is float and 0.0 < last < _INF):
            positive(self, "last", last)
        if bid is not None and not (type(bid) is float and 0.0 < bid < _INF):
            positive(self, "bid", bid)
        if ask is not None and not (type(ask) is float and 0.0 < ask < _INF):
            positive(self, "ask", ask)
        if bid is not None and ask is not None and bid > ask:
            raise InvalidEvent(f"QuoteReceived {self.symbol}: bid {bid} is above ask {ask}")

    def _encode_payload(self) -> str:
        # Written directly when every field has its plain type (~0.3 µs, the encoder ~1.5): a
        # checked symbol needs no JSON escape (SYMBOL_PATTERN; printable is checked again as it
        # costs nothing), and JSON writes a float as its repr.
        s, last, bid, ask = self.symbol, self.last, self.bid, self.ask
        if type(s) is str and type(last) is float and s.isprintable():
            b = "null" if bid is None else repr(bid) if type(bid) is float else None
            a = "null" if ask is None else repr(ask) if type(ask) is float else None
            if b is not None and a is not None:
                return f'{{"symbol":"{s}","last":{last!r},"bid":{b},"ask":{a}}}'
        return super()._encode_payload()


@event("market.conflated", critical=False)
class QuotesConflated(Event):
    """Quotes folded into a newer quote of their symbol before they were applied (conflation,
    an explicit setting): how many per symbol over the last ``interval_s`` seconds. A folded
    quote is never journaled itself; this says it came."""

    counts: dict[str, int]
    interval_s: float

    def validate(self) -> None:
        if not isinstance(self.counts, dict) or not self.counts:
            raise InvalidEvent(f"QuotesConflated.counts={self.counts!r}: must be a non-empty symbol -> count mapping")
        for sym, n in self.counts.items():
            symbol(self, "counts", sym)
            if type(n) is not int or n <= 0:
                raise InvalidEvent(f"QuotesConflated.counts[{sym!r}]={n!r}: must be a whole number > 0")
        non_negative(self, "interval_s", self.interval_s)


@event("signal.emitted", critical=False)
class SignalEmitted(Event):
    strategy: str
    symbol: str
    direction: int  # -1 sell, 0 flat, +1 buy
    strength: float = 1.0
    price: float | None = None
    reason: str = ""

    def validate(self) -> None:
        text(self, "strategy", self.strategy)
        symbol(self, "symbol", self.symbol)
        one_of(self, "direction", self.direction, (-1, 0, 1))
        finite(self, "strength", self.strength)
        optional(positive, self, "price", self.price)


# -- monitors ------------------------------------------------------------------------------


@event("monitor.set")
class MonitorSet(Event):
    monitor_id: str
    symbol: str
    kind: str
    trigger: float
    trail: float | None = None  # trailing stop distance, in price units

    def validate(self) -> None:
        text(self, "monitor_id", self.monitor_id)
        symbol(self, "symbol", self.symbol)
        one_of(self, "kind", self.kind, MONITOR_KINDS)
        positive(self, "trigger", self.trigger)
        optional(positive, self, "trail", self.trail)
        if self.kind == "trailing_stop" and self.trail is None:
            raise InvalidEvent("MonitorSet: a trailing_stop needs a trail distance")


@event("monitor.moved", critical=False)
class MonitorMoved(Event):
    """A trailing stop followed the price."""

    monitor_id: str
    trigger: float
    high_water: float

    def validate(self) -> None:
        text(self, "monitor_id", self.monitor_id)
        positive(self, "trigger", self.trigger)
        positive(self, "high_water", self.high_water)


@event("monitor.triggered")
class MonitorTriggered(Event):
    monitor_id: str
    price: float

    def validate(self) -> None:
        text(self, "monitor_id", self.monitor_id)
        positive(self, "price", self.price)


@event("monitor.cancelled")
class MonitorCancelled(Event):
    monitor_id: str
    reason: str = ""

    def validate(self) -> None:
        text(self, "monitor_id", self.monitor_id)


# -- orders and fills ----------------------------------------------------------------------


@event("order.submitting", version=2)
class OrderSubmitting(Event):
    """Order intent, journaled before the broker is called."""

    client_order_id: str
    symbol: str
    qty: float  # signed: > 0 buys, < 0 sells
    order_type: str = "market"
    limit_price: float | None = None
    strategy: str = ""
    reason: str = ""
    by: str = "runner"
    time_in_force: str = "day"  # version 2

    def validate(self) -> None:
        text(self, "client_order_id", self.client_order_id)
        symbol(self, "symbol", self.symbol)
        nonzero(self, "qty", self.qty)
        one_of(self, "order_type", self.order_type, ORDER_TYPES)
        optional(positive, self, "limit_price", self.limit_price)
        if self.order_type == "limit" and self.limit_price is None:
            raise InvalidEvent("OrderSubmitting: a limit order needs limit_price")
        one_of(self, "time_in_force", self.time_in_force, TIME_IN_FORCE)


@upcaster("OrderSubmitting", 1)
def _order_submitting_v1_to_v2(payload: Payload) -> Payload:
    """v2 added time_in_force; every v1 order was a day order."""
    return {**payload, "time_in_force": "day"}


@event("order.accepted")
class OrderAccepted(Event):
    client_order_id: str
    broker_order_id: str = ""

    def validate(self) -> None:
        text(self, "client_order_id", self.client_order_id)


@event("order.rejected")
class OrderRejected(Event):
    client_order_id: str
    reason: str

    def validate(self) -> None:
        text(self, "client_order_id", self.client_order_id)


@event("order.cancelled")
class OrderCancelled(Event):
    client_order_id: str
    reason: str = ""

    def validate(self) -> None:
        text(self, "client_order_id", self.client_order_id)


@event("order.refused")
class OrderRefused(Event):
    """A pre-trade check refused an order before it was sent; journaled with the reason."""

    client_order_id: str
    symbol: str
    qty: float
    reason: str
    strategy: str = ""
    by: str = "runner"

    def validate(self) -> None:
        text(self, "client_order_id", self.client_order_id)
        symbol(self, "symbol", self.symbol)
        finite(self, "qty", self.qty)
        text(self, "reason", self.reason)


@event("order.filled")
class OrderFilled(Event):
    """A (partial) fill; de-duplicated by the broker's ``trade_id``.

    ``cursor`` is the broker's position of this fill in its own fill record, so the
    store knows where to catch up from (``Broker.fills_since``).
    """

    trade_id: str
    client_order_id: str
    symbol: str
    qty: float  # signed
    price: float
    commission: float = 0.0
    cursor: int | None = None

    def validate(self) -> None:
        text(self, "trade_id", self.trade_id)
        text(self, "client_order_id", self.client_order_id, empty=True)
        symbol(self, "symbol", self.symbol)
        nonzero(self, "qty", self.qty)
        positive(self, "price", self.price)
        non_negative(self, "commission", self.commission)
        optional(non_negative, self, "cursor", self.cursor)


# -- positions and account -----------------------------------------------------------------


@event("position.closed")
class PositionClosed(Event):
    """A flat position leaves the book (its realized P&L stays in the account)."""

    symbol: str
    reason: str = ""

    def validate(self) -> None:
        symbol(self, "symbol", self.symbol)


@event("position.adjusted")
class PositionAdjusted(Event):
    """The position is set to a known truth (reconciliation), with the reason why."""

    symbol: str
    qty: float
    avg_price: float
    reason: str

    def validate(self) -> None:
        symbol(self, "symbol", self.symbol)
        finite(self, "qty", self.qty)
        non_negative(self, "avg_price", self.avg_price)
        text(self, "reason", self.reason)


@event("account.cash_set")
class CashSet(Event):
    """Cash is set to a known truth: the opening balance, or the broker's figure."""

    cash: float
    reason: str

    def validate(self) -> None:
        finite(self, "cash", self.cash)
        text(self, "reason", self.reason)


@event("account.day_started")
class DayStarted(Event):
    """A new trading day (exchange time zone): day-start equity is the equity now."""

    day: str

    def validate(self) -> None:
        text(self, "day", self.day)


# -- risk ----------------------------------------------------------------------------------


@event("risk.limit_set")
class LossLimitSet(Event):
    daily_loss_limit: float
    by: str = "config"

    def validate(self) -> None:
        positive(self, "daily_loss_limit", self.daily_loss_limit)


@event("risk.daily_loss_breached")
class DailyLossBreached(Event):
    loss: float
    limit: float
    equity: float
    day: str = ""

    def validate(self) -> None:
        finite(self, "loss", self.loss)
        positive(self, "limit", self.limit)
        finite(self, "equity", self.equity)


@event("risk.trading_state")
class TradingStateChanged(Event):
    state: str
    reason: str = ""
    by: str = "runner"

    def validate(self) -> None:
        one_of(self, "state", self.state, TRADING_STATES)


@event("risk.breach_reset")
class BreachReset(Event):
    by: str
    reason: str = ""

    def validate(self) -> None:
        text(self, "by", self.by)


# -- runner --------------------------------------------------------------------------------


@event("runner.status")
class RunnerStatusChanged(Event):
    status: str
    error: str = ""
    by: str = "runner"

    def validate(self) -> None:
        one_of(self, "status", self.status, RUNNER_STATES)


@event("broker.status")
class BrokerStatusChanged(Event):
    """The broker became unreachable (what the store shows of it is stale) or came back."""

    connected: bool
    error: str = ""

    def validate(self) -> None:
        one_of(self, "connected", self.connected, (True, False))


@event("feed.status")
class FeedStatusChanged(Event):
    """The market-data feed lost its source (quotes stop; they show STALE) or has it again."""

    connected: bool
    error: str = ""

    def validate(self) -> None:
        one_of(self, "connected", self.connected, (True, False))


# -- reconciliation ------------------------------------------------------------------------


@event("reconcile.started", version=2)
class ReconcileStarted(Event):
    run_id: str
    by: str = "reconciler"  # version 2: who asked (startup, schedule, a user)

    def validate(self) -> None:
        text(self, "run_id", self.run_id)
        text(self, "by", self.by)


@upcaster("ReconcileStarted", 1)
def _reconcile_started_v1_to_v2(payload: Payload) -> Payload:
    """v2 added who asked; a v1 run was the reconciler's own."""
    return {**payload, "by": "reconciler"}


@event("reconcile.mismatch")
class ReconcileMismatch(Event):
    run_id: str
    kind: str
    subject: str  # symbol, order id or "cash"
    store_value: str
    broker_value: str
    resolution: str

    def validate(self) -> None:
        text(self, "run_id", self.run_id)
        text(self, "kind", self.kind)


@event("reconcile.completed")
class ReconcileCompleted(Event):
    run_id: str
    mismatches: int
    resolved: int
    duration_s: float
    ok: bool

    def validate(self) -> None:
        text(self, "run_id", self.run_id)
        non_negative(self, "mismatches", self.mismatches)
        non_negative(self, "resolved", self.resolved)
        non_negative(self, "duration_s", self.duration_s)


# -- the history itself --------------------------------------------------------------------


@event("history.archived")
class HistoryArchived(Event):
    """Non-critical rows left the journal for an archive file (the one way rows leave it)."""

    topic_archived: str
    first_seq: int
    last_seq: int
    rows: int
    file: str
    sha256: str

    def validate(self) -> None:
        text(self, "topic_archived", self.topic_archived)
        positive(self, "first_seq", self.first_seq)
        if self.last_seq < self.first_seq:
            raise InvalidEvent(f"HistoryArchived: last_seq {self.last_seq} is before first_seq {self.first_seq}")
        positive(self, "rows", self.rows)
        text(self, "file", self.file)
        text(self, "sha256", self.sha256)


@event("history.corrupt")
class HistoryCorrupt(Event):
    """The history failed verification: a journal row (``where`` = "seq N") or an archive file.
    ``halt``: the policy ``halt_on_corrupt_history`` HALTED trading with it (a
    :class:`TradingStateChanged` in the same commit)."""

    where: str
    reason: str
    halt: bool = True

    def validate(self) -> None:
        text(self, "where", self.where)
        text(self, "reason", self.reason)
        one_of(self, "halt", self.halt, (True, False))
