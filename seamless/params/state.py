"""The account state: one StateObject per part, gathered in :class:`State`."""

from __future__ import annotations

from typing import Any, ClassVar

import param

from ..events.catalog import RunnerStatus, TradingState
from .base import Codec, StateObject, map_of, part_upcaster, state_part, store_writes, tuple_of
from .records import Fill, Mismatch, Monitor, Order, Position, Quote, Signal, TradeIds

SIGNAL_HISTORY = 500
RECENT_ORDERS = 200
RECENT_FILLS = 200
RECENT_MISMATCHES = 200
RECENT_RUNS = 20


@state_part
class Account(StateObject):
    part: ClassVar[str] = "account"
    cash = param.Number(0.0, doc="Cash balance")
    equity = param.Number(0.0, doc="Cash plus positions at their marks")
    day_start_equity = param.Number(0.0, doc="Equity when the trading day started")
    daily_realized_pnl = param.Number(0.0, doc="Realized P&L since the day started, net of commissions")
    daily_unrealized_pnl = param.Number(0.0, doc="Equity change since the day started not yet realized")
    day = param.String("", doc="Trading day (exchange time zone), YYYY-MM-DD")


@state_part
class Positions(StateObject):
    part: ClassVar[str] = "positions"
    schema_version: ClassVar[int] = 2  # 2: Position.opened_at
    codecs = {"by_symbol": map_of(Position)}
    by_symbol = param.Dict({}, doc="symbol -> Position (qty, avg price, realized P&L, mark)")


@state_part
class Risk(StateObject):
    part: ClassVar[str] = "risk"
    daily_loss_limit = param.Number(None, allow_None=True, doc="Largest daily loss allowed (positive amount)")
    trading_state: param.Selector[TradingState] = param.Selector(
        objects=list(TradingState),
        default=TradingState.ACTIVE,
        doc="ACTIVE trades; REDUCING only reduces risk; HALTED takes none",
    )
    state_reason = param.String("", doc="Why the trading state is what it is")
    breach = param.Dict(None, allow_None=True, doc="The active daily-loss breach, until reset")


@state_part
class RunnerState(StateObject):
    part: ClassVar[str] = "runner"
    status: param.Selector[RunnerStatus] = param.Selector(
        objects=list(RunnerStatus), default=RunnerStatus.STOPPED, doc="Lifecycle state"
    )
    since = param.Number(None, allow_None=True, doc="When the runner entered this state (epoch s)")
    last_error = param.String("", doc="The last error the runner reported")
    broker_connected = param.Boolean(
        True, doc="False while the broker is unreachable: positions, orders and account may be stale"
    )
    broker_error = param.String("", doc="Why the broker is unreachable")
    broker_since = param.Number(None, allow_None=True, doc="When the broker status last changed")
    feed_connected = param.Boolean(
        True, doc="False while the market-data feed has lost its source: quotes stop and show STALE"
    )
    feed_error = param.String("", doc="Why the feed lost its source")
    feed_since = param.Number(None, allow_None=True, doc="When the feed status last changed")


@state_part
class Market(StateObject):
    part: ClassVar[str] = "market"
    codecs = {"quotes": map_of(Quote)}
    quotes = param.Dict({}, doc="symbol -> last Quote, with its exchange timestamp")


@state_part
class Signals(StateObject):
    part: ClassVar[str] = "signals"
    codecs = {"latest": map_of(Signal), "history": tuple_of(Signal)}
    latest = param.Dict({}, doc="'strategy/symbol' -> latest Signal")
    history = param.Parameter((), doc=f"The last {SIGNAL_HISTORY} signals, oldest first")


@state_part
class Monitors(StateObject):
    part: ClassVar[str] = "monitors"
    codecs = {"by_id": map_of(Monitor)}
    by_id = param.Dict({}, doc="monitor id -> Monitor (stop-loss, take-profit, trailing stop, alert)")


