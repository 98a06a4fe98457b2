"""Retention: non-critical events older than the window move from the journal into archives.

Critical events stay in the journal forever. A UTC day's quotes, signals and trailing-stop
moves (the non-critical topics) move once the whole day is older than ``days`` (so that each
``<store>.archive/<topic>/<date>.parquet`` is written once), by :func:`compact`: the one way a
row leaves the journal. For each topic and day:

1. the rows are written to the archive file (a temporary name, fsync, renamed in place);
2. one durable transaction journals :class:`~seamless.events.HistoryArchived` (seq range,
   file, SHA-256) and records the file (the ``archives`` table);
3. the rows are deleted from the journal a few thousand at a time, each batch a short
   transaction between the writer's commits; the pages they held go back to the file system
   the same way (``PRAGMA incremental_vacuum``).

A crash before 2 leaves the old layout (a file no record names is deleted by the next run);
after 2, the new one: readers take a seq from the journal or its archive, once, and the next
run finishes the deletes. :class:`Retention` runs it in the background at most once an hour;
``seamless compact`` on demand.
"""

from __future__ import annotations

import calendar
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import StoreClosed
from ..events import REGISTRY, HistoryArchived
from ..persist import archive, journal, schema
from .background import Background
from .store import Store

if TYPE_CHECKING:
    import sqlite3

log = logging.getLogger("seamless.store")

DAY_S = 86_400
#: Topics whose old events move to archives: the non-critical ones.
NONCRITICAL = tuple(sorted({cls.topic for cls in REGISTRY.values() if not cls.critical}))
# Deletes and vacuum steps hold the writer: small steps, so that a commit waits ~10 ms at most
# (measured here: ~5 us a deleted row, ~6 us a page given back), with a rest after each.
DELETE_BATCH = 1_000
READ_BATCH = 50_000
VACUUM_PAGES = 1_024


def cutoff(days: float, now: float) -> float:
    """Non-critical events before this time (a UTC midnight) are archived: every day that
    ended ``days`` ago or more."""
    return (int(now - days * DAY_S) // DAY_S) * DAY_S


def day_name(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * DAY_S))


def day_number(name: str) -> int:
    return calendar.timegm(time.strptime(name, "%Y-%m-%d")) // DAY_S


#: A row's UTC day, as SQLite computes it: every statement picks a day's rows by this one
#: expression, so that a time within a rounding error of midnight lands on one day only.
DAY = f"CAST(ts / {DAY_S} AS INTEGER)"


@dataclass(frozen=True)
class Group:
    """One topic's rows of one UTC day: one archive file."""

    topic: str
    day: int  # days since the epoch
    rows: int
    first_seq: int
    last_seq: int

    @property
    def file(self) -> str:
        return f"{self.topic}/{day_name(self.day)}.parquet"


@dataclass
class Report:
    cutoff: float
    groups: list[Group] = field(default_factory=list)
    archived: list[archive.Archive] = field(default_factory=list)
    deleted: int = 0
    vacuumed_pages: int = 0
    removed_files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def document(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff,
            "groups": [
                {"file": g.file, "rows": g.rows, "first_seq": g.first_seq, "last_seq": g.last_seq} for g in self.groups
            ],
            "archived": [{"file": a.file, "rows": a.rows, "sha256": a.sha256} for a in self.archived],
            "deleted": self.deleted,
            "vacuumed_pages": self.vacuumed_pages,
            "removed_files": self.removed_files,
            "seconds": round(self.seconds, 3),
        }


