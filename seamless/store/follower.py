"""A read-only replica of a store that another process writes (a notebook watching a runner).

It restores like the store (newest valid snapshot + journal tail), then applies each new
journal row with the same planners and publishes it on its own bus, so the dashboard's
views and push work on it unchanged. Another process's commits reach it only through the
file: :meth:`Follower.poll` reads what is new (a background thread polls every
``interval_s``). It never writes and never blocks the writer (WAL readers do not).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..bus import Bus
from ..bus.stats import LatencyReservoir
from ..events import Event
from ..params.state import State
from ..persist import journal, recovery, schema
from .store import apply_changes


class Follower:
    def __init__(self, path: str | Path, interval_s: float = 0.1) -> None:
        self.path = str(path)
        self.interval_s = interval_s
        self._conn = schema.open_reader(self.path)
        restored = recovery.restore(self._conn)
        self._proj = restored.projection
        self.state = State()
        self.state.load(self._proj.values, self._proj.meta)
        self.bus = Bus()
        self.commit_latency = LatencyReservoir()  # commit -> seen here (journal ts to apply)
        self._lock = threading.RLock()  # re-entrant: a bus subscriber (run inside poll) may read the tail
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._opened = time.monotonic()

    @property
    def seq(self) -> int:
        return self._proj.seq

    def poll(self) -> int:
        """Apply and publish every journal row committed since the last poll; how many."""
        with self._lock:
            n = 0
            for row in journal.read_rows(self._conn, after=self._proj.seq):
                ev = journal.decode_row(row)
                changes = self._proj.plan(ev)
                self._proj.advance(ev, changes)
                apply_changes(self.state, ev, changes)
                if TYPE_CHECKING:  # read from the journal: stamped
                    assert ev.ts is not None
                self.commit_latency.add(max(0.0, time.time() - ev.ts))
                self.bus.publish(ev)
                n += 1
            return n

    def tail(self, n: int, topics: Iterable[str] | None = None) -> list[Event]:
        """The last ``n`` events applied (and published) here, oldest first; with ``topics``
        (fnmatch patterns) only those of a matching topic. Later ones come by :meth:`poll`."""
        with self._lock:
            rows = journal.tail_rows(
                self._conn, n, until=self._proj.seq, topics=None if topics is None else tuple(topics)
            )
        return [journal.decode_row(row) for row in rows]

    def events_since(self, seq: int, limit: int | None = None) -> list[Event]:
        """The events after ``seq`` applied (and published) here, oldest first: the first
        ``limit`` of them, or all."""
        seq = max(0, seq)
        with self._lock:
            until = self._proj.seq if limit is None else min(self._proj.seq, seq + max(0, limit))
            rows = list(journal.read_rows(self._conn, after=seq, until=until)) if until > seq else []
        return [journal.decode_row(row) for row in rows]

    def start(self) -> Follower:
        """Poll in the background until :meth:`close`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="seamless-follower", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll()

    def stats(self) -> dict[str, Any]:
        """The figures the System view shows, as far as a replica knows them."""
        return {
            "seq": self.seq,
            "durable_seq": self.seq,
            "unwritten": 0,
            "snapshot_seq": 0,
            "snapshot_age_s": time.monotonic() - self._opened,
            "commit": self.commit_latency.percentiles_ms(),
            "write": {"p50_ms": None, "p99_ms": None},
            "bus": self.bus.stats(),
        }

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.bus.close()
        self._conn.close()
