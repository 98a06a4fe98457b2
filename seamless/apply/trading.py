"""Orders, fills, positions and the account figures that follow from them."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..errors import InvalidEvent
from ..events import (
    CashSet,
    DayStarted,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRefused,
    OrderRejected,
    OrderStatus,
    OrderSubmitting,
    PositionAdjusted,
    PositionClosed,
)
from ..events.base import Event
from ..params.records import Fill, Order, Position
from ..params.state import RECENT_FILLS, RECENT_ORDERS, Values
from .projection import Changes, planner


def account_figures(values: Values, cash: float, positions: dict[str, Position]) -> dict[str, float]:
    """Equity and daily P&L for this cash and these positions."""
    acct = values["account"]
    equity = cash + sum(p.qty * (p.mark if p.mark is not None else p.avg_price) for p in positions.values())
    return {
        "cash": cash,
        "equity": equity,
        "daily_unrealized_pnl": equity - acct["day_start_equity"] - acct["daily_realized_pnl"],
    }


def _prune(orders: dict[str, Order]) -> dict[str, Order]:
    """Keep every open order and the last RECENT_ORDERS closed ones (by submission order);
    pruned in steps of a quarter so the scan is paid rarely."""
    if len(orders) <= RECENT_ORDERS + RECENT_ORDERS // 4:
        return orders  # fewer orders than that, so fewer closed ones: the scan would keep them all
    closed = [k for k, o in orders.items() if not o.is_open]
    if len(closed) <= RECENT_ORDERS + RECENT_ORDERS // 4:
        return orders
    drop = set(closed[: len(closed) - RECENT_ORDERS])
    return {k: o for k, o in orders.items() if k not in drop}


def _order(values: Values, coid: str, ev: Event) -> Order:
    order: Order | None = values["orders"]["by_id"].get(coid)
    if order is None:
        raise InvalidEvent(f"{type(ev).__name__}: unknown client order id {coid!r}")
    return order


def _set_order(values: Values, order: Order) -> Changes:
    by_id = values["orders"]["by_id"].with_item(order.client_order_id, order)
    return {"orders": {"by_id": by_id if order.is_open else _prune(by_id)}}


def _new_order(values: Values, ev: OrderSubmitting | OrderRefused, **fields: Any) -> Changes:
    """A new order record; a client order id is used once (a second use is refused)."""
    if ev.client_order_id in values["orders"]["by_id"]:
        raise InvalidEvent(f"{ev.type}: client order id {ev.client_order_id!r} was already used")
    if TYPE_CHECKING:  # planned events are stamped (seq, ts set): see projection.plan
        assert ev.seq is not None and ev.ts is not None
    return _set_order(
        values,
        Order(
            seq=ev.seq,
            updated_at=ev.ts,
            client_order_id=ev.client_order_id,
            symbol=ev.symbol,
            qty=ev.qty,
            strategy=ev.strategy,
            reason=ev.reason,
            submitted_at=ev.exchange_ts if ev.exchange_ts is not None else ev.ts,
            **fields,
        ),
    )


@planner(OrderSubmitting)
def _submitting(values: Values, ev: OrderSubmitting) -> Changes:
    return _new_order(values, ev, order_type=ev.order_type, limit_price=ev.limit_price)


@planner(OrderRefused)
def _refused(values: Values, ev: OrderRefused) -> Changes:
    return _new_order(values, ev, status=OrderStatus.REFUSED)


@planner(OrderAccepted)
def _accepted(values: Values, ev: OrderAccepted) -> Changes:
    order = _order(values, ev.client_order_id, ev)
    status = order.status if order.status == OrderStatus.PARTIALLY_FILLED or not order.is_open else OrderStatus.ACCEPTED
    if TYPE_CHECKING:  # planned events are stamped (seq, ts set): see projection.plan
        assert ev.seq is not None and ev.ts is not None
    return _set_order(
        values,
        replace(
            order,
            seq=ev.seq,
            updated_at=ev.ts,
            status=status,
            broker_order_id=ev.broker_order_id or order.broker_order_id,
        ),
    )


@planner(OrderRejected, OrderCancelled)
def _closed(values: Values, ev: OrderRejected | OrderCancelled) -> Changes:
    order = _order(values, ev.client_order_id, ev)
    if not order.is_open:
        raise InvalidEvent(f"{type(ev).__name__}: order {ev.client_order_id!r} is already {order.status}")
    status = OrderStatus.REJECTED if isinstance(ev, OrderRejected) else OrderStatus.CANCELLED
    if TYPE_CHECKING:  # planned events are stamped (seq, ts set): see projection.plan
        assert ev.seq is not None and ev.ts is not None
    return _set_order(values, replace(order, seq=ev.seq, updated_at=ev.ts, status=status, reason=ev.reason))


def fill_position(pos: Position, qty: float, price: float, commission: float) -> tuple[Position, float]:
    """The position after a fill, and the P&L it realized (net of commission)."""
    q, avg = pos.qty, pos.avg_price
    realized = -commission
    if q == 0 or (q > 0) == (qty > 0):  # opening or adding
        new_q = q + qty
        new_avg = (q * avg + qty * price) / new_q
    else:  # reducing, maybe through zero
        closed = min(abs(qty), abs(q))
        realized += closed * (price - avg) * (1 if q > 0 else -1)
        new_q = q + qty
        if new_q == 0:
            new_avg = 0.0
        elif (new_q > 0) == (q > 0):
            new_avg = avg
        else:
            new_avg = price
    return replace(pos, qty=new_q, avg_price=new_avg, realized_pnl=pos.realized_pnl + realized), realized


def opened_at(current: float | None, before: float, after: float, ts: float | None) -> float | None:
    """When the position opened: the event ts when it goes from flat to non-flat (a flip
    through zero opens a new position too), None once flat, else unchanged."""
    if after == 0:
        return None
    if before == 0 or (before > 0) != (after > 0):
        return ts
    return current


def _advance_cursor(watermark: int, ahead: frozenset[int], cursor: int | None) -> dict[str, Any]:
    """Keep ``fill_cursor`` at the last cursor below which no fill is missing: a fill whose
    report was lost leaves a gap, and catching up from the watermark fetches it."""
    if cursor is None or cursor <= watermark:
        return {}
    if cursor > watermark + 1:
        return {"fills_ahead": ahead | {cursor}}
    watermark = cursor
    while watermark + 1 in ahead:
        watermark += 1
    return {"fill_cursor": watermark, "fills_ahead": frozenset(c for c in ahead if c > watermark)}


@planner(OrderFilled)
def _filled(values: Values, ev: OrderFilled) -> Changes:
    orders = values["orders"]
    if ev.trade_id in orders["trade_ids"]:
        return {}  # the broker reported this trade before: journaled, applied once
    if TYPE_CHECKING:  # planned events are stamped (seq, ts set): see projection.plan
        assert ev.seq is not None and ev.ts is not None
    changes: Changes = {
        "orders": {
            **_advance_cursor(orders["fill_cursor"], orders["fills_ahead"], ev.cursor),
            "trade_ids": orders["trade_ids"].add(ev.trade_id),
            "fills": (
                orders["fills"]
                + (
                    Fill(
                        seq=ev.seq,
                        updated_at=ev.ts,
                        trade_id=ev.trade_id,
                        client_order_id=ev.client_order_id,
                        symbol=ev.symbol,
                        qty=ev.qty,
                        price=ev.price,
                        commission=ev.commission,
                    ),
                )
            )[-RECENT_FILLS:],
        }
    }
    order = orders["by_id"].get(ev.client_order_id) if ev.client_order_id else None
    if order is not None:
        if order.symbol != ev.symbol:
            raise InvalidEvent(
                f"OrderFilled {ev.trade_id}: symbol {ev.symbol} but order {order.client_order_id} is for {order.symbol}"
            )
        if (ev.qty > 0) != (order.qty > 0):
            raise InvalidEvent(
                f"OrderFilled {ev.trade_id}: qty {ev.qty} is on the other side of order "
                f"{order.client_order_id} (qty {order.qty})"
            )
        filled = order.filled_qty + ev.qty
        avg = (
            ev.price
            if not order.avg_fill_price
            else ((order.filled_qty * order.avg_fill_price + ev.qty * ev.price) / filled)
        )
        status = OrderStatus.FILLED if abs(filled) >= abs(order.qty) - 1e-12 else OrderStatus.PARTIALLY_FILLED
        changes["orders"]["by_id"] = _set_order(
            values, replace(order, seq=ev.seq, updated_at=ev.ts, filled_qty=filled, avg_fill_price=avg, status=status)
        )["orders"]["by_id"]

    by_symbol = values["positions"]["by_symbol"]
    pos = by_symbol.get(ev.symbol) or Position(seq=ev.seq, updated_at=ev.ts, symbol=ev.symbol)
    quote = values["market"]["quotes"].get(ev.symbol)
    before = pos.qty
    pos, realized = fill_position(pos, ev.qty, ev.price, ev.commission)
    pos = replace(
        pos,
        seq=ev.seq,
        updated_at=ev.ts,
        mark=quote.last if quote else ev.price,
        opened_at=opened_at(pos.opened_at, before, pos.qty, ev.ts),
    )
    positions = by_symbol.with_item(ev.symbol, pos)
    changes["positions"] = {"by_symbol": positions}
    acct = values["account"]
    daily_realized = acct["daily_realized_pnl"] + realized
    changes["account"] = {
        "daily_realized_pnl": daily_realized,
        **account_figures(
            {"account": {**acct, "daily_realized_pnl": daily_realized}},
            acct["cash"] - ev.qty * ev.price - ev.commission,
            positions,
        ),
    }
    return changes


@planner(PositionClosed)
def _position_closed(values: Values, ev: PositionClosed) -> Changes:
    pos = values["positions"]["by_symbol"].get(ev.symbol)
    if pos is None:
        raise InvalidEvent(f"PositionClosed: no position in {ev.symbol}")
    if pos.qty != 0:
        raise InvalidEvent(f"PositionClosed: {ev.symbol} still holds {pos.qty}; only a flat position closes")
    return {"positions": {"by_symbol": {k: p for k, p in values["positions"]["by_symbol"].items() if k != ev.symbol}}}


@planner(PositionAdjusted)
def _position_adjusted(values: Values, ev: PositionAdjusted) -> Changes:
    by_symbol = values["positions"]["by_symbol"]
    old = by_symbol.get(ev.symbol)
    quote = values["market"]["quotes"].get(ev.symbol)
    if TYPE_CHECKING:  # planned events are stamped (seq, ts set): see projection.plan
        assert ev.seq is not None and ev.ts is not None
    pos = Position(
        seq=ev.seq,
        updated_at=ev.ts,
        symbol=ev.symbol,
        qty=ev.qty,
        avg_price=ev.avg_price if ev.qty else 0.0,
        realized_pnl=old.realized_pnl if old else 0.0,
        mark=quote.last if quote else (old.mark if old else None),
        opened_at=opened_at(old.opened_at if old else None, old.qty if old else 0.0, ev.qty, ev.ts),
    )
    positions = by_symbol.with_item(ev.symbol, pos)
    return {
        "positions": {"by_symbol": positions},
        "account": account_figures(values, values["account"]["cash"], positions),
    }


@planner(CashSet)
def _cash_set(values: Values, ev: CashSet) -> Changes:
    return {"account": account_figures(values, ev.cash, values["positions"]["by_symbol"])}


@planner(DayStarted)
def _day_started(values: Values, ev: DayStarted) -> Changes:
    equity = values["account"]["equity"]
    return {
        "account": {"day": ev.day, "day_start_equity": equity, "daily_realized_pnl": 0.0, "daily_unrealized_pnl": 0.0}
    }
