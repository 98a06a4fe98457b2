"""The one interface every broker adapter implements: requests, reports, errors, ``Broker``.

A runner talks to a broker only through :class:`Broker`, so the paper venue and a real
remote broker are interchangeable.  The contract is shaped by what a remote broker can
and cannot promise:

- ``submit`` is idempotent by ``client_order_id``: a repeat never places a second order.
  That is what makes a lost response recoverable.
- When a submit's outcome is unknown (:class:`BrokerTimeout`, or any :class:`BrokerError`
  other than :class:`BrokerDisconnected` / :class:`BrokerRejected`), the runner asks
  ``order(client_order_id)``; it never resends blindly.
- Fill reports are pushed (``on_fill``) but pushes can be lost; ``fills_since(cursor)`` is
  the complete, ordered record a runner catches up from.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Self

from ..errors import SeamlessError

# The one symbol rule, shared with the events, so anything a broker accepts can be journaled.
from ..events.base import SYMBOL_PATTERN

OrderType = Literal["market", "limit"]
#: What a broker says of an order (the store adds SUBMITTING before and REFUSED for orders never sent).
BrokerOrderStatus = Literal["accepted", "partially_filled", "filled", "rejected", "cancelled"]
ORDER_TYPES: tuple[str, ...] = ("market", "limit")
OPEN_STATUSES: tuple[str, ...] = ("accepted", "partially_filled")


# -- errors --------------------------------------------------------------------------------


class BrokerError(SeamlessError):
    """The broker could not do what was asked.

    From ``submit``, a plain ``BrokerError`` leaves the outcome unknown: resolve it with
    ``order(client_order_id)``, as for :class:`BrokerTimeout`.
    """


class BrokerAuthError(SeamlessError):
    """The broker refused the account's credentials: retrying cannot help, so it is not a
    :class:`BrokerError` (an outage, retried) but stops what asked."""


class InvalidBrokerRequest(BrokerError, ValueError):
    """A malformed request or argument (bad symbol, NaN price, zero quantity...).

    Refused before it reaches the broker: nothing was placed or changed.
    """


class BrokerTimeout(BrokerError):
    """No response in time: the request may or may not have reached the broker."""


class BrokerDisconnected(BrokerError):
    """The connection is down: the request did not reach the broker; nothing was placed."""


class BrokerRejected(BrokerError):
    """The broker refused the request, for ``reason``.

    ``order`` is the broker's record of the refused order when there is one (a rejected
    submit is recorded, so ``order(client_order_id)`` finds it after a lost response).
    """

    def __init__(self, reason: str, order: BrokerOrder | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.order = order


# -- validation helpers (raise InvalidBrokerRequest naming the field) -------------------------


def check_symbol(value: object, what: str = "symbol") -> str:
    if not isinstance(value, str) or not SYMBOL_PATTERN.match(value):
        raise InvalidBrokerRequest(f"{what}={value!r}: must be an upper-case symbol such as 'AAPL'")
    return value


def check_finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidBrokerRequest(f"{what}={value!r}: must be a finite number")
    return float(value)


def check_price(value: object, what: str = "price") -> float:
    price = check_finite(value, what)
    if price <= 0:
        raise InvalidBrokerRequest(f"{what}={value!r}: must be > 0")
    return price


def check_qty(value: object, what: str = "qty") -> float:
    qty = check_finite(value, what)
    if qty == 0:
        raise InvalidBrokerRequest(f"{what}={value!r}: must not be zero (> 0 buys, < 0 sells)")
    return qty


# -- what goes to the broker and what comes back ---------------------------------------------


@dataclass(frozen=True)
class OrderRequest:
    """An order to place. ``qty`` is signed: > 0 buys, < 0 sells.

    Validated at construction (raises :class:`InvalidBrokerRequest`), so an adapter never
    sends a malformed request.
    """

    client_order_id: str
    symbol: str
    qty: float
    order_type: OrderType = "market"
    limit_price: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.client_order_id, str) or not self.client_order_id:
            raise InvalidBrokerRequest(f"client_order_id={self.client_order_id!r}: must be a non-empty string")
        check_symbol(self.symbol)
        check_qty(self.qty)
        if self.order_type not in ORDER_TYPES:
            raise InvalidBrokerRequest(f"order_type={self.order_type!r}: must be one of {', '.join(ORDER_TYPES)}")
        if self.order_type == "limit":
            check_price(self.limit_price, "limit_price")
        elif self.limit_price is not None:
            raise InvalidBrokerRequest(f"limit_price={self.limit_price!r}: a market order has no limit price")


@dataclass(frozen=True)
class BrokerOrder:
    """The broker's record of an order. ``avg_fill_price`` is 0.0 until something fills."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    qty: float
    filled_qty: float
    avg_fill_price: float
    status: BrokerOrderStatus
    reason: str = ""
    order_type: OrderType = "market"
    limit_price: float | None = None

    @property
    def is_open(self) -> bool:
        """Still working at the broker: it may fill more, or be cancelled."""
        return self.status in OPEN_STATUSES

    @property
    def remaining_qty(self) -> float:
        """Signed quantity still to fill (0 once the order is done)."""
        return self.qty - self.filled_qty if self.is_open else 0.0


