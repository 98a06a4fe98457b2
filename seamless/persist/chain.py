"""The journal's hash chain: each row's checksum also covers the row before it.

A row's ``checksum`` column holds two CRC-32s in one signed 64-bit integer: the low 32 bits
are the row's own (over every column, :func:`~seamless.persist.journal.row_checksum`), the
high 32 bits the chain value ``h(seq) = crc32(own(seq), h(seq - 1))``. A changed byte breaks
the row's own checksum; a deleted, inserted or reordered row breaks the chain at the next
row. A row is still checked on its own (tail reads), the chain along any run of rows.

A store made before the chain (schema version 2 and older) keeps its rows as written (the
journal is never rewritten): their high bits are 0. The migration verifies each one, folds
their own checksums into ``h`` the same way and records where the chain starts and its value
there (the ``chain`` table): the old rows are covered from then on too.
"""

from __future__ import annotations

import sqlite3
import zlib
from dataclasses import dataclass

from ..errors import CorruptJournal

MASK = 0xFFFFFFFF
BROKEN = "breaks the hash chain (a row before it was changed, removed or moved)"
SIGN = 1 << 63  # a checksum column at or above it is stored as its negative (SQLite's signed integer)
WRAP = 1 << 64


def link(own: int, prev: int) -> int:
    """The chain value of a row whose own checksum is ``own``, after a row whose chain value is ``prev``."""
    return zlib.crc32(own.to_bytes(4, "little"), prev)


def pack(chain: int, own: int) -> int:
    """The checksum column: the chain value high, the row's own low, as SQLite's signed integer."""
    v = (chain << 32) | own
    return v - WRAP if v >= SIGN else v


def own(checksum: int) -> int:
    return checksum & MASK


def chained(checksum: int) -> int:
    return (checksum >> 32) & MASK


@dataclass(frozen=True)
class Origin:
    """Where the chain starts: rows before ``start`` were written before it (their high bits
    are 0); ``head`` is the chain value at ``start - 1`` (0 for a store made with the chain)."""

    start: int = 1
    head: int = 0


def origin(conn: sqlite3.Connection) -> Origin:
    """The store's chain origin; a store not yet migrated to the chain has none: every row is old."""
    try:
        row = conn.execute("SELECT start_seq, head FROM chain").fetchone()
    except sqlite3.OperationalError:  # no chain table: an older store read as it is
        last = conn.execute("SELECT coalesce(max(seq), 0) FROM journal").fetchone()[0]
        return Origin(last + 1, -1)  # head unknown: nothing to compare the old rows with
    return Origin(*row) if row else Origin()


class Chain:
    """Follows the chain along rows in seq order (gaps are for the caller to refuse).

    ``head`` is the chain value at the row before the first one fed, or None when unknown
    (a read that starts mid-journal without it): the chain is then picked up at the first
    chained row, or at the origin."""

    def __init__(self, origin: Origin, head: int | None = 0) -> None:
        self.origin = origin
        self.head = head

    def feed(self, seq: int, checksum: int, own_crc: int | None = None) -> None:
        """Take the row at ``seq``; ``own_crc``: its own checksum recomputed (an archived row,
        which keeps no checksum column), else the checksum column's low bits (checked by the caller)."""
        mine = own(checksum) if own_crc is None else own_crc
        o, h = self.origin, self.head
        if seq < o.start:  # an old row: fold it in, and compare with the origin where it ends
            h = None if h is None else link(mine, h)
            if seq == o.start - 1 and o.head >= 0:
                if h is not None and h != o.head:
                    raise CorruptJournal(seq, "the rows up to here do not add up to the chain's origin")
                h = o.head
            self.head = h
            return
        if seq == o.start and o.head >= 0:
            if h is not None and h != o.head:
                raise CorruptJournal(seq, "the chain does not start from its recorded origin")
            h = o.head
        expect = None if h is None else link(mine, h)
        if own_crc is not None:  # archived: nothing stored to compare with
            self.head = expect
            return
        got = chained(checksum)
        if expect is not None and got != expect:
            raise CorruptJournal(seq, BROKEN)
        self.head = got


def head_at(conn: sqlite3.Connection, seq: int) -> int:
    """The chain value at ``seq``, the journal's last row (what the next row links to)."""
    o = origin(conn)
    if seq < o.start:
        return max(o.head, 0)
    row = conn.execute("SELECT checksum FROM journal WHERE seq = ?", (seq,)).fetchone()
    if row is not None:
        return chained(row[0])
    try:  # archived (a store idle for longer than the retention window): its file recorded it
        found = conn.execute("SELECT chain_last FROM archives WHERE last_seq = ?", (seq,)).fetchone()
    except sqlite3.OperationalError:
        found = None
    if found is None:
        raise CorruptJournal(seq, "missing: the journal's last row (the chain continues from it)")
    return int(found[0])
