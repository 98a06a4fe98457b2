"""Faults the store must survive or refuse cleanly: a locked database, a full disk, a
corrupt journal row, a corrupt snapshot, a newer schema, tampering with the journal,
invalid events, and direct writes to state."""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from seamless.errors import (
    CorruptJournal,
    InvalidEvent,
    NewerStoreVersion,
    ReadOnlyState,
    StoreFull,
    StoreInUse,
    StoreLocked,
)
from seamless.events import (
    CashSet,
    LossLimitSet,
    OrderAccepted,
    OrderFilled,
    OrderSubmitting,
    QuoteReceived,
    TradingStateChanged,
)
from seamless.persist import SCHEMA_VERSION, chain, journal, open_reader, restore
from seamless.store import Store

NO_AUTO_SNAPSHOT = dict(snapshot_every=10**9, snapshot_interval_s=10**9)


def submit(coid: str, **kw) -> OrderSubmitting:
    return OrderSubmitting(client_order_id=coid, symbol=kw.pop("symbol", "AAPL"), qty=kw.pop("qty", 1), **kw)


def journal_rows(db: Path) -> list[tuple]:
    conn = open_reader(db)
    try:
        return list(journal.read_rows(conn))
    finally:
        conn.close()


def replay(db: Path, use_snapshots: bool = True):
    conn = open_reader(db)
    try:
        return restore(conn, use_snapshots=use_snapshots).projection
    finally:
        conn.close()


def assert_matches_journal(store: Store, db: Path) -> None:
    """The store's state is exactly what the journal replays to (with and without snapshots)."""
    values, meta, seq = store.values()
    for use_snapshots in (True, False):
        proj = replay(db, use_snapshots)
        assert seq == proj.seq
        assert values == proj.values
        assert meta == proj.meta
    assert store.state.orders.by_id == values["orders"]["by_id"]


def assert_all_present(db: Path, acked: list) -> None:
    """Every acknowledged (stamped) event is in the journal at its seq, unchanged."""
    rows = {row[0]: row for row in journal_rows(db)}
    for ev in acked:
        assert ev.seq in rows, f"acknowledged {ev.type} seq {ev.seq} is missing"
        row = rows[ev.seq]
        assert row[:7] == journal.encode(ev)[:7], f"journal row seq {ev.seq} differs from the acknowledged event"
        prev = rows[ev.seq - 1][7] if ev.seq > 1 else 0  # the chain: this row follows the one before
        assert row[7] == journal.encode(ev, chain.chained(prev))[7], f"journal row seq {ev.seq} breaks the chain"


# -- a database locked by another process ------------------------------------------------------

