"""``AlpacaBroker``: an Alpaca account behind the :class:`~seamless.brokers.Broker` interface.

Orders carry the runner's client order id, which Alpaca keeps unique per account: a submit
repeated after a lost answer is refused ("client_order_id must be unique") and answered
here with the order already placed, so nothing is ever placed twice.

Fills are the account's FILL activities (``/v2/account/activities/FILL``), read in
ascending order and paged by ``page_token``; a fill's cursor is its place in that list
(1, 2, 3...) and its trade id the activity's id, whichever path brings it: the
``trade_updates`` stream only says *when* to read new activities (a fill, a reconnection),
so a duplicated, reordered or missed update changes nothing, and a fill made while
disconnected is read like any other.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from alpaca.trading.models import Order, Position, TradeAccount, TradeActivity, TradeUpdate

from ..base import (
    Broker,
    BrokerAccount,
    BrokerDisconnected,
    BrokerError,
    BrokerFill,
    BrokerOrder,
    BrokerOrderStatus,
    BrokerPosition,
    BrokerRejected,
    BrokerTimeout,
    FillCallback,
    InvalidBrokerRequest,
    OrderRequest,
)
from .rest import AlpacaRest, ApiError, NotFound, ServerError
from .stream import TradeUpdates

log = logging.getLogger("seamless.brokers.alpaca")

PAGE_SIZE = 100  # Alpaca's largest page of activities
#: Alpaca's order statuses, as the interface's. Working ones are "accepted"; an order that
#: can no longer fill is "cancelled" (its reason says which: expired, replaced...).
STATUS: dict[str, BrokerOrderStatus] = {
    "new": "accepted",
    "accepted": "accepted",
    "pending_new": "accepted",
    "accepted_for_bidding": "accepted",
    "held": "accepted",
    "calculated": "accepted",
    "pending_cancel": "accepted",
    "pending_replace": "accepted",
    "done_for_day": "accepted",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "cancelled",
    "expired": "cancelled",
    "replaced": "cancelled",
    "stopped": "cancelled",
    "rejected": "rejected",
    "suspended": "rejected",
}


@dataclass(frozen=True)
class AlpacaEndpoints:
    """Where the trading API and its stream are."""

    trading: str
    stream: str

    @classmethod
    def of(cls, *, paper: bool, loopback: str | None = None) -> AlpacaEndpoints:
        """Alpaca's paper or live hosts; ``loopback``: one base URL serving both (a loopback Alpaca)."""
        if loopback:
            base = loopback.rstrip("/")
            return cls(base, "ws" + base.removeprefix("http") + "/stream")
        host = "paper-api.alpaca.markets" if paper else "api.alpaca.markets"
        return cls(f"https://{host}", f"wss://{host}/stream")


