"""``PaperBroker``: a simulated venue whose truth lives in its own SQLite file.

Because the venue is a file (see :mod:`.paperdb`), a runner and another process (the CLI,
"a person trading by hand in the broker's app") can trade at the same broker at once,
and every read sees the other's trades immediately.  Settings passed to the constructor
(latency, slippage, commissions, partial fills) belong to this connection, not the file.

Execution model:

- ``mark(symbol, price)`` records the latest price; the runner forwards its quotes.
- A market order fills at the mark ± slippage (buys pay up, sells receive less); with no
  mark it is rejected.  With ``partial_fills`` it fills half at submit and the rest at the
  next ``mark`` of its symbol.
- A limit order fills, whole, when the mark touches or crosses its limit (checked at submit
  and at every ``mark``), at the slipped mark but never worse than the limit.
- Commission per fill: ``max(min_commission, commission_per_share * |qty|)``.
- Sanity limits, as a real venue has them (each refusal is a rejected order, or a
  ``BrokerRejected`` from ``trade``, with its reason): an order's notional (|qty| times
  its price: the limit, or the mark) at most ``max_order_notional``; a limit price (or a
  ``trade`` price) within ``price_band`` (a fraction) of the last mark, when there is one;
  and a buy may not take cash below ``-margin`` (0: a cash account), counting what the
  working buy orders already hold. A working order is checked when placed, not when it
  fills: a market order's second half, filled at a later mark, may cost a little more.
- Faults armed with ``inject`` are stored in the file, so a test or another process can arm
  them for the runner's connection.
- Fill reports are pushed to this connection's ``on_fill`` callbacks after each of its
  mutating calls (submit, cancel, mark, trade), for every fill since the last push, whoever
  made it: a fill made by another process is pushed at this connection's next call.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .base import (
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
    check_finite,
    check_price,
    check_qty,
    check_symbol,
)
from .paperdb import PaperDatabase

log = logging.getLogger("seamless.brokers.paper")

#: What ``inject`` can arm.  reject/timeout/disconnect act on submits, drop_fill on fills.
FAULT_KINDS: tuple[str, ...] = ("reject", "timeout", "disconnect", "drop_fill")

_ORDER_COLUMNS = (
    "client_order_id, 'P' || seq AS broker_order_id, symbol, qty, filled_qty, "
    "avg_fill_price, status, reason, order_type, limit_price"
)
_FILL_COLUMNS = "trade_id, client_order_id, symbol, qty, price, commission, ts, cursor"
_FILLS_AFTER = f"SELECT {_FILL_COLUMNS}, report_dropped FROM fills WHERE cursor > ? ORDER BY cursor"
#: The sanity limits' defaults: a PaperBroker's, and the settings' (``SEAMLESS_BROKER_*``).
DEFAULT_MAX_ORDER_NOTIONAL = 1_000_000.0
DEFAULT_PRICE_BAND = 0.10
DEFAULT_MARGIN = 0.0
# A quantity this small relative to the order or position is float residue, not shares.
_REL_EPS = 1e-9


def net_position(qty: float, avg_price: float, fill_qty: float, price: float) -> tuple[float, float]:
    """The (qty, avg_price) of a position after a fill; (0.0, 0.0) when it ends flat."""
    new_qty = qty + fill_qty
    if abs(new_qty) <= _REL_EPS * max(abs(qty), abs(fill_qty)):
        return 0.0, 0.0
    if qty == 0 or (qty > 0) == (fill_qty > 0):  # opening or adding: weighted entry price
        return new_qty, (qty * avg_price + fill_qty * price) / new_qty
    if (new_qty > 0) == (qty > 0):  # reducing: what is left keeps its entry price
        return new_qty, avg_price
    return new_qty, price  # through zero: the remainder was opened at this fill's price


def first_part(qty: float) -> float:
    """The first of a partial fill's two parts: half, in whole shares when the order is whole."""
    half = qty / 2
    if float(qty).is_integer() and abs(qty) >= 2:
        half = float(math.trunc(half))
    return half


