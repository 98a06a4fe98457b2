"""The loopback Alpaca's account: orders, fills, positions and prices in its own SQLite file.

Answers are Alpaca's JSON shapes (an order, a position, the account, a FILL activity), so
alpaca-py's models parse them. Rules follow Alpaca's: quantities and prices are strings,
``client_order_id`` is unique across the account's orders (a repeat is refused with 422),
market orders fill at the venue's own price, limit orders when the price reaches them, a
FILL activity per execution with an id that sorts in execution order. Used from one thread
(the server's loop); every change is one SQLite transaction.
"""

from __future__ import annotations

import math
import random
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ACCOUNT_ID = "904837e3-3b76-47ec-b432-046db621571b"
OPEN = ("new", "accepted", "partially_filled")
DEFAULT_PRICES = {"AAPL": 190.0, "MSFT": 410.0, "GOOG": 170.0, "IBM": 180.0}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS account (id INTEGER PRIMARY KEY CHECK (id = 1), cash REAL NOT NULL);
CREATE TABLE IF NOT EXISTS prices (symbol TEXT PRIMARY KEY, price REAL NOT NULL);
CREATE TABLE IF NOT EXISTS positions (symbol TEXT PRIMARY KEY, qty REAL NOT NULL, avg_price REAL NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    client_order_id TEXT NOT NULL UNIQUE,     -- Alpaca: unique per account, whatever the status
    symbol TEXT NOT NULL, qty REAL NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL,
    limit_price REAL, status TEXT NOT NULL,
    filled_qty REAL NOT NULL DEFAULT 0, filled_avg_price REAL,
    partial INTEGER NOT NULL DEFAULT 0,       -- fills in two parts (the partial-fill fault)
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, filled_at TEXT, canceled_at TEXT
);
CREATE TABLE IF NOT EXISTS fills (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,                  -- the FILL activity's id: sorts in execution order
    order_id TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
    qty REAL NOT NULL, price REAL NOT NULL, cum_qty REAL NOT NULL, leaves_qty REAL NOT NULL,
    order_status TEXT NOT NULL, ts TEXT NOT NULL
);
"""


class VenueError(Exception):
    """An answer other than 2xx: Alpaca's status, code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def num(x: float | None) -> str | None:
    """A quantity or price as Alpaca writes it: a decimal string, no exponent."""
    if x is None:
        return None
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Update:
    """A trade update to stream: Alpaca's ``trade_updates`` data."""

    event: str
    order: dict[str, Any]
    ts: float
    price: float | None = None
    qty: float | None = None
    position_qty: float | None = None
    execution_id: str | None = None

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.event, "order": self.order, "timestamp": iso(self.ts)}
        if self.execution_id is not None:
            out.update(
                execution_id=self.execution_id,
                price=num(self.price),
                qty=num(self.qty),
                position_qty=num(self.position_qty),
            )
        return out


