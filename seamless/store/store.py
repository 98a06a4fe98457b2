"""The Store: the one way state changes.

``commit(event)`` stamps the event with the next sequence number, plans it against
the current state (invalid events are refused before anything changes), applies it
to the param objects, and queues it for the journal.  A critical event returns only
once durable (WAL, ``synchronous=FULL``); critical commits that wait together share
one transaction (group commit).  Non-critical events are written by a background
writer within ``flush_interval_s``.  Bus subscribers get every event in sequence
order, and a critical one only once it is durable.  ``tail`` and ``events_since`` read the
journal's end, with the events not yet written, up to the last event published: the bus
brings every later one (see :mod:`seamless.store.source`).

If a write fails (database locked past the busy timeout, disk full), the events not
yet durable are dropped, their committers get the error, and the state is rebuilt
from the journal: the store stays consistent and carries on when the cause clears.
"""

from __future__ import annotations

import collections
import fnmatch
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..apply import Projection
from ..apply.projection import Changes, Meta
from ..bus import Bus
from ..bus.stats import LatencyReservoir
from ..compat import param_values
from ..errors import InvalidEvent, StoreClosed, StoreError
from ..events import Event
from ..params import base as params_base
from ..params.records import FrozenDict
from ..params.state import State, Values
from ..persist import chain, journal, recovery, schema, snapshots

if TYPE_CHECKING:
    import sqlite3

log = logging.getLogger("seamless.store")


@dataclass(frozen=True)
class Reading:
    """A read of one part: its value, the seq and time of its last change, its age."""

    part: str
    value: dict[str, Any]
    seq: int
    updated_at: float | None
    age_s: float | None
    stale: bool = False
    refreshing: bool = False


@dataclass(frozen=True)
class WriterHealth:
    """How the journal keeps up, for the readiness checks and the metrics (:meth:`Store.health`)."""

    #: Why the store cannot write, or None: closed, broken, or its last write failed.
    error: str | None
    seq: int
    durable_seq: int
    #: Events applied but not yet durable, and how long the oldest of them has waited (s).
    lag_events: int
    lag_s: float
    #: Seconds since the last write that reached the disk (since the store opened if none).
    last_write_age_s: float
    snapshot_seq: int
    snapshot_age_s: float
    #: The most recent failed write (even if writes succeeded since) and its age in seconds:
    #: on a full disk a small write may still fit where the one that failed did not.
    last_failure: str | None = None
    last_failure_age_s: float | None = None
    #: What verification of the history found wrong (the first bad seq or file), or None.
    history: str | None = None


# How a part's new values are set, decided once (seamless.compat.param_values): straight into
# param's storage when nobody watches the part, else param's public path. A FrozenDict comes
# from a planner: a dict already checked.
_set_values = param_values.setter(trusted=(FrozenDict,))


def apply_changes(state: State, ev: Event, changes: dict[str, dict[str, Any]]) -> None:
    """Set a planned event's changes on the param state (the one way state changes)."""
    parts = state.parts
    set_values = _set_values
    writer = params_base._writer  # store_writes(), inlined: this runs once per event
    prev, writer.active = getattr(writer, "active", False), True
    try:
        for part, fields in changes.items():
            obj = parts[part]
            object.__setattr__(obj, "seq", ev.seq)
            object.__setattr__(obj, "updated_at", ev.ts)
            set_values(obj, fields)
    finally:
        writer.active = prev


def apply_all(state: State, events: Sequence[Event], changes: Sequence[dict[str, dict[str, Any]]]) -> None:
    """Set an atomic unit's changes: each part once, each field to its value after the unit's
    last event that changed it (watchers see the unit's end, not its steps: the unit is one
    change, and a param set costs ~2 µs, ~9 more per watcher)."""
    if len(events) == 1:
        apply_changes(state, events[0], changes[0])
        return
    last: dict[str, tuple[Event, dict[str, Any]]] = {}
    for ev, ch in zip(events, changes):
        for part, fields in ch.items():
            prev = last.get(part)
            last[part] = (ev, fields if prev is None else {**prev[1], **fields})
    for part, (ev, fields) in last.items():
        apply_changes(state, ev, {part: fields})


