"""``seamless bench store``: the store's figures, each beside a floor measured in the same run.

Floors: raw 4 KiB ``pwrite`` + ``fdatasync`` into a pre-allocated file on the same disk
(for durable commits), SQLite alone with the journal's schema (for durable commits and
batches), the least Python any path keeping the store's guarantees must do per event
(:class:`BareQuote`: for critical commits and for non-critical events), and a plain callback
loop (for bus dispatch).
"""

from __future__ import annotations

import math
import os
import queue
import shutil
import sqlite3
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from ..apply import Projection
from ..bus import Bus
from ..bus.stats import LatencyReservoir
from ..events import (
    RUNNER_STATES,
    CashSet,
    OrderAccepted,
    OrderFilled,
    OrderSubmitting,
    QuoteReceived,
    RunnerStatusChanged,
)
from ..events.base import SYMBOL_PATTERN, encode_json
from ..persist import chain, journal, open_reader, open_writer, restore
from ..store import Store
from . import print_figures

SYMBOLS = [f"S{i:02d}" for i in range(10)]
#: The critical event the durable-commit contenders write, alternating.
_STATES = ("RUNNING", "PAUSED")


class FsyncFloor:
    """The floor: 4 KiB pwrite + fdatasync, one per 'commit', into a pre-allocated file.

    The file is written through once first: a block only fallocated is converted on its
    first write, which costs each of those fdatasyncs a journal commit (~2x here) and would
    flatter the store, whose WAL is rewritten in place once warm."""

    SLOTS = 4096

    def __init__(self, directory: Path) -> None:
        self.path = directory / "fsync.floor"
        self.block = os.urandom(4096)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        chunk = os.urandom(1 << 20)
        for offset in range(0, 4096 * self.SLOTS, len(chunk)):
            os.pwrite(self.fd, chunk, offset)
        os.fsync(self.fd)
        self.n = 0

    def commit(self) -> None:
        os.pwrite(self.fd, self.block, 4096 * (self.n % self.SLOTS))
        os.fdatasync(self.fd)
        self.n += 1

    def close(self) -> None:
        os.close(self.fd)
        self.path.unlink()


