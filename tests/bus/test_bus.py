"""The bus: topic patterns, isolation of failing and slow subscribers, state watches,
durability before publication, counters, concurrent committers, and Store.read."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from seamless.bus import StateChange
from seamless.bus.stats import RateCounter
from seamless.events.catalog import (
    CashSet,
    OrderAccepted,
    OrderFilled,
    OrderSubmitting,
    QuoteReceived,
    RunnerStatusChanged,
)
from seamless.store import Store

WAIT = 10.0  # generous upper bound for anything awaited; never slept


class Clock:
    """A settable clock."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def submitting(i, symbol="AAPL", qty=10):
    return OrderSubmitting(client_order_id=f"o{i}", symbol=symbol, qty=qty)


def quote(i, symbol="AAPL"):
    return QuoteReceived(symbol=symbol, last=100.0 + i * 0.01)


def journal_seqs(path) -> list[int]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return [r[0] for r in db.execute("SELECT seq FROM journal ORDER BY seq")]


def wait_idle(*subs):
    for sub in subs:
        assert sub.wait_idle(WAIT), f"subscriber {sub.name} did not drain"


# -- topics ---------------------------------------------------------------------------------


def test_topic_patterns_deliver_matching_events_in_seq_order(store):
    orders, everything, fills, quotes = [], [], [], []
    subs = [
        store.bus.subscribe("order.*", orders.append, queued=False),
        store.bus.subscribe("*", everything.append),
        store.bus.subscribe("order.filled", fills.append),
        store.bus.subscribe("market.quote", quotes.append, queued=False),
    ]
    committed = [
        store.commit(submitting(1)),
        store.commit(quote(1)),
        store.commit(OrderAccepted(client_order_id="o1", broker_order_id="B1")),
        *store.commit_all(
            [quote(2), OrderFilled(trade_id="T1", client_order_id="o1", symbol="AAPL", qty=4, price=100.0)]
        ),
        store.commit(RunnerStatusChanged(status="RUNNING")),
        store.commit(OrderFilled(trade_id="T2", client_order_id="o1", symbol="AAPL", qty=6, price=100.5)),
        store.commit(quote(3, "MSFT")),
    ]
    store.flush()
    wait_idle(*subs)

    assert [e.seq for e in everything] == [e.seq for e in committed] == list(range(1, 9))
    assert everything == committed
    assert [(e.topic, e.seq) for e in orders] == [
        ("order.submitting", 1),
        ("order.accepted", 3),
        ("order.filled", 5),
        ("order.filled", 7),
    ]
    assert [e.trade_id for e in fills] == ["T1", "T2"]
    assert [e.seq for e in quotes] == [2, 4, 8]


def test_cancelled_subscription_gets_nothing_more(store):
    got = []
    sub = store.bus.subscribe("*", got.append, queued=False)
    store.commit(quote(1))
    store.flush()
    sub.cancel()
    store.commit(quote(2))
    store.flush()
    assert [e.seq for e in got] == [1]
    assert sub not in store.bus.subscriptions


# -- isolation --------------------------------------------------------------------------------


@pytest.mark.parametrize("queued", [False, True], ids=["sync", "queued"])
def test_raising_subscriber_is_isolated_counted_and_logged(store, caplog, queued):
    caplog.set_level(logging.ERROR, logger="seamless.bus")

    def broken(ev):
        raise RuntimeError(f"boom on {ev.seq}")

    # the broken one subscribes first, so it runs before the others on every event
    bad = store.bus.subscribe("*", broken, queued=queued, name="broken")
    sync_seen, queued_seen = [], []
    good_sync = store.bus.subscribe("*", sync_seen.append, queued=False, name="good-sync")
    good_queued = store.bus.subscribe("*", queued_seen.append, name="good-queued")

    committed = [
        store.commit(submitting(1)),  # critical: returns only once durable
        store.commit(quote(1)),
        store.commit(RunnerStatusChanged(status="RUNNING")),
    ]
    assert [e.seq for e in committed] == [1, 2, 3]
    assert journal_seqs(store.path) == [1, 2, 3]  # the critical commit wrote what was pending
    store.flush()
    wait_idle(bad, good_sync, good_queued)

    assert [e.seq for e in sync_seen] == [1, 2, 3]
    assert [e.seq for e in queued_seen] == [1, 2, 3]
    assert bad.errors == 3
    assert store.bus.stats()["subscriber_errors"] == 3
    assert store.values()[2] == 3 and journal_seqs(store.path) == [1, 2, 3]

    failures = [r for r in caplog.records if r.name == "seamless.bus"]
    assert len(failures) == 3
    for rec, ev in zip(failures, committed):
        msg = rec.getMessage()
        assert "broken" in msg and ev.topic in msg and f"seq={ev.seq}" in msg
        assert rec.exc_info and f"boom on {ev.seq}" in str(rec.exc_info[1])


