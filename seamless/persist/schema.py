"""The database: tables, pragmas, schema version, and opening it for write or read.

The journal is append-only (triggers refuse UPDATE and DELETE).  The schema
version lives in ``PRAGMA user_version``; a newer one is refused untouched, an older
one is migrated by ``open_writer`` (see :mod:`seamless.persist.migrations`) and read
through upcasts by ``open_reader``, which never modifies anything.

Every connection to a store is made by :func:`connect` here, which checks the version
and turns SQLite's "not a database" into a :class:`~seamless.errors.StoreError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from ..errors import StoreError, StoreInUse
from . import history, migrations
from .version import SCHEMA_VERSION, check_version

__all__ = [
    "BUSY_TIMEOUT_S",
    "SCHEMA_VERSION",
    "WriterLock",
    "check_version",
    "connect",
    "create",
    "limit_size",
    "open_checkpointer",
    "open_reader",
    "open_writer",
]

BUSY_TIMEOUT_S = 5.0
PAGE_SIZE = 1024


def create(db: sqlite_utils.Database) -> None:
    db.table("journal").create(
        {
            "seq": int,
            "topic": str,
            "type": str,
            "version": int,
            "ts": float,
            "exchange_ts": float,
            "payload": str,
            "checksum": int,
        },
        pk="seq",
        not_null={"topic", "type", "version", "ts", "payload", "checksum"},
    )
    db.table("snapshots").create(
        {"id": int, "seq": int, "schema_version": int, "created_at": float, "payload": str, "checksum": str},
        pk="id",
        not_null={"seq", "schema_version", "created_at", "payload", "checksum"},
    )
    db.table("snapshots").create_index(["seq"])
    db.execute("CREATE INDEX journal_ts ON journal (ts)")  # replay --until TIME (version 2)
    db.execute(
        "CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal "
        "BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END"
    )
    for sql in history.TABLES:  # version 3: the chain's origin, archives, the scrubber's progress
        db.execute(sql)
    db.execute("INSERT INTO chain (start_seq, head) VALUES (1, 0)")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def connect(
    path: str | Path, *, read_only: bool = False, busy_timeout_s: float = BUSY_TIMEOUT_S
) -> tuple[sqlite3.Connection, int]:
    """A connection to the store at ``path`` and its schema version (a newer one is refused).

    Read-only: the file must exist and hold a journal. Read-write: the directory must
    exist; a new file is made (empty: :func:`open_writer` lays out the tables).
    """
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"no store at {path}")
    if not read_only and path.parent and not path.parent.exists():
        raise StoreError(f"directory {path.parent} does not exist")
    target = f"file:{path}?mode=ro" if read_only else str(path)
    conn = sqlite3.connect(target, uri=read_only, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
    with _closed_on_error(conn, path, every_error=read_only):
        found = check_version(conn, path)
        if read_only and not conn.execute("SELECT 1 FROM sqlite_master WHERE name='journal'").fetchone():
            raise StoreError(f"{path} is not a Seamless store (no journal table)")
    return conn, found


@contextlib.contextmanager
def _closed_on_error(conn: sqlite3.Connection, path: Path, *, every_error: bool) -> Iterator[None]:
    """Close ``conn`` if the block fails; a file that is not a store (or is damaged) is a
    StoreError. ``every_error``: any SQLite error is (a reader); else a busy or locked
    database stays SQLite's own error, for the writer's caller to retry or report."""
    try:
        yield
    except sqlite3.DatabaseError as e:
        conn.close()
        if every_error or "not a database" in str(e) or "malformed" in str(e):
            raise StoreError(f"{path} is not a Seamless store (or is damaged): {e}") from e
        raise
    except BaseException:
        conn.close()
        raise


def open_writer(path: str | Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """The one read-write connection: WAL, synchronous=FULL, explicit transactions; a new
    store gets its tables, an older one is migrated."""
    conn, found = connect(path, busy_timeout_s=busy_timeout_s)
    with _closed_on_error(conn, Path(path), every_error=False):
        if not conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
            # A new file: small pages make each durable commit write less (measured here:
            # 0.90 of the raw fsync floor at 1 KiB pages against 0.83 at 4 KiB).
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            # Pages freed by archiving go back to the file system a few at a time, between
            # commits (PRAGMA incremental_vacuum), never by a VACUUM that stops the writer.
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        db = sqlite_utils.Database(conn)
        if "journal" not in db.table_names():
            conn.execute("BEGIN IMMEDIATE")
            create(db)
            conn.execute("COMMIT")
        elif found < SCHEMA_VERSION:
            migrations.migrate(conn, path, found)
    return conn


def limit_size(conn: sqlite3.Connection, max_bytes: int) -> None:
    """Cap the database at ``max_bytes`` (never below its size now): a write past it fails
    with SQLITE_FULL, as on a full disk."""
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    conn.execute(f"PRAGMA max_page_count = {max(pages, int(max_bytes) // page_size)}")


def open_checkpointer(path: str | Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A second connection of the writer's, that only runs WAL checkpoints."""
    conn, _ = connect(path, busy_timeout_s=busy_timeout_s)
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def open_reader(path: str | Path) -> sqlite3.Connection:
    """A read-only connection: never writes, never blocks the writer (WAL). An older store
    is read as it is, through upcasts, or refused with a request for ``seamless migrate``."""
    conn, found = connect(path, read_only=True)
    with _closed_on_error(conn, Path(path), every_error=True):
        if found < SCHEMA_VERSION:
            migrations.check_readable(path, found)
    return conn


class WriterLock:
    """One writing Store per database file, across processes (released by the OS on SIGKILL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(str(path) + ".lock")
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(self._fd)
            raise StoreInUse(f"{path} is already open for writing by pid {holder}; one writer per store") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
