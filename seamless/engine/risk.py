"""Risk: pre-trade checks, the trading day, and the daily loss limit.

The limits are declared as a ``param.Parameterized`` so they document themselves and
can be shown and edited in the dashboard; the state they guard (trading state, breach,
day-start equity) lives in the store, so it survives restarts.
"""

from __future__ import annotations

import collections
import logging
import math
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

import param

from ..events import DailyLossBreached, DayStarted, LossLimitSet, OrderStatus, TradingState
from ..params.records import Order
from ..store import Store

log = logging.getLogger("seamless.engine.risk")


class RiskLimits(param.Parameterized):
    """The limits a trader sets; checked before every order and after every tick."""

    daily_loss_limit = param.Number(
        5_000.0,
        bounds=(0, None),
        inclusive_bounds=(False, True),
        doc="Largest loss allowed in one trading day (realized + unrealized)",
    )
    max_position = param.Number(1_000.0, bounds=(0, None), doc="Largest absolute position per symbol, in shares")
    max_order_qty = param.Number(500.0, bounds=(0, None), doc="Largest absolute quantity of one order")
    max_orders_per_minute = param.Integer(60, bounds=(1, None), doc="Orders sent in any 60 s window")
    exchange_tz = param.String("America/New_York", doc="Time zone whose midnight starts a trading day")
    auto_flatten = param.Boolean(False, doc="On a daily-loss breach, also close every position")


class RiskManager:
    """Pre-trade checks against the limits and the store's trading state."""

    def __init__(self, store: Store, limits: RiskLimits | None = None) -> None:
        self.store = store
        self.limits = limits or RiskLimits()
        self._tz = ZoneInfo(self.limits.exchange_tz)
        self._recent: collections.deque[float] = collections.deque()  # send times in the last minute
        self._day_cache: tuple[int, str] = (-1, "")

    def sync_limit(self) -> None:
        """Journal the configured loss limit if the store holds another one."""
        if self.store.state.risk.daily_loss_limit != self.limits.daily_loss_limit:
            self.store.commit(LossLimitSet(daily_loss_limit=self.limits.daily_loss_limit, by="config"))

    def check(self, symbol: str, qty: float, position_qty: float, now: float, *, flatten: bool = False) -> str | None:
        """Why this order may not be sent, or None. ``flatten`` orders (auto-flatten, a
        trader's close or flatten) pass a HALT, but only when they reduce the position."""
        risk = self.store.state.risk
        new_qty = position_qty + qty
        reduces = abs(new_qty) < abs(position_qty) and (new_qty == 0 or (new_qty > 0) == (position_qty > 0))
        if risk.trading_state == TradingState.HALTED and not (flatten and reduces):
            return f"trading is HALTED ({risk.state_reason or 'no reason given'})"
        if risk.trading_state == TradingState.REDUCING and not reduces:
            return f"trading is REDUCING: only orders that reduce a position are allowed ({risk.state_reason})"
        if abs(qty) > self.limits.max_order_qty and not flatten:
            return f"order size {abs(qty):g} exceeds max order size {self.limits.max_order_qty:g}"
        if abs(new_qty) > self.limits.max_position and not reduces:
            return f"position {symbol} would be {new_qty:g}, beyond max position {self.limits.max_position:g}"
        while self._recent and now - self._recent[0] >= 60.0:
            self._recent.popleft()
        if len(self._recent) >= self.limits.max_orders_per_minute and not flatten:
            return f"{len(self._recent)} orders in the last minute: max {self.limits.max_orders_per_minute} per minute"
        return None

    def record_sent(self, now: float) -> None:
        self._recent.append(now)

    def seed_window(self, orders: Iterable[Order]) -> None:
        """Refill the orders-per-minute window from the store after a restart, so that a
        runner restarted in a loop is held to the same rate as one that kept running."""
        self._recent = collections.deque(
            sorted(o.submitted_at for o in orders if o.status != OrderStatus.REFUSED and o.submitted_at is not None)
        )

    def trading_day(self, exchange_ts: float) -> str:
        """The exchange's calendar date at ``exchange_ts``, cached per 15 minutes (every
        zone's offset is a multiple of 15 minutes, so a day never changes inside one)."""
        bucket = int(exchange_ts // 900)
        if bucket != self._day_cache[0]:
            self._day_cache = (bucket, datetime.fromtimestamp(exchange_ts, self._tz).date().isoformat())
        return self._day_cache[1]

    def on_tick(self, exchange_ts: float) -> bool:
        """Start a new day when the exchange date changes; journal a breach of the daily loss
        limit once. Returns True when a breach was journaled now."""
        day = self.trading_day(exchange_ts)
        live = self.store.live  # once per tick: plain values, not param reads
        if day != live("account")["day"]:
            self.store.commit(DayStarted(day=day, exchange_ts=exchange_ts))
        risk = live("risk")
        limit = risk["daily_loss_limit"]
        if limit is None or risk["breach"] is not None:
            return False
        acct = live("account")
        loss = -(acct["daily_realized_pnl"] + acct["daily_unrealized_pnl"])
        if math.isfinite(loss) and loss >= limit:
            log.warning("daily loss %.2f breached limit %.2f: trading HALTED", loss, limit)
            self.store.commit(
                DailyLossBreached(
                    loss=loss, limit=limit, equity=acct["equity"], day=acct["day"], exchange_ts=exchange_ts
                )
            )
            return True
        return False
