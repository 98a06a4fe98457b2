"""What every read-only replica of a store shares (:class:`~seamless.store.Follower` on the
SQLite file, :class:`~seamless.mirror.PgSource` on the PostgreSQL mirror): a restored
projection, the param state, a bus; new rows applied with the same planners and published."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..apply import Projection
from ..bus import Bus
from ..bus.stats import LatencyReservoir
from ..events import Event
from ..params.state import State
from ..persist import journal
from .store import apply_changes


class Replica:
    """Subclasses give the rows (:meth:`_rows`) and release their source (:meth:`_close_source`)."""

    def __init__(self, proj: Projection, snapshot_seq: int = 0) -> None:
        self._proj, self.snapshot_seq = proj, snapshot_seq
        self.state = State()
        self.state.load(proj.values, proj.meta)
        self.bus = Bus()
        self.commit_latency = LatencyReservoir()  # commit -> seen here (the row's ts to applied)
        self.last_ts: float | None = None  # the newest applied row's commit time (the writer's clock)
        self._lock = threading.RLock()  # re-entrant: a bus subscriber (run inside poll) may read the tail
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._opened = time.monotonic()

    @property
    def seq(self) -> int:
        return self._proj.seq

    def _rows(self, after: int, until: int | None = None) -> Iterator[journal.Row]:
        raise NotImplementedError

    def _close_source(self) -> None:
        raise NotImplementedError

    def poll(self) -> int:
        """Apply and publish every row past :attr:`seq`; how many."""
        with self._lock:
            n = 0
            for row in self._rows(after=self._proj.seq):
                ev = journal.decode_row(row)
                changes = self._proj.plan(ev)
                self._proj.advance(ev, changes)
                apply_changes(self.state, ev, changes)
                if TYPE_CHECKING:  # read from the journal: stamped
                    assert ev.ts is not None
                self.commit_latency.add(max(0.0, time.time() - ev.ts))
                self.last_ts = ev.ts
                self.bus.publish(ev)
                n += 1
            return n

    def events_since(self, seq: int, limit: int | None = None) -> list[Event]:
        """The events after ``seq`` applied (and published) here, oldest first: the first
        ``limit`` of them, or all."""
        seq = max(0, seq)
        with self._lock:
            until = self._proj.seq if limit is None else min(self._proj.seq, seq + max(0, limit))
            rows = list(self._rows(after=seq, until=until)) if until > seq else []
        return [journal.decode_row(row) for row in rows]

    def _start(self, target: Any, name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=target, name=name, daemon=True)
            self._thread.start()

    def stats(self) -> dict[str, Any]:
        """The figures the System view shows, as far as a replica knows them."""
        return {
            "seq": self.seq,
            "durable_seq": self.seq,
            "unwritten": 0,
            "snapshot_seq": self.snapshot_seq,
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
        self._close_source()
