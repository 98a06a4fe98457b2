"""Copying a store's journal to PostgreSQL: every row exactly once, by seq, in order.

Each step reads the durable rows after the last seq PostgreSQL holds from the store's SQLite
file (read-only: the writer is never blocked), checks each row's checksum, and inserts them in
one PostgreSQL transaction with the newest snapshot they cover and a ``NOTIFY`` (delivered
only if the transaction commits). So a kill of the mirror, or of PostgreSQL, at any moment
leaves PostgreSQL with a prefix of the journal: the next start reads ``max(seq)`` there and
goes on from it, nothing twice (``seq`` is the primary key) and nothing skipped (a batch
starts at ``max(seq) + 1``). One mirror writes a database at a time (a session advisory lock,
released by PostgreSQL when the mirror's connection dies).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from ..bus.stats import LatencyReservoir
from ..errors import MirrorError
from ..persist import journal, schema, snapshots
from .pg import COLUMNS, JOURNAL_CHANNEL, MIRROR_LOCK, connect, redact

log = logging.getLogger("seamless.mirror")

INSERT_ROW = f"INSERT INTO seamless_journal ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
INSERT_SNAPSHOT = (
    "INSERT INTO seamless_snapshots (seq, schema_version, created_at, payload, checksum) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (seq) DO NOTHING"
)
#: Connection errors worth waiting out (PostgreSQL restarting, the network); others stop the mirror.
RETRYABLE = (psycopg.OperationalError, psycopg.InterfaceError)


class Mirror:
    """Copies the journal of the store at ``db`` to the PostgreSQL database at ``url``.

    :meth:`step` copies one batch; :meth:`run` (or :meth:`start`, on a thread) keeps copying
    until stopped, polling the file every ``interval_s`` and reconnecting after ``retry_s`` when
    PostgreSQL is gone."""

    def __init__(
        self,
        db: str | Path,
        url: str,
        *,
        batch: int = 5_000,
        interval_s: float = 0.01,
        retry_s: float = 1.0,
        keep_snapshots: int = 3,
    ) -> None:
        self.db, self.url = str(db), url
        self.batch, self.interval_s, self.retry_s, self.keep_snapshots = batch, interval_s, retry_s, keep_snapshots
        self.seq = 0  # the last seq PostgreSQL holds, as far as this mirror knows
        self.snapshot_seq = 0
        self.rows = self.batches = self.reconnects = 0
        self.lag = LatencyReservoir()  # commit (the row's ts) -> committed in PostgreSQL
        self.error: str | None = None  # why PostgreSQL cannot be reached now (None: it can)
        self._pg: psycopg.Connection | None = None
        self._sqlite: sqlite3.Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one step ------------------------------------------------------------------------------

    def _open(self) -> None:
        pg = connect(self.url)
        try:
            got = pg.execute("SELECT pg_try_advisory_lock(%s)", (MIRROR_LOCK,)).fetchone()
            if not got or not got[0]:
                raise MirrorError(
                    f"{redact(self.url)}: another mirror is writing this database; one mirror per account"
                )
            row = pg.execute("SELECT coalesce(max(seq), 0) FROM seamless_journal").fetchone()
            snap = pg.execute("SELECT coalesce(max(seq), 0) FROM seamless_snapshots").fetchone()
            pg.commit()
        except BaseException:
            pg.close()
            raise
        self._pg = pg
        self.seq, self.snapshot_seq = int(row[0]) if row else 0, int(snap[0]) if snap else 0
        if self._sqlite is None:
            self._sqlite = schema.open_reader(self.db)
        self._check_same_journal()

    def _check_same_journal(self) -> None:
        """PostgreSQL's last row must be this store's row of that seq (not another account's)."""
        if self.seq == 0 or self._pg is None or self._sqlite is None:
            return
        theirs = self._pg.execute("SELECT checksum FROM seamless_journal WHERE seq = %s", (self.seq,)).fetchone()
        self._pg.commit()
        ours = self._sqlite.execute("SELECT checksum FROM journal WHERE seq = ?", (self.seq,)).fetchone()
        if ours is None or theirs is None or int(theirs[0]) != int(ours[0]):
            raise MirrorError(
                f"{redact(self.url)} holds another journal than {self.db} (seq {self.seq} differs"
                f"{'' if ours else ': the store has no such row'}); mirror each account to its own database"
            )

    def step(self) -> int:
        """Copy the next batch of durable rows (and the newest snapshot they cover); how many."""
        if self._pg is None:
            self._open()
        assert self._pg is not None and self._sqlite is not None
        rows = list(journal.read_rows(self._sqlite, after=self.seq, until=self.seq + self.batch))
        for row in rows:
            journal.verify(row)  # a damaged row stops here, named, rather than reach a viewer
        last = rows[-1][0] if rows else self.seq
        # A snapshot may come after its rows were copied (the one written at close): copied alone.
        newest = self._sqlite.execute("SELECT coalesce(max(seq), 0) FROM snapshots WHERE seq <= ?", (last,)).fetchone()
        snap = next(snapshots.newest_first(self._sqlite, until=last), None) if newest[0] > self.snapshot_seq else None
        if not rows and snap is None:
            return 0
        pg = self._pg
        with pg.cursor() as cur:
            if rows:
                cur.executemany(INSERT_ROW, rows)
            if snap is not None:
                cur.execute(
                    INSERT_SNAPSHOT, (snap.seq, snap.schema_version, snap.created_at, snap.payload, snap.checksum)
                )
                cur.execute(
                    "DELETE FROM seamless_snapshots WHERE seq NOT IN "
                    "(SELECT seq FROM seamless_snapshots ORDER BY seq DESC LIMIT %s)",
                    (self.keep_snapshots,),
                )
            if rows:
                cur.execute("SELECT pg_notify(%s, %s)", (JOURNAL_CHANNEL, str(last)))
        pg.commit()
        if snap is not None:
            self.snapshot_seq = snap.seq
        if not rows:
            return 0
        now = time.time()
        for row in rows:
            self.lag.add(max(0.0, now - row[4]))
        self.seq = last
        self.rows += len(rows)
        self.batches += 1
        return len(rows)

    # -- running -------------------------------------------------------------------------------

    def run(self, until_seq: int | None = None) -> None:
        """Copy until :meth:`close` (or until PostgreSQL holds ``until_seq``)."""
        while not self._stop.is_set():
            try:
                n = self.step()
                if self.error is not None:
                    log.warning("mirror to %s: PostgreSQL is back; copying from seq %d", redact(self.url), self.seq)
                    self.error = None
                if until_seq is not None and self.seq >= until_seq:
                    return
                if n < self.batch:
                    self._stop.wait(self.interval_s)
            except RETRYABLE as e:
                self._drop_pg()
                why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                if self.error is None:
                    log.warning(
                        "mirror to %s: PostgreSQL cannot be reached (%s); retrying every %.1f s from seq %d",
                        redact(self.url),
                        why,
                        self.retry_s,
                        self.seq,
                    )
                self.error = why
                self.reconnects += 1
                self._stop.wait(self.retry_s)

    def start(self) -> Mirror:
        """:meth:`run` on a thread of its own."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run_logged, name="seamless-mirror", daemon=True)
            self._thread.start()
        return self

    def _run_logged(self) -> None:
        try:
            self.run()
        except Exception as e:
            self.error = str(e)
            log.exception("the mirror to %s stopped on an error", redact(self.url))

    def _drop_pg(self) -> None:
        if self._pg is not None:
            try:
                self._pg.close()
            except psycopg.Error:
                pass
            self._pg = None

    def stats(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "rows": self.rows,
            "batches": self.batches,
            "reconnects": self.reconnects,
            "error": self.error,
            "lag": self.lag.percentiles_ms(),
        }

    def stop(self) -> None:
        """Make :meth:`run` return (from a signal handler or another thread)."""
        self._stop.set()

    def close(self, drain: bool = True) -> None:
        """Stop; with ``drain``, copy what the file holds by now first (when PostgreSQL is there)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if drain and self.error is None:
            try:
                while self.step():
                    pass
            except RETRYABLE as e:
                log.warning(
                    "mirror to %s: the last rows were not copied (%s); PostgreSQL holds up to seq %d",
                    redact(self.url),
                    e,
                    self.seq,
                )
        self._drop_pg()
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
