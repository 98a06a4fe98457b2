"""Rebuilding state: the newest valid snapshot plus a replay of the journal after it."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..apply import Projection
from ..errors import CorruptJournal, CorruptSnapshot, InvalidEvent
from ..events import QuoteReceived
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
    replay_rows(proj, history.rows(conn, after=proj.seq, until=until_seq, head=head, origin=origin), out)
    return out


QUOTE_TOPIC, QUOTE_TYPE = QuoteReceived.topic, QuoteReceived.__name__
_QUOTE_HEAD = '{"symbol":"'


def replay_rows(proj: Projection, rows: Iterable[journal.Row], out: Restored) -> None:
    """Apply verified rows in order; a run of consecutive quotes is applied in short.

    Why it is the same state: a quote changes the symbol's last quote and, for a held
    position whose mark it moves, the mark and the account's figures (functions of cash and
    the marks alone). Within a run of quotes nothing else changes, so the state after the run
    is that after applying, per symbol and in seq order, the last quote that moved the price
    (it sets the part's seq and time as it did live) and the symbol's last quote. The rest
    were planned and checked when committed (each row's checksum is still checked here);
    only they are not decoded. Quotes journaled at an older version are applied one by one.
    """
    apply, version = proj.apply, QuoteReceived.version
    run: list[journal.Row] = []

    def flush() -> None:
        if len(run) <= 2:
            for r in run:
                _apply_one(apply, r, out)
        else:
            try:
                _apply_quotes(proj, run, out)
            except ValueError:  # a payload not as this version writes it: one by one
                for r in run:
                    _apply_one(apply, r, out)
        run.clear()

    for row in rows:
        if row[2] == QUOTE_TYPE and row[3] == version and row[6].startswith(_QUOTE_HEAD):
            run.append(row)
            continue
        if run:
            flush()
        _apply_one(apply, row, out)
    if run:
        flush()


def _apply_one(apply: Any, row: journal.Row, out: Restored) -> None:
    ev = journal.decode_row(row, verified=True)
    if row[3] != ev.version:
        out.upcast += 1
    try:
        apply(ev)
    except InvalidEvent as e:
        raise CorruptJournal(row[0], f"{ev.type} does not apply to the state before it: {e}") from e
    out.replayed += 1


def _apply_quotes(proj: Projection, run: list[journal.Row], out: Restored) -> None:
    held = proj.values["positions"]["by_symbol"]
    price: dict[str, str] = {}  # symbol -> its last price so far, as journaled (equal floats: equal text)
    keep: dict[str, int] = {}  # symbol -> index of its last quote that moved the price
    last: dict[str, int] = {}
    for i, row in enumerate(run):  # parsed before anything is applied (a ValueError changes nothing)
        payload = row[6]
        sym_end = payload.index('"', 11)
        sym = payload[11:sym_end]
        end = payload.find(",", sym_end + 9)
        p = payload[sym_end + 9 : end if end >= 0 else -1]  # after '","last":'
        prev = price.get(sym)
        if prev is None:
            pos = held.get(sym)
            if pos is None or pos.mark is None or float(p) != pos.mark:
                keep[sym] = i
        elif p != prev:
            keep[sym] = i
        price[sym] = p
        last[sym] = i
    apply = proj.apply
    chosen = sorted({*keep.values(), *last.values()})
    for i in chosen:
        _apply_one(apply, run[i], out)
    out.replayed += len(run) - len(chosen)


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