class AlpacaBroker(Broker):
    """The Alpaca account of ``key_id``/``secret_key`` at ``endpoints``.

    ``stream``: listen to trade updates for pushed fills (off for read-only commands).
    """

    def __init__(
        self,
        key_id: str,
        secret_key: str,
        endpoints: AlpacaEndpoints | None = None,
        *,
        stream: bool = True,
        rest: AlpacaRest | None = None,
    ) -> None:
        if not key_id or not secret_key:
            raise BrokerError("Alpaca needs APCA_API_KEY_ID and APCA_API_SECRET_KEY")
        self.endpoints = endpoints or AlpacaEndpoints.of(paper=True)
        self.rest = rest or AlpacaRest(self.endpoints.trading, key_id, secret_key)
        self._callbacks: list[FillCallback] = []
        self._fills: list[BrokerFill] = []  # the account's fills, in activity order: cursor = index + 1
        self._last_id: str | None = None
        self._coids: dict[str, str] = {}  # Alpaca order id -> client order id (activities carry the former)
        self._index = threading.Lock()
        self._pushing = threading.Lock()  # one pusher at a time: reports go out in cursor order
        self._pushed: int | None = None  # fills pushed so far (those before this connection are history)
        self._closed = False
        try:
            self._catch_up()
            self._pushed = len(self._fills)
        except BrokerError as e:  # unreachable now: the runner starts, and retries, regardless
            log.warning("Alpaca: cannot read the account's fills yet: %s", e)
        self.stream: TradeUpdates | None = None
        if stream:
            self.stream = TradeUpdates(
                self.endpoints.stream, key_id, secret_key, self._on_update, self._push_new
            ).start()

    # -- reading -------------------------------------------------------------------------------

    def account(self) -> BrokerAccount:
        a = TradeAccount(**self._get("/v2/account"))
        return BrokerAccount(cash=float(a.cash or 0), equity=float(a.equity or 0))

    def positions(self) -> dict[str, BrokerPosition]:
        out = {}
        for raw in self._get("/v2/positions"):
            p = Position(**raw)
            qty = float(p.qty)
            if qty:
                out[p.symbol] = BrokerPosition(symbol=p.symbol, qty=qty, avg_price=float(p.avg_entry_price))
        return out

    def open_orders(self) -> list[BrokerOrder]:
        raw = self._get("/v2/orders", {"status": "open", "direction": "asc", "limit": 500})
        return [to_broker_order(Order(**o)) for o in raw]

    def order(self, client_order_id: str) -> BrokerOrder | None:
        try:
            raw = self._get("/v2/orders:by_client_order_id", {"client_order_id": client_order_id})
        except NotFound:
            return None
        o = Order(**raw)
        self._coids[str(o.id)] = o.client_order_id
        return to_broker_order(o)

    def fills_since(self, cursor: int) -> list[BrokerFill]:
        if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
            raise InvalidBrokerRequest(f"cursor={cursor!r}: must be an integer >= 0")
        self._catch_up()
        with self._index:
            return self._fills[cursor:]

    # -- trading -------------------------------------------------------------------------------

    def submit(self, req: OrderRequest) -> BrokerOrder:
        if not isinstance(req, OrderRequest):
            raise InvalidBrokerRequest(f"submit takes an OrderRequest, not {type(req).__name__}")
        self._check_open()
        body: dict[str, Any] = {
            "symbol": req.symbol,
            "qty": _num(abs(req.qty)),
            "side": "buy" if req.qty > 0 else "sell",
            "type": req.order_type,
            "time_in_force": "day",
            "client_order_id": req.client_order_id,
        }
        if req.order_type == "limit":
            body["limit_price"] = _num(req.limit_price)
        try:
            order = Order(**self.rest.call("POST", "/v2/orders", body=body))
            self._coids[str(order.id)] = order.client_order_id
            bo = to_broker_order(order)
        except ApiError as e:
            if "client_order_id must be unique" not in e.message:
                raise BrokerRejected(f"Alpaca refused the order: {e.message}") from None
            found = self.order(req.client_order_id)  # sent before (its answer lost): that one
            if found is None:
                raise BrokerError(f"Alpaca says {req.client_order_id!r} is used, but has no such order") from None
            bo = found
        except ServerError as e:
            raise BrokerTimeout(f"{e}; the order may have been placed: ask order({req.client_order_id!r})") from None
        if not _same_order(bo, req):
            raise BrokerError(
                f"client_order_id {req.client_order_id!r} is already used by a different order "
                f"({bo.symbol} {bo.qty:g} {bo.order_type}); nothing was placed"
            )
        if bo.status == "rejected":
            raise BrokerRejected(bo.reason or "rejected by Alpaca", bo)
        return bo

    def cancel(self, client_order_id: str) -> BrokerOrder:
        order = self.order(client_order_id)
        if order is None:
            raise BrokerRejected(f"unknown order {client_order_id!r}: nothing to cancel")
        if order.status == "cancelled":
            return order
        if not order.is_open:
            raise BrokerRejected(f"order {client_order_id!r} is already {order.status}; nothing to cancel", order)
        try:
            self.rest.call("DELETE", f"/v2/orders/{order.broker_order_id}")
        except ApiError as e:  # filled meanwhile, most likely: say what it is now
            now = self.order(client_order_id)
            raise BrokerRejected(f"Alpaca did not cancel {client_order_id!r}: {e.message}", now) from None
        after = self.order(client_order_id)
        assert after is not None  # it was found above; Alpaca keeps orders
        return after

    def on_fill(self, callback: FillCallback) -> None:
        self._callbacks.append(callback)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.stream is not None:
            self.stream.close()
        self.rest.close()

    # -- fills ---------------------------------------------------------------------------------

    def _on_update(self, update: TradeUpdate) -> None:
        if update.order.client_order_id and update.order.id:
            self._coids[str(update.order.id)] = update.order.client_order_id
        if getattr(update.event, "value", update.event) in ("fill", "partial_fill"):
            self._push_new()

    def _push_new(self) -> None:
        """Read new FILL activities and push every fill not pushed yet (whoever read it
        first), in cursor order."""
        if self._closed:
            return
        self._catch_up()
        with self._pushing:
            with self._index:
                if self._pushed is None:
                    self._pushed = len(self._fills)
                todo, self._pushed = self._fills[self._pushed :], len(self._fills)
            self._deliver(todo)

    def _deliver(self, fills: list[BrokerFill]) -> None:
        for fill in fills:
            for cb in list(self._callbacks):
                try:
                    cb(fill)
                except Exception:
                    log.exception("fill callback failed for %s", fill.trade_id)

    def _catch_up(self) -> list[BrokerFill]:
        """Append the FILL activities after the last one read; returns them."""
        with self._index:
            new: list[BrokerFill] = []
            while True:
                params: dict[str, Any] = {"direction": "asc", "page_size": PAGE_SIZE}
                if self._last_id is not None:
                    params["page_token"] = self._last_id
                page = self._get("/v2/account/activities/FILL", params)
                for raw in page:
                    a = TradeActivity(**raw)
                    fill = BrokerFill(
                        trade_id=a.id,
                        client_order_id=self._coid(str(a.order_id)),
                        symbol=a.symbol,
                        qty=float(a.qty) * (1 if str(getattr(a.side, "value", a.side)) == "buy" else -1),
                        price=float(a.price),
                        commission=0.0,  # Alpaca charges no commission on US equities
                        ts=a.transaction_time.timestamp(),
                        cursor=len(self._fills) + 1,
                    )
                    self._fills.append(fill)
                    self._last_id = a.id
                    new.append(fill)
                if len(page) < PAGE_SIZE:
                    return new

    def _coid(self, order_id: str) -> str:
        coid = self._coids.get(order_id)
        if coid is None:
            coid = Order(**self._get(f"/v2/orders/{order_id}")).client_order_id
            self._coids[order_id] = coid
        return coid

    # -- plumbing ------------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        self._check_open()
        return self.rest.get(path, params)

    def _check_open(self) -> None:
        if self._closed:
            raise BrokerDisconnected("Alpaca broker is closed")


def to_broker_order(o: Order) -> BrokerOrder:
    """alpaca-py's order as the interface's (signed quantities, our status names)."""
    side = 1.0 if str(getattr(o.side, "value", o.side)) == "buy" else -1.0
    status_text = str(getattr(o.status, "value", o.status))
    status = STATUS.get(status_text, "accepted")
    kind = str(getattr(o.order_type or o.type, "value", o.order_type or o.type))
    return BrokerOrder(
        client_order_id=o.client_order_id,
        broker_order_id=str(o.id),
        symbol=o.symbol or "",
        qty=side * float(o.qty or 0),
        filled_qty=side * float(o.filled_qty or 0),
        avg_fill_price=float(o.filled_avg_price or 0),
        status=status,
        reason="" if status_text in ("new", "accepted", "partially_filled", "filled") else status_text,
        order_type="limit" if kind == "limit" else "market",
        limit_price=float(o.limit_price) if o.limit_price is not None else None,
    )


def _same_order(order: BrokerOrder, req: OrderRequest) -> bool:
    return (order.symbol, order.qty, order.order_type, order.limit_price) == (
        req.symbol,
        req.qty,
        req.order_type,
        req.limit_price,
    )


def _num(x: float | None) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")
