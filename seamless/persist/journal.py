"""Journal rows: encoding, checksums (each row's own, and the hash chain: :mod:`.chain`), and
the transaction that writes them."""

from __future__ import annotations

import itertools
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import CorruptJournal, InvalidEvent, StoreError, StoreFull, StoreLocked, StoreWriteFailed
from ..events import Event, decode
from . import chain

Row = tuple[int, str, str, int, float, float | None, str, int]
INSERT = "INSERT INTO journal (seq, topic, type, version, ts, exchange_ts, payload, checksum) VALUES (?,?,?,?,?,?,?,?)"
# Several rows a statement: SQLite steps each statement once, and Python's sqlite3 lets go of
# the GIL around each step, so a thread busy elsewhere (the server's loop) takes it back
# between every row of an executemany. A few fixed sizes keep each statement prepared in the
# connection's cache; 64 rows are 512 parameters, under SQLite's oldest limit (999).
_MULTI = {n: INSERT + ",(?,?,?,?,?,?,?,?)" * (n - 1) for n in (64, 16, 4)}
SELECT = "SELECT seq, topic, type, version, ts, exchange_ts, payload, checksum FROM journal"


def row_checksum(
    seq: int, topic: str, type_: str, version: int, ts: float, exchange_ts: float | None, payload: str
) -> int:
    """CRC-32 over every column: catches overwritten bytes that integrity_check misses."""
    return zlib.crc32(f"{seq}|{topic}|{type_}|{version}|{ts!r}|{exchange_ts!r}|{payload}".encode())


def encode(ev: Event, prev: int = 0) -> Row:
    """The row of a stamped event after a row whose chain value is ``prev``
    (:func:`chain.chained` of the result is this row's)."""
    # REAL columns hand ints back as floats: checksum what will be read back.
    ts, xts = ev.ts, ev.exchange_ts
    if TYPE_CHECKING:  # only stamped events are journaled: Store stamps seq and ts first
        assert ev.seq is not None and ts is not None
    if type(ts) is not float:
        ts = float(ts)
    if xts is not None and type(xts) is not float:
        xts = float(xts)
    cls = type(ev)
    seq, topic, name, version, payload = ev.seq, cls.topic, cls.__name__, cls.version, ev.payload_json()
    mine = row_checksum(seq, topic, name, version, ts, xts, payload)
    return (seq, topic, name, version, ts, xts, payload, chain.pack(chain.link(mine, prev), mine))


def encode_all(events: Sequence[Event], prev: int) -> tuple[list[Row], int]:
    """Rows for ``events`` (consecutive seqs) chained after ``prev``; and the last chain value.
    :func:`encode`, :func:`row_checksum` and :mod:`.chain` inlined, row for row the same: the
    writer runs this per event under the GIL the committing thread needs."""
    rows: list[Row] = []
    append, crc32, sign, wrap = rows.append, zlib.crc32, chain.SIGN, chain.WRAP
    for ev in events:
        cls = type(ev)
        seq, topic, name, version, ts, xts = ev.seq, cls.topic, cls.__name__, cls.version, ev.ts, ev.exchange_ts
        if type(ts) is not float:  # REAL columns hand ints back as floats: checksum what is read back
            ts = float(ts)  # type: ignore[arg-type]  # stamped: see encode
        if xts is not None and type(xts) is not float:
            xts = float(xts)
        payload = ev.payload_json()
        mine = crc32(f"{seq}|{topic}|{name}|{version}|{ts!r}|{xts!r}|{payload}".encode())
        prev = crc32(mine.to_bytes(4, "little"), prev)
        packed = (prev << 32) | mine
        append((seq, topic, name, version, ts, xts, payload, packed - wrap if packed >= sign else packed))  # type: ignore[arg-type]
    return rows, prev


def verify(row: Row) -> None:
    seq, topic, type_, version, ts, exchange_ts, payload, checksum = row
    if row_checksum(seq, topic, type_, version, ts, exchange_ts, payload) != checksum & chain.MASK:
        raise CorruptJournal(seq, f"checksum mismatch ({topic} {type_})")