LOCKER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
conn.execute("BEGIN IMMEDIATE")
print("READY", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
conn.close()
print("RELEASED", flush=True)
"""


class Locker:
    """Another process holding the database's write lock (BEGIN IMMEDIATE) until released."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        assert line == "READY\n", f"locker failed: {line!r} {self.proc.stderr.read()}"

    def release(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "RELEASED\n"
        assert self.proc.wait(10) == 0

    def __enter__(self) -> Locker:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()


def test_locked_database_raises_store_locked_then_recovers(tmp_path):
    db = tmp_path / "s.db"
    store = Store(db, busy_timeout_s=0.5)
    try:
        acked = [store.commit(submit(f"c{i}")) for i in range(5)]
        before = store.values()
        with Locker(db) as locker:
            t0 = time.monotonic()
            with pytest.raises(StoreLocked) as err:
                store.commit(submit("blocked"))
            waited = time.monotonic() - t0
            msg = str(err.value)
            assert str(db) in msg and "locked by another process" in msg
            assert "did not journal events seq 6..6" in msg
            assert waited >= 0.4, f"gave up after {waited:.3f}s, not the 0.5s busy timeout"
            # nothing changed: the refused event is not in state, acknowledged events are
            assert store.seq == store.durable_seq == 5
            assert store.values() == before
            assert "blocked" not in store.state.orders.by_id
            # readers still read while the writer lock is held (WAL)
            assert_all_present(db, acked)
            assert len(journal_rows(db)) == 5
            locker.release()
        ev = store.commit(submit("after"))
        assert ev.seq == 6
        acked.append(ev)
        assert_all_present(db, acked)
        assert [r[0] for r in journal_rows(db)] == [1, 2, 3, 4, 5, 6]
        assert_matches_journal(store, db)
        assert set(store.state.orders.by_id) == {"c0", "c1", "c2", "c3", "c4", "after"}
    finally:
        store.close()


def test_commit_waits_for_a_lock_released_within_the_busy_timeout(tmp_path):
    db = tmp_path / "s.db"
    store = Store(db, busy_timeout_s=10)
    try:
        store.commit(submit("c0"))
        begun = threading.Event()
        done = threading.Event()
        result: dict = {}
        store._conn.set_trace_callback(lambda sql: begun.set() if sql.startswith("BEGIN IMMEDIATE") else None)

        def commit() -> None:
            try:
                result["event"] = store.commit(submit("waited"))
            except BaseException as e:  # noqa: BLE001 - reported by the assertions below
                result["error"] = e
            finally:
                done.set()

        with Locker(db) as locker:
            t = threading.Thread(target=commit)
            t.start()
            assert begun.wait(10), "the commit never tried to take the write lock"
            # the other process holds the lock: the commit waits instead of failing or finishing
            assert not done.wait(0.3), f"commit did not wait for the lock: {result}"
            locker.release()
            assert done.wait(10)
            t.join()
        store._conn.set_trace_callback(None)
        assert "error" not in result, f"commit failed although the lock was released in time: {result['error']!r}"
        assert result["event"].seq == 2
        assert store.durable_seq == 2
        assert [r[0] for r in journal_rows(db)] == [1, 2]
        assert_matches_journal(store, db)
    finally:
        store.close()


# -- disk full -------------------------------------------------------------------------------


def _fill_disk(store: Store, acked: list, prefix: str = "f", spare: int = 4) -> OrderSubmitting:
    """Cap the writer connection's pages ``spare`` above the current size and commit big critical
    events until one is refused with StoreFull; returns the refused event."""
    page_count = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {page_count + spare}")
    assert store._conn.execute("PRAGMA max_page_count").fetchone()[0] == page_count + spare
    for i in range(200):
        ev = submit(f"{prefix}{i}", reason="x" * 3000)
        seq = store.seq + 1
        try:
            store.commit(ev)
        except StoreFull as e:
            msg = str(e)
            assert "full" in msg and str(store.path) in msg
            assert re.search(rf"did not journal events seq \d+\.\.{seq}\b", msg), msg
            assert store.seq == store.durable_seq < seq
            return ev
        acked.append(ev)
    raise AssertionError(f"200 events of 3 KB fit in {spare} spare pages: max_page_count had no effect")


def _unlimit(store: Store) -> None:
    store._conn.execute("PRAGMA max_page_count = 1073741823")


def test_disk_full_raises_store_full_and_state_stays_consistent(tmp_path):
    db = tmp_path / "s.db"
    store = Store(db, **NO_AUTO_SNAPSHOT)
    acked = [store.commit(submit(f"c{i}")) for i in range(3)]
    try:
        refused = _fill_disk(store, acked)
        last = acked[-1].seq
        assert store.seq == store.durable_seq == last
        assert refused.client_order_id not in store.state.orders.by_id
        assert_matches_journal(store, db)  # a fresh read-only connection agrees with the store
        assert [r[0] for r in journal_rows(db)] == list(range(1, last + 1))

        # still full: refused again, still consistent
        with pytest.raises(StoreFull):
            store.commit(submit("again", reason="y" * 3000))
        assert store.seq == last

        _unlimit(store)
        ev = store.commit(submit("after-full", reason="z" * 3000))
        assert ev.seq == last + 1
        acked.append(ev)
        acked.append(store.commit(OrderAccepted(client_order_id="after-full", broker_order_id="B1")))
        assert store.state.orders.by_id["after-full"].status == "accepted"
        assert_matches_journal(store, db)
    finally:
        _unlimit(store)
        store.close()
    store = Store(db)
    try:
        assert store.seq == acked[-1].seq
        assert_all_present(db, acked)
        assert {e.client_order_id for e in acked} == set(store.state.orders.by_id)
        assert_matches_journal(store, db)
    finally:
        store.close()


def test_event_refused_by_a_failed_write_is_never_published(tmp_path):
    """Subscribers see only what happened: an event the journal refused must not reach the bus,
    not even after the next event (which reuses its seq) is committed."""
    db = tmp_path / "s.db"
    store = Store(db, **NO_AUTO_SNAPSHOT)
    seen: list[tuple[int, str]] = []
    store.bus.subscribe("*", lambda ev: seen.append((ev.seq, ev.client_order_id)), queued=False)
    try:
        acked = [store.commit(submit("c0"))]
        refused = _fill_disk(store, acked)
        _unlimit(store)
        acked.append(store.commit(submit("after")))
        published = [coid for _, coid in seen]
        assert refused.client_order_id not in published, f"refused event published: {seen}"
        assert seen == [(ev.seq, ev.client_order_id) for ev in acked]
    finally:
        _unlimit(store)
        store.close()


def test_event_refused_by_a_failed_write_can_be_committed_again(tmp_path):
    """The error says the event was not journaled; once space returns the caller retries it."""
    db = tmp_path / "s.db"
    store = Store(db, **NO_AUTO_SNAPSHOT)
    try:
        acked = [store.commit(submit("c0"))]
        refused = _fill_disk(store, acked)
        assert refused.seq is None, f"refused event still stamped seq {refused.seq} though not journaled"
        _unlimit(store)
        ev = store.commit(refused)
        assert ev.seq == acked[-1].seq + 1
        assert refused.client_order_id in store.state.orders.by_id
        assert_matches_journal(store, db)
    finally:
        _unlimit(store)
        store.close()


def test_snapshot_taken_before_a_failed_write_is_not_written(tmp_path, monkeypatch):
    """A snapshot copied from state that a failed write then drops must not reach the disk,
    even once new events have reused the dropped seqs."""
    import seamless.store.store as store_module

    copied, proceed = threading.Event(), threading.Event()
    encode = store_module.snapshots.encode

    def paused_encode(proj):
        row = encode(proj)
        copied.set()
        assert proceed.wait(10)
        return row

    db = tmp_path / "s.db"
    store = Store(db, flush_interval_s=3600, **NO_AUTO_SNAPSHOT)
    try:
        for i in range(5):
            store.commit(submit(f"c{i}"))
        store.commit(QuoteReceived(symbol="AAPL", last=42.0, exchange_ts=1.0))  # seq 6, not yet written
        monkeypatch.setattr(store_module.snapshots, "encode", paused_encode)
        snapper = threading.Thread(target=store.snapshot)
        snapper.start()
        assert copied.wait(10)  # the snapshot holds seq 1..6, quote included
        monkeypatch.setattr(store_module.snapshots, "encode", encode)

        written: list = []
        _fill_disk(store, written, prefix="big", spare=0)  # the write of [quote, big0] fails: both dropped
        assert written == []
        assert store.seq == 5 and "AAPL" not in store.state.market.quotes
        _unlimit(store)
        assert store.commit(submit("c5")).seq == 6  # seq 6 is now an order, not the quote
        proceed.set()
        snapper.join(10)
        assert not snapper.is_alive()
        assert_matches_journal(store, db)  # the snapshot, if written, must match the journal
    finally:
        proceed.set()
        _unlimit(store)
        store.close(snapshot=False)
    with Store(db, **NO_AUTO_SNAPSHOT) as reopened:
        assert "AAPL" not in reopened.state.market.quotes, (
            f"reopened from a snapshot (seq {reopened.restored_from_snapshot}) holding a dropped quote"
        )
        assert_matches_journal(reopened, db)


# -- a corrupt journal row -------------------------------------------------------------------


def _patch_file(db: Path, old: bytes, new: bytes) -> None:
    """Overwrite bytes in the database file itself, as a disk fault would."""
    assert len(old) == len(new)
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0, "WAL not checkpointed"
    data = db.read_bytes()
    assert data.count(old) == 1, f"{old!r} found {data.count(old)} times in the file"
    db.write_bytes(data.replace(old, new))


@pytest.mark.parametrize("with_snapshot", [False, True], ids=["no-snapshot", "after-newest-snapshot"])
def test_corrupt_journal_row_is_refused_naming_its_seq(tmp_path, with_snapshot):
    db = tmp_path / "s.db"
    store = Store(db, **NO_AUTO_SNAPSHOT)
    for i in range(10):
        store.commit(submit(f"c{i}", reason=f"marker-{i:03d}-AAAA"))
        if with_snapshot and i == 4:
            assert store.snapshot() == 5
    store.close(snapshot=False)
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT count(*) FROM snapshots").fetchone()[0] == (1 if with_snapshot else 0)
    raw.close()

    _patch_file(db, b"marker-007-AAAA", b"marker-007-AAAB")  # the payload of seq 8
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"  # SQLite cannot see it
    raw.close()

    for _ in range(2):  # the failed open released the writer lock: a second open fails the same way
        with pytest.raises(CorruptJournal) as err:
            Store(db, **NO_AUTO_SNAPSHOT)
        assert err.value.seq == 8
        assert "seq=8" in str(err.value) and "checksum" in str(err.value)
    conn = open_reader(db)
    try:
        with pytest.raises(CorruptJournal, match="seq=8"):
            restore(conn, use_snapshots=False)
        rows = conn.execute(journal.SELECT + " ORDER BY seq").fetchall()
    finally:
        conn.close()
    bad = []
    for row in rows:
        try:
            journal.verify(row)
        except CorruptJournal as e:
            bad.append(e.seq)
    assert bad == [8]


# -- a corrupt snapshot ----------------------------------------------------------------------


def test_corrupt_newest_snapshot_falls_back_with_a_warning(tmp_path):
    db = tmp_path / "s.db"
    store = Store(db, **NO_AUTO_SNAPSHOT)
    for i in range(5):
        store.commit(submit(f"c{i}"))
    first = store.snapshot()
    for i in range(5):
        store.commit(OrderAccepted(client_order_id=f"c{i}", broker_order_id=f"B{i}"))
    second = store.snapshot()
    for i in range(3):
        store.commit(OrderFilled(trade_id=f"t{i}", client_order_id=f"c{i}", symbol="AAPL", qty=1, price=101.5))
    store.close(snapshot=False)
    assert (first, second) == (5, 10)

    raw = sqlite3.connect(db, isolation_level=None)
    snaps = raw.execute("SELECT id, seq FROM snapshots ORDER BY seq").fetchall()
    assert [s for _, s in snaps] == [5, 10]
    newest_id = snaps[-1][0]
    payload = raw.execute("SELECT payload FROM snapshots WHERE id = ?", (newest_id,)).fetchone()[0]
    flipped = payload.replace('"B4"', '"B9"')
    assert flipped != payload
    raw.execute("UPDATE snapshots SET payload = ? WHERE id = ?", (flipped, newest_id))
    raw.close()

    store = Store(db, **NO_AUTO_SNAPSHOT)
    try:
        assert len(store.warnings) == 1, store.warnings
        assert f"id={newest_id}" in store.warnings[0] and "seq=10" in store.warnings[0]
        assert "checksum" in store.warnings[0]
        assert store.restored_from_snapshot == 5
        assert store.replayed_on_open == 8
        assert store.state.orders.by_id["c4"].broker_order_id == "B4"
        assert_matches_journal(store, db)
        assert store.values()[0] == replay(db, use_snapshots=False).values
    finally:
        store.close(snapshot=False)

    # both snapshots corrupt: a full replay, one warning each
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("UPDATE snapshots SET checksum = 'bad'")
    raw.close()
    store = Store(db, **NO_AUTO_SNAPSHOT)
    try:
        assert len(store.warnings) == 2
        assert store.restored_from_snapshot == 0 and store.replayed_on_open == 13
        assert store.values()[0] == replay(db, use_snapshots=False).values
    finally:
        store.close(snapshot=False)


# -- a newer schema version --------------------------------------------------------------------


def test_newer_version_database_is_refused_untouched(tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.commit(submit("c0"))
    raw = sqlite3.connect(db)
    raw.execute("PRAGMA user_version = 999")
    raw.commit()
    raw.close()
    assert not Path(f"{db}-wal").exists()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()

    for _ in range(2):  # the refusal released the writer lock: refused again, not StoreInUse
        with pytest.raises(NewerStoreVersion) as err:
            Store(db)
        msg = str(err.value)
        assert "version 999" in msg and f"version {SCHEMA_VERSION}" in msg and str(db) in msg
    with pytest.raises(NewerStoreVersion, match="999"):
        open_reader(db)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest, "a refused database was modified"
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 999
    raw.close()


def test_second_writer_is_refused(tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.commit(submit("c0"))
        with pytest.raises(StoreInUse, match="one writer per store"):
            Store(db)
        assert store.commit(submit("c1")).seq == 2


# -- the journal is append-only --------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE journal SET payload = '{}' WHERE seq = 2",
        "UPDATE journal SET checksum = 0",
        "DELETE FROM journal WHERE seq = 3",
        "DELETE FROM journal",
    ],
)
def test_journal_is_append_only(tmp_path, sql):
    db = tmp_path / "s.db"
    with Store(db) as store:
        for i in range(3):
            store.commit(submit(f"c{i}"))
    before = journal_rows(db)
    raw = sqlite3.connect(db, isolation_level=None)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute(sql)
    finally:
        raw.close()
    assert journal_rows(db) == before
    for row in before:
        journal.verify(row)


# -- invalid events --------------------------------------------------------------------------

INVALID = {
    # name: (make the event(s) -- may raise at construction --, text the message must name)
    "nan-fill-price": (
        lambda: OrderFilled(trade_id="t1", client_order_id="c1", symbol="AAPL", qty=1, price=math.nan),
        "price",
    ),
    "inf-quote": (lambda: QuoteReceived(symbol="AAPL", last=math.inf), "last"),
    "negative-quote": (lambda: QuoteReceived(symbol="AAPL", last=-1.0), "last"),
    "negative-fill-price": (
        lambda: OrderFilled(trade_id="t1", client_order_id="c1", symbol="AAPL", qty=1, price=-3.0),
        "price",
    ),
    "negative-commission": (
        lambda: OrderFilled(trade_id="t1", client_order_id="c1", symbol="AAPL", qty=1, price=3.0, commission=-0.5),
        "commission",
    ),
    "zero-order-qty": (lambda: submit("z", qty=0), "qty"),
    "nan-order-qty": (lambda: submit("z", qty=math.nan), "qty"),
    "bool-order-qty": (lambda: submit("z", qty=True), "qty"),
    "zero-fill-qty": (lambda: OrderFilled(trade_id="t1", client_order_id="c1", symbol="AAPL", qty=0, price=3.0), "qty"),
    "negative-loss-limit": (lambda: LossLimitSet(daily_loss_limit=-100.0), "daily_loss_limit"),
    "limit-without-price": (lambda: submit("z", order_type="limit"), "limit_price"),
    "lowercase-symbol": (lambda: submit("z", symbol="aapl"), "symbol"),
    "empty-symbol": (lambda: submit("z", symbol=""), "symbol"),
    "empty-client-order-id": (lambda: submit(""), "client_order_id"),
    "unknown-order-accepted": (lambda: OrderAccepted(client_order_id="nope", broker_order_id="B"), "'nope'"),
    "duplicate-client-order-id": (lambda: submit("c1"), "'c1'"),
    "fill-symbol-mismatch": (
        lambda: OrderFilled(trade_id="t1", client_order_id="c1", symbol="MSFT", qty=1, price=3.0),
        "symbol",
    ),
    "quote-back-in-time": (lambda: QuoteReceived(symbol="AAPL", last=10.0, exchange_ts=50.0), "exchange time"),
    "not-an-event": (lambda: {"client_order_id": "z"}, "dict"),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_event_is_refused_and_nothing_is_journaled(store, db_path, name):
    make, field = INVALID[name]
    store.commit(submit("c1"))
    store.commit(QuoteReceived(symbol="AAPL", last=10.0, exchange_ts=100.0))
    store.flush()
    before = store.values()
    rows_before = journal_rows(db_path)
    assert len(rows_before) == 2
    with pytest.raises(InvalidEvent) as err:
        store.commit(make())
    assert field in str(err.value), f"{err.value} does not name {field!r}"
    store.flush()
    assert store.seq == store.durable_seq == 2
    assert store.values() == before
    assert journal_rows(db_path) == rows_before
    assert store.commit(submit("c2")).seq == 3  # the store carries on, no seq was used up


def test_invalid_event_in_commit_all_refuses_the_whole_unit(store, db_path):
    store.commit(submit("c1"))
    before = store.values()
    good = submit("c2")
    with pytest.raises(InvalidEvent, match="'nope'"):
        store.commit_all([good, OrderAccepted(client_order_id="c2"), OrderAccepted(client_order_id="nope")])
    assert good.seq is None  # unstamped: it can be committed later
    assert store.values() == before and "c2" not in store.state.orders.by_id
    store.flush()
    assert len(journal_rows(db_path)) == 1
    assert store.commit(good).seq == 2
    # an event is committed once
    with pytest.raises(InvalidEvent, match="already committed as seq 2"):
        store.commit(good)
    store.flush()
    assert len(journal_rows(db_path)) == 2
    assert_matches_journal(store, db_path)


# -- state is read-only ----------------------------------------------------------------------


def test_direct_writes_to_state_raise_read_only_state(store, db_path):
    store.commit(submit("c1"))
    before = store.values()
    attempts = [
        lambda: setattr(store.state.account, "cash", 1),
        lambda: store.state.risk.param.update(trading_state="HALTED"),
        lambda: store.state.risk.param.update(daily_loss_limit=5.0, state_reason="x"),
        lambda: setattr(store.state.orders, "by_id", {}),
        lambda: setattr(store.state.positions, "by_symbol", {}),
        lambda: setattr(store.state.account, "seq", 99),
    ]
    for attempt in attempts:
        with pytest.raises(ReadOnlyState, match="commit an event"):
            attempt()
    with pytest.raises(ReadOnlyState, match=r"Account\.cash"):
        store.state.account.cash = 1
    assert store.state.account.cash == 0.0
    assert store.state.risk.trading_state == "ACTIVE"
    assert store.state.account.seq == before[1]["account"][0]
    assert set(store.state.orders.by_id) == {"c1"}
    assert store.values() == before
    # the store itself still changes state, through an event
    store.commit(TradingStateChanged(state="HALTED", reason="test"))
    assert store.state.risk.trading_state == "HALTED"


def test_state_containers_cannot_be_changed_in_place(tmp_path):
    """Mutating a dict held by a state parameter must neither change the store's state nor let
    an event the journal cannot replay through (which would leave the store unopenable)."""
    db = tmp_path / "s.db"
    store = Store(db)
    try:
        store.commit(submit("c1"))
        store.commit(OrderFilled(trade_id="t1", client_order_id="c1", symbol="AAPL", qty=1, price=10.0))
        store.commit(QuoteReceived(symbol="AAPL", last=11.0, exchange_ts=1.0))
        store.flush()
        mutations = [
            lambda: store.state.orders.by_id.pop("c1"),
            lambda: store.state.orders.by_id.clear(),
            lambda: store.state.positions.by_symbol.__setitem__("AAPL", None),
            lambda: store.state.market.quotes.update(AAPL=None),
        ]
        for mutate in mutations:
            try:
                mutate()
            except (ReadOnlyState, TypeError, AttributeError):
                pass  # refusing is fine; silently changing the store's state is not
        assert "c1" in store.state.orders.by_id, "an in-place change emptied the orders of the live state"
        assert_matches_journal(store, db)  # the store's own state was not changed either
        with pytest.raises(InvalidEvent, match="'c1'"):
            store.commit(submit("c1"))
    finally:
        store.close(snapshot=False)
    with Store(db) as reopened:  # the journal still replays
        assert "c1" in reopened.state.orders.by_id
        assert reopened.state.positions.by_symbol["AAPL"].qty == 1


def test_a_size_cap_is_a_full_disk_and_nothing_acknowledged_is_lost(tmp_path):
    db = tmp_path / "capped.db"
    acknowledged = 0
    store = Store(db, max_bytes=150_000, snapshot_every=10**9)
    try:
        with pytest.raises(StoreFull):
            for i in range(100_000):
                store.commit(CashSet(cash=float(i), reason="x" * 200))
                acknowledged = i + 1
    finally:
        with contextlib.suppress(StoreFull):  # its closing snapshot does not fit either
            store.close()
    assert 0 < acknowledged < 100_000
    with Store(db) as reopened:  # no cap: every acknowledged event is there, and it carries on
        assert reopened.state.account.cash == float(acknowledged - 1)
        reopened.commit(CashSet(cash=1.0, reason="space again"))