def default_broker_db(db: str | Path) -> str:
    """The paper broker's file beside the store: ``acct.db`` -> ``acct.broker.db``."""
    p = Path(db)
    return str(p.with_name(p.stem + ".broker" + p.suffix)) if p.suffix else str(p) + ".broker"


class PaperBroker(Broker):
    """A paper venue in the SQLite file at ``path`` (created with ``starting_cash`` if new).

    ``read_only``: open an existing file only to read it (``seamless reconcile --dry-run``
    beside a live runner): nothing is created or written, and every trading call raises
    :class:`BrokerError`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        starting_cash: float = 100_000.0,
        latency_s: float = 0.0,
        slippage_bps: float = 0.0,
        commission_per_share: float = 0.0,
        min_commission: float = 0.0,
        partial_fills: bool = False,
        max_order_notional: float = DEFAULT_MAX_ORDER_NOTIONAL,
        price_band: float = DEFAULT_PRICE_BAND,
        margin: float = DEFAULT_MARGIN,
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_finite(starting_cash, "starting_cash")
        for name, value in (
            ("latency_s", latency_s),
            ("slippage_bps", slippage_bps),
            ("commission_per_share", commission_per_share),
            ("min_commission", min_commission),
            ("margin", margin),
        ):
            if check_finite(value, name) < 0:
                raise InvalidBrokerRequest(f"{name}={value!r}: must be >= 0")
        for name, value in (("max_order_notional", max_order_notional), ("price_band", price_band)):
            if check_finite(value, name) <= 0:
                raise InvalidBrokerRequest(f"{name}={value!r}: must be > 0")
        self.latency_s = float(latency_s)
        self.slippage_bps = float(slippage_bps)
        self.commission_per_share = float(commission_per_share)
        self.min_commission = float(min_commission)
        self.partial_fills = bool(partial_fills)
        self.max_order_notional = float(max_order_notional)
        self.price_band = float(price_band)
        self.margin = float(margin)
        self._clock = clock
        self._callbacks: list[FillCallback] = []
        self._push_lock = threading.Lock()
        self._pushing = False  # one thread delivers at a time, so reports arrive in cursor order
        self._working_symbols: set[str] = set()  # whose last mark found working orders: marked durably first
        self._db = PaperDatabase(path, starting_cash=float(starting_cash), read_only=read_only)
        self.read_only = self._db.read_only
        self.path = self._db.path
        try:
            with self._db.read() as c:
                # Fills made before this connection opened are history: fills_since, not pushes.
                self._pushed_cursor: int = c.execute("SELECT COALESCE(MAX(cursor), 0) FROM fills").fetchone()[0]
        except BaseException:
            self._db.close()
            raise

    # -- reading: always from the file ---------------------------------------------------------

    def account(self) -> BrokerAccount:
        with self._db.read() as c:
            _reachable(c)
            cash = c.execute("SELECT cash FROM account").fetchone()[0]
            held = c.execute(
                "SELECT COALESCE(SUM(p.qty * COALESCE(m.price, p.avg_price)), 0) "
                "FROM positions p LEFT JOIN marks m USING (symbol)"
            ).fetchone()[0]
        return BrokerAccount(cash=cash, equity=cash + held)

    def positions(self) -> dict[str, BrokerPosition]:
        with self._db.read() as c:
            _reachable(c)
            rows = c.execute("SELECT symbol, qty, avg_price FROM positions ORDER BY symbol").fetchall()
        return {r["symbol"]: BrokerPosition(**dict(r)) for r in rows}

    def open_orders(self) -> list[BrokerOrder]:
        with self._db.read() as c:
            _reachable(c)
            rows = c.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status IN ('accepted', 'partially_filled') ORDER BY seq"
            ).fetchall()
        return [BrokerOrder(**dict(r)) for r in rows]

    def order(self, client_order_id: str) -> BrokerOrder | None:
        with self._db.read() as c:
            _reachable(c)
            return _find_order(c, client_order_id)

    def fills_since(self, cursor: int) -> list[BrokerFill]:
        if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
            raise InvalidBrokerRequest(f"cursor={cursor!r}: must be an integer >= 0")
        with self._db.read() as c:
            _reachable(c)
            return [fill for fill, _ in _fills_after(c, cursor)]

    @property
    def durable_writes(self) -> int:
        """Durable transactions this connection committed to the venue's file (each an ``fdatasync``)."""
        return self._db.durable_writes

    def last_mark(self, symbol: str) -> float | None:
        """The latest price ``mark`` recorded for ``symbol``, or None."""
        with self._db.read() as c:
            return _mark(c, check_symbol(symbol))

    # -- trading ---------------------------------------------------------------------------------

    def submit(self, req: OrderRequest) -> BrokerOrder:
        if not isinstance(req, OrderRequest):
            raise InvalidBrokerRequest(f"submit takes an OrderRequest, not {type(req).__name__}")
        self._network_latency()
        lost = False
        with self._db.write() as c:
            # Unreachable: raised inside the transaction, which rolls back having written nothing.
            armed = _faults_armed(c, reachable=True)
            # Fault outcomes are raised after COMMIT: consuming the fault (and, for a timeout,
            # placing the order) must persist.
            disconnected = armed and self._take_fault(c, "disconnect", req.symbol)
            if not disconnected:
                order = _find_order(c, req.client_order_id) or self._place(c, req, armed)
                lost = armed and self._take_fault(c, "timeout", req.symbol)
        self._push_new_fills()
        if disconnected:
            raise BrokerDisconnected(f"disconnected (injected): order {req.client_order_id!r} was not placed")
        if lost:
            raise BrokerTimeout(
                f"no response to the submit of {req.client_order_id!r} (injected timeout); "
                f"it may have been placed: ask order({req.client_order_id!r})"
            )
        if not _same_order(order, req):
            raise BrokerError(
                f"client_order_id {req.client_order_id!r} is already used by a different order "
                f"({order.symbol} {order.qty:g} {order.order_type}); nothing was placed"
            )
        if order.status == "rejected":
            raise BrokerRejected(order.reason, order)
        return order

    def cancel(self, client_order_id: str) -> BrokerOrder:
        self._network_latency()
        with self._db.write() as c:
            _reachable(c)
            order = _find_order(c, client_order_id)
            if order is None:
                raise BrokerRejected(f"unknown order {client_order_id!r}: nothing to cancel")
            if order.status == "cancelled":
                return order  # idempotent, like submit
            if not order.is_open:
                raise BrokerRejected(f"order {client_order_id!r} is already {order.status}; nothing to cancel", order)
            c.execute(
                "UPDATE orders SET status = 'cancelled', reason = 'cancelled by request', updated_at = ? "
                "WHERE client_order_id = ?",
                (self._clock(), client_order_id),
            )
            order = _find_order(c, client_order_id)
            assert order is not None  # found above, in this same transaction
            return order

    def mark(self, symbol: str, price: float, ts: float | None = None) -> list[BrokerFill]:
        """Record the latest price of ``symbol`` and fill what it makes fillable; returns those fills."""
        check_symbol(symbol)
        check_price(price)
        ts = self._clock() if ts is None else check_finite(ts, "ts")
        # A mark that can fill nothing need not be fsynced. Whether one can is read in the
        # transaction that writes it: without the fsync, one that finds working orders writes
        # nothing (its empty commit syncs nothing) and the mark is written again, durably. The
        # symbol's last mark guesses which comes first: a guess, never a shortcut.
        fills: list[BrokerFill] = []
        for durable in (symbol in self._working_symbols, True):
            with self._db.write(durable=durable) as c:
                working = c.execute(
                    f"SELECT {_ORDER_COLUMNS} FROM orders WHERE symbol = ? AND status IN "
                    f"('accepted', 'partially_filled') ORDER BY seq",
                    (symbol,),
                ).fetchall()
                if working and not durable:
                    continue  # this transaction ends empty: the next one writes the mark and its fills
                c.execute(
                    "INSERT INTO marks (symbol, price, ts) VALUES (?, ?, ?) ON CONFLICT (symbol) "
                    "DO UPDATE SET price = excluded.price, ts = excluded.ts",
                    (symbol, price, ts),
                )
                armed = bool(working) and _faults_armed(c)
                for row in working:
                    fill, _ = self._work(c, BrokerOrder(*row), price, armed, whole=True)
                    if fill is not None:
                        fills.append(fill)
            break
        if working:
            self._working_symbols.add(symbol)
        else:
            self._working_symbols.discard(symbol)
        self._push_new_fills()
        return fills

    def trade(self, symbol: str, qty: float, price: float | None = None) -> BrokerFill:
        """An out-of-band trade at the broker (by hand, outside any runner), at ``price`` or
        the mark; refused (:class:`BrokerRejected`) past the broker's sanity limits."""
        check_symbol(symbol)
        check_qty(qty)
        if price is not None:
            check_price(price)
        priced = price is not None
        with self._db.write() as c:
            mark = _mark(c, symbol)
            if price is None:
                if mark is None:
                    raise BrokerRejected(f"no price for {symbol}: the broker has no mark for it yet; give a price")
                price = mark
            refusal = self._limits_refusal(c, symbol, qty, price, mark, priced=priced)
            if refusal:
                raise BrokerRejected(f"trade refused: {refusal}")
            fill, _ = self._fill(c, symbol, qty, price, _faults_armed(c))
        self._push_new_fills()
        return fill

    def inject(self, kind: str, count: int = 1, symbol: str | None = None) -> None:
        """Arm a fault for the next ``count`` submits (or fills, for drop_fill), of ``symbol`` or any.

        reject: the order is recorded as rejected ("injected reject").  timeout: the order is
        placed (and may fill) but ``submit`` raises ``BrokerTimeout``.  disconnect: ``submit``
        raises ``BrokerDisconnected`` and nothing is placed.  drop_fill: the fill happens and
        is in ``fills_since``, but no connection pushes it to ``on_fill`` callbacks.
        """
        if kind not in FAULT_KINDS:
            raise InvalidBrokerRequest(f"kind={kind!r}: must be one of {', '.join(FAULT_KINDS)}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidBrokerRequest(f"count={count!r}: must be an integer >= 1")
        if symbol is not None:
            check_symbol(symbol)
        with self._db.write() as c:
            c.execute("INSERT INTO faults (kind, remaining, symbol) VALUES (?, ?, ?)", (kind, count, symbol))

    def outage(self, seconds: float) -> None:
        """Be unreachable for ``seconds`` from now, for every client of this venue's file:
        each call (account, positions, orders, fills, submit, cancel) raises
        ``BrokerDisconnected``; prices still move and fills still happen at the venue."""
        if not 0 < seconds < math.inf:
            raise InvalidBrokerRequest(f"seconds={seconds!r}: must be a number > 0")
        until_ms = int((time.time() + seconds) * 1000)
        with self._db.write() as c:
            c.execute("INSERT INTO faults (kind, remaining, symbol) VALUES ('outage', ?, NULL)", (until_ms,))

    # -- push delivery ---------------------------------------------------------------------------

    def on_fill(self, callback: FillCallback) -> None:
        if not callable(callback):
            raise InvalidBrokerRequest(f"on_fill takes a callable, not {type(callback).__name__}")
        with self._push_lock:
            self._callbacks.append(callback)

    def _push_new_fills(self) -> None:
        """Push every fill this connection has not reported yet, whoever made it.

        Called after each mutation, so fills made by another process are pushed at this
        connection's next call.  A thread that finds another delivering leaves its fills to
        it (this also makes a callback that trades safe: its fills follow, in order).
        """
        with self._push_lock:
            if self._pushing:
                return
            self._pushing = True
        try:
            while pending := self._claim_unreported():
                self._deliver(pending)
        except BaseException as e:
            with self._push_lock:
                self._pushing = False
            if not isinstance(e, BrokerError):
                raise
            # The mutation is committed whatever happens here: a failed push must not turn a
            # placed order into an error. The fills stay in fills_since.
            log.warning("fill reports not pushed from %s: %s", self.path, e)

    def _claim_unreported(self) -> list[tuple[BrokerFill, bool]]:
        """The fills not pushed yet, claimed; none left ends the delivery turn.

        Ending the turn under the same lock as the read means a fill committed meanwhile is
        never stranded: its thread either sees this turn still running (and is read here
        next) or starts its own.
        """
        with self._push_lock:
            pending = _fills(self._db.query(_FILLS_AFTER, (self._pushed_cursor,)))
            if pending:
                self._pushed_cursor = pending[-1][0].cursor
            else:
                self._pushing = False
            return pending

    def _deliver(self, pending: list[tuple[BrokerFill, bool]]) -> None:
        callbacks = list(self._callbacks)
        for fill, dropped in pending:
            if dropped:
                continue  # drop_fill: the broker never sent this report
            for callback in callbacks:
                try:
                    callback(fill)
                except Exception:  # one broken subscriber must not cost the others the report
                    log.exception("on_fill callback %r failed on %s", callback, fill)

    def close(self) -> None:
        self._db.close()

    # -- the venue's mechanics (inside a write transaction) ------------------------------------

    def _network_latency(self) -> None:
        if self.latency_s:
            time.sleep(self.latency_s)  # outside any lock: concurrent requests travel in parallel

    def _place(self, c: sqlite3.Connection, req: OrderRequest, armed: bool) -> BrokerOrder:
        """Record the order (accepted, or rejected with its reason) and fill what the mark makes
        fillable; the order as it then stands (built here: the row just written, not read back)."""
        mark = _mark(c, req.symbol)
        injected = armed and self._take_fault(c, "reject", req.symbol)
        reason = "injected reject" if injected else self._refusal(c, req, mark)
        now = self._clock()
        status: BrokerOrderStatus = "rejected" if reason else "accepted"
        qty, limit = float(req.qty), None if req.limit_price is None else float(req.limit_price)  # REAL columns
        row = c.execute(
            "INSERT INTO orders (client_order_id, symbol, qty, status, reason, order_type, limit_price, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (req.client_order_id, req.symbol, qty, status, reason, req.order_type, limit, now, now),
        )
        order = BrokerOrder(
            req.client_order_id, f"P{row.lastrowid}", req.symbol, qty, 0.0, 0.0, status, reason, req.order_type, limit
        )
        if order.is_open and mark is not None:
            _, order = self._work(c, order, mark, armed, whole=not self.partial_fills)
        return order

    def _refusal(self, c: sqlite3.Connection, req: OrderRequest, mark: float | None) -> str:
        """Why the venue refuses this order at ``mark``, or "" if it takes it."""
        if req.order_type == "market":
            if mark is None:
                return f"no price for {req.symbol}: the paper broker has no mark for it yet (call mark() first)"
            price = self._slipped(mark, req.qty > 0)
        else:
            assert req.limit_price is not None  # a limit order has one (OrderRequest checks it)
            price = req.limit_price
        return self._limits_refusal(c, req.symbol, req.qty, price, mark, priced=req.order_type == "limit")

    def _limits_refusal(
        self, c: sqlite3.Connection, symbol: str, qty: float, price: float, mark: float | None, *, priced: bool
    ) -> str:
        """Why the sanity limits refuse trading ``qty`` at ``price``, or "". ``priced``: the
        price was given (a limit, a trade's price), so it must lie within the band of the mark."""
        if priced and mark is not None and abs(price - mark) > self.price_band * mark:
            return (
                f"price {price:.10g} is outside the broker's price band: more than "
                f"{self.price_band * 100:.4g}% from {symbol}'s last mark {mark:.10g}"
            )
        notional = abs(qty) * price
        if notional > self.max_order_notional:
            return (
                f"notional {notional:.10g} ({abs(qty):.10g} x {price:.10g}) is above the broker's "
                f"max order notional {self.max_order_notional:.10g}"
            )
        if qty > 0:
            cost = qty * price + self._commission(qty)
            cash = c.execute("SELECT cash FROM account").fetchone()[0]
            held = self._held_by_working_buys(c)
            if cash - held - cost < -self.margin:
                return (
                    f"insufficient cash: buying costs {cost:.2f} and the cash is {cash:.2f}"
                    + (f", {held:.2f} of it held by working buy orders" if held else "")
                    + (f", with a margin of {self.margin:.2f}" if self.margin else ", in a cash account (margin 0)")
                )
        return ""

    def _held_by_working_buys(self, c: sqlite3.Connection) -> float:
        """What the working buy orders will cost: their remaining quantity at their limit (a
        market order's at its mark)."""
        rows = c.execute(
            "SELECT o.qty - o.filled_qty AS remaining, COALESCE(o.limit_price, m.price, 0) AS price "
            "FROM orders o LEFT JOIN marks m USING (symbol) "
            "WHERE o.status IN ('accepted', 'partially_filled') AND o.qty > 0"
        ).fetchall()
        return sum(r["remaining"] * r["price"] + self._commission(r["remaining"]) for r in rows)

    def _slipped(self, mark: float, buy: bool) -> float:
        return mark * (1 + (1 if buy else -1) * self.slippage_bps / 10_000)

    def _work(
        self, c: sqlite3.Connection, order: BrokerOrder, mark: float, armed: bool, *, whole: bool
    ) -> tuple[BrokerFill | None, BrokerOrder]:
        """Fill what ``mark`` makes fillable of a working order (``order`` as it stands in this
        transaction); the fill, and the order after it. ``whole=False``: a market order's first half."""
        buy = order.qty > 0
        slipped = self._slipped(mark, buy)
        if order.order_type == "limit":
            limit = order.limit_price
            assert limit is not None  # a limit order has one (OrderRequest checks it)
            if (mark > limit) if buy else (mark < limit):
                return None, order  # not crossed: keeps working
            price = min(slipped, limit) if buy else max(slipped, limit)
            qty = order.remaining_qty
        else:
            price = slipped
            qty = order.remaining_qty if whole or order.filled_qty else first_part(order.qty)
        fill, after = self._fill(c, order.symbol, qty, price, armed, order)
        assert after is not None  # an order's fill advances it
        return fill, after

    def _fill(
        self,
        c: sqlite3.Connection,
        symbol: str,
        qty: float,
        price: float,
        armed: bool,
        order: BrokerOrder | None = None,
    ) -> tuple[BrokerFill, BrokerOrder | None]:
        """One execution (of ``order``, or out of band): the fill row, cash, the position and the
        order, all in this transaction; the fill, and the order after it."""
        commission = self._commission(qty)
        # Fills are never deleted, so MAX + 1 under the write lock is unique and increasing.
        cursor = c.execute("SELECT COALESCE(MAX(cursor), 0) + 1 FROM fills").fetchone()[0]
        client_order_id = order.client_order_id if order is not None else ""
        fill = BrokerFill(
            trade_id=f"T{cursor}",
            client_order_id=client_order_id,
            symbol=symbol,
            qty=qty,
            price=price,
            commission=commission,
            ts=self._clock(),
            cursor=cursor,
        )
        dropped = armed and self._take_fault(c, "drop_fill", symbol)
        c.execute(
            f"INSERT INTO fills ({_FILL_COLUMNS}, report_dropped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (fill.trade_id, client_order_id, symbol, qty, price, commission, fill.ts, cursor, dropped),
        )
        c.execute("UPDATE account SET cash = cash - ?", (qty * price + commission,))
        self._move_position(c, symbol, qty, price)
        if order is not None:
            order = self._advance_order(c, order, qty, price, fill.ts)
        return fill, order

    def _commission(self, qty: float) -> float:
        return max(self.min_commission, self.commission_per_share * abs(qty))

    @staticmethod
    def _move_position(c: sqlite3.Connection, symbol: str, qty: float, price: float) -> None:
        row = c.execute("SELECT qty, avg_price FROM positions WHERE symbol = ?", (symbol,)).fetchone()
        new_qty, new_avg = net_position(row["qty"] if row else 0.0, row["avg_price"] if row else 0.0, qty, price)
        if new_qty == 0:
            c.execute("DELETE FROM positions WHERE symbol = ?", (symbol,))  # flat positions are not held
        else:
            c.execute(
                "INSERT INTO positions (symbol, qty, avg_price) VALUES (?, ?, ?) ON CONFLICT (symbol) "
                "DO UPDATE SET qty = excluded.qty, avg_price = excluded.avg_price",
                (symbol, new_qty, new_avg),
            )

    @staticmethod
    def _advance_order(c: sqlite3.Connection, o: BrokerOrder, qty: float, price: float, ts: float) -> BrokerOrder:
        """Add a fill of ``qty`` at ``price`` to order ``o`` (as it stands in this transaction);
        the order after it, as its row now reads."""
        filled = o.filled_qty + qty
        avg = (o.filled_qty * o.avg_fill_price + qty * price) / filled
        done = abs(o.qty - filled) <= _REL_EPS * abs(o.qty)
        status: BrokerOrderStatus = "filled" if done else "partially_filled"
        if done:
            filled = o.qty
        c.execute(
            "UPDATE orders SET filled_qty = ?, avg_fill_price = ?, status = ?, updated_at = ? "
            "WHERE client_order_id = ?",
            (filled, avg, status, ts, o.client_order_id),
        )
        return replace(o, filled_qty=filled, avg_fill_price=avg, status=status)

    @staticmethod
    def _take_fault(c: sqlite3.Connection, kind: str, symbol: str) -> bool:
        """Consume one armed fault of ``kind`` for ``symbol`` (oldest first); True if there was one."""
        row = c.execute(
            "SELECT id, remaining FROM faults WHERE kind = ? AND (symbol IS NULL OR symbol = ?) ORDER BY id LIMIT 1",
            (kind, symbol),
        ).fetchone()
        if row is None:
            return False
        if row["remaining"] > 1:
            c.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (row["id"],))
        else:
            c.execute("DELETE FROM faults WHERE id = ?", (row["id"],))
        return True


