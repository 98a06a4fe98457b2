"""Rebuilding state: the newest valid snapshot plus a replay of the journal after it."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field

from ..apply import Projection
from ..errors import CorruptJournal, CorruptSnapshot, InvalidEvent
from . import journal, snapshots

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
        seq_at = conn.execute("SELECT coalesce(max(seq), 0) FROM journal WHERE ts <= ?", (until_ts,)).fetchone()[0]
        until_seq = seq_at if until_seq is None else min(until_seq, seq_at)
    out = Restored(Projection())
    if use_snapshots:
        for snap in snapshots.newest_first(conn, until_seq):
            try:
                out.projection = snap.load()
                out.snapshot_seq = snap.seq
                out.upcast += snap.upcast
                break
            except CorruptSnapshot as e:
                msg = f"{e}; using an older snapshot or a longer replay"
                log.warning(msg)
                out.warnings.append(msg)
    proj = out.projection
    for row in journal.read_rows(conn, after=proj.seq, until=until_seq):
        ev = journal.decode_row(row)
        if row[3] != ev.version:
            out.upcast += 1
        try:
            proj.apply(ev)
        except InvalidEvent as e:
            raise CorruptJournal(row[0], f"{ev.type} does not apply to the state before it: {e}") from e
        out.replayed += 1
    return out