@state_part
class Orders(StateObject):
    part: ClassVar[str] = "orders"
    codecs = {
        "by_id": map_of(Order),
        "fills": tuple_of(Fill),
        "fills_ahead": Codec(sorted, frozenset),
        "trade_ids": Codec(TradeIds.to_list, TradeIds.from_list),
    }
    by_id = param.Dict({}, doc=f"client order id -> Order: every open order and the last {RECENT_ORDERS} closed")
    fills = param.Parameter((), doc=f"The last {RECENT_FILLS} fills, oldest first")
    fill_cursor = param.Integer(0, doc="Broker fill cursor up to which every fill is applied (catch up from here)")
    fills_ahead = param.Parameter(
        frozenset(),
        doc="Cursors applied beyond fill_cursor, past a gap (a fill report that was lost and is still to come)",
    )
    trade_ids = param.ClassSelector(
        class_=TradeIds,
        default=TradeIds(),
        instantiate=False,
        doc="Broker trade ids already applied (fill de-duplication)",
    )


@state_part
class Reconciliation(StateObject):
    part: ClassVar[str] = "reconcile"
    codecs = {
        "mismatches": tuple_of(Mismatch),
        "recent_runs": Codec(
            lambda runs: [[r, list(k)] for r, k in runs], lambda data: tuple((r, tuple(k)) for r, k in data)
        ),
    }
    status = param.String("never", doc="never | running | ok | mismatch")
    run_id = param.String("", doc="The last run")
    started_at = param.Number(None, allow_None=True)
    completed_at = param.Number(None, allow_None=True)
    last_result = param.Dict(None, allow_None=True, doc="Counts and duration of the last completed run")
    mismatches = param.Parameter((), doc=f"The last {RECENT_MISMATCHES} mismatches with their resolution")
    recent_runs = param.Parameter(
        (),
        doc=f"The last {RECENT_RUNS} completed runs: (run id, the "
        f"'kind|subject' of each mismatch), so streaks survive restarts",
    )


PARTS: tuple[type[StateObject], ...] = (
    Account,
    Positions,
    Risk,
    RunnerState,
    Market,
    Signals,
    Monitors,
    Orders,
    Reconciliation,
)
PART_CLASSES: dict[str, type[StateObject]] = {c.part: c for c in PARTS}


@part_upcaster("positions", 1)
def _positions_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v2 added Position.opened_at; when a v1 position was opened is not known."""
    if "by_symbol" in data:
        data["by_symbol"] = {k: {**p, "opened_at": None} for k, p in data["by_symbol"].items()}
    return data


#: The whole state as plain values: part -> field -> value, plus per-part ``_meta``.
Values = dict[str, dict[str, Any]]


def initial_values() -> Values:
    return {c.part: c.initial() for c in PARTS}


class State:
    """The param objects of one account, one attribute per part.

    Views watch these objects; only the store changes them.
    """

    account: Account
    positions: Positions
    risk: Risk
    runner: RunnerState
    market: Market
    signals: Signals
    monitors: Monitors
    orders: Orders
    reconcile: Reconciliation

    def __init__(self) -> None:
        self.parts: dict[str, StateObject] = {c.part: c() for c in PARTS}
        for name, obj in self.parts.items():
            setattr(self, name, obj)

    def load(self, values: Values, meta: dict[str, tuple[int, float | None]]) -> None:
        """Set every part from plain values (the store's restore step)."""
        with store_writes():
            for name, obj in self.parts.items():
                changed = {k: v for k, v in values[name].items() if getattr(obj, k) is not v}
                if changed:
                    obj.param.update(changed)
                obj.seq, obj.updated_at = meta.get(name, (0, None))

    def values(self) -> Values:
        return {name: obj.values() for name, obj in self.parts.items()}

    def meta(self) -> dict[str, tuple[int, float | None]]:
        return {name: (obj.seq, obj.updated_at) for name, obj in self.parts.items()}