class SqliteAlone:
    """SQLite by itself: the store's schema and connection, one pre-encoded journal row per
    transaction, its WAL started over between slices as the store's writer does."""

    def __init__(self, directory: Path) -> None:
        self.conn = open_writer(directory / "sqlite.db")
        self.conn.execute("PRAGMA wal_autocheckpoint=0")
        ev = RunnerStatusChanged(status="RUNNING")
        ev._stamp(1, time.time())
        self.row = list(journal.encode(ev))
        self.seq = 0
        self.t0 = time.time()

    def commit(self) -> None:
        self.seq += 1
        self.row[0] = self.seq
        self.row[4] = self.t0 + self.seq * 1e-6  # as the store's: each row later than the last (its index)
        journal.write(self.conn, (cast(journal.Row, self.row),))  # one list, renumbered in place

    def pause(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(FULL)")

    def close(self) -> None:
        self.conn.close()


class SqliteBatches:
    """SQLite alone, 100 events a transaction: the store's schema and connection, rows encoded
    beforehand (renumbered and re-timed per batch: the time index grows at its end, as the
    store's does), one ``BEGIN IMMEDIATE`` ... ``COMMIT`` with
    ``synchronous=FULL`` per batch: the durability ``Store.commit_all`` gives a batch that
    holds a critical event."""

    def __init__(self, directory: Path, size: int = 100) -> None:
        self.conn = open_writer(directory / "sqlite-batch.db")
        self.conn.execute("PRAGMA wal_autocheckpoint=0")
        self.rows = []
        for seq in range(1, size + 1):
            ev = _batch_event(seq, size)
            ev._stamp(seq, time.time())
            self.rows.append(list(journal.encode(ev)))
        self.seq = 0
        self.t0 = time.time()

    def commit(self) -> int:
        for row in self.rows:
            self.seq += 1
            row[0] = self.seq
            row[4] = self.t0 + self.seq * 1e-6
        journal.write(self.conn, cast(list[journal.Row], self.rows))
        return len(self.rows)

    def pause(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(FULL)")

    def close(self) -> None:
        self.conn.close()


@dataclass(frozen=True)
class BareQuote:
    """The least an event can be: a quote's fields in a frozen dataclass, checked as
    ``QuoteReceived`` checks them (a symbol, positive finite prices), nothing else."""

    symbol: str
    last: float
    bid: float | None
    ask: float | None
    exchange_ts: float

    def __post_init__(self) -> None:
        last, bid, ask = self.last, self.bid, self.ask
        if not (
            SYMBOL_PATTERN.match(self.symbol)
            and type(last) is float
            and 0.0 < last < math.inf
            and (bid is None or (type(bid) is float and 0.0 < bid < math.inf))
            and (ask is None or (type(ask) is float and 0.0 < ask < math.inf))
            and (bid is None or ask is None or bid <= ask)
            and math.isfinite(self.exchange_ts)
        ):
            raise ValueError(f"bad quote {self!r}")

    def row(self, seq: int, ts: float, prev: int) -> journal.Row:
        payload = encode_json({"symbol": self.symbol, "last": self.last, "bid": self.bid, "ask": self.ask})
        return _row(seq, "market.quote", "QuoteReceived", ts, self.exchange_ts, payload, prev)


@dataclass(frozen=True)
class BareStatus:
    """The least a critical event can be: ``RunnerStatusChanged``'s fields in a frozen
    dataclass, its status checked against the runner's states, nothing else."""

    status: str
    error: str = ""
    by: str = "runner"

    def __post_init__(self) -> None:
        if self.status not in RUNNER_STATES or type(self.error) is not str or type(self.by) is not str:
            raise ValueError(f"bad runner status {self!r}")

    def row(self, seq: int, ts: float, prev: int) -> journal.Row:
        payload = encode_json({"status": self.status, "error": self.error, "by": self.by})
        return _row(seq, "runner.status", "RunnerStatusChanged", ts, None, payload, prev)


def _row(seq: int, topic: str, name: str, ts: float, xts: float | None, payload: str, prev: int) -> journal.Row:
    """A journal row after a row whose chain value is ``prev``: its CRC-32 and its link in
    the hash chain, the payload encoded as the journal encodes it."""
    own = journal.row_checksum(seq, topic, name, 1, ts, xts, payload)
    return (seq, topic, name, 1, ts, xts, payload, chain.pack(chain.link(own, prev), own))


def _bare_quote(i: int) -> BareQuote:
    return BareQuote(SYMBOLS[i % 10], 100.0 + (i % 97) * 0.01, None, None, float(i))


class EventFloor:
    """SQLite alone plus one event's least Python per commit: a :class:`BareStatus` made and
    checked (the store's contender commits ``RunnerStatusChanged``), its row encoded, one
    durable transaction. The floor for the store's critical commits, which add planning,
    applying and publishing."""

    def __init__(self, directory: Path) -> None:
        self.conn = open_writer(directory / "event-floor.db")
        self.conn.execute("PRAGMA wal_autocheckpoint=0")
        self.seq = 0
        self.chain = 0

    def commit(self) -> None:
        self.seq += 1
        row = BareStatus(_STATES[self.seq % 2]).row(self.seq, time.time(), self.chain)
        journal.write(self.conn, (row,))
        self.chain = chain.chained(row[7])

    def pause(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(FULL)")

    def close(self) -> None:
        self.conn.close()


def python_floor_per_s(directory: Path, n: int, chunk: int = 100) -> float:
    """The least Python any path keeping the guarantees must do per non-critical event, end
    to end: each a :class:`BareQuote` made and checked, its row encoded (payload, CRC-32,
    chain) on the committing thread and handed over ``chunk`` rows at a time; a writer thread
    inserting everything handed over with the journal's insert in one durable transaction at a
    time (the journal's schema and connection; as the store's writer, it writes what waits).
    No planning, applying or publishing: what the store does beyond this is its own."""
    work = Path(tempfile.mkdtemp(prefix="python-floor-", dir=directory))
    conn = open_writer(work / "python-floor.db")
    batches: queue.SimpleQueue[list[journal.Row] | None] = queue.SimpleQueue()
    failed: list[BaseException] = []

    def write() -> None:
        try:
            _write_batches(conn, batches)
        except BaseException as e:  # reported by the measuring thread, not lost with this one
            failed.append(e)

    writer = threading.Thread(target=write, name="python-floor-writer")
    writer.start()
    t0 = time.perf_counter()
    try:
        rows: list[journal.Row] = []
        prev = 0
        for i in range(n):
            row = _bare_quote(i).row(i + 1, time.time(), prev)
            prev = chain.chained(row[7])
            rows.append(row)
            if len(rows) == chunk:
                batches.put(rows)
                rows = []
        if rows:
            batches.put(rows)
    finally:
        batches.put(None)
        writer.join()  # every row on disk
        elapsed = time.perf_counter() - t0
        conn.close()
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        raise failed[0]
    return n / elapsed


def _write_batches(conn: sqlite3.Connection, batches: queue.SimpleQueue[list[journal.Row] | None]) -> None:
    """Write what waits in ``batches``, all of it in one transaction each time, until None."""
    while (rows := batches.get()) is not None:
        last = False
        while not last:
            try:
                more = batches.get_nowait()
            except queue.Empty:
                break
            if more is None:
                last = True
            else:
                rows += more
        journal.write(conn, rows)
        if last:
            return


def _batch_event(i: int, size: int):
    """Batch ``i``'s events: quotes, and a critical event last (the batch is durable at return)."""
    k = (i - 1) % size
    if k == size - 1:
        return RunnerStatusChanged(status=("RUNNING", "PAUSED")[(i // size) % 2])
    return _quote(i)


def batch_events_per_s(directory: Path, size: int = 100, rounds: int = 6, slice_s: float = 0.25) -> dict[str, float]:
    """Events per second at ``size`` events a transaction: ``Store.commit_all`` (events made,
    validated, planned, applied, journaled and published; durable at return) against SQLite
    alone with the same rows. Alternating slices, as :func:`durable_commits_per_s`."""
    sqlite = SqliteBatches(directory, size)
    store = Store(directory / "batch.db", snapshot_every=10**9)
    store.bus.subscribe("*", lambda ev: None, queued=False)
    n = 0

    def store_batch() -> int:
        nonlocal n
        events = [_batch_event(n + k, size) for k in range(1, size + 1)]
        n += size
        store.commit_all(events)
        return size

    contenders: dict[str, Callable[[], int]] = {"sqlite": sqlite.commit, "store": store_batch}
    counts = {k: [0, 0.0] for k in contenders}
    try:
        for _ in range(20):  # warm both
            store_batch()
            sqlite.commit()
        for _ in range(rounds):
            for which, commit in contenders.items():
                k, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < slice_s:
                    k += commit()
                counts[which][0] += k
                counts[which][1] += time.perf_counter() - t0
            sqlite.pause()
    finally:
        sqlite.close()
        store.close(snapshot=False)
    return {k: c / t for k, (c, t) in counts.items()}


def stages_us(directory: Path, n: int) -> dict[str, float]:
    """Where a quote's time goes, stage by stage, each timed alone over the same ``n`` quotes
    (µs per event): made (dataclass, validation, JSON payload encoded once), planned (the
    pure planner), applied (the projection advanced and the param objects set), journaled
    (row encoded with its checksum, written 100 rows a transaction: the background writer's
    share) and published (the bus to one queued subscriber); and the whole of ``commit`` for
    those quotes already made, beside them: what the stages leave out (lock, stamps, the
    outbox) is the difference."""
    from ..params.state import State
    from ..store import apply_changes

    t0 = time.perf_counter()
    events = [_quote(i) for i in range(n)]
    made = time.perf_counter() - t0
    proj, state = Projection(), State()
    for i, ev in enumerate(events):
        ev._stamp(i + 1, 1_700_000_000.0 + i * 1e-3)
    t0 = time.perf_counter()
    changes = [proj.plan(ev) for ev in events]  # planned against the same state: a planner reads, never writes
    planned = time.perf_counter() - t0
    t0 = time.perf_counter()
    for ev, ch in zip(events, changes):
        proj.advance(ev, ch)
        apply_changes(state, ev, ch)
    applied = time.perf_counter() - t0
    conn = open_writer(directory / "stages.db")
    t0 = time.perf_counter()
    for k in range(0, n, 100):
        journal.write(conn, [journal.encode(ev) for ev in events[k : k + 100]])
    journaled = time.perf_counter() - t0
    conn.close()
    bus = Bus()
    bus.subscribe("market.*", lambda ev: None, name="bench")
    t0 = time.perf_counter()
    for ev in events:
        bus.publish(ev)
    published = time.perf_counter() - t0
    bus.close()
    fresh = [_quote(i) for i in range(n)]
    with Store(directory / "stages-store.db", snapshot_every=10**9) as store:
        store.bus.subscribe("market.quote", lambda ev: None, name="bench")
        t0 = time.perf_counter()
        for ev in fresh:
            store.commit(ev)
        committed = time.perf_counter() - t0
    us = 1e6 / n
    return {
        "stage_make_us": round(made * us, 2),
        "stage_plan_us": round(planned * us, 2),
        "stage_apply_us": round(applied * us, 2),
        "stage_journal_us": round(journaled * us, 2),
        "stage_publish_us": round(published * us, 2),
        "stage_commit_us": round(committed * us, 2),
    }


def durable_commits_per_s(
    directory: Path, rounds: int = 8, slice_s: float = 0.25
) -> tuple[dict[str, float], dict[str, float | None]]:
    """Durable commits per second of the floor, of SQLite alone, of SQLite with one event's
    least Python (:class:`EventFloor`) and of the store (one critical event per commit
    through the full path: plan, apply, journal, publish), and
    the store's commit latency percentiles.  Measured in alternating slices, each warm,
    so that the disk's drift over the run weighs on all alike."""
    floor, sqlite, bare = FsyncFloor(directory), SqliteAlone(directory), EventFloor(directory)
    store = Store(directory / "critical.db", snapshot_every=10**9)
    store.bus.subscribe("*", lambda ev: None, queued=False)
    n = 0

    def store_commit() -> None:
        nonlocal n
        n += 1
        store.commit(RunnerStatusChanged(status=_STATES[n % 2]))

    contenders = {"floor": floor.commit, "sqlite": sqlite.commit, "event": bare.commit, "store": store_commit}
    counts = {k: [0, 0.0] for k in contenders}
    try:
        # Warm: until its WAL has started over twice, a WAL is still growing to its steady size.
        deadline = time.monotonic() + 5
        while store.counters["checkpoints_whole"] < 2 and time.monotonic() < deadline:
            store_commit()
            sqlite.commit()
            bare.commit()
        store.commit_latency = LatencyReservoir()  # the figures are for the warm store
        for _ in range(rounds):
            for which, commit in contenders.items():
                k, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < slice_s:
                    commit()
                    k += 1
                counts[which][0] += k
                counts[which][1] += time.perf_counter() - t0
            sqlite.pause()
            bare.pause()
        latency = store.commit_latency.percentiles_ms()
    finally:
        floor.close()
        sqlite.close()
        bare.close()
        store.close()
    return {k: c / t for k, (c, t) in counts.items()}, latency


def _quote(i: int) -> QuoteReceived:
    return QuoteReceived(symbol=SYMBOLS[i % 10], last=100.0 + (i % 97) * 0.01, exchange_ts=float(i))


def noncritical_per_s(directory: Path, n: int) -> float:
    """Quotes end to end: commit -> apply -> one queued subscriber has them all -> on disk."""
    work = Path(tempfile.mkdtemp(prefix="noncritical-", dir=directory))  # a new store each call
    try:
        with Store(work / "noncritical.db", snapshot_every=10**9) as store:
            done = threading.Event()
            got = [0]

            def sub(ev) -> None:
                got[0] += 1
                if got[0] == n:
                    done.set()

            store.bus.subscribe("market.quote", sub)
            t0 = time.perf_counter()
            for i in range(n):
                store.commit(_quote(i))
            done.wait(60)
            store.flush()
            return n / (time.perf_counter() - t0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def commit_to_subscriber_ms(directory: Path, n: int, rate: float = 5000.0) -> tuple[float, float]:
    """Latency from the start of commit to a queued subscriber's callback, paced at ``rate``/s."""
    with Store(directory / "latency.db", snapshot_every=10**9) as store:
        lat: list[float] = []
        started: dict[float, float] = {}
        done = threading.Event()

        def sub(ev) -> None:
            lat.append(time.perf_counter() - started[ev.exchange_ts])
            if len(lat) == n:
                done.set()

        store.bus.subscribe("market.quote", sub)
        t0 = time.perf_counter()
        for i in range(n):
            wait = t0 + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)  # a feed waits on its socket between ticks, releasing the GIL
            started[float(i)] = time.perf_counter()
            store.commit(_quote(i))
        done.wait(60)
        lat.sort()
        return lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3


def _event(seq: int):
    """The bench's event mix: 99% quotes, plus an order submitted, accepted and filled per 100."""
    k = seq % 100
    if seq == 1:
        return CashSet(cash=1e6, reason="bench")
    if k in (50, 51, 52):
        cid = f"o{seq - k + 50}"
        if k == 50:
            return OrderSubmitting(client_order_id=cid, symbol=SYMBOLS[seq % 10], qty=1.0)
        if k == 51:
            return OrderAccepted(client_order_id=cid)
        return OrderFilled(
            trade_id=f"t{seq}", client_order_id=cid, symbol=SYMBOLS[(seq - 2) % 10], qty=1.0, price=100.0
        )
    return _quote(seq)


def _journal_rows(n: int, start: int = 1, proj: Projection | None = None, batch: int = 50_000):
    """``n`` valid events from seq ``start`` as journal rows, in batches, applied to ``proj``."""
    proj = proj or Projection()
    rows = []
    prev = _chain_at.get(start - 1, 0)
    for seq in range(start, start + n):
        ev = _event(seq)
        ev._stamp(seq, 1_700_000_000.0 + seq * 1e-3)
        proj.apply(ev)
        row = journal.encode(ev, prev)
        prev = chain.chained(row[7])
        rows.append(row)
        if len(rows) >= batch:
            _chain_at[rows[-1][0]] = prev
            yield rows, proj
            rows = []
    if rows:
        _chain_at[rows[-1][0]] = prev
        yield rows, proj


#: The chain value at the last row of each batch made (a later call continues the chain).
_chain_at: dict[int, int] = {}


def restore_tail_s(directory: Path, tail: int) -> float:
    """Open (newest snapshot + replay of a ``tail``-event journal suffix)."""
    from ..persist import snapshots

    path = directory / "restore.db"
    conn = open_writer(path)
    proj = Projection()
    base = 10_000
    for rows, _ in _journal_rows(base, proj=proj):  # proj is applied in place
        journal.write(conn, rows)
    journal.write(conn, [], [snapshots.encode(proj).insert(_chain_at[base])])
    for rows, _ in _journal_rows(tail, start=base + 1, proj=proj):
        journal.write(conn, rows)
    conn.close()
    t0 = time.perf_counter()
    store = Store(path, snapshot_every=10**9)
    elapsed = time.perf_counter() - t0
    assert store.replayed_on_open == tail and store.restored_from_snapshot == base
    store.close(snapshot=False)
    return elapsed


def replay_s(directory: Path, n: int) -> float:
    """Full replay (no snapshot) of ``n`` events from a read-only connection."""
    path = directory / "replay.db"
    conn = open_writer(path)
    for rows, _ in _journal_rows(n):
        journal.write(conn, rows)
    conn.close()
    reader = open_reader(path)
    t0 = time.perf_counter()
    out = restore(reader, use_snapshots=False)
    elapsed = time.perf_counter() - t0
    reader.close()
    assert out.replayed == n
    return elapsed


def replay_mb_per_million(directory: Path, n: int) -> float:
    """The most memory the full replay of :func:`replay_s`'s ``n`` events holds at once
    (Python's allocations, traced: the state, the rows in hand), in MB per million events.
    Apart from :func:`replay_s`: tracing slows the replay several times."""
    reader = open_reader(directory / "replay.db")
    tracemalloc.start()
    try:
        out = restore(reader, use_snapshots=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        reader.close()
    assert out.replayed == n
    return peak / 1e6 / n * 1e6


def bus_us_per_event(subscribers: int, n: int) -> tuple[float, float]:
    """Bus.publish to ``subscribers`` synchronous no-op subscribers, and the plain-loop floor."""
    bus = Bus()
    for _ in range(subscribers):
        bus.subscribe("market.*", lambda ev: None, queued=False)
    events = [_quote(i) for i in range(1000)]
    for i, ev in enumerate(events):
        ev._stamp(i + 1, 0.0)
    t0 = time.perf_counter()
    for i in range(n):
        bus.publish(events[i % 1000])
    bus_us = (time.perf_counter() - t0) / n * 1e6
    callbacks: list[Callable] = [lambda ev: None for _ in range(subscribers)]
    t0 = time.perf_counter()
    for i in range(n):
        ev = events[i % 1000]
        for cb in callbacks:
            cb(ev)
    floor_us = (time.perf_counter() - t0) / n * 1e6
    bus.close()
    return bus_us, floor_us


def run(scale: float = 1.0, directory: str | None = None) -> dict[str, Any]:
    base = Path(directory) if directory else None
    work = Path(tempfile.mkdtemp(prefix="seamless-bench-", dir=base))
    try:
        n = lambda full: max(1000, int(full * scale))  # noqa: E731
        durable, crit_latency = durable_commits_per_s(work)
        floor, crit = durable["floor"], durable["store"]
        crit_p50, crit_p99 = crit_latency["p50_ms"], crit_latency["p99_ms"]
        assert crit_p50 is not None and crit_p99 is not None  # the store committed in every round
        p50, p99 = commit_to_subscriber_ms(work, n(5000))
        batch = batch_events_per_s(work)
        stages = stages_us(work, n(50_000))
        b1, f1 = bus_us_per_event(1, n(200_000))
        b10, f10 = bus_us_per_event(10, n(200_000))
        # the store and its floor in turn, twice, each side's better run kept (the least disturbed)
        noncritical = python_floor = 0.0
        for _ in range(2):
            noncritical = max(noncritical, noncritical_per_s(work, n(200_000)))
            python_floor = max(python_floor, python_floor_per_s(work, n(200_000)))
        return {
            "fsync_per_s": round(floor, 1),
            "critical_commits_per_s": round(crit, 1),
            "critical_ratio": round(crit / floor, 3),
            "sqlite_commits_per_s": round(durable["sqlite"], 1),
            "sqlite_ratio": round(durable["sqlite"] / floor, 3),
            "critical_over_sqlite": round(crit / durable["sqlite"], 3),
            "critical_floor_commits_per_s": round(durable["event"], 1),
            "critical_floor_ratio": round(crit / durable["event"], 3),
            "critical_commit_p50_ms": round(crit_p50, 3),
            "critical_commit_p99_ms": round(crit_p99, 3),
            "noncritical_events_per_s": round(noncritical, 1),
            "python_floor_events_per_s": round(python_floor, 1),
            "noncritical_floor_ratio": round(noncritical / python_floor, 3),
            "batch100_events_per_s": round(batch["store"], 1),
            "sqlite_batch100_events_per_s": round(batch["sqlite"], 1),
            "batch100_ratio": round(batch["store"] / batch["sqlite"], 3),
            **stages,
            "commit_to_subscriber_p50_ms": round(p50, 3),
            "commit_to_subscriber_p99_ms": round(p99, 3),
            "restore_100k_tail_s": round(restore_tail_s(work, n(100_000)), 3),
            "replay_1m_s": round(replay_s(work, n(1_000_000)), 3),
            "replay_mb_per_million_events": round(replay_mb_per_million(work, n(1_000_000)), 1),
            "bus_us_per_event_1_sub": round(b1, 3),
            "bus_us_per_event_10_subs": round(b10, 3),
            "callback_loop_us_per_event_1_sub": round(f1, 3),
            "callback_loop_us_per_event_10_subs": round(f10, 3),
            "scale": scale,
            "disk": str(work.parent),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(as_json: bool = False, scale: float = 1.0, directory: str | None = None) -> int:
    return print_figures(run(scale, directory), as_json)