@dataclass(frozen=True)
class BrokerPosition:
    """A position as the broker holds it: signed ``qty``, average entry price."""

    symbol: str
    qty: float
    avg_price: float


@dataclass(frozen=True)
class BrokerAccount:
    """Cash, and equity = cash + positions at their marks."""

    cash: float
    equity: float


@dataclass(frozen=True)
class BrokerFill:
    """One execution at the broker.

    ``client_order_id`` is "" for an out-of-band trade (made outside this runner, e.g. by
    hand in the broker's own app).  ``cursor`` is the broker-side sequence number: strictly
    increasing, the position to resume from with ``fills_since``.
    """

    trade_id: str
    client_order_id: str
    symbol: str
    qty: float
    price: float
    commission: float
    ts: float
    cursor: int


FillCallback = Callable[[BrokerFill], None]


# -- the interface -----------------------------------------------------------------------------


class Broker(abc.ABC):
    """A connection to one broker account. Safe to call from several threads."""

    @abc.abstractmethod
    def account(self) -> BrokerAccount:
        """The account's cash and equity, as the broker has them now."""

    @abc.abstractmethod
    def positions(self) -> dict[str, BrokerPosition]:
        """Open positions by symbol; flat ones are left out."""

    @abc.abstractmethod
    def open_orders(self) -> list[BrokerOrder]:
        """Orders still working (accepted or partially filled), oldest first."""

    @abc.abstractmethod
    def order(self, client_order_id: str) -> BrokerOrder | None:
        """The broker's record of this order, or None if the broker never received it.

        This is how an unknown submit outcome (a timeout) is resolved: ask, never resend.
        """

    @abc.abstractmethod
    def submit(self, req: OrderRequest) -> BrokerOrder:
        """Place an order; returns the broker's record of it.

        Idempotent by ``client_order_id``: submitting a known id returns the existing order
        and never places a second one (the same id with different contents is a
        :class:`BrokerError`).

        Raises :class:`BrokerRejected` if the broker refused the order (again on a repeat:
        the outcome of an id does not change), :class:`BrokerDisconnected` if the request
        never reached the broker, :class:`BrokerTimeout` if the response was lost (the order
        may exist: ask ``order``).
        """

    @abc.abstractmethod
    def cancel(self, client_order_id: str) -> BrokerOrder:
        """Cancel a working order; returns its record (filled quantity kept).

        Cancelling an already cancelled order returns it; cancelling one that is filled,
        rejected or unknown raises :class:`BrokerRejected`.
        """

    @abc.abstractmethod
    def fills_since(self, cursor: int) -> list[BrokerFill]:
        """Every fill with ``fill.cursor > cursor``, in cursor order (0 = from the start)."""

    @abc.abstractmethod
    def on_fill(self, callback: FillCallback) -> None:
        """Register ``callback`` for pushed fill reports.

        Pushes are best effort (a report can be lost; ``fills_since`` is complete) and may
        be delivered from the thread of the call that caused the fill, e.g. ``submit``.
        A callback that raises is logged; the others still get the report.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Disconnect. Idempotent; later calls raise :class:`BrokerDisconnected`."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