# -- row helpers ---------------------------------------------------------------------------------


def _reachable(c: sqlite3.Connection) -> None:
    """Raise BrokerDisconnected while an outage (:meth:`PaperBroker.outage`) is in force; an
    outage's row holds its end, in epoch milliseconds, where a count fault holds its count."""
    _check_outage(c.execute("SELECT MAX(remaining) FROM faults WHERE kind = 'outage'").fetchone()[0])


def _check_outage(until: int | None) -> None:
    if until is not None and until > time.time() * 1000:
        raise BrokerDisconnected(f"paper broker unreachable (an outage, {until / 1000 - time.time():.1f} s left)")


def _faults_armed(c: sqlite3.Connection, reachable: bool = False) -> bool:
    """Whether a fault that :meth:`PaperBroker._take_fault` consumes is armed, read once per
    transaction (most find none, and skip a query per fault kind); with ``reachable``, raise as
    :func:`_reachable` does, from the same read."""
    armed, until = c.execute(
        "SELECT TOTAL(kind != 'outage'), MAX(CASE WHEN kind = 'outage' THEN remaining END) FROM faults"
    ).fetchone()
    if reachable:
        _check_outage(until)
    return armed > 0


def _find_order(c: sqlite3.Connection, client_order_id: str) -> BrokerOrder | None:
    row = c.execute(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE client_order_id = ?", (client_order_id,)).fetchone()
    return BrokerOrder(*row) if row else None  # the columns in BrokerOrder's order


def _mark(c: sqlite3.Connection, symbol: str) -> float | None:
    row = c.execute("SELECT price FROM marks WHERE symbol = ?", (symbol,)).fetchone()
    return row["price"] if row else None


def _fills_after(c: sqlite3.Connection, cursor: int) -> list[tuple[BrokerFill, bool]]:
    """Fills with a cursor above ``cursor``, in order, each with whether its report is dropped."""
    return _fills(c.execute(_FILLS_AFTER, (cursor,)).fetchall())


def _fills(rows: list[sqlite3.Row]) -> list[tuple[BrokerFill, bool]]:
    """Rows of :data:`_FILLS_AFTER` as fills (their columns in BrokerFill's order), each with
    whether its report is dropped."""
    return [(BrokerFill(*r[:8]), bool(r[8])) for r in rows]


def _same_order(order: BrokerOrder, req: OrderRequest) -> bool:
    return (order.symbol, order.qty, order.order_type, order.limit_price) == (
        req.symbol,
        req.qty,
        req.order_type,
        req.limit_price,
    )
