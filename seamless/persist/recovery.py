"""Rebuilding state: the newest valid snapshot plus a replay of the journal after it."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field

from ..apply import Projection
from ..errors import CorruptJournal, CorruptSnapshot, InvalidEvent
from . import archive, chain, history, journal, snapshots

log = logging.getLogger("seamless.persist")


@dataclass
class Restored:
    projection: Projection
    snapshot_seq: int = 0
    replayed: int = 0
    #: snapshot parts and journal rows read at an older version and upcast.
    upcast: int = 0
    warnings: list[str] = field(default_factory=list)


def restore(
    conn: sqlite3.Connection, *, until_seq: int | None = None, until_ts: float | None = None, use_snapshots: bool = True
) -> Restored:
    """The state as of ``until_seq`` / ``until_ts`` (default: the end of the journal)."""
    if until_ts is not None:
        seq_at = seq_at_time(conn, until_ts)
        until_seq = seq_at if until_seq is None else min(until_seq, seq_at)
    out = Restored(Projection())
    origin = chain.origin(conn)
    head: int | None = 0
    if use_snapshots:
        for snap in snapshots.newest_first(conn, until_seq):
            try:
                out.projection = snap.load()
                out.snapshot_seq = snap.seq
                out.upcast += snap.upcast
                head = snap.chain
                break
            except CorruptSnapshot as e:
                msg = f"{e}; using an older snapshot or a longer replay"
                log.warning(msg)
                out.warnings.append(msg)
    proj = out.projection
    if proj.seq:
        check_link(conn, proj.seq, head, origin)
    apply = proj.apply
    for row in history.rows(conn, after=proj.seq, until=until_seq, head=head, origin=origin):
        ev = journal.decode_row(row)
        if row[3] != ev.version:
            out.upcast += 1
        try:
            apply(ev)
        except InvalidEvent as e:
            raise CorruptJournal(row[0], f"{ev.type} does not apply to the state before it: {e}") from e
        out.replayed += 1
    return out


def check_link(conn: sqlite3.Connection, seq: int, head: int | None, origin: chain.Origin) -> None:
    """The journal row at a snapshot's seq against the chain value the snapshot recorded."""
    if head is None or seq < origin.start:
        return  # a snapshot from before the chain: its tail is checked from the chain's origin
    row = conn.execute("SELECT checksum FROM journal WHERE seq = ?", (seq,)).fetchone()
    if row is not None and chain.chained(row[0]) != head:
        raise CorruptJournal(seq, "does not match the chain value its snapshot recorded (the row was changed)")


def seq_at_time(conn: sqlite3.Connection, ts: float) -> int:
    """The last seq with a time at or before ``ts``, in the journal or its archives."""
    seq: int = conn.execute("SELECT coalesce(max(seq), 0) FROM journal WHERE ts <= ?", (ts,)).fetchone()[0]
    files = [a for a in archive.recorded(conn, seq) if a.first_ts <= ts]
    if files:
        root = archive.directory(archive.store_path(conn))
        for a in files:
            if a.last_ts <= ts:
                seq = max(seq, a.last_seq)
                continue
            for row in archive.read(root, a, seq):
                if row[4] <= ts:
                    seq = max(seq, row[0])
    return seq
