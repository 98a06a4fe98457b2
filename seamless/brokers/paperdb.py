"""The paper venue's own SQLite file: schema, version, and the connection's transactions.

The venue's truth lives here, not in memory, so several processes (a runner, the CLI) can
trade at the same simulated broker: WAL, ``synchronous=FULL``, a busy timeout, every read
straight from the file and every mutation in one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .base import BrokerDisconnected, BrokerError

SCHEMA_VERSION = 1
#: Marks the file as a paper broker's, so pointing --broker-db at a Seamless store (or any
#: other SQLite file) is refused instead of written into.
APPLICATION_ID = 0x53504252  # "SPBR"
BUSY_TIMEOUT_S = 5.0

_SCHEMA = """
CREATE TABLE account (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    cash  REAL NOT NULL
);
CREATE TABLE marks (
    symbol TEXT PRIMARY KEY,
    price  REAL NOT NULL,
    ts     REAL NOT NULL
);
CREATE TABLE positions (
    symbol    TEXT PRIMARY KEY,
    qty       REAL NOT NULL,
    avg_price REAL NOT NULL
);
CREATE TABLE orders (
    seq             INTEGER PRIMARY KEY,       -- broker_order_id is 'P' || seq
    client_order_id TEXT NOT NULL UNIQUE,      -- the idempotency key
    symbol          TEXT NOT NULL,
    qty             REAL NOT NULL,
    filled_qty      REAL NOT NULL DEFAULT 0,
    avg_fill_price  REAL NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    order_type      TEXT NOT NULL,
    limit_price     REAL,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL
);
CREATE INDEX orders_working ON orders (symbol, status);
CREATE TABLE fills (
    cursor          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: fills_since resumes from it
    trade_id        TEXT NOT NULL UNIQUE,
    client_order_id TEXT NOT NULL,                      -- '' for out-of-band trades
    symbol          TEXT NOT NULL,
    qty             REAL NOT NULL,
    price           REAL NOT NULL,
    commission      REAL NOT NULL,
    ts              REAL NOT NULL,
    report_dropped  INTEGER NOT NULL DEFAULT 0          -- drop_fill: no push report, ever
);
CREATE TABLE faults (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL,
    remaining INTEGER NOT NULL CHECK (remaining > 0),
    symbol    TEXT                                      -- NULL: any symbol
);
"""

#: The working orders, found without reading every order the file ever held (the cash they
#: hold is counted at each buy). Made with the file, and added to one made before it when
#: opened for writing: an index changes no result, so the schema version stays.
_OPEN_ORDERS_INDEX = (
    "CREATE INDEX IF NOT EXISTS orders_open ON orders (status) WHERE status IN ('accepted', 'partially_filled')"
)


class NewerBrokerVersion(BrokerError):
    """The file was written by a newer Seamless; it is left untouched."""


class PaperDatabase:
    """One connection to a paper venue's file, shared by the threads of one ``PaperBroker``.

    ``read_only``: an existing file, opened so that nothing can write it (SQLite's
    ``mode=ro``): no pragma, no creation, and :meth:`write` raises. A WAL reader: it never
    blocks the venue's writers, nor waits for them."""

    def __init__(
        self,
        path: str | Path,
        *,
        starting_cash: float,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.read_only = bool(read_only)
        if not self.path.parent.is_dir():
            raise BrokerError(f"directory {self.path.parent} does not exist")
        if self.read_only and not self.path.is_file():
            raise BrokerError(f"no paper broker database at {self.path}")
        # sqlite3 connections are not safe to share mid-transaction; one user at a time.
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        #: Durable transactions committed through this connection (each one ``fdatasync``).
        self.durable_writes = 0
        try:
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro" if self.read_only else str(self.path),
                timeout=busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
                uri=self.read_only,
            )
        except sqlite3.Error as e:
            raise BrokerError(f"cannot open paper broker database {self.path}: {e}") from e
        conn.row_factory = sqlite3.Row
        try:
            self._check_identity(conn)  # before any pragma that writes: refused files stay untouched
            if self.read_only:
                if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='account'").fetchone():
                    raise BrokerError(f"{self.path} is not a paper broker database (it has no account)")
            else:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                self._create_if_new(conn, starting_cash)
        except sqlite3.DatabaseError as e:
            conn.close()
            raise BrokerError(f"{self.path} is not a paper broker database (or is damaged): {e}") from e
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _check_identity(self, conn: sqlite3.Connection) -> None:
        if not conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
            return  # empty: created below
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id != APPLICATION_ID:
            raise BrokerError(
                f"{self.path} is not a paper broker database (application_id {app_id}); refusing to touch it"
            )
        found = conn.execute("PRAGMA user_version").fetchone()[0]
        if found > SCHEMA_VERSION:
            raise NewerBrokerVersion(
                f"{self.path} has paper broker schema version {found}, written by a newer Seamless; "
                f"this Seamless knows version {SCHEMA_VERSION}. Upgrade Seamless; the file was not modified."
            )

    def _create_if_new(self, conn: sqlite3.Connection, starting_cash: float) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Checked again under the write lock: another process may have created it meanwhile.
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='account'").fetchone():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO account (id, cash) VALUES (1, ?)", (starting_cash,))
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute(_OPEN_ORDERS_INDEX)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @contextmanager
    def write(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed if the block returns, else rolled back.

        ``durable=False`` skips the fsync (``synchronous=NORMAL``) for writes whose loss in a
        crash harms nothing, such as a price mark; the next durable commit syncs them too."""
        if self.read_only:
            raise BrokerError(f"paper broker database {self.path} is open read-only; nothing was changed")
        with self._lock:
            conn = self._open_conn()
            try:
                if not durable:
                    conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                    if durable:
                        self.durable_writes += 1
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                finally:
                    if not durable:
                        conn.execute("PRAGMA synchronous=FULL")
            except sqlite3.Error as e:
                raise BrokerError(f"paper broker database {self.path}: {e}; nothing was changed") from e

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every statement in it sees the same committed state."""
        with self._lock:
            conn = self._open_conn()
            try:
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    if conn.in_transaction:
                        conn.execute("COMMIT")
            except sqlite3.Error as e:
                raise BrokerError(f"paper broker database {self.path}: {e}") from e

    def query(self, sql: str, args: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """The rows of one statement, which is its own read transaction: one read needs no
        ``BEGIN`` and ``COMMIT`` around it."""
        with self._lock:
            conn = self._open_conn()
            try:
                return conn.execute(sql, args).fetchall()
            except sqlite3.Error as e:
                raise BrokerError(f"paper broker database {self.path}: {e}") from e

    def _open_conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise BrokerDisconnected(f"paper broker {self.path} is closed")
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
