"""A read-only replica of a store that another process writes (a notebook watching a runner).

It restores like the store (newest valid snapshot + journal tail), then applies each new
journal row with the same planners and publishes it on its own bus, so the dashboard's
views and push work on it unchanged. Another process's commits reach it only through the
file: :meth:`Follower.poll` reads what is new (a background thread polls every
``interval_s``). It never writes and never blocks the writer (WAL readers do not).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from ..events import Event
from ..persist import journal, recovery, schema
from .replica import Replica


class Follower(Replica):
    def __init__(self, path: str | Path, interval_s: float = 0.1) -> None:
        self.path = str(path)
        self.interval_s = interval_s
        self._conn = schema.open_reader(self.path)
        super().__init__(recovery.restore(self._conn).projection)

    def _rows(self, after: int, until: int | None = None) -> Iterator[journal.Row]:
        return journal.read_rows(self._conn, after=after, until=until)

    def tail(self, n: int, topics: Iterable[str] | None = None) -> list[Event]:
        """The last ``n`` events applied (and published) here, oldest first; with ``topics``
        (fnmatch patterns) only those of a matching topic. Later ones come by :meth:`poll`."""
        with self._lock:
            rows = journal.tail_rows(
                self._conn, n, until=self._proj.seq, topics=None if topics is None else tuple(topics)
            )
        return [journal.decode_row(row) for row in rows]

    def start(self) -> Follower:
        """Poll in the background until :meth:`close`."""
        self._start(self._loop, "seamless-follower")
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll()

    def _close_source(self) -> None:
        self._conn.close()