def decode_row(row: Row, verified: bool = False) -> Event:
    """The event of a row; its checksum is checked unless ``verified`` already."""
    if not verified:
        verify(row)
    seq, topic, type_, version, ts, exchange_ts, payload, _ = row
    try:
        return decode(type_, version, payload, seq=seq, ts=ts, exchange_ts=exchange_ts)
    except (InvalidEvent, ValueError, TypeError) as e:
        raise CorruptJournal(seq, f"cannot decode {type_}: {e}") from e


def read_rows(
    conn: sqlite3.Connection, after: int = 0, until: int | None = None, batch: int = 10_000, gaps: bool = False
) -> Iterator[Row]:
    """Rows with after < seq <= until, in order, fetched in batches; gaps are corruption unless
    ``gaps`` (rows archived out of the journal: :func:`seamless.persist.history.rows` fills them)."""
    sql = SELECT + " WHERE seq > ?" + (" AND seq <= ?" if until is not None else "") + " ORDER BY seq"
    cur = conn.execute(sql, (after,) if until is None else (after, until))
    expect = after + 1
    while rows := cur.fetchmany(batch):
        if gaps:
            yield from rows
            continue
        for row in rows:
            if row[0] != expect:
                raise CorruptJournal(expect, f"missing (next row found is seq={row[0]})")
            expect += 1
            yield row


def tail_rows(
    conn: sqlite3.Connection, n: int, until: int | None = None, topics: Iterable[str] | None = None
) -> list[Row]:
    """The last ``n`` rows with seq <= ``until`` (any seq if None), oldest first; with ``topics``
    (fnmatch patterns: ``*``, ``?``, ``[...]``, ``[!...]``) only rows of a matching topic.
    Read backwards along the primary key: it stops once ``n`` are found."""
    where: list[str] = []
    args: list[int | str] = []
    if until is not None:
        where.append("seq <= ?")
        args.append(until)
    if topics is not None:
        patterns = [p.replace("[!", "[^") for p in topics]  # fnmatch's negated set, in GLOB
        if not patterns:
            return []
        where.append("(" + " OR ".join(["topic GLOB ?"] * len(patterns)) + ")")
        args += patterns
    if n <= 0:
        return []
    sql = SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq DESC LIMIT ?"
    rows = conn.execute(sql, (*args, n)).fetchall()
    rows.reverse()
    return rows


def last_seq(conn: sqlite3.Connection) -> int:
    seq: int = conn.execute("SELECT coalesce(max(seq), 0) FROM journal").fetchone()[0]
    return seq


def write(
    conn: sqlite3.Connection, rows: Sequence[Row], extra: Iterable[tuple[str, tuple[Any, ...]]] = (), path: str = ""
) -> None:
    """One durable transaction: the rows, then any extra statements (a snapshot)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            insert(conn, rows)
            for sql, params in extra:
                conn.execute(sql, params)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError as e:
        raise translate(e, path, rows) from e
    except sqlite3.DatabaseError as e:
        raise StoreWriteFailed(f"writing {_span(rows)} to {path} failed: {e}") from e


def insert(conn: sqlite3.Connection, rows: Sequence[Row]) -> None:
    """``rows`` into the journal, inside the caller's transaction: 64, 16 or 4 to a statement,
    the last few alone (100 rows are four statements, not 100 steps)."""
    i, n = 0, len(rows)
    for size, sql in _MULTI.items():
        while n - i >= size:
            conn.execute(sql, list(itertools.chain.from_iterable(rows[i : i + size])))
            i += size
    for row in rows[i:]:
        conn.execute(INSERT, row)


def _span(rows: Sequence[Row]) -> str:
    return f"events seq {rows[0][0]}..{rows[-1][0]}" if rows else "a snapshot or the store's own records"


def translate(e: sqlite3.OperationalError, path: str, rows: Sequence[Row]) -> StoreError:
    msg = str(e)
    if "locked" in msg or "busy" in msg:
        return StoreLocked(
            f"{path} is locked by another process; gave up after the busy timeout and did not journal {_span(rows)}"
        )
    if "full" in msg:
        return StoreFull(
            f"{path}: disk or database full; did not journal {_span(rows)} (the store carries on once space returns)"
        )
    return StoreWriteFailed(f"writing {_span(rows)} to {path} failed: {msg}")
