"""A read-only replica of a store that follows its PostgreSQL mirror (a viewer on another host).

Restored like the store (the newest valid mirrored snapshot + the rows after it), it then
applies each new row with the same planners and publishes it on its own bus, so the views,
the push and ``/events`` work on it unchanged. New rows are announced by the mirror's
``NOTIFY`` (``LISTEN`` here); it also reads every ``interval_s`` in case one was missed (a
reconnect), and reconnects every ``retry_s`` while PostgreSQL is gone. It never writes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import psycopg

from ..apply import Projection
from ..errors import CorruptJournal, CorruptSnapshot
from ..events import Event
from ..persist import journal, snapshots
from ..store.replica import Replica
from .copier import RETRYABLE
from .pg import COLUMNS, JOURNAL_CHANNEL, connect, redact

log = logging.getLogger("seamless.mirror")

SELECT = f"SELECT {COLUMNS} FROM seamless_journal"


class PgSource(Replica):
    """A :class:`~seamless.store.StateSource` on the mirror at ``url``."""

    def __init__(self, url: str, *, interval_s: float = 1.0, retry_s: float = 1.0) -> None:
        self.url, self.interval_s, self.retry_s = url, interval_s, retry_s
        self._conn = connect(url, autocommit=True)
        self.error: str | None = None
        super().__init__(*self._restore())
        self.last_ts = self._restored_ts

    # -- reading the mirror ------------------------------------------------------------------

    def _restore(self) -> tuple[Projection, int]:
        proj, snapshot_seq = Projection(), 0
        found = self._conn.execute(
            "SELECT seq, schema_version, created_at, payload, checksum FROM seamless_snapshots ORDER BY seq DESC"
        ).fetchall()
        for seq, version, created_at, payload, checksum in found:
            try:
                proj = snapshots.Snapshot(seq, seq, version, created_at, payload, checksum).load()
                snapshot_seq = seq
                break
            except CorruptSnapshot as e:
                log.warning("%s; using an older snapshot or a longer replay", e)
        for row in self._rows(after=proj.seq):
            proj.apply(journal.decode_row(row))
        newest = self._conn.execute("SELECT ts FROM seamless_journal WHERE seq = %s", (proj.seq,)).fetchone()
        self._restored_ts = float(newest[0]) if newest else None
        return proj, snapshot_seq

    def _rows(self, after: int, until: int | None = None, batch: int = 10_000) -> Iterator[journal.Row]:
        """Rows with after < seq <= until, in order, in batches; a gap is corruption."""
        expect = after + 1
        while until is None or expect <= until:
            top = expect - 1 + batch if until is None else min(until, expect - 1 + batch)
            rows = self._conn.execute(
                SELECT + " WHERE seq > %s AND seq <= %s ORDER BY seq", (expect - 1, top)
            ).fetchall()
            for row in rows:
                if row[0] != expect:
                    raise CorruptJournal(expect, f"missing in the mirror (next row found is seq={row[0]})")
                expect += 1
                yield row
            if expect <= top:  # fewer rows than asked for: the end, for now
                return

    def tail(self, n: int, topics: Iterable[str] | None = None) -> list[Event]:
        """The last ``n`` events applied here, oldest first; with ``topics`` (fnmatch patterns)
        only those of a matching topic."""
        if n <= 0:
            return []
        where, args = "seq <= %s", [self._proj.seq]
        if topics is not None:
            patterns = [_regex(p) for p in topics]
            if not patterns:
                return []
            where += " AND topic ~ ANY(%s)"
            args.append(patterns)  # type: ignore[arg-type]
        with self._lock:
            rows = self._conn.execute(SELECT + f" WHERE {where} ORDER BY seq DESC LIMIT %s", (*args, n)).fetchall()
        return [journal.decode_row(row) for row in reversed(rows)]

    # -- following -----------------------------------------------------------------------------

    def start(self) -> PgSource:
        """Follow the mirror in the background until :meth:`close`."""
        self._start(self._follow, "seamless-pg-follower")
        return self

    def _follow(self) -> None:
        while not self._stop.is_set():
            listener: psycopg.Connection | None = None
            try:
                listener = psycopg.connect(self.url, autocommit=True)
                listener.execute(f"LISTEN {JOURNAL_CHANNEL}")
                if self.error is not None:
                    self._reconnect_reader()
                self.poll()  # what came while not listening
                if self.error is not None:
                    log.warning("following %s: PostgreSQL is back, at seq %d", redact(self.url), self.seq)
                    self.error = None
                while not self._stop.is_set():
                    for _ in listener.notifies(timeout=self.interval_s, stop_after=1):
                        pass
                    self.poll()
            except RETRYABLE as e:
                why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                if self.error is None:
                    log.warning(
                        "following %s: PostgreSQL cannot be reached (%s); retrying every %.1f s",
                        redact(self.url),
                        why,
                        self.retry_s,
                    )
                self.error = why
                self._stop.wait(self.retry_s)
            except Exception:
                log.exception("following the mirror at %s failed; retrying", redact(self.url))
                self._stop.wait(self.retry_s)
            finally:
                if listener is not None:
                    listener.close()

    def _reconnect_reader(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = connect(self.url, autocommit=True)

    def _close_source(self) -> None:
        self._conn.close()


def _regex(pattern: str) -> str:
    """An fnmatch pattern (as the bus takes them) as a PostgreSQL regular expression matching
    the whole topic."""
    out, i = ["^"], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[" and (j := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1 : j]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = j
        else:
            out.append("\\" + c if not c.isalnum() and c != "_" else c)
        i += 1
    return "".join(out) + "$"