def plan(conn: sqlite3.Connection, days: float, now: float | None = None) -> Report:
    """What :func:`compact` would move (nothing is changed)."""
    now = time.time() if now is None else now
    cut = cutoff(days, now)
    marks = ",".join("?" * len(NONCRITICAL))
    done = {(a.topic, a.day) for a in archive.recorded(conn)}
    # Days are archived in order: only the last archived day (a run may have stopped inside
    # it) and the days after it can hold rows to move; the critical rows before it, kept
    # forever, are not scanned again.
    since = max((day_number(d) for _, d in done), default=0) * DAY_S
    rows = conn.execute(  # the time range for the index, the day for the rule
        f"SELECT topic, {DAY} AS d, count(*), min(seq), max(seq) FROM journal "
        f"WHERE ts >= ? AND ts < ? AND d < ? AND topic IN ({marks}) GROUP BY topic, d ORDER BY d, topic",
        (since - DAY_S, cut + DAY_S, int(cut // DAY_S), *NONCRITICAL),
    ).fetchall()
    return Report(cut, [Group(*r) for r in rows if (r[0], day_name(r[1])) not in done])


def compact(
    store: Store,
    days: float,
    *,
    now: float | None = None,
    dry_run: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> Report:
    """Move every non-critical event of the days older than ``days`` into archives (see the
    module's doc); ``on_step(name)`` is called between the steps (the crash tests kill there)."""
    t0 = time.perf_counter()
    step = on_step or (lambda name: None)
    root = archive.directory(store.path)
    reader = schema.open_reader(store.path)
    try:
        report = plan(reader, days, now)
        if dry_run:
            return report
        report.deleted += _finish_deletes(store, reader, step)  # a run that died after its record
        for path in archive.unrecorded(reader, root):  # ... or before it
            path.unlink(missing_ok=True)
            report.removed_files.append(str(path))
        for g in report.groups:
            a = _write(reader, root, g, step)
            step("written")
            ev = HistoryArchived(
                topic_archived=a.topic,
                first_seq=a.first_seq,
                last_seq=a.last_seq,
                rows=a.rows,
                file=a.file,
                sha256=a.sha256,
            )
            store.commit_all([ev], also=[a.record()])
            report.archived.append(a)
            step("recorded")
            report.deleted += _delete(store, a, step)
        report.vacuumed_pages = _vacuum(store, step)
    finally:
        reader.close()
    report.seconds = time.perf_counter() - t0
    if report.archived:
        log.info(
            "archived %d events of %s in %d file(s), %.1f s",
            sum(a.rows for a in report.archived),
            store.path,
            len(report.archived),
            report.seconds,
        )
    return report


def _write(conn: sqlite3.Connection, root: Any, g: Group, step: Callable[[str], None]) -> archive.Archive:
    w = archive.Writer(root, g.topic, day_name(g.day))
    try:
        after = g.first_seq - 1
        while True:
            rows = conn.execute(
                journal.SELECT + f" WHERE seq > ? AND seq <= ? AND topic = ? AND {DAY} = ? ORDER BY seq LIMIT ?",
                (after, g.last_seq, g.topic, g.day, READ_BATCH),
            ).fetchall()
            if not rows:
                break
            for row in rows:
                journal.verify(row)  # nothing damaged goes into an archive
            w.add(rows)
            after = rows[-1][0]
            step("batch")
        return w.finish(step)
    except BaseException:
        w.abort()
        raise


def _delete(store: Store, a: archive.Archive, step: Callable[[str], None]) -> int:
    """Delete the archived rows from the journal, a batch per short transaction."""
    sql = (
        "DELETE FROM journal WHERE seq IN (SELECT seq FROM journal WHERE seq >= ? AND seq <= ? AND topic = ? "
        f"AND {DAY} = ? LIMIT ?)"
    )
    args = (a.first_seq, a.last_seq, a.topic, day_number(a.day), DELETE_BATCH)
    total = 0
    while True:

        def batch(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            with _unsynced(conn):
                journal.write(conn, [], [(sql, args)], store.path)
            return conn.total_changes - before

        t0 = time.perf_counter()
        n = int(store.exclusive(batch))
        total += n
        if n < DELETE_BATCH:
            return total
        step("deleted")
        time.sleep(time.perf_counter() - t0)  # the writer gets the other half


def _finish_deletes(store: Store, conn: sqlite3.Connection, step: Callable[[str], None]) -> int:
    n = 0
    for a in archive.recorded(conn):
        left = conn.execute(
            f"SELECT 1 FROM journal WHERE seq >= ? AND seq <= ? AND topic = ? AND {DAY} = ? LIMIT 1",
            (a.first_seq, a.last_seq, a.topic, day_number(a.day)),
        ).fetchone()
        if left:
            n += _delete(store, a, step)
    return n


def _vacuum(store: Store, step: Callable[[str], None]) -> int:
    """Give the freed pages back, a few at a time between commits (a store made with
    auto_vacuum=INCREMENTAL; an older one reuses them for new rows instead)."""

    def free(conn: sqlite3.Connection) -> int:
        return int(conn.execute("PRAGMA freelist_count").fetchone()[0])

    def some(conn: sqlite3.Connection) -> int:
        if int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]) != 2:
            return 0
        before = free(conn)
        with _unsynced(conn):  # executescript: execute() would step it once, freeing one page
            conn.executescript(f"PRAGMA incremental_vacuum({VACUUM_PAGES});")
        return before - free(conn)

    total = 0
    while True:
        t0 = time.perf_counter()
        n = int(store.exclusive(some))
        if not n:
            return total
        total += n
        step("vacuumed")
        time.sleep(time.perf_counter() - t0)  # the writer gets the other half


@contextlib.contextmanager
def _unsynced(conn: sqlite3.Connection) -> Iterator[None]:
    """No fsync for these transactions (WAL, synchronous=NORMAL): they change no event, and
    the next durable commit makes them durable too. A crash that loses one loses nothing:
    the rows are still archived (the next run deletes them again), the pages still free."""
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        conn.execute("PRAGMA synchronous=FULL")


class Retention(Background):
    """Runs :func:`compact` in the background: soon after start, then every ``every_s``."""

    name = "retention"

    def __init__(self, store: Store, days: float, *, every_s: float = 3600.0, first_after_s: float = 60.0) -> None:
        super().__init__(store)
        self.days, self.every_s, self.first_after_s = days, every_s, first_after_s
        self.last: Report | None = None

    def _loop(self) -> None:
        wait = self.first_after_s
        while not self._stop.wait(wait):
            wait = self.every_s
            try:
                self.last = compact(self.store, self.days, on_step=self._check)
            except StoreClosed:  # closing: stopped between two steps, resumed on the next run
                return
            except Exception:
                log.exception("compacting %s failed; retrying in %.0f s", self.store.path, self.every_s)

    def _check(self, step: str) -> None:
        if self._stop.is_set():
            raise StoreClosed(f"store {self.store.path} is closed")
