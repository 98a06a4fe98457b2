"""What differs between the store and the broker: :class:`Finding` and :func:`compare`.

``compare`` only reads: the state of any :class:`~seamless.store.StateSource` (the
writing ``Store``, or a read-only ``Follower`` of another process's store) and the broker's
positions, cash, orders and fill record.  Each difference is one :class:`Finding`, in a deterministic order (by kind,
in :data:`KINDS` order, then by subject).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..brokers import Broker, BrokerFill, BrokerOrder, BrokerPosition
from ..events import OrderStatus
from ..params.records import Order, Position
from ..store import StateSource

#: Every kind of finding, in the order findings are reported.
KINDS: tuple[str, ...] = (
    "fill_missing_in_store",  # a broker fill (after the store's cursor) the store never applied
    "position_missing_in_store",  # the broker holds a position the store does not
    "position_missing_at_broker",  # the store holds a position the broker does not
    "qty_differs",
    "avg_price_differs",
    "cash_differs",
    "order_unknown_to_store",  # an open broker order the store lacks
    "order_unknown_to_broker",  # an open store order the broker never received
    "order_status_differs",  # both know the order, but one holds it open and the other not
)


@dataclass(frozen=True)
class Finding:
    """One difference. ``size`` is its magnitude in money (|qty| * price, or the cash
    difference), compared with the policy's ``size_threshold``."""

    kind: str
    subject: str  # symbol, client order id, "cash" or trade id
    store_value: str
    broker_value: str
    size: float

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the same mismatch across runs."""
        return (self.kind, self.subject)

    def to_dict(self) -> dict:
        return asdict(self)


def _num(x: float | None) -> str:
    return "none" if x is None else f"{x:.10g}"


def _pos_text(qty: float, avg: float) -> str:
    return f"qty {_num(qty)} avg {_num(avg)}"


def _order_text(symbol: str, qty: float, filled: float, status: str, order_type: str, limit_price: float | None) -> str:
    text = f"{symbol} {_num(qty)} {order_type}"
    if limit_price is not None:
        text += f" @ {_num(limit_price)}"
    return f"{text} filled {_num(filled)} {status}"


def store_order_text(o: Order) -> str:
    return _order_text(o.symbol, o.qty, o.filled_qty, o.status, o.order_type, o.limit_price)


def broker_order_text(o: BrokerOrder) -> str:
    return _order_text(o.symbol, o.qty, o.filled_qty, o.status, o.order_type, o.limit_price)


def fill_text(f: BrokerFill) -> str:
    return (
        f"{f.symbol} {_num(f.qty)} @ {_num(f.price)} commission {_num(f.commission)} "
        f"(order {f.client_order_id or 'external'}, cursor {f.cursor})"
    )


def missing_fills(store: StateSource, broker: Broker) -> list[BrokerFill]:
    """Broker fills after the store's cursor whose trade id the store has not applied."""
    orders = store.state.orders
    return [f for f in broker.fills_since(orders.fill_cursor) if f.trade_id not in orders.trade_ids]