def test_raising_state_watcher_is_isolated(store):
    seen = []

    def broken(changes):
        raise RuntimeError("watcher boom")

    bad = store.bus.watch(store.state.positions, broken)
    store.bus.watch(store.state.positions, seen.append)
    ev = store.commit(OrderFilled(trade_id="T1", client_order_id="", symbol="AAPL", qty=5, price=10.0))
    assert ev.seq == 1
    assert store.state.positions.by_symbol["AAPL"].qty == 5
    assert len(seen) == 1 and seen[0][0].name == "by_symbol"
    assert bad.errors == 1 and store.bus.stats()["subscriber_errors"] == 1


def test_slow_queued_subscriber_delays_nobody(store):
    started, release = threading.Event(), threading.Event()
    slow_seen, fast_seen = [], []

    def slow(ev):
        started.set()
        release.wait(WAIT)
        slow_seen.append(ev)

    slow_sub = store.bus.subscribe("*", slow, name="slow")
    fast_sub = store.bus.subscribe("*", fast_seen.append, name="fast")

    committed = []
    for i in range(1000):  # every 10th event is critical: durable before commit returns
        committed.append(store.commit(RunnerStatusChanged(status="RUNNING") if i % 10 == 0 else quote(i)))
    store.flush()
    assert store.durable_seq == 1000  # the writer was not held up by the blocked subscriber

    assert started.wait(WAIT)
    wait_idle(fast_sub)
    assert not release.is_set()
    assert [e.seq for e in fast_seen] == list(range(1, 1001))
    assert slow_seen == []  # still blocked inside its first event
    assert slow_sub.pending == 999
    assert store.bus.stats()["pending"]["slow"] == 999

    release.set()
    wait_idle(slow_sub)
    assert slow_seen == committed
    assert slow_sub.pending == 0


# -- state watches ----------------------------------------------------------------------------


def _no_param_watchers(obj) -> bool:
    return all(not ws for by_what in obj.param.watchers.values() for ws in by_what.values())


def test_watch_positions_delivers_state_changes_and_cancel_unwatches(store):
    positions = store.state.positions
    assert store.bus.watcher_count() == 0 and _no_param_watchers(positions)
    got: list[list[StateChange]] = []
    sub = store.bus.watch(positions, got.append)
    assert store.bus.watcher_count() == 1 and not _no_param_watchers(positions)

    fill = store.commit(OrderFilled(trade_id="T1", client_order_id="", symbol="AAPL", qty=5, price=10.0))
    assert len(got) == 1
    (change,) = got[0]
    assert change.part == "positions" and change.name == "by_symbol" and change.seq == fill.seq
    assert change.old == {} and change.new["AAPL"].qty == 5 and change.new["AAPL"].avg_price == 10.0

    store.commit(quote(1, "MSFT"))  # no MSFT position: positions do not change
    store.commit(RunnerStatusChanged(status="RUNNING"))
    assert len(got) == 1
    mark = store.commit(QuoteReceived(symbol="AAPL", last=11.0))  # re-marks the AAPL position
    assert len(got) == 2 and got[1][0].seq == mark.seq and got[1][0].new["AAPL"].mark == 11.0

    sub.cancel()
    assert store.bus.watcher_count() == 0
    assert _no_param_watchers(positions)
    store.commit(OrderFilled(trade_id="T2", client_order_id="", symbol="AAPL", qty=1, price=12.0))
    assert len(got) == 2
    assert positions.by_symbol["AAPL"].qty == 6  # the unwatched fast path still updates the param object


def test_watches_share_one_param_watcher_per_object(store):
    positions = store.state.positions
    a, b = [], []
    sa = store.bus.watch(positions, a.append)
    sb = store.bus.watch(positions, b.append, queued=True)
    assert store.bus.watcher_count() == 1
    assert len(positions.param.watchers["by_symbol"]["value"]) == 1
    store.commit(OrderFilled(trade_id="T1", client_order_id="", symbol="AAPL", qty=5, price=10.0))
    wait_idle(sb)
    assert len(a) == len(b) == 1
    sa.cancel()
    assert store.bus.watcher_count() == 1 and not _no_param_watchers(positions)
    sb.cancel()
    assert store.bus.watcher_count() == 0 and _no_param_watchers(positions)


