"""The whole history: journal rows and archived rows, merged back in seq order and checked.

Every reader that walks a range of events (recovery, replay, analysis, the verifier) reads
through :func:`rows`: a seq archived out of the journal comes from its archive file, so a
range across the retention boundary reads as if nothing had moved. Along the way each row is
checked: its own checksum, no gap, and the hash chain (:mod:`.chain`) from ``head`` on.

:func:`verify` walks everything from seq 1 (the scrubber and ``seamless verify``).
"""

from __future__ import annotations

import heapq
import itertools
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CorruptArchive, CorruptJournal
from . import archive, chain, journal
from .journal import Row

#: Tables of version 3 (made by :func:`create`, and by the migration from version 2).
TABLES = (
    "CREATE TABLE chain (start_seq INTEGER NOT NULL, head INTEGER NOT NULL)",
    archive.TABLE,
    archive.INDEX,
    archive.GUARD,
    "CREATE TABLE scrub (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, head INTEGER NOT NULL, "
    "files_checked INTEGER NOT NULL, passes INTEGER NOT NULL, pass_started_at REAL, last_pass_at REAL, "
    "finding TEXT)",
)


def rows(
    conn: sqlite3.Connection,
    after: int = 0,
    until: int | None = None,
    *,
    head: int | None = None,
    origin: chain.Origin | None = None,
    batch: int = 10_000,
) -> Iterator[Row]:
    """Rows with after < seq <= until, in order, journal and archives merged; each checked:
    its own checksum, no gap (:class:`CorruptJournal` names the seq), and the chain from
    ``head`` (the chain value at ``after``; None: picked up at the first stored chain value).
    ``after=0`` starts the chain from its origin."""
    return itertools.chain.from_iterable(batches(conn, after, until, head=head, origin=origin, batch=batch))


def batches(
    conn: sqlite3.Connection,
    after: int = 0,
    until: int | None = None,
    *,
    head: int | None = None,
    origin: chain.Origin | None = None,
    batch: int = 10_000,
) -> Iterator[list[Row]]:
    """:func:`rows`, a list at a time (replay reads them so: a generator step per row costs)."""
    if conn.in_transaction:
        yield from _batches(conn, after, until, head, origin, batch)
        return
    # One read transaction: the archives' records and the journal as of one moment (a
    # compaction may move rows between two statements otherwise).
    conn.execute("BEGIN")
    try:
        yield from _batches(conn, after, until, head, origin, batch)
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def _batches(
    conn: sqlite3.Connection, after: int, until: int | None, head: int | None, origin: chain.Origin | None, batch: int
) -> Iterator[list[Row]]:
    if after == 0 and head is None:
        head = 0
    follow = chain.Chain(origin or chain.origin(conn), head)
    archived = archive.recorded(conn, after, until)
    source: Iterator[list[tuple[Any, ...]]]
    if archived:
        root = archive.directory(archive.store_path(conn))
        merged = heapq.merge(
            journal.read_rows(conn, after, until, batch=batch, gaps=True),
            *(_archived(root, a, after, until) for a in archived),
            key=lambda r: r[0],
        )
        source = iter(lambda: list(itertools.islice(merged, batch)), [])
    else:
        sql = journal.SELECT + " WHERE seq > ?" + (" AND seq <= ?" if until is not None else "") + " ORDER BY seq"
        cur = conn.execute(sql, (after,) if until is None else (after, until))
        source = iter(lambda: cur.fetchmany(batch), [])
    expect = after + 1
    crc, mask, start = zlib.crc32, chain.MASK, follow.origin.start
    h = follow.head
    for raw in source:
        out: list[Row] = []
        add = out.append
        for row in raw:
            seq = row[0]
            if seq != expect:
                if seq < expect:  # a row both archived and (still) in the journal: a compaction's
                    continue  # deletes not yet finished; the journal's copy came first
                raise CorruptJournal(expect, f"missing (next row found is seq={seq})")
            expect += 1
            if len(row) == 7:  # archived: its checksums follow from its columns and the chain
                mine = journal.row_checksum(*row)
                follow.head = h
                follow.feed(seq, 0, mine)
                h = follow.head
                add((*row, chain.pack(h or 0, mine)))
                continue
            # journal.verify and Chain.feed, inlined for the common case: this runs per event
            _, topic, type_, version, ts, xts, payload, c = row
            mine = crc(f"{seq}|{topic}|{type_}|{version}|{ts!r}|{xts!r}|{payload}".encode())
            if mine != c & mask:
                raise CorruptJournal(seq, f"checksum mismatch ({topic} {type_})")
            if h is not None and seq > start:
                h = crc(mine.to_bytes(4, "little"), h)
                if h != (c >> 32) & mask:
                    raise CorruptJournal(seq, chain.BROKEN)
            else:
                follow.head = h
                follow.feed(seq, c)
                h = follow.head
            add(row)
        yield out