def _same_qty(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def _same_price(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol * max(abs(a), abs(b), 1e-12)


def compare(
    store: StateSource,
    broker: Broker,
    *,
    price_tolerance: float = 1e-6,
    cash_tolerance: float = 0.01,
    qty_tolerance: float = 1e-9,
) -> list[Finding]:
    """Every difference between the store and the broker, deterministically ordered.

    ``price_tolerance`` is relative, ``cash_tolerance`` absolute money, ``qty_tolerance``
    relative to the quantities (absolute below one share).  A store position whose qty is
    within ``qty_tolerance`` of zero counts as flat (the broker leaves flat ones out).
    """
    found: list[Finding] = []
    quotes = store.state.market.quotes

    def price_of(symbol: str, *candidates: float | None) -> float:
        q = quotes.get(symbol)
        if q is not None:
            return q.last
        return next((c for c in candidates if c), 0.0)

    # -- fills ------------------------------------------------------------------------------
    for f in missing_fills(store, broker):
        found.append(Finding("fill_missing_in_store", f.trade_id, "absent", fill_text(f), abs(f.qty) * f.price))

    # -- positions --------------------------------------------------------------------------
    s_pos: dict[str, Position] = {
        s: p for s, p in store.state.positions.by_symbol.items() if not _same_qty(p.qty, 0.0, qty_tolerance)
    }
    b_pos: dict[str, BrokerPosition] = broker.positions()
    for sym in sorted(set(s_pos) | set(b_pos)):
        sp, bp = s_pos.get(sym), b_pos.get(sym)
        if sp is None:
            assert bp is not None  # sym is in one of the two
            found.append(
                Finding(
                    "position_missing_in_store",
                    sym,
                    "flat",
                    _pos_text(bp.qty, bp.avg_price),
                    abs(bp.qty) * price_of(sym, bp.avg_price),
                )
            )
        elif bp is None:
            found.append(
                Finding(
                    "position_missing_at_broker",
                    sym,
                    _pos_text(sp.qty, sp.avg_price),
                    "flat",
                    abs(sp.qty) * price_of(sym, sp.mark, sp.avg_price),
                )
            )
        elif not _same_qty(sp.qty, bp.qty, qty_tolerance):
            found.append(
                Finding(
                    "qty_differs",
                    sym,
                    _pos_text(sp.qty, sp.avg_price),
                    _pos_text(bp.qty, bp.avg_price),
                    abs(sp.qty - bp.qty) * price_of(sym, bp.avg_price, sp.avg_price),
                )
            )
        elif not _same_price(sp.avg_price, bp.avg_price, price_tolerance):
            found.append(
                Finding(
                    "avg_price_differs",
                    sym,
                    _pos_text(sp.qty, sp.avg_price),
                    _pos_text(bp.qty, bp.avg_price),
                    abs(bp.qty * (sp.avg_price - bp.avg_price)),
                )
            )

    # -- cash -------------------------------------------------------------------------------
    s_cash, b_cash = store.state.account.cash, broker.account().cash
    if abs(s_cash - b_cash) > cash_tolerance:
        found.append(Finding("cash_differs", "cash", _num(s_cash), _num(b_cash), abs(s_cash - b_cash)))

    # -- orders -----------------------------------------------------------------------------
    by_id = store.state.orders.by_id
    b_open = {o.client_order_id: o for o in broker.open_orders()}
    bo: BrokerOrder | None
    for coid, bo in b_open.items():
        so = by_id.get(coid)
        size = abs(bo.remaining_qty) * (bo.limit_price or price_of(bo.symbol))
        if so is None:
            found.append(Finding("order_unknown_to_store", coid, "absent", broker_order_text(bo), size))
        elif not so.is_open:
            found.append(Finding("order_status_differs", coid, store_order_text(so), broker_order_text(bo), size))
    for coid, so in by_id.items():
        if not so.is_open or coid in b_open:
            continue
        bo = broker.order(coid)
        size = abs(so.qty - so.filled_qty) * (so.limit_price or price_of(so.symbol))
        if bo is None:
            found.append(Finding("order_unknown_to_broker", coid, store_order_text(so), "absent", size))
        else:  # the broker closed it (filled, cancelled, rejected); the store holds it open
            found.append(Finding("order_status_differs", coid, store_order_text(so), broker_order_text(bo), size))
    for coid, so in by_id.items():  # intent journaled, the broker's acceptance never journaled
        bo = b_open.get(coid)
        if bo is not None and so.status == OrderStatus.SUBMITTING:
            found.append(Finding("order_status_differs", coid, store_order_text(so), broker_order_text(bo), 0.0))

    rank = {k: i for i, k in enumerate(KINDS)}
    # Fills stay in the broker's cursor order (found first, stable); the rest by subject.
    return sorted(found, key=lambda f: (rank[f.kind], "" if f.kind == "fill_missing_in_store" else f.subject))