def test_sync_watcher_may_read_the_store(store):
    """A state watcher that reads the store (what any view does) must not deadlock the writer.

    Today the watcher runs inside ``commit`` while the store's (non-reentrant) lock is held,
    and ``Store.read`` takes that lock again: the committing thread hangs forever.
    """
    reads = []
    store.bus.watch(store.state.positions, lambda changes: reads.append(store.read("positions").seq))
    done = threading.Event()

    def commit():
        store.commit(OrderFilled(trade_id="T1", client_order_id="", symbol="AAPL", qty=5, price=10.0))
        done.set()

    t = threading.Thread(target=commit, daemon=True)
    t.start()
    deadlocked = not done.wait(5.0)
    if deadlocked:
        # the store's lock is held forever: close() would hang too. Leave the store (daemon
        # threads) and its tmp dir behind; tell the fixture not to close it.
        store.close = lambda *a, **k: None
    assert not deadlocked, "commit deadlocked: a sync state watcher called store.read()"
    assert reads == [1]


# -- durability before publication -----------------------------------------------------------


@pytest.mark.parametrize("queued", [False, True], ids=["sync", "queued"])
def test_critical_events_are_published_only_once_durable(store, db_path, queued):
    checks: list[tuple[int, bool]] = []

    def in_journal(ev):
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
            found = db.execute("SELECT 1 FROM journal WHERE seq = ?", (ev.seq,)).fetchone() is not None
        checks.append((ev.seq, found))

    sub = store.bus.subscribe("order.submitting", in_journal, queued=queued)
    store.commit(quote(1))  # non-critical events before it, still in memory
    store.commit(quote(2))
    store.commit(submitting(1))
    store.commit(quote(3))
    store.commit_all([quote(4), submitting(2), quote(5)])
    for i in range(3, 13):
        store.commit(submitting(i))
    store.flush()
    wait_idle(sub)
    assert [s for s, _ in checks] == [3, 6] + list(range(8, 18))
    assert all(found for _, found in checks), checks


# -- counters ---------------------------------------------------------------------------------


def test_rate_counter_counts_full_seconds_by_key():
    clock = Clock(5_000.2)
    rc = RateCounter(window=5, clock=clock)
    for _ in range(10):
        rc.add("order.submitting", clock())
    for _ in range(5):
        rc.add("market.quote", clock())
    assert rc.rates() == {}  # the current second is not full yet
    clock.t = 5_001.1
    rc.add("market.quote", clock())
    assert rc.rates() == {"market.quote": 1.0, "order.submitting": 2.0}
    clock.t = 5_006.5  # second 5000 is out of the window, 5001 is in
    assert rc.rates() == {"market.quote": 0.2}
    clock.t = 5_020.0
    assert rc.rates() == {}


def test_bus_stats_rates_by_topic_and_dispatch_latency(store):
    """``RateCounter`` takes a clock; the bus must count with that clock (today ``publish``
    passes ``time.perf_counter()``, so an injected clock does not govern the buckets)."""
    clock = Clock(1_800_000_000.25)
    store.bus.rates = RateCounter(window=5, clock=clock)
    stats = store.bus.stats()
    assert stats["dispatch"] == {"p50_ms": None, "p99_ms": None}
    assert stats["events_per_s"] == {}

    for i in range(10):
        store.commit(submitting(i))
    for i in range(5):
        store.commit(quote(i))
    store.flush()
    clock.t += 1.0
    stats = store.bus.stats()
    assert stats["events_per_s"] == {"market.quote": 1.0, "order.submitting": 2.0}
    d = stats["dispatch"]
    assert d["p50_ms"] is not None and 0 <= d["p50_ms"] <= d["p99_ms"]


def test_dispatch_percentiles_after_commits(store):
    store.bus.subscribe("*", lambda ev: None, queued=False)
    for i in range(50):
        store.commit(quote(i))
    store.flush()
    d = store.bus.stats()["dispatch"]
    assert d["p50_ms"] is not None and d["p99_ms"] is not None
    assert 0 <= d["p50_ms"] <= d["p99_ms"]
    assert store.stats()["bus"]["dispatch"] == d


# -- concurrent committers ------------------------------------------------------------------


def test_concurrent_critical_commits_are_unique_contiguous_and_durable(store, db_path):
    published = []
    store.bus.subscribe("*", published.append, queued=False)
    n_threads, per_thread = 4, 200
    barrier = threading.Barrier(n_threads)
    seqs: dict[int, list[int]] = {}
    errors = []

    def run(k):
        try:
            barrier.wait(WAIT)
            seqs[k] = [store.commit(submitting(f"{k}-{i}")).seq for i in range(per_thread)]
        except Exception as e:  # pragma: no cover - reported by the assert below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert all(not t.is_alive() for t in threads)

    total = n_threads * per_thread
    every = sorted(s for ss in seqs.values() for s in ss)
    assert every == list(range(1, total + 1))  # unique and contiguous
    for ss in seqs.values():
        assert ss == sorted(ss)  # each thread's commits in its own order
    assert store.durable_seq == total
    assert journal_seqs(db_path) == list(range(1, total + 1))  # durable before each commit returned
    assert [e.seq for e in published] == list(range(1, total + 1))  # published in seq order
    assert len(store.state.orders.by_id) == total
    print(f"group_committed={store.counters['group_committed']} transactions={store.counters['transactions']}")