def _merge(rows: list[journal.Row], pending: list[Event]) -> list[Event]:
    """Journal rows and events from memory (seq order each), as events in seq order, once each."""
    by_seq: dict[int, journal.Row | Event] = {row[0]: row for row in rows}
    for ev in pending:
        if TYPE_CHECKING:  # pending events are stamped (see Store._pending)
            assert ev.seq is not None
        by_seq[ev.seq] = ev
    return [v if isinstance(v, Event) else journal.decode_row(v) for _, v in sorted(by_seq.items())]


class Store:
    """One account's state: journal + snapshots on disk, param objects in memory, a bus."""

    def __init__(
        self,
        path: str | Path,
        *,
        snapshot_every: int = 10_000,
        snapshot_interval_s: float = 300.0,
        keep_snapshots: int = 3,
        flush_interval_s: float = 0.02,
        flush_batch: int = 5_000,
        checkpoint_interval_s: float = 0.5,
        busy_timeout_s: float = schema.BUSY_TIMEOUT_S,
        max_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = str(path)
        self.snapshot_every = snapshot_every
        self.snapshot_interval_s = snapshot_interval_s
        self.keep_snapshots = keep_snapshots
        self.flush_interval_s = flush_interval_s
        self.flush_batch = flush_batch
        self.checkpoint_interval_s = checkpoint_interval_s
        self._clock = clock
        self._busy_timeout_s = busy_timeout_s

        self._lock = threading.RLock()  # plan + apply, in sequence order (re-entrant: a sync
        self._applying = False  # state watcher may read() while an event applies)
        self._write_lock = threading.Lock()  # one writer of the connection at a time
        self._publish_lock = threading.Lock()  # one drainer of the outbox at a time
        self._draining: int | None = None
        self._closed = False
        self._epoch = 0
        self._epoch_end: dict[int, int] = {}  # ended epoch -> durable seq when its write failed
        self._failure: StoreError | None = None
        self._broken: StoreError | None = None
        self._unwritten: list[Event] = []
        self._writing: list[Event] = []  # the batch being written: journaled once durable_seq has it
        self._outbox: collections.deque[tuple[int, Event]] = collections.deque()
        self._refreshers: dict[str, Callable[[], Any]] = {}
        self._refreshing: set[str] = set()

        self.state = State()
        self.bus = Bus()
        self.commit_latency = LatencyReservoir()
        self.write_latency = LatencyReservoir()
        self.counters: collections.Counter[str] = collections.Counter()
        self._written_at = time.monotonic()  # the last write that reached the disk
        self._write_error: StoreError | None = None  # the last write's error, until one succeeds
        self._failed_at: tuple[float, StoreError] | None = None  # the most recent failed write

        self._writer_lock = schema.WriterLock(self.path)
        try:
            self._conn = schema.open_writer(self.path, busy_timeout_s)
            # Checkpoints move the WAL into the database and fsync it: done by the background
            # writer, the bulk on a connection of its own, so commits wait for at most the last
            # few frames of one (automatic ones, run by a commit, caused the p99 spikes).
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
            if max_bytes is not None:  # past it, a write fails as on a full disk (StoreFull)
                schema.limit_size(self._conn, max_bytes)
            self._ckpt_conn = schema.open_checkpointer(self.path, busy_timeout_s)
            restored = recovery.restore(self._conn)
        except BaseException:
            self._writer_lock.release()
            raise
        self.warnings = restored.warnings
        self.restored_from_snapshot = restored.snapshot_seq
        self.replayed_on_open = restored.replayed
        self._install(restored.projection)
        self._durable_seq = self._proj.seq
        self._chain = chain.head_at(self._conn, self._durable_seq)  # the chain value at durable_seq
        self._also: list[tuple[str, tuple[Any, ...]]] = []  # statements to write with the next events
        self._published_seq = self._proj.seq  # the last event handed to the bus (tail reads end there)
        # The journal's tail reads: a read-only connection, opened when first asked.
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        # Restored through upcasts (an older store): snapshot at the current versions once open.
        self.restored_upcast = restored.upcast
        self._snapshot_seq = 0 if restored.upcast else restored.snapshot_seq
        self._snapshot_time = time.monotonic()

        #: What the last verification of the history found wrong, or None (see Scrubber).
        self.history_finding: str | None = self._stored_finding()
        self._on_close: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name="seamless-writer", daemon=True)
        self._flusher.start()
        if restored.upcast and self._proj.seq:
            try:
                self.snapshot()
            except StoreError as e:  # not fatal: the next open upcasts again
                log.warning("could not write a snapshot at the current versions after an upcast: %s", e)

    # -- committing ------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """Sequence number of the last applied event."""
        return self._proj.seq

    @property
    def durable_seq(self) -> int:
        """Sequence number of the last event known to be on disk."""
        return self._durable_seq

    def commit(self, ev: Event) -> Event:
        """Journal, apply and publish one event; returns it stamped with its seq."""
        return self.commit_all((ev,))[0]

    def commit_all(self, events: Iterable[Event], also: Sequence[tuple[str, tuple[Any, ...]]] = ()) -> list[Event]:
        """Commit several events atomically: all are applied and journaled, or none.
        ``also``: SQL statements written in the same transaction (the store's own records of
        what the events say, e.g. an archive file's)."""
        events = events if isinstance(events, (list, tuple)) else list(events)
        if not events:
            return []
        t0 = time.perf_counter()
        with self._lock:
            if self._closed:
                raise StoreClosed(f"store {self.path} is closed")
            if self._broken is not None:
                raise self._broken
            if self._applying:
                raise StoreError(
                    "commit() from inside a synchronous state watcher would interleave "
                    "two events; watch with queued=True to commit in reaction to state"
                )
            epoch = self._epoch
            changes = self._plan(events)
            advance, outbox = self._proj.advance, self._outbox
            critical = False
            self._applying = True
            try:
                for ev, ch in zip(events, changes):
                    advance(ev, ch)
                    outbox.append((epoch, ev))
                    critical = critical or ev.critical
                apply_all(self.state, events, changes)
            finally:
                self._applying = False
            unwritten = self._unwritten
            unwritten += events
            if also:
                self._also.extend(also)
            pending = len(unwritten)
        if critical or also:
            if TYPE_CHECKING:  # stamped by _plan
                assert events[-1].seq is not None
            try:
                self._flush_through(events[-1].seq, epoch)
            except StoreError:
                for ev in events:  # not journaled: the caller may commit them again
                    ev._unstamp()
                raise
            self.commit_latency.add(time.perf_counter() - t0)
        elif pending >= self.flush_batch and not self._wake.is_set():  # set() costs a lock and a notify
            self._wake.set()
        self._drain()
        return events if isinstance(events, list) else list(events)

    def _plan(self, events: Sequence[Event]) -> list[Changes]:
        proj = self._proj
        seq0 = proj.seq + 1
        now = self._clock()
        if len(events) == 1:  # the common case, without the scratch state
            ev = events[0]
            self._check_new(ev)
            ev._stamp(seq0, now)
            try:
                return [proj.plan(ev)]
            except BaseException:
                ev._unstamp()  # refused: nothing happened, the caller may fix and retry
                raise
        stamped: list[Event] = []
        try:
            for i, ev in enumerate(events):
                self._check_new(ev)
                ev._stamp(seq0 + i, now)
                stamped.append(ev)
            scratch = Projection(
                {p: dict(v) for p, v in self._proj.values.items()}, dict(self._proj.meta), self._proj.seq
            )
            return [scratch.apply(ev) for ev in events]
        except BaseException:
            for ev in stamped:  # refused: nothing happened, the caller may fix and retry
                ev._unstamp()
            raise

    @staticmethod
    def _check_new(ev: Event) -> None:
        if not isinstance(ev, Event):
            raise InvalidEvent(f"commit takes events, not {type(ev).__name__}")
        if ev.seq is not None:
            raise InvalidEvent(f"{ev.type} was already committed as seq {ev.seq}")

    def _install(self, proj: Projection) -> None:
        self._proj = proj
        self.state.load(proj.values, proj.meta)

    # -- writing ---------------------------------------------------------------------------

    def _flush_through(self, seq: int, epoch: int) -> None:
        with self._write_lock:
            if self._epoch != epoch:  # our events were dropped by a failed write
                assert self._failure is not None  # set by _resync, which ended the epoch
                raise type(self._failure)(str(self._failure))
            if self._durable_seq >= seq:
                self.counters["group_committed"] += 1  # another committer's transaction carried ours
                return
            self._write_pending()

    def _write_pending(self, snapshot: tuple[int, int, snapshots.Encoded] | None = None) -> None:
        """Write everything not yet durable (and maybe a snapshot row) in one transaction."""
        with self._lock:
            batch, self._unwritten = self._unwritten, []
            also, self._also = self._also, []
            self._writing = batch  # still read from memory by tail() until journaled
        if snapshot is not None and snapshot[1] != self._epoch:
            snapshot = None  # taken before a failed write dropped some of the events it holds
        if not batch and snapshot is None and not also:
            return
        rows, head = journal.encode_all(batch, self._chain)
        extra = list(also)
        if snapshot is not None:
            at = snapshot[0]  # the chain value at the snapshot's seq: durable already, or in this batch
            if at > self._durable_seq:
                snap_chain = chain.chained(rows[at - self._durable_seq - 1][7])
            else:  # a committer's transaction carried it meanwhile
                snap_chain = self._chain if at == self._durable_seq else chain.head_at(self._conn, at)
            extra += [snapshot[2].insert(snap_chain), snapshots.prune_sql(self.keep_snapshots)]
        t0 = time.perf_counter()
        try:
            journal.write(self._conn, rows, extra, self.path)
        except StoreError as e:
            self.counters["write_errors"] += 1
            self._write_error = e
            self._failed_at = (time.monotonic(), e)
            self._resync(e)
            raise
        self.write_latency.add(time.perf_counter() - t0)
        self._written_at = time.monotonic()
        self._write_error = None
        self.counters["transactions"] += 1
        self.counters["events_written"] += len(rows)
        if rows:
            self._durable_seq = rows[-1][0]
            self._chain = head
        self._writing = []
        if snapshot is not None:
            self._snapshot_seq = snapshot[0]
            self._snapshot_time = time.monotonic()
            self.counters["snapshots"] += 1

    def _resync(self, error: StoreError) -> None:
        """After a failed write: drop what is not durable and rebuild state from the journal."""
        log.error("%s; rebuilding state from the journal at seq %d", error, self._durable_seq)
        with self._lock:
            self._epoch_end[self._epoch] = self._durable_seq
            self._epoch += 1
            self._failure = error
            self._unwritten = []
            self._also = []
            self._writing = []
            self._published_seq = min(self._published_seq, self._durable_seq)
            try:
                self._install(recovery.restore(self._conn).projection)
                self._chain = chain.head_at(self._conn, self._durable_seq)
            except Exception as e:  # cannot even read back: refuse to go on with a state we can't trust
                self._broken = StoreError(
                    f"{self.path}: after a failed write the journal could not be read back ({e}); reopen the store"
                )
                log.error("%s", self._broken)

    def _flush_loop(self) -> None:
        last_checkpoint = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            try:
                self.flush(snapshot=None)
                if time.monotonic() - last_checkpoint >= self.checkpoint_interval_s:
                    self._checkpoint()
                    last_checkpoint = time.monotonic()
            except StoreError as e:
                log.error("background write failed, non-critical events lost: %s", e)
            except Exception:
                log.exception("background writer error")

    def _checkpoint(self) -> None:
        """Copy the WAL into the database so that the next commit starts the WAL over.

        Why: a WAL that grows makes each commit's fdatasync also journal the file's new size
        (measured here: 0.59 of the raw fsync floor against 0.93 over a WAL rewritten in
        place), and a WAL never started over grows without bound.  Under a steady stream of
        commits a passive checkpoint never catches up, so: the bulk is copied without
        blocking anyone, then the last few frames under the write lock.  Readers are never
        waited for (busy timeout 0): while a reader holds an old snapshot the WAL grows."""
        self._ckpt_conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        with self._write_lock:
            conn = self._conn
            conn.execute("PRAGMA busy_timeout=0")
            try:
                busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(FULL)").fetchone()
            finally:
                conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_s * 1000)}")
        self.counters["checkpoints"] += 1
        if not busy and frames == copied:
            self.counters["checkpoints_whole"] += 1  # the next commit starts the WAL over

    def flush(self, snapshot: bool | None = False) -> None:
        """Make everything committed so far durable; ``snapshot=None`` snapshots when due."""
        if snapshot is None:
            snapshot = (
                self._proj.seq - self._snapshot_seq >= self.snapshot_every
                or time.monotonic() - self._snapshot_time >= self.snapshot_interval_s
            )
        row = None
        if snapshot and self._proj.seq > self._snapshot_seq:
            with self._lock:  # a consistent copy (parts hold immutable values: shallow is enough)
                p = self._proj
                snap = Projection({k: dict(v) for k, v in p.values.items()}, dict(p.meta), p.seq)
                epoch = self._epoch
            row = (snap.seq, epoch, snapshots.encode(snap))  # encoded outside every lock
        with self._write_lock:
            if row is not None and row[0] <= self._snapshot_seq:
                row = None  # a newer (or the same) snapshot was written meanwhile
            self._write_pending(row)
        self._drain()

    def snapshot(self) -> int:
        """Write a snapshot now; returns its seq."""
        self.flush(snapshot=True)
        return self._snapshot_seq

    def record(self, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        """Write the store's own bookkeeping (not events) in one transaction of its own."""
        with self._write_lock:
            if self._closed:
                raise StoreClosed(f"store {self.path} is closed")
            journal.write(self._conn, [], statements, self.path)

    def exclusive(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """``fn(connection)`` between two commits, holding the writer (short steps only: every
        commit waits meanwhile). ``fn`` runs its own statements; it must leave no transaction open."""
        with self._write_lock:
            if self._closed:
                raise StoreClosed(f"store {self.path} is closed")
            return fn(self._conn)

    def _stored_finding(self) -> str | None:
        try:
            row = self._conn.execute("SELECT finding FROM scrub WHERE id = 1").fetchone()
        except Exception:  # no scrub table: nothing verified yet
            return None
        return row[0] if row else None

    def on_close(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` first thing when the store closes (background tasks stop there)."""
        self._on_close.append(fn)

    # -- publishing ------------------------------------------------------------------------

    def _drain(self) -> None:
        """Publish, in seq order, every event that may be published: critical ones once durable."""
        me = threading.get_ident()
        if not self._outbox or self._draining == me:
            return  # nothing to do, or a subscriber committing: the outer loop publishes it
        with self._publish_lock:
            self._draining = me
            try:
                out = self._outbox
                while out:
                    epoch, ev = out[0]
                    seq = ev.seq  # None once its committer un-stamped it after a failed write
                    if epoch != self._epoch and (seq is None or seq > self._epoch_end[epoch]):
                        out.popleft()  # dropped by a failed write: never published
                        continue
                    if TYPE_CHECKING:  # un-stamped only after a failed write, which ended its epoch
                        assert seq is not None
                    if ev.critical and seq > self._durable_seq:
                        break  # not durable yet; its committer publishes it
                    out.popleft()
                    self._published_seq = seq
                    self.bus.publish(ev)
            finally:
                self._draining = None

    # -- reading ---------------------------------------------------------------------------

    def read(self, part: str, max_age: float | None = None) -> Reading:
        """The part's value with its seq, updated_at and age; past ``max_age`` it is stale
        and the refresher registered for the part is started."""
        with self._lock:
            if part not in self._proj.values:
                raise KeyError(f"no state part {part!r}; parts: {', '.join(self._proj.values)}")
            value = dict(self._proj.values[part])
            seq, updated = self._proj.meta[part]
        age = None if updated is None else max(0.0, self._clock() - updated)
        stale = max_age is not None and (age is None or age > max_age)
        return Reading(part, value, seq, updated, age, stale, stale and self._refresh(part))

    def live(self, part: str) -> dict[str, Any]:
        """The part's current values, live and not copied: read them, never change them. For
        a hot path that reads a few values per event (a param read costs ~1 µs, a dict read
        ~30 ns); each value is replaced whole by a change, so a read sees one whole value. Ask
        again each time rather than keeping the dict: a failed write rebuilds the state."""
        return self._proj.values[part]

    def register_refresher(self, part: str, refresh: Callable[[], Any]) -> None:
        """``refresh()`` is called (on its own thread) when a read finds ``part`` stale."""
        self._refreshers[part] = refresh

    def _refresh(self, part: str) -> bool:
        fn = self._refreshers.get(part)
        if fn is None:
            return False
        with self._lock:
            if part in self._refreshing:
                return True
            self._refreshing.add(part)

        def run() -> None:
            try:
                fn()
            except Exception:
                log.exception("refresher for %s failed", part)
            finally:
                with self._lock:
                    self._refreshing.discard(part)

        threading.Thread(target=run, name=f"seamless-refresh-{part}", daemon=True).start()
        return True

    def values(self) -> tuple[Values, Meta, int]:
        """A consistent copy of the whole state as plain values, with per-part meta."""
        with self._lock:
            return {k: dict(v) for k, v in self._proj.values.items()}, dict(self._proj.meta), self._proj.seq

    def tail(self, n: int, topics: Iterable[str] | None = None) -> list[Event]:
        """The last ``n`` events published so far, oldest first; with ``topics`` (fnmatch
        patterns) only those of a matching topic. Events not yet journaled come from memory."""
        bound, pending = self._pending()
        if topics is not None:
            topics = tuple(topics)
            pending = [e for e in pending if any(fnmatch.fnmatchcase(e.topic, p) for p in topics)]
        if len(pending) >= n:
            return pending[-n:] if n > 0 else []
        rows = self._read(lambda conn: journal.tail_rows(conn, n, until=bound, topics=topics))
        return _merge(rows, pending)[-n:]

    def events_since(self, seq: int, limit: int | None = None) -> list[Event]:
        """The events after ``seq`` published so far, oldest first: the first ``limit`` of them,
        or all. Events not yet journaled come from memory."""
        bound, pending = self._pending()
        seq = max(0, seq)
        until = bound if limit is None else min(bound, seq + max(0, limit))
        pending = [e for e in pending if e.seq is not None and seq < e.seq <= until]
        if until <= seq or (pending and pending[0].seq == seq + 1):
            return pending
        rows = self._read(lambda conn: list(journal.read_rows(conn, after=seq, until=until)))
        return _merge(rows, pending)

    def _pending(self) -> tuple[int, list[Event]]:
        """(the last seq published, the events not yet journaled up to it). Taken before the
        journal is read: an event written meanwhile is then in both (merged by seq), never in
        neither."""
        with self._lock:
            bound = self._published_seq
            pending = self._writing + self._unwritten
        return bound, [e for e in pending if e.seq is not None and e.seq <= bound]

    def _read(self, query: Callable[[sqlite3.Connection], list[journal.Row]]) -> list[journal.Row]:
        """``query(conn)`` on the store's read-only connection (WAL: never blocks the writer)."""
        with self._read_lock:
            if self._closed:
                raise StoreClosed(f"store {self.path} is closed")
            if self._reader is None:
                self._reader = schema.open_reader(self.path)
            return query(self._reader)

    # -- lifecycle -------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return {
            "seq": self._proj.seq,
            "durable_seq": self._durable_seq,
            "unwritten": len(self._unwritten),
            "snapshot_seq": self._snapshot_seq,
            "snapshot_age_s": time.monotonic() - self._snapshot_time,
            "commit": self.commit_latency.percentiles_ms(),
            "write": self.write_latency.percentiles_ms(),
            **self.counters,
            "bus": self.bus.stats(),
        }

    def health(self) -> WriterHealth:
        """How the journal keeps up; cheap (no lock, no sorting): any thread, any time."""
        waiting = self._writing or self._unwritten  # oldest first; each list is replaced, not emptied
        try:
            oldest = waiting[0].ts if waiting else None
        except IndexError:  # written meanwhile
            oldest = None
        if self._closed:
            error: str | None = f"store {self.path} is closed"
        elif self._broken is not None:
            error = str(self._broken)
        elif self._write_error is not None:
            error = f"the last write failed: {self._write_error}"
        else:
            error = None
        seq, durable, now = self._proj.seq, self._durable_seq, time.monotonic()
        failed = self._failed_at
        return WriterHealth(
            error=error,
            seq=seq,
            durable_seq=durable,
            lag_events=max(0, seq - durable),
            lag_s=max(0.0, self._clock() - oldest) if oldest is not None else 0.0,
            last_write_age_s=now - self._written_at,
            snapshot_seq=self._snapshot_seq,
            snapshot_age_s=now - self._snapshot_time,
            last_failure=None if failed is None else str(failed[1]),
            last_failure_age_s=None if failed is None else now - failed[0],
            history=self.history_finding,
        )

    def close(self, snapshot: bool = True) -> None:
        """Write what is pending (and a snapshot), stop the writer and subscribers, release the file."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for fn in self._on_close:
            try:
                fn()
            except Exception:
                log.exception("stopping a background task of %s failed", self.path)
        self._stop.set()
        self._wake.set()
        self._flusher.join()
        try:
            self.flush(snapshot=snapshot)
        finally:
            self.bus.close()
            try:
                self._ckpt_conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception as e:  # the data is in the WAL either way
                log.warning("final checkpoint of %s failed: %s", self.path, e)
            self._ckpt_conn.close()
            self._conn.close()
            with self._read_lock:
                if self._reader is not None:
                    self._reader.close()
                    self._reader = None
            self._writer_lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
