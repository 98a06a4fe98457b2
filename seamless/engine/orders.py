"""The order manager: intent journaled before the broker is called, outcomes journaled after.

Every order goes: pre-trade check (a refusal is journaled with its reason) -> the
``order.submitting`` intent, durable before the broker hears of it -> ``broker.submit``
-> accepted / rejected; fills arrive pushed (``on_fill``) or pulled (``fills_since``) and
are journaled once each (the planner drops a trade id it has seen).

When the broker's answer is lost (timeout, disconnect), the order stays ``submitting``
and :meth:`OrderManager.resolve` asks the broker by client order id, re-sending only
what the broker never received (its ``submit`` is idempotent by client order id), with
backoff, and gives up with a journaled cancel after ``max_attempts``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..brokers import Broker, BrokerDisconnected, BrokerError, BrokerFill, BrokerOrder, BrokerRejected, OrderRequest
from ..errors import InvalidEvent
from ..events import (
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRefused,
    OrderRejected,
    OrderStatus,
    OrderSubmitting,
)
from ..params.records import Order
from ..store import Store
from .risk import RiskManager

log = logging.getLogger("seamless.engine.orders")


@dataclass
class _Pending:
    attempts: int
    next_try: float
    last_error: str


class OrderManager:
    """Sends orders for the runner and the trader's commands, and journals what happens."""

    def __init__(
        self,
        store: Store,
        broker: Broker,
        risk: RiskManager,
        *,
        max_attempts: int = 5,
        backoff_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.broker, self.risk = store, broker, risk
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.RLock()  # fills may be pushed from a broker thread
        broker.on_fill(self.on_fill)

    # -- sending ---------------------------------------------------------------------------

    def submit(
        self,
        symbol: str,
        qty: float,
        *,
        client_order_id: str,
        strategy: str = "",
        reason: str = "",
        flatten: bool = False,
        by: str = "runner",
        market_time: float | None = None,
        before_send: Callable[[], bool] | None = None,
    ) -> Order | None:
        """Check, journal the intent, send. Returns the order as the store holds it, or None
        when a pre-trade check refused it (the refusal is journaled).

        ``market_time`` (the tick's exchange time) is the clock of the orders-per-minute
        window, so a replay at 100x is held to the rate it would have live. ``before_send``
        runs once the checks pass, before the intent is journaled (the runner gives the paper
        venue its price there: a refused order needs none); False from it sends nothing."""
        with self._lock:
            pos = self.store.state.positions.by_symbol.get(symbol)
            if market_time is None:  # a command: the symbol's market time, else the wall clock
                quote = self.store.state.market.quotes.get(symbol)
                market_time = quote.exchange_ts if quote is not None and quote.exchange_ts else time.time()
            now = market_time
            refusal = self.risk.check(symbol, qty, pos.qty if pos else 0.0, now, flatten=flatten)
            if refusal:
                self.store.commit(
                    OrderRefused(
                        client_order_id=client_order_id,
                        symbol=symbol,
                        qty=qty,
                        reason=refusal,
                        strategy=strategy,
                        by=by,
                        exchange_ts=now,
                    )
                )
                return None
            if before_send is not None and not before_send():
                return None
            self.store.commit(
                OrderSubmitting(
                    client_order_id=client_order_id,
                    symbol=symbol,
                    qty=qty,
                    strategy=strategy,
                    reason=reason,
                    by=by,
                    exchange_ts=now,
                )
            )
            self.risk.record_sent(now)
            self._send(client_order_id, attempt=1)
            return self.store.state.orders.by_id.get(client_order_id)

    def _send(self, coid: str, attempt: int) -> None:
        order = self.store.state.orders.by_id[coid]
        req = OrderRequest(
            client_order_id=coid,
            symbol=order.symbol,
            qty=order.qty,
            order_type=order.order_type,
            limit_price=order.limit_price,
        )
        try:
            self._adopt(self.broker.submit(req))
        except BrokerRejected as e:
            self._journal_rejected(coid, e.reason)
        except BrokerError as e:  # timeout, disconnect, unknown: the broker decides, later
            kind = "not sent" if isinstance(e, BrokerDisconnected) else "outcome unknown"
            log.warning("order %s: %s (%s); will ask the broker", coid, kind, e)
            self._pending[coid] = _Pending(attempt, self._clock() + self.backoff_s * 2 ** (attempt - 1), str(e))

    def _adopt(self, bo: BrokerOrder) -> None:
        """Journal what the broker says of an order the store knows."""
        self._pending.pop(bo.client_order_id, None)  # the broker has answered
        order = self.store.state.orders.by_id.get(bo.client_order_id)
        if order is None or not order.is_open:
            return
        if bo.status == OrderStatus.REJECTED:
            self._journal_rejected(bo.client_order_id, bo.reason or "rejected by the broker")
            return
        if order.status == OrderStatus.SUBMITTING:
            self.store.commit(OrderAccepted(client_order_id=bo.client_order_id, broker_order_id=bo.broker_order_id))
        if bo.status == OrderStatus.CANCELLED:
            self.sync_fills()  # fills before the cancel first
            order = self.store.state.orders.by_id[bo.client_order_id]
            if order.is_open:
                self.store.commit(
                    OrderCancelled(client_order_id=bo.client_order_id, reason=bo.reason or "cancelled at the broker")
                )

    def _journal_rejected(self, coid: str, reason: str) -> None:
        self._pending.pop(coid, None)
        if self.store.state.orders.by_id[coid].is_open:
            self.store.commit(OrderRejected(client_order_id=coid, reason=reason))

    # -- resolving what the broker did not answer -----------------------------------------

    @property
    def pending(self) -> tuple[str, ...]:
        """Client order ids whose outcome is not known yet."""
        return tuple(self._pending)

    def resolve(self, force: bool = False) -> None:
        """Ask the broker about every order whose outcome is unknown (when its backoff is due)."""
        with self._lock:
            now = self._clock()
            for coid, p in list(self._pending.items()):
                if force or now >= p.next_try:
                    self._resolve_one(coid, p)

    def _resolve_one(self, coid: str, p: _Pending) -> None:
        order = self.store.state.orders.by_id.get(coid)
        if order is None or not order.is_open:  # settled meanwhile (a reconciliation): never send it
            self._pending.pop(coid, None)
            return
        try:
            bo = self.broker.order(coid)
        except BrokerError as e:
            self._retry_later(coid, p, str(e))
            return
        if bo is not None:
            self._adopt(bo)
            self.sync_fills()
        elif p.attempts >= self.max_attempts:
            self._pending.pop(coid, None)
            self.store.commit(
                OrderCancelled(client_order_id=coid, reason=f"not placed after {p.attempts} attempts: {p.last_error}")
            )
        else:  # the broker never got it: sending now cannot make a second order
            self._pending.pop(coid, None)
            self._send(coid, attempt=p.attempts + 1)

    def _retry_later(self, coid: str, p: _Pending, error: str) -> None:
        p.next_try = self._clock() + self.backoff_s * 2 ** min(p.attempts, 6)
        p.last_error = error

    def recover(self) -> None:
        """After a restart: settle every order the store holds open with the broker's word.

        An intent journaled but unknown to the broker never left: it is cancelled, not sent
        late (a restart may take minutes; a stale market order is not what was meant)."""
        with self._lock:
            self.sync_fills()
            for coid, order in list(self.store.state.orders.by_id.items()):
                if not order.is_open:
                    continue
                bo = self.broker.order(coid)
                if bo is not None:
                    self._adopt(bo)
                elif order.status == OrderStatus.SUBMITTING:
                    self.store.commit(
                        OrderCancelled(
                            client_order_id=coid,
                            reason="intent journaled but never reached the broker before a restart; not sent late",
                        )
                    )
                else:
                    self.store.commit(OrderCancelled(client_order_id=coid, reason="unknown to the broker"))
            self.sync_fills()

    # -- fills -----------------------------------------------------------------------------

    def on_fill(self, fill: BrokerFill) -> None:
        """A fill report pushed by the broker: journal it (once)."""
        with self._lock:
            self._journal_fill(fill)

    def sync_fills(self) -> int:
        """Pull every fill after the store's cursor (catches reports that were lost)."""
        with self._lock:
            n = 0
            for fill in self.broker.fills_since(self.store.state.orders.fill_cursor):
                n += self._journal_fill(fill)
            return n

    def _journal_fill(self, fill: BrokerFill) -> int:
        orders = self.store.state.orders
        if fill.trade_id in orders.trade_ids:
            return 0
        coid = fill.client_order_id if fill.client_order_id in orders.by_id else ""
        try:
            self.store.commit(
                OrderFilled(
                    trade_id=fill.trade_id,
                    client_order_id=coid,
                    symbol=fill.symbol,
                    qty=fill.qty,
                    price=fill.price,
                    commission=fill.commission,
                    cursor=fill.cursor,
                )
            )
        except InvalidEvent as e:  # a fill that contradicts its order: keep the position true
            log.error(
                "fill %s does not fit order %s (%s); journaled as an external fill",
                fill.trade_id,
                fill.client_order_id,
                e,
            )
            self.store.commit(
                OrderFilled(
                    trade_id=fill.trade_id,
                    client_order_id="",
                    symbol=fill.symbol,
                    qty=fill.qty,
                    price=fill.price,
                    commission=fill.commission,
                    cursor=fill.cursor,
                )
            )
        return 1