def test_wal_starts_over_under_a_steady_stream_of_commits(tmp_path):
    """A passive checkpoint never catches up with a writer that never pauses: the WAL (and
    every commit's fdatasync, which then also journals the file's growth) would grow without
    bound.  The writer's checkpoint finishes the copy, so the WAL is rewritten in place."""
    db = tmp_path / "acct.db"
    wal = Path(f"{db}-wal")
    with Store(db, checkpoint_interval_s=0.01, snapshot_every=10**9) as s:
        states, n, deadline = ("RUNNING", "PAUSED"), 0, time.monotonic() + 60
        # Enough commits that a WAL started over is far smaller than all of them (its size is
        # the most it held between two checkpoints, longer apart when the machine is busy).
        while s.counters["checkpoints_whole"] < 20 or n < 3000:
            assert time.monotonic() < deadline, f"no whole checkpoint: {dict(s.counters)}"
            s.commit(RunnerStatusChanged(status=states[n % 2]))  # critical: one transaction each
            n += 1
        written = s.counters["transactions"] * 1024  # at least one 1 KiB page per transaction
        size = wal.stat().st_size
        assert s.durable_seq == n
    assert size < written / 4, f"WAL {size} bytes after {written} bytes of commits: never started over"


# -- reads ----------------------------------------------------------------------------------


def _join_refresh_threads(part):
    for t in threading.enumerate():
        if t.name == f"seamless-refresh-{part}":
            t.join(WAIT)
            assert not t.is_alive()


def test_read_reports_age_and_staleness_and_refreshes_once(db_path):
    clock = Clock(1_000.0)
    store = Store(db_path, clock=clock)
    try:
        r = store.read("account")
        assert (r.part, r.seq, r.updated_at, r.age_s, r.stale, r.refreshing) == ("account", 0, None, None, False, False)
        with pytest.raises(KeyError):
            store.read("nope")

        ev = store.commit(CashSet(cash=1_000.0, reason="opening balance"))
        clock.t = 1_003.0
        r = store.read("account", max_age=5.0)
        assert r.value["cash"] == 1_000.0 and r.value["equity"] == 1_000.0
        assert r.seq == ev.seq == 1 and r.updated_at == 1_000.0 and r.age_s == pytest.approx(3.0)
        assert not r.stale and not r.refreshing
        r.value["cash"] = -1  # a copy: the store is untouched
        assert store.read("account").value["cash"] == 1_000.0

        # stale, but nobody registered a refresher
        clock.t = 1_010.0
        r = store.read("account", max_age=5.0)
        assert r.stale and not r.refreshing and r.age_s == pytest.approx(10.0)

        calls, entered, gate = [], threading.Event(), threading.Event()

        def refresh():
            calls.append(threading.current_thread().name)
            entered.set()
            assert gate.wait(WAIT)
            store.commit(CashSet(cash=1_234.0, reason="broker"))

        store.register_refresher("account", refresh)
        r = store.read("account", max_age=5.0)
        assert r.stale and r.refreshing
        assert entered.wait(WAIT)
        # while the refresh runs, stale reads do not start another one
        for _ in range(5):
            r = store.read("account", max_age=5.0)
            assert r.stale and r.refreshing
        assert len(calls) == 1 and calls[0] != threading.current_thread().name
        gate.set()
        _join_refresh_threads("account")

        r = store.read("account", max_age=5.0)  # the refresher committed at t=1010: fresh
        assert r.value["cash"] == 1_234.0 and r.seq == 2 and r.age_s == 0.0 and not r.stale
        assert len(calls) == 1

        entered.clear()
        clock.t = 1_020.0
        assert store.read("account", max_age=5.0).refreshing
        assert entered.wait(WAIT)
        _join_refresh_threads("account")
        assert len(calls) == 2
        # another part's staleness does not call the account refresher
        assert store.read("positions", max_age=5.0).stale
        assert len(calls) == 2
    finally:
        store.close()


def test_close_lets_queued_subscribers_finish_what_they_were_given(tmp_path):
    from seamless.events import QuoteReceived

    store = Store(tmp_path / "s.db")
    got = []
    gate = threading.Event()

    def slowish(ev):
        gate.wait(5)
        got.append(ev.seq)

    store.bus.subscribe("market.quote", slowish)
    for i in range(50):
        store.commit(QuoteReceived(symbol="AAPL", last=100.0 + i, exchange_ts=float(i)))
    # the subscriber is held while close() runs: close must wait for it, not cut it off
    threading.Timer(0.3, gate.set).start()
    store.close()
    assert got == list(range(1, 51))