class Venue:
    """One Alpaca account in the SQLite file at ``path`` (created with ``cash`` if new)."""

    def __init__(
        self,
        path: str | Path,
        *,
        cash: float = 100_000.0,
        prices: dict[str, float] | None = None,
        seed: int = 0,
        volatility: float = 0.0005,
    ) -> None:
        self.path = Path(path)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(_SCHEMA)
        if self.conn.execute("SELECT 1 FROM account").fetchone() is None:
            self.conn.execute("INSERT INTO account (id, cash) VALUES (1, ?)", (cash,))
        for symbol, price in (prices or DEFAULT_PRICES).items():
            self.conn.execute("INSERT OR IGNORE INTO prices (symbol, price) VALUES (?, ?)", (symbol, price))
        self.rng = random.Random(seed)
        self.volatility = volatility
        self._last_ms = 0

    # -- reading ------------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT symbol FROM prices ORDER BY symbol")]

    def price(self, symbol: str) -> float:
        row = self.conn.execute("SELECT price FROM prices WHERE symbol = ?", (symbol,)).fetchone()
        if row is None:
            raise VenueError(422, 40010001, f'asset "{symbol}" not found')
        return float(row[0])

    def account(self) -> dict[str, Any]:
        cash = self.conn.execute("SELECT cash FROM account").fetchone()[0]
        held = sum(p["qty"] * self.price(p["symbol"]) for p in self.conn.execute("SELECT * FROM positions"))
        long_value = sum(
            p["qty"] * self.price(p["symbol"]) for p in self.conn.execute("SELECT * FROM positions WHERE qty > 0")
        )
        return {
            "id": ACCOUNT_ID,
            "account_number": "PA3FAKEALPACA",
            "status": "ACTIVE",
            "crypto_status": "INACTIVE",
            "currency": "USD",
            "cash": num(cash),
            "portfolio_value": num(cash + held),
            "equity": num(cash + held),
            "last_equity": num(cash + held),
            "long_market_value": num(long_value),
            "short_market_value": num(held - long_value),
            "buying_power": num(max(cash, 0.0)),
            "regt_buying_power": num(max(cash, 0.0)),
            "daytrading_buying_power": "0",
            "non_marginable_buying_power": num(max(cash, 0.0)),
            "initial_margin": "0",
            "maintenance_margin": "0",
            "last_maintenance_margin": "0",
            "sma": "0",
            "daytrade_count": 0,
            "multiplier": "1",
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "trade_suspended_by_user": False,
            "shorting_enabled": True,
            "created_at": "2026-01-02T14:30:00Z",
        }

    def positions(self) -> list[dict[str, Any]]:
        return [self._position(r) for r in self.conn.execute("SELECT * FROM positions ORDER BY symbol")]

    def _position(self, r: sqlite3.Row) -> dict[str, Any]:
        qty, avg, price = r["qty"], r["avg_price"], self.price(r["symbol"])
        return {
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, r["symbol"])),
            "symbol": r["symbol"],
            "exchange": "NASDAQ",
            "asset_class": "us_equity",
            "avg_entry_price": num(avg),
            "qty": num(qty),
            "qty_available": num(qty),
            "side": "long" if qty > 0 else "short",
            "market_value": num(qty * price),
            "cost_basis": num(qty * avg),
            "unrealized_pl": num(qty * (price - avg)),
            "unrealized_plpc": num((price - avg) / avg * (1 if qty > 0 else -1)),
            "current_price": num(price),
            "lastday_price": num(price),
            "change_today": "0",
            "asset_marginable": True,
        }

    def order(self, order_id: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        if row is None:
            raise VenueError(404, 40410000, "order not found")
        return self._order(row)

    def order_by_client_id(self, client_order_id: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM orders WHERE client_order_id = ?", (client_order_id,)).fetchone()
        if row is None:
            raise VenueError(404, 40410000, "order not found")
        return self._order(row)

    def orders(self, status: str = "open", limit: int = 50, direction: str = "desc") -> list[dict[str, Any]]:
        where = {
            "open": f"status IN {OPEN}",
            "closed": f"status NOT IN {OPEN}",
            "all": "1",
        }.get(status)
        if where is None:
            raise VenueError(422, 40010001, f"invalid status {status!r}")
        order = "ASC" if direction == "asc" else "DESC"
        rows = self.conn.execute(f"SELECT * FROM orders WHERE {where} ORDER BY seq {order} LIMIT ?", (limit,))
        return [self._order(r) for r in rows]

    def activities(self, page_token: str | None, page_size: int, direction: str) -> list[dict[str, Any]]:
        """FILL activities, paged as Alpaca pages them: ``page_token`` is the id of the last
        activity of the previous page."""
        if direction == "asc":
            sql, args = "SELECT * FROM fills WHERE id > ? ORDER BY id ASC LIMIT ?", (page_token or "", page_size)
        else:
            sql, args = "SELECT * FROM fills WHERE id < ? ORDER BY id DESC LIMIT ?", (page_token or "~", page_size)
        return [self._activity(r) for r in self.conn.execute(sql, args)]

    def _activity(self, r: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": r["id"],
            "account_id": ACCOUNT_ID,
            "activity_type": "FILL",
            "transaction_time": r["ts"],
            "type": "fill" if r["leaves_qty"] == 0 else "partial_fill",
            "price": num(r["price"]),
            "qty": num(r["qty"]),
            "side": r["side"],
            "symbol": r["symbol"],
            "leaves_qty": num(r["leaves_qty"]),
            "order_id": r["order_id"],
            "cum_qty": num(r["cum_qty"]),
            "order_status": r["order_status"],
        }

    def _order(self, r: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": r["id"],
            "client_order_id": r["client_order_id"],
            "created_at": r["created_at"],
            "updated_at": r["updated_at"],
            "submitted_at": r["created_at"],
            "filled_at": r["filled_at"],
            "expired_at": None,
            "canceled_at": r["canceled_at"],
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, r["symbol"])),
            "symbol": r["symbol"],
            "asset_class": "us_equity",
            "notional": None,
            "qty": num(r["qty"]),
            "filled_qty": num(r["filled_qty"]),
            "filled_avg_price": num(r["filled_avg_price"]),
            "order_class": "simple",
            "order_type": r["type"],
            "type": r["type"],
            "side": r["side"],
            "time_in_force": "day",
            "limit_price": num(r["limit_price"]),
            "stop_price": None,
            "status": r["status"],
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "position_intent": None,
        }

    # -- trading ------------------------------------------------------------------------------

    def place(self, body: dict[str, Any], *, partial: bool = False) -> tuple[dict[str, Any], list[Update]]:
        """POST /v2/orders: validate as Alpaca does, record, fill what can fill now."""
        symbol = body.get("symbol")
        side, type_, tif = body.get("side"), body.get("type"), body.get("time_in_force")
        if not isinstance(symbol, str) or not symbol:
            raise VenueError(422, 40010001, "symbol is required")
        self.price(symbol)  # 422 for an unknown asset
        if side not in ("buy", "sell"):
            raise VenueError(422, 40010001, "invalid side")
        if type_ not in ("market", "limit"):
            raise VenueError(422, 40010001, "invalid order type")
        if tif not in ("day", "gtc", "ioc", "fok", "opg", "cls"):
            raise VenueError(422, 40010001, "invalid time_in_force")
        try:
            qty = float(body.get("qty"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise VenueError(422, 40010001, "qty must be a number") from None
        if not (qty > 0 and math.isfinite(qty)):
            raise VenueError(422, 40010001, "qty must be > 0")
        limit: float | None = None
        if type_ == "limit":
            try:
                limit = float(body.get("limit_price"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise VenueError(422, 40010001, "limit_price is required for limit orders") from None
        elif body.get("limit_price") is not None:
            raise VenueError(422, 40010001, "limit_price must not be given for market orders")
        coid = body.get("client_order_id") or str(uuid.uuid4())
        if len(coid) > 128:
            raise VenueError(422, 40010001, "client_order_id must be no more than 128 characters")
        if self.conn.execute("SELECT 1 FROM orders WHERE client_order_id = ?", (coid,)).fetchone():
            raise VenueError(422, 40010001, "client_order_id must be unique")
        price = limit if limit is not None else self.price(symbol)
        cash = self.conn.execute("SELECT cash FROM account").fetchone()[0]
        if side == "buy" and qty * price > cash:
            raise VenueError(403, 40310000, "insufficient buying power")
        now = self._now()
        oid = str(uuid.uuid4())
        self.conn.execute(
            "INSERT INTO orders (id, client_order_id, symbol, qty, side, type, limit_price, status, partial, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?)",
            (oid, coid, symbol, qty, side, type_, limit, int(partial), iso(now), iso(now)),
        )
        updates = [Update("new", self.order(oid), now)]
        updates += self._work(oid)
        return self.order(oid), updates

    def cancel(self, order_id: str) -> list[Update]:
        o = self.order(order_id)
        if o["status"] not in OPEN:
            raise VenueError(422, 42210000, f'order is already in "{o["status"]}" state')
        now = iso(self._now())
        self.conn.execute(
            "UPDATE orders SET status = 'canceled', canceled_at = ?, updated_at = ? WHERE id = ?", (now, now, order_id)
        )
        return [Update("canceled", self.order(order_id), time.time())]

    def step(self) -> list[Update]:
        """One move of every price (a random walk), then fill what the new prices make fillable."""
        for symbol in self.symbols():
            p = self.price(symbol) * math.exp(self.rng.gauss(0.0, self.volatility))
            self.conn.execute("UPDATE prices SET price = ? WHERE symbol = ?", (round(p, 4), symbol))
        return self.work_all()

    def set_price(self, symbol: str, price: float) -> list[Update]:
        self.price(symbol)
        self.conn.execute("UPDATE prices SET price = ? WHERE symbol = ?", (price, symbol))
        return self.work_all()

    def work_all(self) -> list[Update]:
        updates: list[Update] = []
        for (oid,) in self.conn.execute(f"SELECT id FROM orders WHERE status IN {OPEN} ORDER BY seq").fetchall():
            updates += self._work(oid)
        return updates

    def _work(self, order_id: str) -> list[Update]:
        r = self.conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        price = self.price(r["symbol"])
        buy = r["side"] == "buy"
        if r["type"] == "limit":
            if (price > r["limit_price"]) if buy else (price < r["limit_price"]):
                return []
            price = min(price, r["limit_price"]) if buy else max(price, r["limit_price"])
        left = r["qty"] - r["filled_qty"]
        qty = left
        if r["partial"] and r["filled_qty"] == 0:
            qty = math.floor(left / 2) if left >= 2 else left / 2
        return [self._fill(r, qty, price)]

    def _fill(self, r: sqlite3.Row, qty: float, price: float) -> Update:
        now = self._now()
        cum = r["filled_qty"] + qty
        leaves = max(r["qty"] - cum, 0.0)
        status = "filled" if leaves <= 1e-9 else "partially_filled"
        avg = ((r["filled_avg_price"] or 0.0) * r["filled_qty"] + price * qty) / cum
        signed = qty if r["side"] == "buy" else -qty
        with self._transaction():
            self.conn.execute(
                "UPDATE orders SET filled_qty = ?, filled_avg_price = ?, status = ?, updated_at = ?, filled_at = ? "
                "WHERE id = ?",
                (cum, avg, status, iso(now), iso(now) if status == "filled" else None, r["id"]),
            )
            self.conn.execute("UPDATE account SET cash = cash - ?", (signed * price,))
            pos = self._move_position(r["symbol"], signed, price)
            ms = max(int(now * 1000), self._last_ms + 1)
            self._last_ms = ms
            execution_id = str(uuid.uuid4())
            stamp = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y%m%d%H%M%S") + f"{ms % 1000:03d}"
            self.conn.execute(
                "INSERT INTO fills (id, order_id, symbol, side, qty, price, cum_qty, leaves_qty, order_status, ts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    f"{stamp}::{execution_id}",
                    r["id"],
                    r["symbol"],
                    r["side"],
                    qty,
                    price,
                    cum,
                    leaves,
                    status,
                    iso(ms / 1000),
                ),
            )
        event = "fill" if status == "filled" else "partial_fill"
        return Update(event, self.order(r["id"]), now, price, qty, pos, execution_id)

    def _move_position(self, symbol: str, qty: float, price: float) -> float:
        row = self.conn.execute("SELECT qty, avg_price FROM positions WHERE symbol = ?", (symbol,)).fetchone()
        old, avg = (row["qty"], row["avg_price"]) if row else (0.0, 0.0)
        new = old + qty
        if abs(new) < 1e-9:
            self.conn.execute("DELETE FROM positions WHERE symbol = ?", (symbol,))
            return 0.0
        if old == 0 or (old > 0) == (qty > 0):
            avg = (old * avg + qty * price) / new
        elif (new > 0) != (old > 0):
            avg = price
        self.conn.execute(
            "INSERT INTO positions (symbol, qty, avg_price) VALUES (?, ?, ?) ON CONFLICT (symbol) "
            "DO UPDATE SET qty = excluded.qty, avg_price = excluded.avg_price",
            (symbol, new, avg),
        )
        return new

    def _transaction(self) -> Any:
        conn = self.conn

        class _Tx:
            def __enter__(self) -> None:
                conn.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind: object, *rest: object) -> None:
                conn.execute("COMMIT" if kind is None else "ROLLBACK")

        return _Tx()

    @staticmethod
    def _now() -> float:
        return time.time()

    def close(self) -> None:
        self.conn.close()