def _archived(root: Path, a: archive.Archive, after: int, until: int | None) -> Iterator[tuple[Any, ...]]:
    n = 0
    for row in archive.read(root, a, after, until):
        n += 1
        yield row
    if after < a.first_seq and (until is None or until >= a.last_seq) and n != a.rows:
        raise CorruptArchive(str(root / a.file), f"holds {n} rows; the store recorded {a.rows}")


def check_end(conn: sqlite3.Connection) -> None:
    """Rows cut off the end: the chain's origin and the newest snapshot each say how far the
    journal reached when they were written (read as of one moment: a writer may be adding
    rows and snapshots meanwhile)."""
    own_txn = not conn.in_transaction
    if own_txn:
        conn.execute("BEGIN")
    try:
        end = max(journal.last_seq(conn), max((a.last_seq for a in archive.recorded(conn)), default=0))
        o = chain.origin(conn)
        snap = conn.execute("SELECT coalesce(max(seq), 0) FROM snapshots").fetchone()[0]
    finally:
        if own_txn and conn.in_transaction:
            conn.execute("COMMIT")
    if o.head >= 0 and end < o.start - 1:
        raise CorruptJournal(end + 1, f"missing: the chain's origin says the journal reached seq {o.start - 1}")
    if end < snap:
        raise CorruptJournal(end + 1, f"missing: a snapshot was taken at seq {snap}")


@dataclass
class Progress:
    """Where a walk of the history stands: resumable from ``seq`` with chain value ``head``."""

    seq: int = 0
    head: int = 0
    files_checked: int = 0
    bytes_read: int = 0
    started_at: float = field(default_factory=time.time)


@dataclass
class Finding:
    """The first thing found wrong: a seq (a journal row, or an archived row) or a file."""

    where: str  # "seq 123" or the archive file's path
    reason: str
    seq: int | None = None
    file: str | None = None


def verify(
    conn: sqlite3.Connection,
    *,
    progress: Progress | None = None,
    until: int | None = None,
    budget: Callable[[int], None] | None = None,
    batch: int = 2_000,
) -> tuple[Progress, Finding | None]:
    """Walk the history from ``progress`` (or the start) to ``until`` (or the end): every
    archive file against its checksum, every row against its own checksum and the chain.
    ``budget(bytes)`` is called after each batch (the scrubber sleeps in it to bound its I/O).
    Returns where it got to and the first finding, or None when all of it is intact."""
    p = progress or Progress()
    whole = until is None
    if until is None:
        until = max(journal.last_seq(conn), max((a.last_seq for a in archive.recorded(conn)), default=0))
    root = archive.directory(archive.store_path(conn))
    if p.seq == 0:  # files first: a bad file is named as a file, not by the row it garbles
        for a in archive.recorded(conn)[p.files_checked :]:
            try:
                archive.verify_file(root, a)
            except CorruptArchive as e:
                return p, Finding(e.file, str(e), file=e.file)
            p.files_checked += 1
            size = (root / a.file).stat().st_size
            p.bytes_read += size
            if budget is not None:
                budget(size)
    try:
        n, size = 0, 0
        for row in rows(conn, p.seq, until, head=p.head, batch=batch):
            n += 1
            size += len(row[6]) + 48
            p.seq, p.head = row[0], chain.chained(row[7])
            if n >= batch:
                p.bytes_read += size
                if budget is not None:
                    budget(size)
                n, size = 0, 0
        p.bytes_read += size
        if budget is not None and size:
            budget(size)
        if whole:
            check_end(conn)
    except CorruptJournal as e:
        return p, Finding(f"seq {e.seq}", str(e), seq=e.seq)
    except CorruptArchive as e:
        return p, Finding(e.file, str(e), file=e.file)
    return p, None
